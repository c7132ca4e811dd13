#!/usr/bin/python3
"""fd3-echo: an echo server written for socket activation with Accept=no, and only for that.

systemd (or systemd-socket-activate) passes the listening socket as file descriptor 3
(LISTEN_FDS=1); this server takes fd 3 and calls accept() on it, the tutorial's loop
(seed 004, "处理服务端连接不断"). Run it with Accept=yes (systemd-socket-activate --accept)
and fd 3 is a *connected* socket instead: accept() on it fails with EINVAL. Lab 12
(docs/labs/12-inetd-systemd); the suite's servers look first (SO_ACCEPTCONN) and do both.
Try it: systemd-socket-activate -l 127.0.0.1:7007 /usr/bin/python3 fd3-echo.py
"""
import os
import socket
import sys

if os.environ.get("LISTEN_FDS") != "1" or os.environ.get("LISTEN_PID") != str(os.getpid()):
    sys.exit("fd3-echo: no socket from systemd (LISTEN_FDS/LISTEN_PID): run me under "
             "systemd-socket-activate")
server = socket.socket(fileno=3)
print("fd3-echo: serving the socket on fd 3", file=sys.stderr, flush=True)
while True:
    conn, address = server.accept()  # EINVAL when fd 3 is a connection, not a listener
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.sendall(data)
    conn.close()
