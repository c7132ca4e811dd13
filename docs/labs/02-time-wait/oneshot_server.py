# The tutorials' one-shot echo server (seeds 001 and 003): accept one client, echo one
# recv(1024), close, exit. Lab 2 restarts it on the port it just used.
#
#   python3 oneshot_server.py PORT [--reuseaddr] [--close-second]
#
# --reuseaddr     set SO_REUSEADDR before bind, as the tutorials do (and common/socket.cpp)
# --close-second  wait for the client to close first (recv until it returns b'') and only
#                 then close: the client, not the server, ends in TIME_WAIT
# PORT 0 lets the kernel choose; the port is printed as our servers print it.
import socket, sys

port = int(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
if '--reuseaddr' in sys.argv:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    sock.bind(('127.0.0.1', port))
except OSError as e:
    print(f'oneshot_server: bind 127.0.0.1:{port}: {e}', file=sys.stderr)
    sys.exit(1)
sock.listen(5)
print(f'oneshot_server: listening on 127.0.0.1:{sock.getsockname()[1]} (tcp)',
      file=sys.stderr, flush=True)
conn, addr = sock.accept()
conn.send(conn.recv(1024))
if '--close-second' in sys.argv:
    while conn.recv(1024):
        pass
conn.close()
sock.close()
