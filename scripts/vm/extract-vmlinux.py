#!/usr/bin/env python3
"""Writes the uncompressed kernel (ELF) found in an xz-compressed vmlinuz: vmlinux-from-vmlinuz."""
import lzma
import sys

source, destination = sys.argv[1], sys.argv[2]
data = open(source, "rb").read()
magic = b"\xfd7zXZ\x00"
start = data.find(magic)
while start >= 0:
    try:
        kernel = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[start:])
    except lzma.LZMAError:
        start = data.find(magic, start + 1)
        continue
    if kernel.startswith(b"\x7fELF"):
        open(destination, "wb").write(kernel)
        sys.exit(0)
    start = data.find(magic, start + 1)
sys.exit(f"no xz-compressed ELF kernel in {source}")
