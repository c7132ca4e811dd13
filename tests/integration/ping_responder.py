#!/usr/bin/python3
"""An ICMP echo responder that misbehaves on purpose, for ping's tests.

It answers the echo request with sequence 1 twice (a duplicate), the one with sequence 2
only after DELAY seconds (late, for a ping with a shorter -W), the one with sequence 3 and
every request that arrives with a TTL of 1 (ping -t 1) with an ICMP "time to live exceeded"
as a router would (RFC 792: quoting the request's IP header and its first 8 bytes), the
others once. It serves
while the command given on its command line runs, then exits with the command's status.
Run it where the kernel itself does not answer (net.ipv4.icmp_echo_ignore_all = 1, in a
network namespace of the test's own) and with CAP_NET_RAW, for its raw socket.

    ping_responder.py ping -c 10 -i 0.2 -W 0.5 127.0.0.1
"""
import socket
import struct
import subprocess
import sys
import threading

DELAY = 1.0  # seconds before the reply to sequence 2


def checksum(data):
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def reply_for(request):
    """The echo reply to an echo request: type 0, same identifier, sequence and payload."""
    body = b"\0\0\0\0" + request[4:]
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def time_exceeded(packet, ihl):
    """A router's ICMP time exceeded (type 11, code 0) about `packet`."""
    body = b"\x0b\0\0\0\0\0\0\0" + packet[: ihl + 8]
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def serve(sock):
    while True:
        packet, (host, _) = sock.recvfrom(65536)
        ihl = (packet[0] & 0x0F) * 4
        icmp = packet[ihl:]  # a raw IPv4 socket gets the IP header too
        if len(icmp) < 8 or icmp[0] != 8:  # echo requests only (it sees its replies too)
            continue
        seq = struct.unpack("!H", icmp[6:8])[0]
        reply = reply_for(icmp)
        ttl = packet[8]
        if seq == 3 or ttl <= 1:
            sock.sendto(time_exceeded(packet, ihl), (host, 0))
        elif seq == 2:
            threading.Timer(DELAY, sock.sendto, (reply, (host, 0))).start()
        else:
            for _ in range(2 if seq == 1 else 1):
                sock.sendto(reply, (host, 0))


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    threading.Thread(target=serve, args=(sock,), daemon=True).start()
    sys.exit(subprocess.run(sys.argv[1:], timeout=30).returncode)


if __name__ == "__main__":
    main()
