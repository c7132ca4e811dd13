#!/usr/bin/python3
"""chat-scenario: the clients of lab 9, played unattended against a chat server on 127.0.0.1.

  chat-scenario.py relay PORT   ann joins, then bob; each says one line. Who heard whom?
  chat-scenario.py lock PORT    slow (never reads, small receive buffer) joins, then ann and
                                cat; ann talks until the server is stuck on slow; jay joins;
                                slow reads at last; ann says one more line. Who heard it?

Prints what happened, one "name heard: yes|no" line per check, for run.sh to read. Several
servers in one run: give NAME=PORT arguments, and each line starts with "NAME: ".
Every wait is bounded; every socket has a timeout.
"""
import socket
import sys
import threading
import time

print_prefix = ""


def say_line(text):
    print(print_prefix + text, flush=True)


class Client:
    """A chat client whose reader thread keeps everything it receives (unless told not to)."""

    def __init__(self, name, port, read=True, rcvbuf=None):
        self.name, self.data, self.lock = name, b"", threading.Lock()
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        if read:
            self.read()

    def read(self):
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        self.sock.settimeout(None)
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.data += chunk

    def say(self, text):
        try:
            self.sock.sendall(text.encode() + b"\n")
            return True
        except OSError:  # socket.timeout included: the server does not read us any more
            return False

    def heard(self, text):
        with self.lock:
            return text.encode() in self.data


def wait_until(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def report(clients, text, seconds=2.5):
    """Waits (`seconds` at most) until every client heard `text`, then says who did."""
    wait_until(lambda: all(c.heard(text) for c in clients), seconds)
    for c in clients:
        say_line(f"{c.name} heard {text!r}: {'yes' if c.heard(text) else 'no'}")


def relay(port):
    ann = Client("ann", port)
    time.sleep(0.3)  # ann is surely first
    bob = Client("bob", port)
    time.sleep(0.3)
    bob.say("hello from bob")
    ann.say("hello from ann")
    # bob spoke first: once ann has his line, ann's (sent after it) has had time to arrive.
    wait_until(lambda: ann.heard("hello from bob"), 2.5)
    report([bob], "hello from ann", 1.0)
    report([ann], "hello from bob", 0)


def lock(port):
    slow = Client("slow", port, read=False, rcvbuf=4096)
    time.sleep(0.2)
    ann = Client("ann", port)
    cat = Client("cat", port)
    time.sleep(0.2)
    line = "x" * 999
    # ann talks (in a thread: if the server stops reading her, her sends block) until cat
    # has heard all 200 lines, or has heard nothing new for a second: the server is stuck.
    threading.Thread(target=lambda: [ann.say(line) for _ in range(200)], daemon=True).start()
    last, quiet_since, got = -1, time.monotonic(), 0
    while time.monotonic() - quiet_since < 1.0 and got < 200:
        with cat.lock:
            size, got = len(cat.data), cat.data.count(b"x" * 999)
        if size != last:
            last, quiet_since = size, time.monotonic()
        time.sleep(0.05)
    say_line(f"cat heard {got} of ann's 200 long lines before the room went quiet")
    jay = Client("jay", port)
    time.sleep(0.3)
    slow.read()  # slow reads at last: a send blocked on slow returns
    time.sleep(0.5)
    ann.say("one more from ann")
    report([cat, jay], "one more from ann")


if __name__ == "__main__":
    scenario = {"relay": relay, "lock": lock}[sys.argv[1]]
    for target in sys.argv[2:]:
        name, _, port = target.rpartition("=")
        print_prefix = f"{name}: " if name else ""
        scenario(int(port))
