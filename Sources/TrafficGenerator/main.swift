// lsr-traffic: the forwarding benchmark's generator. Sends one frame, over and over, through
// an AF_PACKET transmit ring as fast as the interface takes it, for a given time. Unlike
// trafgen it keeps going when a veth in NAPI mode pushes back (the kernel reference needs
// that), counting what the kernel refused instead of stopping.
//   lsr-traffic --interface bfs0 --frame 0a41de... --seconds 5

import CLinuxShims
import Glibc

func fail(_ message: String) -> Never {
    let line = Array("lsr-traffic: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

var interface: String?
var hex: String?
var seconds = 5.0
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--interface": interface = arguments.popFirst()
    case "--frame": hex = arguments.popFirst()
    case "--seconds": seconds = arguments.popFirst().flatMap(Double.init) ?? -1
    default: fail("unknown argument \(argument); usage: lsr-traffic --interface NAME --frame HEX [--seconds S]")
    }
}
guard let interface, let hex, seconds > 0 else { fail("usage: lsr-traffic --interface NAME --frame HEX [--seconds S]") }
let utf8 = Array(hex.utf8)
guard utf8.count % 2 == 0, utf8.count >= 28 else { fail("--frame must be an even number of hex digits, 14 octets or more") }
let frame: [UInt8] = stride(from: 0, to: utf8.count, by: 2).map { index in
    guard let octet = UInt8(String(decoding: utf8[index..<index + 2], as: UTF8.self), radix: 16) else {
        fail("--frame: '\(String(decoding: utf8[index..<index + 2], as: UTF8.self))' is not hex")
    }
    return octet
}
let index = if_nametoindex(interface)
guard index > 0 else { fail("no interface \(interface)") }
guard let ring = lsr_ring_open(Int32(index), 2048, 0, 4096) else {
    fail("cannot open a transmit ring on \(interface): \(String(cString: strerror(errno)))")
}

let batch = Int(LSR_RING_BATCH)
let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: frame.count)
buffer.initialize(from: frame, count: frame.count)
let frames = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: batch)
frames.initialize(repeating: buffer, count: batch)
let lengths = UnsafeMutablePointer<UInt32>.allocate(capacity: batch)
lengths.initialize(repeating: UInt32(frame.count), count: batch)

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
let end = now() + seconds
var queued = 0
var refused = 0
while now() < end {
    for _ in 0..<64 {
        let taken = Int(lsr_ring_send_batch(ring, frames, lengths, UInt32(batch)))
        queued += taken
        refused += batch - taken
    }
}
print("lsr-traffic: \(queued) frames queued, \(refused) refused (ring full) in \(seconds) s")
lsr_ring_close(ring)
