#!/usr/bin/python3
"""hello: the tutorial's "simple web server" (seed 002, 创建一个简单Web服务器), kept as it was.

It answers every connection with a status line, no header at all, and a body that ends when
the server closes the connection. Changes, and why: 127.0.0.1 and port 0 instead of
0.0.0.0:8080, with a "listening on" line on stderr (so lab 10 can start it anywhere); bytes
literals instead of .encode(). Lab 10 (docs/labs/10-http-by-hand).
Try it: /usr/bin/python3 hello.py   then   curl -v http://127.0.0.1:PORT/
"""
import socket
import sys

s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(10)
print("hello: listening on %s:%d (tcp)" % s.getsockname(), file=sys.stderr, flush=True)
while True:
    sock, address = s.accept()
    buf = sock.recv(1024)  # one recv, and the hope that the whole request is in it
    print(buf, file=sys.stderr, flush=True)
    sock.send(b"HTTP/1.1 200 OK\r\n\r\n")
    sock.send(b"<h1>Hello World!</h1>")
    sock.close()  # the only way the client can know the body is over
