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
import json
import sys
import threading
import time

import tlstest

served = [0]
served_lock = threading.Lock()


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
    ap = tlstest.parser()
    ap.add_argument("--api-key", required=True)
    a = ap.parse_args()

    class H(tlstest.Handler):
        def handle_any(self):
            n = int(self.headers.get("Content-Length", "0") or "0")
            body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
            m = tlstest.mode(a.mode_file, "ok")
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
                with served_lock:
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
            tlstest.record(a.record, {
                "t": time.time(), "method": self.command, "path": self.path,
                "auth": self.headers.get("Authorization"),
                "ctype": self.headers.get("Content-Type"), "body": body,
                "problems": problems, "mode": m, "status": status})
            if m.startswith("stall:"):
                time.sleep(float(m.split(":", 1)[1]))  # recorded first: the client gives up
            self.answer(status, out, {"Content-Type": "application/json"})

        do_POST = handle_any
        do_GET = handle_any
        do_PUT = handle_any

    return tlstest.serve(a, H)


if __name__ == "__main__":
    sys.exit(main())
