#!/usr/bin/env python3
"""A recording HTTP server for the notify tests, on 127.0.0.1 only.

httprec.py PORTFILE LOG [FAILS]: serves on a free port (written to
PORTFILE once listening) and appends one JSON line per request to LOG:
method, path, content type, body. The first FAILS requests (default 0)
get HTTP 500, to exercise the core's retries; a path ending in /404 gets
404 (no retry). Runs until killed.
"""
import http.server
import json
import sys

portfile, log = sys.argv[1], sys.argv[2]
fails = [int(sys.argv[3]) if len(sys.argv) > 3 else 0]


class H(http.server.BaseHTTPRequestHandler):
    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        with open(log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "type": self.headers.get("Content-Type"),
                                "agent": self.headers.get("User-Agent"),
                                "auth": self.headers.get("Authorization"),
                                "body": body}) + "\n")
        code = 200
        if fails[0] > 0:
            fails[0] -= 1
            code = 500
        elif self.path.endswith("/404"):
            code = 404
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    do_GET = do_POST = do_HEAD = handle_one

    def log_message(self, *a):
        pass


s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
