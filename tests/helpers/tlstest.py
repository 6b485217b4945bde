"""tlstest.py - what the tests' own TLS endpoints share (https_server.py,
openai_server.py): their command line, the mode file read at every request,
the record file (one JSON object per line, appended under a lock), and a
threaded HTTP/1.1 server over TLS on 127.0.0.1 that writes the --ready file
(its port) once it listens.

  --port P --cert C --key K --record FILE --mode-file FILE [--ready FILE]
"""
import argparse
import http.server
import json
import os
import ssl
import threading

lock = threading.Lock()


def parser():
    """The options every endpoint takes; add its own, then parse_args()."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--ready")
    return ap


def mode(path, default):
    """The mode file's first line, or default (no file, an empty line)."""
    try:
        with open(path) as f:
            return f.readline().strip() or default
    except OSError:
        return default


def record(path, rec):
    with lock:
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1, quiet; answer() never raises on a client gone."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=None):
        try:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass


def serve(a, handler):
    class S(http.server.ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = True

    srv = S(("127.0.0.1", a.port), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if a.ready:
        with open(a.ready + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(a.ready + ".tmp", a.ready)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
