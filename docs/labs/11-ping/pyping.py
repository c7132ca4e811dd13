#!/usr/bin/python3
"""pyping: one ICMP echo to 127.0.0.1 from Python, the way seed 001's ping.py does it (a raw
socket), and the way an unprivileged program can (a datagram "ping socket").

  pyping.py raw        socket(AF_INET, SOCK_RAW, IPPROTO_ICMP): root or CAP_NET_RAW only
  pyping.py datagram   socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP): a group in ping_group_range

Prints "raw: reply from 127.0.0.1 ..." or "raw: PermissionError: ...". Lab 11 (docs/labs/11-ping).
"""
import os
import socket
import struct
import sys
import time


def checksum(data):
    """RFC 1071: the one's complement of the one's complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


kind = sys.argv[1]
try:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW if kind == "raw" else socket.SOCK_DGRAM,
                         socket.IPPROTO_ICMP)
except OSError as e:
    print("%s: %s: %s" % (kind, type(e).__name__, e))
    sys.exit(1)
sock.settimeout(2)
ident, payload = os.getpid() & 0xFFFF, b"sockserv lab 11"
header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)  # type 8 echo request, code 0, sequence 1
packet = struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, 1) + payload
sent = time.monotonic()
sock.sendto(packet, ("127.0.0.1", 0))
while True:
    data, (address, _) = sock.recvfrom(1024)
    if kind == "raw":
        data = data[(data[0] & 0x0F) * 4:]  # a raw socket gives the IP header too: skip it
    icmp_type, _, _, their_id, seq = struct.unpack("!BBHHH", data[:8])
    # A raw socket sees every ICMP packet of the host, on loopback our own request too.
    # (A datagram socket's identifier is the kernel's, so we do not compare it there.)
    if icmp_type == 0 and (kind == "datagram" or their_id == ident):
        print("%s: reply from %s, icmp_seq=%d, %.3f ms" % (kind, address, seq,
                                                           (time.monotonic() - sent) * 1000))
        break
