#!/usr/bin/env python3
"""https_server.py - the test's own HTTPS endpoint for check_https.

A threaded HTTP/1.1 server over TLS (Python's ssl and http.server) on
127.0.0.1 that answers each POST as its mode file says, read at every
request, and appends what it received to its record file, one JSON object
per line: {"status", "key" (Idempotency-Key), "auth" (Authorization),
"api_key" (X-Api-Key), "ctype" (Content-Type), "path", "body"}.

Modes (the mode file's first line; no file: 200):
  200 | 500 | 400      answer that status
  302                  a redirect (Location: /elsewhere), which the printer must not follow
  429:N                429 with "Retry-After: N"
  stall:N              wait N seconds, then answer 200 (if the client is still there)

  https_server.py --port P --cert C --key K --record FILE --mode-file FILE [--ready FILE]
--ready is written (the port) once the socket listens: the test waits for it.
"""
import argparse
import http.server
import json
import os
import ssl
import sys
import threading
import time

lock = threading.Lock()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--ready")
    a = ap.parse_args()

    def mode():
        try:
            with open(a.mode_file) as f:
                return f.readline().strip() or "200"
        except OSError:
            return "200"

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode("utf-8", "replace")
            m = mode()
            status, extra = 200, {}
            if m.startswith("stall:"):
                time.sleep(float(m.split(":", 1)[1]))
            elif m.startswith("429:"):
                status, extra = 429, {"Retry-After": m.split(":", 1)[1]}
            elif m == "302":
                status, extra = 302, {"Location": "/elsewhere"}
            elif m in ("500", "400", "200"):
                status = int(m)
            rec = {"t": time.time(), "status": status, "key": self.headers.get("Idempotency-Key"),
                   "auth": self.headers.get("Authorization"),
                   "api_key": self.headers.get("X-Api-Key"),
                   "ctype": self.headers.get("Content-Type"), "path": self.path, "body": body}
            with lock:
                with open(a.record, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            msg = b'{"error":"test refusal\\u0007"}\n' if status >= 400 else b"ok\n"
            try:
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
            except OSError:
                pass

    class S(http.server.ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = True

    srv = S(("127.0.0.1", a.port), H)
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


if __name__ == "__main__":
    sys.exit(main())
