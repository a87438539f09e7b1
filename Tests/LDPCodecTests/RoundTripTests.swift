import Testing
import LDPCodec
import LDPTestSupport

@Suite struct RoundTripTests {
    @Test func randomMessagesSurviveEncodeAndDecode() {
        var generator = MessageGenerator(seed: 0x5036)
        var counts: [MessageType: Int] = [:]
        for _ in 0..<12_000 {
            let message = generator.message()
            counts[message.type!, default: 0] += 1
            let decoded = Message.decode(message.encoded())
            if decoded != .message(message) {
                Issue.record("\(message)\n  encoded \(hexText(message.encoded()))\n  decoded \(decoded)")
                return
            }
        }
        // Every type was drawn many times.
        #expect(counts.count == MessageType.allCases.count)
        #expect(counts.values.allSatisfy { $0 > 500 })
    }

    @Test func randomPDUsSurviveEncodeAndDecode() throws {
        var generator = MessageGenerator(seed: 7552)
        for _ in 0..<2_000 {
            let pdu = generator.pdu()
            let decoded = try PDU.decode(pdu.encoded(), maximumLength: 0xFFFF)
            #expect(decoded.ldpIdentifier == pdu.ldpIdentifier)
            #expect(decoded.items == pdu.messages.map { .message($0) })
        }
    }

    @Test func everyPrefixLengthOfBothFamilies() {
        var generator = MessageGenerator(seed: 5918)
        for length in 0...128 {
            var prefixes = [IPPrefix(address: .v6(generator.ipv6()), length: UInt8(length))!]
            if length <= 32 { prefixes.append(IPPrefix(generator.ipv4(), length: UInt8(length))) }
            for prefix in prefixes {
                let message = Message(id: UInt32(length), body: .labelMapping(LabelMappingMessage(
                    fec: [.prefix(prefix)], label: .generic(16))))
                let wire = message.encoded()
                // FEC TLV length = element header (4) + ceil(length / 8) prefix octets.
                #expect(Int(wire[10]) << 8 | Int(wire[11]) == 4 + (length + 7) / 8)
                #expect(Message.decode(wire) == .message(message))
            }
        }
    }

    @Test func encodingAppendsToAnExistingBuffer() {
        var generator = MessageGenerator(seed: 1)
        let first = generator.pdu(), second = generator.pdu()
        var buffer: [UInt8] = []
        first.encode(into: &buffer)
        second.encode(into: &buffer)
        #expect(buffer == first.encoded() + second.encoded())
    }
}
