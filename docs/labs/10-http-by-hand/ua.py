#!/usr/bin/python3
"""ua: the tutorial's hand-made browser (seed 001, "HTTP UA"), which reads the answer with one
recv(4096). The tutorial itself asks: what if the answer is longer? This is the answer.

Changes, and why: HOST PORT PATH from the command line instead of baidu.com:80 (lab 10 runs
on 127.0.0.1); Python 3 bytes; it prints what it got instead of the raw bytes.
Usage: /usr/bin/python3 ua.py HOST PORT PATH
"""
import socket
import sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect((host, port))
req_msg = [
    "GET %s HTTP/1.1" % path,
    "User-Agent: curl/7.37.1",
    "Host: %s" % host,
    "Accept: */*",
]
delimiter = "\r\n"
sock.send((delimiter.join(req_msg) + delimiter + delimiter).encode())
http_response = sock.recv(4096)  # the bug: one recv, at most 4096 bytes
head, _, body = http_response.partition(b"\r\n\r\n")
length = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
print(head.split(b"\r\n")[0].decode())
print("%s; body bytes received: %d" % (length[0].decode() if length else "no Content-Length", len(body)))
