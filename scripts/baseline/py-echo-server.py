#!/usr/bin/env python3
"""The comparison baseline: Python's socketserver running the same echo protocol.

Usage: py-echo-server.py iterative|fork|thread [MAX_CHILDREN]
Listens on 127.0.0.1:0 and prints the same "listening on ADDR (tcp, model=M)" line as the
sockserv servers, so scripts/compare-models can drive both alike. MAX_CHILDREN raises
ForkingMixIn.max_children (Python's default 40: at the limit the server blocks in waitpid
until a child ends), so the fork server serves every client the benchmark opens, as sockserv's
--max-children lets it.
"""
import signal
import socketserver
import sys


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


class Iterative(socketserver.TCPServer):
    allow_reuse_address = True
    request_queue_size = 4096


class Forking(socketserver.ForkingMixIn, Iterative):
    pass


class Threading(socketserver.ThreadingMixIn, Iterative):
    daemon_threads = True


def main():
    kinds = {"iterative": Iterative, "fork": Forking, "thread": Threading}
    model = sys.argv[1]
    server = kinds[model](("127.0.0.1", 0), EchoHandler)
    if len(sys.argv) > 2:
        server.max_children = int(sys.argv[2])
    host, port = server.server_address
    print(f"listening on {host}:{port} (tcp, model={model})", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
