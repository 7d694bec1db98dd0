"""An HTTP proxy that injects the faults S3 clients meet, in front of a real S3 server.

usage: fault_proxy.py UPSTREAM [--rate R] [--seed N]

Prints "listening PORT" once ready. A share R of the requests (chosen by a seeded random
generator, so runs repeat) gets one of these faults, in turn:

  503      503 SlowDown (S3's throttling answer)
  500      500 InternalError
  reset    the connection is reset before any answer
  slow     the answer is held back for 1.5 s
  truncate the headers promise the whole body, half of it is sent, and the connection closes

Control endpoints (never faulted, not forwarded):
  GET  /__proxy/stats                 -> {"requests": n, "faults": {"503": n, ...}}
  POST /__proxy/deny  {"keys": [...]}  -> requests whose path contains one of these get
                                          403 AccessDenied every time (an empty list lifts it)
  POST /__proxy/rate  {"rate": R}      -> changes the fault rate
  POST /__proxy/ignore-conditions {"on": true}
                                       -> a PUT the server refuses with 412 (If-None-Match: * on an
                                          existing object) is answered 200, as by a store that
                                          ignores conditional writes
"""

import argparse
import http.client
import http.server
import json
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("upstream")
parser.add_argument("--rate", type=float, default=0.0)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()
upstream = urllib.parse.urlsplit(args.upstream)

lock = threading.Lock()
rng = random.Random(args.seed)
state = {"rate": args.rate, "deny": [], "ignore_conditions": False, "requests": 0, "faults": {k: 0 for k in ["503", "500", "reset", "slow", "truncate"]}, "denied": 0}
KINDS = ["503", "500", "reset", "slow", "truncate"]
turn = [0]


def error_xml(code, message):
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>'.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, content_type="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def control(self, body):
        path = self.path.split("?")[0]
        with lock:
            if path == "/__proxy/stats":
                return self.reply(200, json.dumps({"requests": state["requests"], "faults": state["faults"], "denied": state["denied"]}).encode(), "application/json")
            if path == "/__proxy/deny":
                state["deny"] = json.loads(body or b"{}").get("keys", [])
                return self.reply(200, b"{}", "application/json")
            if path == "/__proxy/ignore-conditions":
                state["ignore_conditions"] = bool(json.loads(body or b"{}").get("on", False))
                return self.reply(200, b"{}", "application/json")
            if path == "/__proxy/rate":
                state["rate"] = float(json.loads(body or b"{}").get("rate", 0))
                return self.reply(200, b"{}", "application/json")
        self.reply(404, b"{}", "application/json")

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/__proxy/"):
            return self.control(body)
        with lock:
            state["requests"] += 1
            denied = any(k in urllib.parse.unquote(self.path) for k in state["deny"])
            fault = None
            if denied:
                state["denied"] += 1
            elif rng.random() < state["rate"]:
                fault = KINDS[turn[0] % len(KINDS)]
                turn[0] += 1
                state["faults"][fault] += 1
        if denied:
            return self.reply(403, error_xml("AccessDenied", "Access Denied (by the fault proxy)"))
        if fault == "503":
            return self.reply(503, error_xml("SlowDown", "Please reduce your request rate."))
        if fault == "500":
            return self.reply(500, error_xml("InternalError", "We encountered an internal error. Please try again."))
        if fault == "reset":
            # SO_LINGER 0: close sends RST, as a dropped connection does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if fault == "slow":
            time.sleep(1.5)
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        conn.request(self.command, self.path, body=body if body else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status == 412 and self.command == "PUT" and state["ignore_conditions"]:
            self.send_response(200)
            self.send_header("ETag", '"ignored-condition"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(k, v)
        # A HEAD answer has no body but tells the object's length.
        length = resp.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data))
        self.send_header("Content-Length", length)
        if fault == "truncate" and self.command == "GET" and len(data) > 1:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(f"listening {server.server_address[1]}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
