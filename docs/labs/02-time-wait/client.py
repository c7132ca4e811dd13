# A client that lets the server close first: send a line, read until the server's end of
# stream (recv returns b''), and only then close. Usage: python3 client.py PORT
import socket, sys

sock = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
sock.sendall(b'hello\n')
reply = b''
while chunk := sock.recv(1024):
    reply += chunk
print(reply.decode(), end='')
sock.close()
