#!/usr/bin/python3
"""fork-chat: the tutorial's chat room (seed 002) with a process per client instead of a thread.

The parent accepts, adds the socket to its list of clients and forks; the child relays what
its client says to every socket in the list. But the list the child has is a *copy*, made at
fork() time: clients that arrive later are in the parent's list only. Lab 9
(docs/labs/09-chat) shows the result: the first client never hears the second.
Try it: /usr/bin/python3 fork-chat.py   then   nc 127.0.0.1 PORT   in two terminals
"""
import os
import signal
import socket
import sys

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel (lab 7)
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
host, port = server.getsockname()
print(f"fork-chat: listening on {host}:{port} (tcp)", file=sys.stderr, flush=True)
clients = []  # the parent's list; each child gets a copy of it as it was at fork()
while True:
    conn, address = server.accept()
    clients.append(conn)
    if os.fork() == 0:
        server.close()
        while True:
            data = conn.recv(1024)
            if not data:
                os._exit(0)
            for c in clients:  # this process's copy: only the clients that came before
                if c is not conn:
                    try:
                        c.send(f"{address}: ".encode() + data)
                    except OSError:
                        pass
    # The parent keeps its copy of conn in `clients`, so that the next children can write
    # to it: that is why the second client's lines do reach the first.
