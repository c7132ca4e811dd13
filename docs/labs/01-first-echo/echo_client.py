# The tutorial's echo client (seed 001's echo_client.py), in Python 3: socket() and
# connect(), one send, one recv, close. Usage: python3 echo_client.py PORT
import socket, sys

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect(('127.0.0.1', int(sys.argv[1])))
sock.send(b'hello socket world')
print(sock.recv(1024))
sock.close()
