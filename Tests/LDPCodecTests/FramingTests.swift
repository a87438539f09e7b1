import Testing
import LDPCodec
import LDPTestSupport

@Suite struct FramingTests {
    func stream(count: Int, seed: UInt64) -> (pdus: [[UInt8]], bytes: [UInt8]) {
        var generator = MessageGenerator(seed: seed)
        let pdus = (0..<count).map { _ in generator.pdu(messages: 0...6).encoded() }.filter { $0.count <= 4096 + 4 }
        return (pdus, pdus.flatMap { $0 })
    }

    func drain(_ framer: inout PDUFramer) throws -> [[UInt8]] {
        var result: [[UInt8]] = []
        while let pdu = try framer.next() { result.append(pdu) }
        return result
    }

    @Test func oneOctetAtATimeAndAllAtOnceGiveTheSamePDUs() throws {
        let (pdus, bytes) = stream(count: 300, seed: 31)
        var whole = PDUFramer()
        whole.append(bytes)
        #expect(try drain(&whole) == pdus)
        #expect(whole.bufferedCount == 0)

        var trickle = PDUFramer()
        var received: [[UInt8]] = []
        for octet in bytes {
            trickle.append([octet])
            received += try drain(&trickle)
        }
        #expect(received == pdus)
    }

    @Test func randomSegmentsSplitAndJoinPDUs() throws {
        let (pdus, bytes) = stream(count: 300, seed: 32)
        var rng = SplitMix64(seed: 33)
        var framer = PDUFramer()
        var received: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            // Segments from 1 octet to several PDUs long.
            let size = min(bytes.count - offset, Int.random(in: 1...600, using: &rng))
            framer.append(bytes[offset..<(offset + size)])
            received += try drain(&framer)
            offset += size
        }
        #expect(received == pdus)
    }

    @Test func severalPDUsInOneAppend() throws {
        let keepAlive = hex("0001 000e 01010101 0000 0201 0004 00000003")
        var framer = PDUFramer()
        framer.append(keepAlive + keepAlive + keepAlive.prefix(5))
        #expect(try framer.next() == keepAlive)
        #expect(try framer.next() == keepAlive)
        #expect(try framer.next() == nil)
        framer.append(keepAlive.dropFirst(5))
        #expect(try framer.next() == keepAlive)
        #expect(try framer.next() == nil)
    }

    struct BadHeader: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var maximumLength: Int = PDU.defaultMaximumLength
        var code: StatusCode
        var testDescription: String { name }
    }

    @Test(arguments: [
        BadHeader(name: "version 2", bytes: hex("0002 000e 01010101 0000"), code: .badProtocolVersion),
        BadHeader(name: "version 0, seen from two octets", bytes: hex("0000"), code: .badProtocolVersion),
        BadHeader(name: "PDU length 5 cannot hold the LDP identifier", bytes: hex("0001 0005 01010101 00"), code: .badPDULength),
        BadHeader(name: "PDU length 0", bytes: hex("0001 0000"), code: .badPDULength),
        BadHeader(name: "PDU length above the default maximum 4096", bytes: hex("0001 1001"), code: .badPDULength),
        BadHeader(name: "PDU length above a negotiated maximum", bytes: hex("0001 0200"), maximumLength: 511, code: .badPDULength),
    ])
    func badHeadersAreFatal(_ header: BadHeader) {
        var framer = PDUFramer(maximumLength: header.maximumLength)
        framer.append(header.bytes)
        do {
            _ = try framer.next()
            Issue.record("no error")
        } catch {
            #expect(error.statusCode == header.code)
            #expect(error.isFatal)
            #expect(error.bytes == Array(header.bytes.prefix(10)))
        }
        // The stream stays broken: PDU boundaries are lost.
        framer.append(hex("0001 000e 01010101 0000 0201 0004 00000003"))
        #expect(throws: LDPDecodingError.self) { _ = try framer.next() }
    }

    @Test func maximumLengthIsInclusive() throws {
        var framer = PDUFramer(maximumLength: 14)
        framer.append(hex("0001 000e 01010101 0000 0201 0004 00000003"))
        #expect(try framer.next() != nil)
    }
}
