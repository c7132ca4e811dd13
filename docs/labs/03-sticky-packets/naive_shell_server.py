# The tutorials' remote shell (seed 004, "远程执行 shell 命令"), message boundaries and all:
# a command is whatever one recv(1024) returns, its output goes back in one send, with
# nothing that says where a message ends. Only the commands of ALLOWED run (the tutorial
# runs anything with shell=True); anything else is answered "not allowed: '...'", which shows
# exactly what one recv returned.
#
#   python3 naive_shell_server.py PORT        (0: the kernel picks; the port is printed)
import socket, subprocess, sys

ALLOWED = {'seq 1 1000', 'echo done', 'echo one', 'echo two', 'echo hi', 'date'}

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('127.0.0.1', int(sys.argv[1])))
server.listen(5)
print(f'naive_shell_server: listening on 127.0.0.1:{server.getsockname()[1]} (tcp)',
      file=sys.stderr, flush=True)
while True:
    conn, client_address = server.accept()
    while True:
        try:
            cmd = conn.recv(1024)      # one recv: one command, the tutorial hopes
            if len(cmd) == 0:
                break
            text = cmd.decode('utf8', 'replace')
            if text in ALLOWED:
                res = subprocess.run(text.split(), capture_output=True)
                conn.send(res.stdout + res.stderr)
            else:
                conn.send(f'not allowed: {text!r}\n'.encode())
        except OSError:                # a client that left with replies unread: a reset
            break
    conn.close()
