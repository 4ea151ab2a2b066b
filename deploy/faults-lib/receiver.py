"""A webhook receiver for deploy/faults: answers 200 to every POST and appends one JSON line per
delivery (time, delivery id, event id, event) to OUTFILE.

    python3 receiver.py PORT OUTFILE
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
out = open(sys.argv[2], "a", encoding="utf-8")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        line = {
            "t": time.time(),
            "delivery": self.headers.get("X-Stampbook-Delivery"),
            "event_id": self.headers.get("X-Stampbook-Event-Id"),
            "event": self.headers.get("X-Stampbook-Event"),
        }
        with lock:
            out.write(json.dumps(line) + "\n")
            out.flush()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
