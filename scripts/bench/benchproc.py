"""Shared by the scripts in scripts/bench: start a server in its own process group, read its
port from the "listening on" line, sample its memory, stop it by PID. Standard library only."""
import os
import re
import signal
import subprocess
import tempfile
import time


def start_server(command, env_overrides=None):
    """Starts `command` (a server given --listen 127.0.0.1:0) in a process group of its own
    and waits up to 10 s for its "listening on" line; returns (process, port, log file)."""
    log = tempfile.TemporaryFile()
    # SOCKSERV_* settings of the caller's environment would change what is measured.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCKSERV_")}
    env.update(env_overrides or {})
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=log, start_new_session=True, env=env)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # pread, not seek+read: the server writes through the same open file, and a seek
        # would move its writing position too (its next line would overwrite this one).
        m = re.search(rb"listening on \S+:(\d+)", os.pread(log.fileno(), 1 << 20, 0))
        if m:
            return proc, int(m.group(1)), log
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    stop_server(proc)
    raise RuntimeError(f"{' '.join(command)} did not start: "
                       f"{os.pread(log.fileno(), 1 << 20, 0).decode(errors='replace')[-300:]}")


def stop_server(proc):
    """SIGTERM to the server's group, SIGKILL after 20 s; reaps the server."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def group_rss_kib(pgid):
    """Resident memory summed over every process of the group (KiB); 0 if none is left."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # field 5 of stat, the process group
                continue
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return total
