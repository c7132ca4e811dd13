# A unix-domain echo server as the tutorials would write it: bind the path, listen, serve.
# It never removes its socket file: not on exit, and not a stale one left by a crash.
#
#   python3 naive_unix_server.py PATH
import os, socket, sys

path = sys.argv[1]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    server.bind(path)
except OSError as e:
    print(f'naive_unix_server: bind {path}: {e}', file=sys.stderr)
    sys.exit(1)
server.listen(5)
print(f'naive_unix_server: listening on unix:{path} (unix)', file=sys.stderr, flush=True)
while True:
    conn, _ = server.accept()
    while data := conn.recv(1024):
        conn.sendall(data)
    conn.close()
