# UDP next to TCP, against echo servers on 127.0.0.1.
#
#   python3 udp_tcp.py boundaries UDP_PORT TCP_PORT   three sends each way: three datagrams, one stream
#   python3 udp_tcp.py truncate UDP_PORT              a 2000-byte datagram read with recv(1024)
#   python3 udp_tcp.py noconn CLOSED_PORT             nobody listens: what UDP and TCP each say
#   python3 udp_tcp.py loss UDP_PORT TCP_PORT COUNT   COUNT datagrams, and COUNT/5 TCP round trips,
#                                                     over a lossy link
import socket, sys, time

mode, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
ADDR = '127.0.0.1'


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    return s


if mode == 'boundaries':
    udp_port, tcp_port = args
    u = udp_socket()
    for word in (b'one', b'two', b'three'):
        u.sendto(word, (ADDR, udp_port))
    time.sleep(0.2)
    print('UDP, three sendto, then recvfrom(1024) three times:',
          [u.recvfrom(1024)[0] for _ in range(3)])
    t = socket.create_connection((ADDR, tcp_port), timeout=1)
    t.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for word in (b'one', b'two', b'three'):
        t.send(word)
    time.sleep(0.5)   # every echo is back by now: one recv finds them all
    print('TCP, three send, then recv(1024) once:', t.recv(1024))

elif mode == 'truncate':
    (udp_port,) = args
    u = udp_socket()
    u.sendto(b'x' * 2000, (ADDR, udp_port))
    data, _, flags, _ = u.recvmsg(1024)
    print(f'2000-byte datagram, recvmsg(1024): {len(data)} bytes, '
          f'MSG_TRUNC set: {bool(flags & socket.MSG_TRUNC)}')
    u.sendto(b'next', (ADDR, udp_port))
    print(f'the next recv gets the next datagram, not the rest: {u.recv(1024)!r}')

elif mode == 'noconn':
    (port,) = args
    u = udp_socket()
    u.settimeout(0.5)
    print(f'UDP sendto a closed port returned {u.sendto(b"hello?", (ADDR, port))}: no error')
    try:
        u.recvfrom(1024)
    except socket.timeout:
        print('UDP recvfrom on an unconnected socket: nothing, a timeout after 0.5 s')
    c = udp_socket()
    c.connect((ADDR, port))   # a connected UDP socket is told about ICMP port unreachable
    c.send(b'hello?')
    try:
        c.recv(1024)
    except ConnectionRefusedError as e:
        print(f'UDP send then recv on a connected socket: {e!r}')
    try:
        socket.create_connection((ADDR, port), timeout=1)
    except ConnectionRefusedError as e:
        print(f'TCP connect: {e!r}')

elif mode == 'loss':
    udp_port, tcp_port, count = args
    u = udp_socket()
    for i in range(count):
        u.sendto(b'%d' % i, (ADDR, udp_port))
        time.sleep(0.002)
    back = set()
    u.settimeout(0.3)
    try:
        while len(back) < count:
            back.add(int(u.recv(100)))
    except socket.timeout:
        pass
    print(f'UDP: {count} datagrams sent, {len(back)} came back')
    start = time.monotonic()
    t = socket.create_connection((ADDR, tcp_port), timeout=8)
    t.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    right = 0
    count //= 5
    for i in range(count):           # one line, wait for its echo: a round trip each
        t.sendall(b'%d\n' % i)
        data = b''
        while not data.endswith(b'\n'):
            data += t.recv(100)
        right += data == b'%d\n' % i
    print(f'TCP: {count} lines sent one at a time, {right} came back right, '
          f'after {time.monotonic() - start:.1f} s')
