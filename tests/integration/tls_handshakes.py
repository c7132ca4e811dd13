# Many TLS handshakes against an echo-server, one after another, with Python's standard
# ssl module (OpenSSL underneath): each connects, verifies the server's certificate for
# localhost, sends a line, reads it back and closes. tls_server_test counts the server's
# descriptors and memory around it.
#   usage: tls_handshakes.py PORT CA_FILE COUNT
import socket
import ssl
import sys

port, ca_file, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
context = ssl.create_default_context(cafile=ca_file)
for i in range(count):
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            line = b"handshake %d\n" % i
            tls.sendall(line)
            echoed = b""
            while not echoed.endswith(b"\n"):
                piece = tls.recv(4096)
                if not piece:
                    break
                echoed += piece
            if echoed != line:
                sys.exit("connection %d: sent %r, got %r" % (i, line, echoed))
print("handshakes:", count)
