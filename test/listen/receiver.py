#!/usr/bin/env python3
"""A local webhook receiver for test/listen/run.sh: answers 500 to the first FAILS POSTs,
then 200, appending "<X-Llmtrace-Alert-Id> <body>" to OUT for each POST it accepts.
Usage: receiver.py PORTFILE OUT FAILS (it picks a free port on 127.0.0.1 and writes it to
PORTFILE). Stops by itself after 120 s."""
import http.server
import sys
import threading

port_file, out, fails = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = {"posts": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        seen["posts"] += 1
        if seen["posts"] <= fails or self.headers.get("Content-Type") != "application/json":
            self.send_response(500)
            self.end_headers()
            return
        with open(out, "ab") as f:
            f.write(self.headers.get("X-Llmtrace-Alert-Id", "-").encode() + b" " + body + b"\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
threading.Timer(120, server.shutdown).start()
server.serve_forever()
