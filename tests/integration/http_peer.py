#!/usr/bin/python3
# A real HTTP peer for http-client's tests (tests/integration/http_client_test.cpp), written
# with Python's standard library only. It answers what Python's http.server does not: bodies
# in the chunked coding with trailers, bodies ended by closing, redirect chains and loops, a
# form echo, and broken responses (truncated, oversized head, overflowing chunk size, silence).
#
#   http_peer.py DIR [HOST] [--tls CERT KEY]
#                             serves the files of DIR on HOST (127.0.0.1) at a free port,
#                             and prints "listening on port N" once it accepts. With --tls it
#                             speaks HTTPS (Python's ssl, TLS 1.2 or later) with CERT and KEY.
#
# Routes (NAME is a file of DIR):
#   GET  /chunked/NAME    chunks of 1, 10, 4096 bytes and the rest, with extensions, trailers
#   GET  /close/NAME      HTTP/1.0 without Content-Length: the close ends the body
#   GET  /truncated/NAME  Content-Length of the whole file, half of it sent, then close
#   GET  /chunk-cut/NAME  chunked, cut off in the middle of a chunk
#   GET  /r/N             redirect chain: odd N a relative Location ("../r/N-1?via=rel"),
#                         even N an absolute one; /r/0 says "arrived"
#   GET  /loop/N          302 to /loop/N+1 forever
#   ANY  /status/CODE     that status, with a small body
#   ANY  /see/CODE        CODE (301, 302, 303, 307, 308) to /echo
#   ANY  /echo            JSON: method, body parsed as a form (parse_qs), selected headers
#   GET  /ftp             302 to ftp://127.0.0.1/ (a scheme http-client does not follow)
#   GET  /goto?URL        302 to URL (percent-decoded): redirects between http and https
#   GET  /early-hints     an interim 103 response, then the final one
#   GET  /huge-head       a header of 70 KiB
#   GET  /chunk-overflow  a chunk size of 17 hex digits
#   GET  /silent          never answers
#   GET  /hits            JSON: how many requests each path got
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
HITS = {}
HITS_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the test reads only our own lines
        pass

    def raw(self, data):
        self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True

    def simple(self, status, body, headers=()):
        head = "HTTP/1.1 %d X\r\nContent-Length: %d\r\n" % (status, len(body))
        head += "".join("%s: %s\r\n" % h for h in headers)
        self.raw(head.encode() + b"Connection: close\r\n\r\n" + body)

    def file(self, name):
        with open(os.path.join(ROOT, os.path.basename(name)), "rb") as f:
            return f.read()

    def chunked(self, data, cut=False):
        out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Digest\r\n\r\n"
        pieces, rest = [], data
        for size in (1, 10, 4096):
            pieces.append(rest[:size])
            rest = rest[size:]
        pieces.append(rest)
        for i, piece in enumerate(p for p in pieces if p):
            out += b"%x;piece=%d\r\n" % (len(piece), i) + piece + b"\r\n"
        if cut:
            self.raw(out[: len(out) - len(pieces[-1]) // 2 - 2])
            return
        self.raw(out + b"0\r\nX-Digest: none\r\nX-Other: 1\r\n\r\n")

    def route(self):
        path = urllib.parse.urlsplit(self.path).path
        with HITS_LOCK:
            HITS[path] = HITS.get(path, 0) + 1
        parts = path.strip("/").split("/")
        kind, arg = parts[0], "/".join(parts[1:])
        if kind == "chunked":
            return self.chunked(self.file(arg))
        if kind == "chunk-cut":
            return self.chunked(self.file(arg), cut=True)
        if kind == "close":
            return self.raw(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"
                            + self.file(arg))
        if kind == "truncated":
            data = self.file(arg)
            return self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data)
                            + data[: len(data) // 2])
        if kind == "r":
            n = int(arg)
            if n == 0:
                return self.simple(200, b"arrived")
            port = self.server.server_address[1]
            target = "../r/%d?via=rel" % (n - 1) if n % 2 else "http://127.0.0.1:%d/r/%d" % (
                port, n - 1)
            return self.simple(302, b"moved", [("Location", target)])
        if kind == "loop":
            return self.simple(302, b"again", [("Location", "/loop/%d" % (int(arg) + 1))])
        if kind == "status":
            return self.simple(int(arg), b"status body %s\n" % arg.encode())
        if kind == "see":
            return self.simple(int(arg), b"see /echo", [("Location", "/echo")])
        if kind == "echo":
            return self.echo()
        if kind == "ftp":
            return self.simple(302, b"", [("Location", "ftp://127.0.0.1/")])
        if kind == "goto":
            target = urllib.parse.unquote(urllib.parse.urlsplit(self.path).query)
            return self.simple(302, b"", [("Location", target)])
        if kind == "early-hints":
            return self.raw(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        if kind == "huge-head":
            return self.raw(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70 * 1024 + b"\r\n\r\nbody")
        if kind == "chunk-overflow":
            return self.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"10000000000000001\r\nabc\r\n0\r\n\r\n")
        if kind == "silent":
            time.sleep(60)
            return
        if kind == "hits":
            with HITS_LOCK:
                return self.simple(200, json.dumps(HITS).encode())
        return self.simple(404, b"no such route\n")

    def echo(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        answer = {
            "method": self.command,
            "form": urllib.parse.parse_qs(body, keep_blank_values=True),
            "content_type": self.headers.get("Content-Type"),
            "accept": self.headers.get("Accept"),
            "x_test": self.headers.get("X-Test"),
            "user_agent": self.headers.get("User-Agent"),
        }
        self.simple(200, json.dumps(answer).encode(), [("Content-Type", "application/json")])

    do_GET = do_HEAD = do_POST = do_PUT = route


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a /silent handler must not keep the process at exit


def main():
    args = sys.argv[1:]
    tls = None
    if "--tls" in args:
        at = args.index("--tls")
        tls = args[at + 1 : at + 3]
        del args[at : at + 3]
    host = args[1] if len(args) > 1 else "127.0.0.1"
    Server.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = Server((host, 0), Handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(tls[0], tls[1])
        # The handshake runs in the handler's thread (on its first read), not in accept.
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
    print("listening on port %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
