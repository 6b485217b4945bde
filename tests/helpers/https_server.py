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
import sys
import time

import tlstest


def main():
    a = tlstest.parser().parse_args()

    class H(tlstest.Handler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode("utf-8", "replace")
            m = tlstest.mode(a.mode_file, "200")
            status, extra = 200, {}
            if m.startswith("stall:"):
                time.sleep(float(m.split(":", 1)[1]))
            elif m.startswith("429:"):
                status, extra = 429, {"Retry-After": m.split(":", 1)[1]}
            elif m == "302":
                status, extra = 302, {"Location": "/elsewhere"}
            elif m in ("500", "400", "200"):
                status = int(m)
            tlstest.record(a.record, {
                "t": time.time(), "status": status, "key": self.headers.get("Idempotency-Key"),
                "auth": self.headers.get("Authorization"),
                "api_key": self.headers.get("X-Api-Key"),
                "ctype": self.headers.get("Content-Type"), "path": self.path, "body": body})
            msg = b'{"error":"test refusal\\u0007"}\n' if status >= 400 else b"ok\n"
            self.answer(status, msg, extra)

    return tlstest.serve(a, H)


if __name__ == "__main__":
    sys.exit(main())
