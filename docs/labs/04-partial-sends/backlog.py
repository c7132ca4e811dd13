# Fills a server's listen queue: one connection the server serves (and we keep), then COUNT
# more at once while the server is busy with the first. Prints what each connect did and
# what ss shows for the listening socket, then closes the first connection and looks again.
#
#   python3 backlog.py PORT COUNT
import selectors, socket, subprocess, sys, time

port, count = int(sys.argv[1]), int(sys.argv[2])
ss = ['ss', '-ltn', f'( sport = :{port} )']
first = socket.create_connection(('127.0.0.1', port))
first.sendall(b'busy\n')
first.recv(100)               # echoed: the server is now serving `first` and nobody else
waiting = []
for _ in range(count):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(('127.0.0.1', port))
    waiting.append(s)
time.sleep(1.5)               # long enough for SYN retries to be visible (the first is at 1 s)
sel = selectors.DefaultSelector()
for s in waiting:
    sel.register(s, selectors.EVENT_WRITE)
ready = {key.fileobj for key, _ in sel.select(timeout=0)}
connected = sum(1 for s in waiting if s in ready and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)
print(f'{count} connects while the server is busy: {connected} handshakes done, '
      f'{count - connected} still waiting (SYN_SENT)')
subprocess.run(ss)
subprocess.run(['ss', '-tn', 'state', 'syn-sent', f'( dport = :{port} )'])
first.close()                 # the server accepts the next one from its queue
time.sleep(0.5)
print('after the first client left:')
subprocess.run(ss)
for s in waiting:
    s.close()
