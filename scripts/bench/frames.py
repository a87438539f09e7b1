#!/usr/bin/env python3
"""Frames for scripts/bench-forwarding, and its one-way latency probe.

  frames.py hex MODE SRC_MAC DST_MAC              the frame in hex, for lsr-traffic --frame
  frames.py latency MODE SRC_MAC DST_MAC SRC_NS SRC_DEV DST_NS DST_DEV RATE SECONDS
                                                  one-way latency through the forwarder

MODE: swap (label 100), pop (label 101, PHP), push (IPv4 into the FTN prefix 10.9.0.0/16),
kernel (IPv4 to 10.8.0.0/16, routed by the kernel). Every frame is 60 octets (64 on the wire).
The probe sends from SRC_DEV in SRC_NS and timestamps arrivals (SO_TIMESTAMPNS, in the kernel)
on DST_DEV in DST_NS; both sockets live in one process, so one clock measures both ends.
"""
import ctypes
import os
import socket
import struct
import sys
import threading
import time

FRAME = 60
MAGIC = b"LSRB"
CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def mac(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def frame(mode: str, source: bytes, destination: bytes, sequence: int = 0) -> bytes:
    """Ethernet + (label) + IPv4/UDP, padded to FRAME octets, marker and sequence inside.
    push and push-tun are the same packet (they enter fwd on different links)."""
    label = {"swap": 100, "pop": 101}.get(mode)
    target = "10.8.0.1" if mode == "kernel" else "10.9.0.1"
    header = 14 + (4 if label else 0)
    payload = MAGIC + struct.pack("!Q", sequence)
    payload += b"\0" * (FRAME - header - 28 - len(payload))
    udp = struct.pack("!HHHH", 1024, 9, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     socket.inet_aton("10.1.0.1"), socket.inet_aton(target))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    ethernet = destination + source + struct.pack("!H", 0x8847 if label else 0x0800)
    stack = struct.pack("!I", label << 12 | 0x100 | 64) if label else b""
    return ethernet + stack + ip + udp


def hexadecimal(mode: str, source: str, destination: str) -> None:
    print(frame(mode, mac(source), mac(destination)).hex())


def enter(namespace: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/run/netns/{namespace}") as handle:
        if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {namespace}")


def latency(mode, source, destination, source_ns, source_dev, destination_ns, destination_dev, rate, seconds):
    rate, seconds = int(rate), float(seconds)
    # Sockets keep the namespace they were made in: make the receiver there, then the sender.
    enter(destination_ns)
    receiver = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    receiver.bind((destination_dev, 0))
    receiver.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    receiver.settimeout(0.5)
    enter(source_ns)
    sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sender.bind((source_dev, 0))
    count = int(rate * seconds)
    sent = [0] * count
    arrived = {}
    done = threading.Event()

    def receive():
        while not done.is_set():
            try:
                data, ancillary, _, _ = receiver.recvmsg(2048, 64)
            except socket.timeout:
                continue
            at = data.find(MAGIC)
            if at < 0:
                continue
            (sequence,) = struct.unpack("!Q", data[at + 4:at + 12])
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    seconds_part, nanoseconds = struct.unpack("qq", value[:16])
                    arrived[sequence] = seconds_part * 1_000_000_000 + nanoseconds

    thread = threading.Thread(target=receive)
    thread.start()
    source_mac, destination_mac = mac(source), mac(destination)
    frames = [frame(mode, source_mac, destination_mac, index) for index in range(count)]
    interval = 1_000_000_000 // rate
    start = time.clock_gettime_ns(time.CLOCK_REALTIME) + 10_000_000
    for index in range(count):
        due = start + index * interval
        while time.clock_gettime_ns(time.CLOCK_REALTIME) < due:
            pass
        sent[index] = time.clock_gettime_ns(time.CLOCK_REALTIME)
        sender.send(frames[index])
    time.sleep(0.3)
    done.set()
    thread.join()
    delays = sorted((arrived[index] - sent[index]) / 1000 for index in arrived if 0 <= index < count)
    if not delays:
        print(f"{mode} latency: nothing arrived")
        return
    def quantile(q):
        return delays[min(len(delays) - 1, int(q * len(delays)))]
    print(f"latency {mode} median_us={quantile(0.5):.1f} p90_us={quantile(0.9):.1f} p99_us={quantile(0.99):.1f} "
          f"received={len(delays)} sent={count}")


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "hex":
        hexadecimal(*arguments)
    elif command == "latency":
        latency(*arguments)
    else:
        sys.exit(__doc__)
