#!/usr/bin/env python3
"""Extracts every LDP PDU from the FRRouting captures into frr-pdus.json.

Standard library only. Reads pcapng (Ethernet, IPv4/IPv6, UDP/TCP port 646),
takes UDP payloads as one PDU each, reassembles each TCP direction by sequence
number (dropping retransmitted octets) and cuts the stream at PDU boundaries
(RFC 5036 section 3.1: 2 octets version, 2 octets PDU length, then that many octets).

Usage: python3 extract.py   (from this directory; rewrites frr-pdus.json)
"""
import json
import os
import struct

CAPTURES = ["frr-ldp-session.pcap", "frr-ldp-dualstack.pcap", "frr-ldp-gtsm.pcap"]
LDP_PORT = 646


def pcapng_packets(path):
    """Yields (frame number, link type, packet bytes) from a pcapng file."""
    data = open(path, "rb").read()
    offset, frame, endian, link_types = 0, 0, "<", []
    while offset + 12 <= len(data):
        block_type = struct.unpack_from(endian + "I", data, offset)[0]
        if block_type == 0x0A0D0D0A:  # Section Header Block: learn the byte order.
            magic = data[offset + 8:offset + 12]
            endian = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">"
            link_types = []
        block_length = struct.unpack_from(endian + "I", data, offset + 4)[0]
        body = data[offset + 8:offset + block_length - 4]
        if block_type == 0x00000001:  # Interface Description Block
            link_types.append(struct.unpack_from(endian + "H", body, 0)[0])
        elif block_type == 0x00000006:  # Enhanced Packet Block
            interface, _, _, captured, _ = struct.unpack_from(endian + "IIIII", body, 0)
            frame += 1
            yield frame, link_types[interface], body[20:20 + captured]
        elif block_type == 0x00000003:  # Simple Packet Block
            frame += 1
            yield frame, link_types[0], body[4:]
        offset += block_length


def transport(packet):
    """(src, dst, protocol, sport, dport, seq, payload) for IPv4/IPv6 over Ethernet."""
    ethertype = struct.unpack_from("!H", packet, 12)[0]
    offset = 14
    while ethertype == 0x8100:  # VLAN tags
        ethertype = struct.unpack_from("!H", packet, offset + 2)[0]
        offset += 4
    if ethertype == 0x0800:
        header_length = (packet[offset] & 0x0F) * 4
        total = struct.unpack_from("!H", packet, offset + 2)[0]
        protocol = packet[offset + 9]
        src, dst = packet[offset + 12:offset + 16], packet[offset + 16:offset + 20]
        end = offset + total
        offset += header_length
    elif ethertype == 0x86DD:
        payload_length = struct.unpack_from("!H", packet, offset + 4)[0]
        protocol = packet[offset + 6]
        src, dst = packet[offset + 8:offset + 24], packet[offset + 24:offset + 40]
        offset += 40
        end = offset + payload_length
    else:
        return None
    if protocol == 17:
        sport, dport = struct.unpack_from("!HH", packet, offset)
        return src, dst, "udp", sport, dport, 0, packet[offset + 8:end]
    if protocol == 6:
        sport, dport, seq = struct.unpack_from("!HHI", packet, offset)
        data_offset = (packet[offset + 12] >> 4) * 4
        flags = packet[offset + 13]
        payload = packet[offset + data_offset:end]
        # SYN consumes one sequence number: the payload of later segments starts after it.
        return src, dst, "tcp", sport, dport, (seq, flags), payload
    return None


def address_text(raw):
    if len(raw) == 4:
        return ".".join(str(b) for b in raw)
    groups = [f"{(raw[i] << 8 | raw[i + 1]):x}" for i in range(0, 16, 2)]
    return ":".join(groups)


def extract(path):
    pdus = []
    streams = {}  # (src, sport, dst, dport) -> {"next": seq, "buffer": bytes, "frames": [...]}
    for frame, link_type, packet in pcapng_packets(path):
        if link_type != 1:
            continue
        parsed = transport(packet)
        if parsed is None:
            continue
        src, dst, protocol, sport, dport, seq, payload = parsed
        if LDP_PORT not in (sport, dport):
            continue
        entry = {"frame": frame, "transport": protocol,
                 "source": address_text(src), "destination": address_text(dst)}
        if protocol == "udp":
            pdus.append(dict(entry, hex=payload.hex()))
            continue
        sequence, flags = seq
        key = (src, sport, dst, dport)
        stream = streams.setdefault(key, {"next": None, "buffer": b"", "start_frame": None})
        if flags & 0x02:  # SYN
            stream["next"] = (sequence + 1) & 0xFFFFFFFF
            continue
        if not payload or stream["next"] is None:
            continue
        # Keep only octets not seen before (retransmissions overlap).
        skip = (stream["next"] - sequence) & 0xFFFFFFFF
        if skip >= 0x80000000:
            raise SystemExit(f"{path} frame {frame}: gap in TCP stream (segment lost from capture)")
        payload = payload[skip:]
        if not payload:
            continue
        if not stream["buffer"]:
            stream["start_frame"] = frame
        stream["buffer"] += payload
        stream["next"] = (stream["next"] + len(payload)) & 0xFFFFFFFF
        while len(stream["buffer"]) >= 4:
            length = struct.unpack_from("!H", stream["buffer"], 2)[0] + 4
            if len(stream["buffer"]) < length:
                break
            pdus.append(dict(entry, frame=stream["start_frame"], hex=stream["buffer"][:length].hex()))
            stream["buffer"] = stream["buffer"][length:]
            stream["start_frame"] = frame
    return pdus


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = {}
    for capture in CAPTURES:
        fixtures[capture] = extract(os.path.join(here, capture))
    with open(os.path.join(here, "frr-pdus.json"), "w") as output:
        json.dump(fixtures, output, indent=1)
        output.write("\n")
    for capture, pdus in fixtures.items():
        print(capture, len(pdus), "PDUs")


if __name__ == "__main__":
    main()
