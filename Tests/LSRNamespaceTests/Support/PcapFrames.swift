// Ethernet frames from a classic pcap file (what tcpdump -w writes): the source MAC, the MPLS
// label stack if any, and the IPv4 header's addresses and protocol under it.

import Foundation

struct CapturedFrame {
    var sourceMAC: String
    /// Top first; empty for a plain IPv4 frame.
    var labels: [UInt32]
    var ipSource: String
    var ipDestination: String
    var ipProtocol: UInt8

    var isLabelled: Bool { !labels.isEmpty }

    /// The IPv4 frames (labelled or not) of a pcap file with Ethernet link type.
    static func read(pcap path: String) throws -> [CapturedFrame] {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard data.count >= 24 else { throw CommandFailure(description: "\(path): \(data.count) bytes, no pcap header") }
        let magic = UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
        let littleEndian: Bool
        switch magic {
        case 0xA1B2_C3D4, 0xA1B2_3C4D: littleEndian = true
        case 0xD4C3_B2A1, 0x4D3C_B2A1: littleEndian = false
        default: throw CommandFailure(description: "\(path): not a pcap file (magic \(String(magic, radix: 16)))")
        }
        func word(_ offset: Int) -> Int {
            let bytes = data[offset..<offset + 4].map(UInt32.init)
            let value = littleEndian ? bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24
                : bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]
            return Int(value)
        }
        guard word(20) == 1 else { throw CommandFailure(description: "\(path): link type \(word(20)), not Ethernet") }
        var frames: [CapturedFrame] = []
        var offset = 24
        while offset + 16 <= data.count {
            let length = word(offset + 8)
            let start = offset + 16
            offset = start + length
            guard offset <= data.count else { break }
            if let frame = decode(Array(data[start..<offset])) { frames.append(frame) }
        }
        return frames
    }

    static func decode(_ frame: [UInt8]) -> CapturedFrame? {
        guard frame.count >= 14 else { return nil }
        let source = frame[6..<12].map { String(format: "%02x", $0) }.joined(separator: ":")
        let etherType = UInt16(frame[12]) << 8 | UInt16(frame[13])
        var offset = 14
        var labels: [UInt32] = []
        switch etherType {
        case 0x0800: break
        case 0x8847:
            while offset + 4 <= frame.count {
                let entry = UInt32(frame[offset]) << 24 | UInt32(frame[offset + 1]) << 16 | UInt32(frame[offset + 2]) << 8 | UInt32(frame[offset + 3])
                labels.append(entry >> 12)
                offset += 4
                if entry & 0x100 != 0 { break }
            }
        default: return nil
        }
        guard offset + 20 <= frame.count, frame[offset] >> 4 == 4 else { return nil }
        func address(_ at: Int) -> String { frame[at..<at + 4].map(String.init).joined(separator: ".") }
        return CapturedFrame(sourceMAC: source, labels: labels, ipSource: address(offset + 12),
                             ipDestination: address(offset + 16), ipProtocol: frame[offset + 9])
    }
}
