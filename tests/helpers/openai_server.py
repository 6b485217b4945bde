#!/usr/bin/env python3
"""openai_server.py - the test's own OpenAI-compatible endpoint for check_summary.

A threaded HTTP/1.1 server over TLS (Python's ssl and http.server) on
127.0.0.1 that serves POST /v1/chat/completions. It checks each request
as an OpenAI-compatible server would (method, path, "Authorization: Bearer
KEY", Content-Type application/json, a JSON body with a string "model" and
"messages", a list of {"role", "content"} objects of strings) and lists what
is wrong in "problems"; then it answers as its mode file says, read at every
request, and appends one JSON object per request to its record file:
{"t", "method", "path", "auth", "ctype", "body", "problems", "mode", "status"},
written before a stall.

Modes (the mode file's first line; no file: ok):
  ok          200 with a chat completion whose content is "jibril test summary N"
              (N counts the completions served); 400 if the request has problems
  500         500 with an error object
  garbage     200 with a body that is not JSON
  nochoices   200 with JSON without "choices"
  stall:S     wait S seconds, then answer as ok (if the client is still there)

  openai_server.py --port P --cert C --key K --record FILE --mode-file FILE --ready FILE
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
served = [0]


def check(method, path, headers, body, key):
    problems = []
    if method != "POST":
        problems.append("method " + method)
    if path != "/v1/chat/completions":
        problems.append("path " + path)
    if headers.get("Authorization") != "Bearer " + key:
        problems.append("authorization %r" % headers.get("Authorization"))
    if (headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
        problems.append("content type %r" % headers.get("Content-Type"))
    try:
        j = json.loads(body)
    except ValueError as e:
        return problems + ["body is not JSON: %s" % e]
    if not isinstance(j, dict) or not isinstance(j.get("model"), str) or not j["model"]:
        problems.append("no model")
    msgs = j.get("messages") if isinstance(j, dict) else None
    if not isinstance(msgs, list) or not msgs:
        problems.append("no messages")
    else:
        for m in msgs:
            if not isinstance(m, dict) or not isinstance(m.get("role"), str) or \
                    not isinstance(m.get("content"), str):
                problems.append("a message is not {role, content} strings")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--ready")
    a = ap.parse_args()

    def mode():
        try:
            with open(a.mode_file) as f:
                return f.readline().strip() or "ok"
        except OSError:
            return "ok"

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, body, ctype="application/json"):
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass

        def handle_any(self):
            n = int(self.headers.get("Content-Length", "0") or "0")
            body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
            m = mode()
            problems = check(self.command, self.path, self.headers, body, a.api_key)
            if m == "500":
                status, out = 500, b'{"error":{"message":"test failure","type":"server_error"}}'
            elif m == "garbage":
                status, out = 200, b"<html>this is not json\x07</html>"
            elif m == "nochoices":
                status, out = 200, b'{"id":"x","object":"chat.completion","choices_":[]}'
            elif problems:
                status, out = 400, json.dumps({"error": {"message": "; ".join(problems)}}).encode()
            else:
                with lock:
                    served[0] += 1
                    k = served[0]
                status = 200
                out = json.dumps({
                    "id": "chatcmpl-test%d" % k, "object": "chat.completion",
                    "created": int(time.time()), "model": "test-model",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": "jibril test summary %d" % k}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }).encode()
            rec = {"t": time.time(), "method": self.command, "path": self.path,
                   "auth": self.headers.get("Authorization"),
                   "ctype": self.headers.get("Content-Type"), "body": body,
                   "problems": problems, "mode": m, "status": status}
            with lock:
                with open(a.record, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            if m.startswith("stall:"):
                time.sleep(float(m.split(":", 1)[1]))  # recorded first: the client gives up
            self.answer(status, out)

        do_POST = handle_any
        do_GET = handle_any
        do_PUT = handle_any

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
