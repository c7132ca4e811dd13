#!/usr/bin/python3
"""chunked: an HTTP/1.1 server whose answers have no Content-Length: the body is sent in
chunks (Transfer-Encoding: chunked, RFC 9112 section 7.1) as it is produced, the way a server
streams output it cannot measure in advance. Python's standard library only.

Lab 10 (docs/labs/10-http-by-hand). Listens on 127.0.0.1, port 0; prints "listening on" on stderr.
Try it: /usr/bin/python3 chunked.py   then   printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | nc 127.0.0.1 PORT
"""
import http.server
import sys

PARTS = [b"first part of the answer\n", b"a second, produced later\n", b"and the end\n"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked exists in HTTP/1.1 only

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in PARTS:
            # Each chunk: its size in hex, CRLF, the bytes, CRLF.
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")  # a chunk of size 0 ends the body

    def log_message(self, fmt, *args):
        print(fmt % args, file=sys.stderr, flush=True)


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print("chunked: listening on %s:%d (tcp)" % server.server_address, file=sys.stderr, flush=True)
server.serve_forever()
