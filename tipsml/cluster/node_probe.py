"""Ask the cluster DNS a question from the host, the way a Pod would (UDP to the ``kube-dns`` Service).

A DNS query is twelve bytes of header and the question; the standard library is enough, so no resolver
library is added for one check.
"""

from __future__ import annotations

import secrets
import socket
import struct

from tipsml.cluster.node_files import DNS_SERVICE_IP


def dns_query(name: str, server: str = DNS_SERVICE_IP, port: int = 53, timeout: float = 1.0) -> list[str]:
    """The IPv4 addresses ``server`` gives for ``name`` (type A); empty when it does not answer or knows none."""
    ident = secrets.randbits(16)
    question = b"".join(bytes([len(part)]) + part.encode() for part in name.rstrip(".").split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(packet, (server, port))
            reply = sock.recv(4096)
        except OSError:
            return []
    if len(reply) < 12:
        return []
    rid, flags, _, ancount, _, _ = struct.unpack(">HHHHHH", reply[:12])
    if rid != ident or flags & 0x000F:
        return []
    offset = 12 + len(question) + 4
    found = []
    for _ in range(ancount):
        offset = _skip_name(reply, offset)
        rtype, _, _, length = struct.unpack(">HHIH", reply[offset : offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            found.append(socket.inet_ntoa(reply[offset : offset + 4]))
        offset += length
    return found


def dns_answers(name: str) -> bool:
    """Whether the cluster DNS resolves ``name``."""
    return bool(dns_query(name))


def _skip_name(data: bytes, offset: int) -> int:
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:  # a compression pointer ends the name
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length
