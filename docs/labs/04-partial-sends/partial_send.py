# send() may take less than it is given. Talks to an echo server with small socket buffers.
#
#   python3 partial_send.py PORT once       one send of 1 MiB while nobody reads the echo
#   python3 partial_send.py PORT tutorial   seed 001's retry loop (total_send += total_send + sent)
#   python3 partial_send.py PORT loop       the loop done right (what write_all and sendall do)
import socket, subprocess, sys, threading, time

port, mode = int(sys.argv[1]), sys.argv[2]
data = bytes(i % 251 for i in range(1 << 20))   # 1 MiB, a pattern that shows lost bytes
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# Small buffers on our side too (before connect: the window is chosen in the handshake).
sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
sock.connect(('127.0.0.1', port))

if mode == 'once':
    sock.setblocking(False)
    n = sock.send(data)
    print(f'send(1048576 bytes) returned {n}')
    more = 0
    for _ in range(100):    # keep offering the rest until the kernel takes nothing more
        try:
            more += sock.send(data[n + more:])
        except BlockingIOError as e:
            print(f'then {more} bytes more, then {e!r}: every buffer on the way is full')
            break
        time.sleep(0.05)
    # -m: the socket's memory; rb and tb are the receive and send buffer sizes in bytes.
    subprocess.run(['ss', '-tnm', f'( sport = :{port} or dport = :{port} )'])
    sys.exit(0)

# Read the echo in a thread while the main thread sends, as a real client must.
received = bytearray()
def read_echo():
    while chunk := sock.recv(65536):
        received.extend(chunk)
reader = threading.Thread(target=read_echo)
reader.start()
sock.settimeout(5)   # a timeout makes Python's send non-blocking underneath: partial sends
total_send, calls = 0, 0
while total_send < len(data):
    sent = sock.send(data[total_send:])
    calls += 1
    if sent == 0:
        raise RuntimeError('socket connection broken')
    if mode == 'tutorial':
        total_send += total_send + sent     # seed 001's line, as printed
    else:
        total_send += sent
sock.shutdown(socket.SHUT_WR)               # end of our data: the server's read returns 0
reader.join(10)
print(f'{mode}: {calls} send calls, the loop believes it sent {total_send} bytes; '
      f'the echo brought back {len(received)} bytes; same as the 1 MiB sent: '
      f'{bytes(received) == data}')
