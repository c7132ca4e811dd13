#!/usr/bin/python3
"""thread-chat: the tutorial's thread-per-client chat room (seed 002, "实现多人聊天群"), kept
as it was: a dict of client sockets that the accept thread changes while the receive threads
walk it, with no lock. Lab 9 (docs/labs/09-chat) shows where that breaks.

Changes from the tutorial, and why: port 0 and a "listening on" line on stderr (so the lab can
start it anywhere); no input() loop (it runs unattended); SO_SNDBUF made small on each client
socket, so that a client that does not read fills it within a second (the tutorial's code
blocks the same way with the default size, only after more data).
Try it: /usr/bin/python3 thread-chat.py   then   nc 127.0.0.1 PORT   in several terminals
"""
import logging
import socket
import sys
import threading

log_format = "%(asctime)-15s\t %(threadName)s-%(thread)s-%(message)s"
logging.basicConfig(level=logging.INFO, format=log_format)


class CharServer:
    def __init__(self, ip: str = "127.0.0.1", port: int = 0):
        self.sock = socket.socket()
        self.addr = (ip, port)
        self.client_conn = {}
        self.event = threading.Event()

    def start(self):
        self.sock.bind(self.addr)
        self.sock.listen()
        host, port = self.sock.getsockname()
        print(f"thread-chat: listening on {host}:{port} (tcp)", file=sys.stderr, flush=True)
        threading.Thread(target=self.__accept, name="accept").start()

    def __accept(self):
        while not self.event.is_set():
            conn, client = self.sock.accept()
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # lab: fills sooner
            logging.info(str(client) + " connected")
            # The bug: this thread adds to the dict while __recv threads iterate over it.
            self.client_conn[client] = conn
            threading.Thread(target=self.__recv, args=(conn, client), name="recv").start()

    def __recv(self, conn, client):
        while not self.event.is_set():
            try:
                data = conn.recv(1024).decode("utf-8")
            except Exception as e:
                logging.error(str(e))
                data = "quit"
            if data == "quit" or data == "":
                self.client_conn.pop(client)
                conn.close()
                break
            msg = str(client) + ":" + data
            # No lock: send() may block on one slow client in the middle of this loop, and the
            # dict may change meanwhile ("dictionary changed size during iteration").
            for c in self.client_conn.values():
                c.send(msg.encode("utf-8"))


CharServer().start()
