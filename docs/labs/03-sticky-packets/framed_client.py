# The fix, from the client's side: the same conversations as naive_shell_client.py, with
# cmd-server's frames (docs/protocols.md): a 4-byte length in network byte order
# (struct '!I'), that many bytes of JSON header, then "size" bytes of body. The reader never
# trusts one recv to be one message: recv_exact loops until it has the bytes the length says.
#
#   python3 framed_client.py PORT long|merged|bytes|native
import json, socket, struct, sys, time

port, mode = int(sys.argv[1]), sys.argv[2]
c = socket.create_connection(('127.0.0.1', port), timeout=5)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def frame(header, pack='!I'):
    data = json.dumps(header).encode()
    return struct.pack(pack, len(data)) + data


def recv_exact(n):
    """Exactly n bytes, however TCP cuts them (read_exactly in common/framing.cpp)."""
    data = b''
    while len(data) < n:
        chunk = c.recv(n - len(data))
        if not chunk:
            raise EOFError(f'stream ended after {len(data)} of {n} bytes')
        data += chunk
    return data


def read_reply(cmd):
    (length,) = struct.unpack('!I', recv_exact(4))
    header = json.loads(recv_exact(length))
    body = recv_exact(header.get('size', 0))
    out = body[:header.get('stdout', 0)]
    if header['status'] != 'ok':
        print(f'>>> {cmd!r}: error frame: {header["error"]}')
    else:
        lines = out.decode().splitlines()
        print(f'>>> {cmd!r}: {len(out)} bytes of stdout, {len(lines)} lines, '
              f'first {lines[0]!r}, last {lines[-1]!r}')


if mode == 'long':
    for cmd in (['seq', '1', '1000'], ['echo', 'done']):
        c.sendall(frame({'argv': cmd}))
        read_reply(' '.join(cmd))
elif mode == 'merged':
    c.sendall(frame({'argv': ['echo', 'one']}) + frame({'argv': ['echo', 'two']}))
    read_reply('echo one')
    read_reply('echo two')
elif mode == 'bytes':
    for byte in frame({'argv': ['echo', 'hi']}):
        c.send(bytes([byte]))
        time.sleep(0.002)
    read_reply('echo hi, one byte at a time')
elif mode == 'native':
    request = frame({'argv': ['echo', 'hi']}, pack='i')   # seed 004's struct.pack('i', n)
    print(f">>> struct.pack('i') length prefix: {request[:4].hex(' ')}")
    c.sendall(request)
    read_reply("echo hi, length by struct.pack('i')")
c.close()
