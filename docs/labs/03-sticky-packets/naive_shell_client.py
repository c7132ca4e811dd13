# The tutorials' remote-shell client (seed 004), driven by a script instead of input():
# each command is sent with one send, and its answer is taken to be one recv(1024).
#
#   python3 naive_shell_client.py PORT long      a reply longer than 1024 bytes, then "echo done"
#   python3 naive_shell_client.py PORT merged    "echo one" and "echo two" in one write
#   python3 naive_shell_client.py PORT bytes     "echo hi" written one byte at a time
import socket, sys, time

port, mode = int(sys.argv[1]), sys.argv[2]
c = socket.create_connection(('127.0.0.1', port), timeout=5)
# No Nagle delay: each send below leaves as its own segment, as the program wrote it.
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def ask(cmd, show):
    c.send(cmd.encode('utf8'))
    time.sleep(0.2)  # time for the whole answer to arrive: it still comes back cut wrong
    data = c.recv(1024)
    print(f'>>> {cmd!r}: recv returned {len(data)} bytes: {show(data)}')


first_and_last = lambda d: f'{d[:12]!r} ... {d[-12:]!r}'
if mode == 'long':
    ask('seq 1 1000', first_and_last)       # 3893 bytes of output
    ask('echo done', first_and_last)        # gets the rest of seq's output instead
elif mode == 'merged':
    c.send(b'echo one' + b'echo two')       # two commands, one write (or Nagle, or a busy server)
    time.sleep(0.2)
    print(f">>> 'echo one' + 'echo two' in one write: recv returned {c.recv(1024)!r}")
elif mode == 'bytes':
    for byte in b'echo hi':
        c.send(bytes([byte]))
        time.sleep(0.05)
    time.sleep(0.2)
    print(f">>> 'echo hi' one byte at a time: recv returned {c.recv(1024)!r}")
c.close()
