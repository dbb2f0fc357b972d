"""A fake Lambda Runtime API that hands out one scripted /next answer per
case and prints what the function posts back. Loopback only.

    python3 fake_runtime_api.py CASE   # listens on 127.0.0.1:9001

CASE: trailing | deep | not-utf8 | no-deadline | no-request-id | status-500 | no-arn | hang-up

No case sends Lambda-Runtime-Invoked-Function-Arn; `no-arn` is an
ordinary invocation otherwise.
"""
import http.server
import socket
import sys
import threading

CASES = {
    "trailing": (200, b'{"first": 1} {"second": 2}', True, True),
    "deep": (200, b"[" * 128 + b"]" * 128, True, True),
    "not-utf8": (200, b'{"a": "\xc3\x28"}', True, True),
    "no-deadline": (200, b"{}", True, False),
    "no-request-id": (200, b"{}", False, True),
    "status-500": (500, b'{"errorType": "ServiceException"}', False, False),
    "no-arn": (200, b"{}", True, True),
}


class Handler(http.server.BaseHTTPRequestHandler):
    served = False

    def do_GET(self):
        if Handler.served:
            threading.Event().wait(3600)  # later polls wait, as on Lambda
        Handler.served = True
        status, body, request_id, deadline = CASES[sys.argv[1]]
        self.send_response(status)
        if request_id:
            self.send_header("Lambda-Runtime-Aws-Request-Id", "case-1")
        if deadline:
            self.send_header("Lambda-Runtime-Deadline-Ms", "4102444800000")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        print(f"POST {self.path}: {body.decode(errors='replace')}", flush=True)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def hang_up():
    with socket.create_server(("127.0.0.1", 9001)) as server:
        while True:
            connection, _ = server.accept()
            connection.close()


if __name__ == "__main__":
    if sys.argv[1] == "hang-up":
        hang_up()
    http.server.ThreadingHTTPServer(("127.0.0.1", 9001), Handler).serve_forever()
