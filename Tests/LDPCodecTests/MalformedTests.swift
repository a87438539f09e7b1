import Testing
import LDPCodec
import LDPTestSupport

/// RFC 5036 §3.5 error cases: each gives one exact status code and its fatal/advisory class.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    enum Outcome: Sendable {
        /// PDU.decode throws (a PDU-level error; always fatal).
        case pduError(StatusCode)
        /// The first item is this error; after a fatal one nothing follows, after an
        /// advisory one the KeepAlive that follows the case is decoded.
        case messageError(StatusCode, fatal: Bool)
        /// An unknown message with U=1: silently ignored.
        case ignored
        /// An unknown TLV with U=1: kept with its F bit, the message decoded.
        case keptUnknownTLV(forward: Bool)
    }

    var name: String
    var pdu: [UInt8]
    var outcome: Outcome
    var testDescription: String { name }

    /// A PDU with a valid header around `messages`, followed by a KeepAlive (id 0x63)
    /// unless `trailingKeepAlive` is false.
    init(_ name: String, messages: String, trailingKeepAlive: Bool = true, _ outcome: Outcome) {
        var body = hex(messages)
        if trailingKeepAlive { body += hex("0201 0004 00000063") }
        self.name = name
        pdu = hex("0001") + [UInt8((body.count + 6) >> 8), UInt8((body.count + 6) & 0xFF)] + hex("01010101 0000") + body
        self.outcome = outcome
    }

    init(_ name: String, pdu: String, _ outcome: Outcome) {
        self.name = name
        self.pdu = hex(pdu)
        self.outcome = outcome
    }
}

// Building blocks (TLV images).
private let fec24 = "0100 0007 02 0001 18 0a000c"
private let label16 = "0200 0004 00000010"

let malformedCases: [MalformedCase] = [
    // PDU header (§3.1, §3.5.1.2.1)
    MalformedCase("short header", pdu: "0001 00", .pduError(.badPDULength)),
    MalformedCase("header without the whole LDP identifier", pdu: "0001 0006 0101", .pduError(.badPDULength)),
    MalformedCase("bad version", pdu: "0002 000e 01010101 0000 0201 0004 00000003", .pduError(.badProtocolVersion)),
    MalformedCase("PDU length beyond the buffer", pdu: "0001 0020 01010101 0000 0201 0004 00000003", .pduError(.badPDULength)),
    MalformedCase("PDU length short of the buffer", pdu: "0001 0006 01010101 0000 0201 0004 00000003", .pduError(.badPDULength)),
    MalformedCase("PDU length below the minimum 6", pdu: "0001 0004 01010101", .pduError(.badPDULength)),
    MalformedCase("PDU length above the maximum", pdu: "0001 1001 01010101 0000" + String(repeating: "00", count: 4091), .pduError(.badPDULength)),
    // Message header (§3.5, Bad Message Length is fatal)
    MalformedCase("message length overrunning the PDU", messages: "0201 0010 00000003", trailingKeepAlive: false,
                  .messageError(.badMessageLength, fatal: true)),
    MalformedCase("message too short for its id", messages: "0201 0002 0000", trailingKeepAlive: false,
                  .messageError(.badMessageLength, fatal: true)),
    MalformedCase("message length 0", messages: "0201 0000 00000003", .messageError(.badMessageLength, fatal: true)),
    MalformedCase("octets after the last message", messages: "0201 0004 00000003 000000", trailingKeepAlive: false,
                  .messageError(.badMessageLength, fatal: true)),
    // TLV header (§3.3)
    MalformedCase("TLV overrunning its message", messages: "0400 0017 00000008 0100 0020 02 0001 18 0a000c " + label16,
                  .messageError(.badTLVLength, fatal: true)),
    MalformedCase("TLV header cut short", messages: "0201 0006 00000003 0100", .messageError(.badTLVLength, fatal: true)),
    // Unknown message types (§3.5.1.2.1)
    MalformedCase("unknown message type, U=0", messages: "3e00 0006 00000001 abcd", .messageError(.unknownMessageType, fatal: false)),
    MalformedCase("unknown message type, U=1", messages: "be00 0006 00000001 abcd", .ignored),
    // Unknown TLVs (§3.5.1.2.2)
    MalformedCase("unknown TLV, U=0 F=0", messages: "0201 0009 00000003 3e01 0001 aa", .messageError(.unknownTLV, fatal: false)),
    MalformedCase("unknown TLV, U=0 F=1", messages: "0201 0009 00000003 7e01 0001 aa", .messageError(.unknownTLV, fatal: false)),
    MalformedCase("unknown TLV, U=1 F=0", messages: "0201 0009 00000003 be01 0001 aa", .keptUnknownTLV(forward: false)),
    MalformedCase("unknown TLV, U=1 F=1", messages: "0201 0009 00000003 fe01 0001 aa", .keptUnknownTLV(forward: true)),
    MalformedCase("unknown TLV with U=0 in place of a mandatory one", messages: "0400 0010 00000008 3e01 0000 " + label16,
                  .messageError(.unknownTLV, fatal: false)),
    MalformedCase("known TLV not allowed in this message, U=0 (Hop Count in a Hello)",
                  messages: "0100 0011 00000001 0400 0004 000f 0000 0103 0001 01", .messageError(.unknownTLV, fatal: false)),
    MalformedCase("optional TLV repeated (two Hop Counts)",
                  messages: "0401 0019 0000000d " + fec24 + " 0103 0001 01 0103 0001 02", .messageError(.unknownTLV, fatal: false)),
    // FEC TLV (§3.4.1)
    MalformedCase("prefix FEC with fewer octets than ceil(PreLen/8)", messages: "0400 0016 00000008 0100 0006 02 0001 18 0a00 " + label16,
                  .messageError(.badTLVLength, fatal: true)),
    MalformedCase("prefix FEC with an octet more than ceil(PreLen/8) (read as FEC element type 0)",
                  messages: "0400 0018 00000008 0100 0008 02 0001 18 0a000c00 " + label16, .messageError(.unknownFEC, fatal: false)),
    MalformedCase("zero-length prefix with octets", messages: "0400 0018 00000008 0100 0008 02 0001 00 0a000000 " + label16,
                  .messageError(.unknownFEC, fatal: false)),
    MalformedCase("IPv4 prefix length 33", messages: "0400 0019 00000008 0100 0009 02 0001 21 0a00000100 " + label16,
                  .messageError(.malformedTLVValue, fatal: true)),
    MalformedCase("IPv6 prefix length 129", messages: "0400 0025 00000008 0100 0015 02 0002 81 " + String(repeating: "20", count: 17) + " " + label16,
                  .messageError(.malformedTLVValue, fatal: true)),
    MalformedCase("unknown address family in a prefix FEC", messages: "0400 0018 00000008 0100 0008 02 0003 20 0a000001 " + label16,
                  .messageError(.unsupportedAddressFamily, fatal: false)),
    MalformedCase("unknown FEC element type (3, the host address element of RFC 3036)",
                  messages: "0400 0018 00000008 0100 0008 03 0001 20 0a000001 " + label16, .messageError(.unknownFEC, fatal: false)),
    MalformedCase("wildcard FEC element not alone", messages: "0402 0019 0000000e 0100 0009 01 02 0001 20 0a000001 " + label16,
                  .messageError(.malformedTLVValue, fatal: true)),
    MalformedCase("typed wildcard FEC element not alone", messages: "0403 0011 0000000e 0100 0009 05 02 02 0001 02 0001 00",
                  .messageError(.malformedTLVValue, fatal: true)),
    MalformedCase("typed wildcard for prefixes of an unknown family", messages: "0403 000d 0000000e 0100 0005 05 02 02 0009",
                  .messageError(.unsupportedAddressFamily, fatal: false)),
    MalformedCase("empty FEC TLV", messages: "0402 0008 0000000e 0100 0000", .messageError(.malformedTLVValue, fatal: true)),
    // Label TLV (§3.4.2)
    MalformedCase("generic label above 20 bits", messages: "0400 0017 00000008 " + fec24 + " 0200 0004 00100000",
                  .messageError(.malformedTLVValue, fatal: true)),
    MalformedCase("generic label TLV of length 3", messages: "0400 0016 00000008 " + fec24 + " 0200 0003 000010",
                  .messageError(.badTLVLength, fatal: true)),
    // Mandatory parameters (§3.5, Missing Message Parameters is advisory)
    MalformedCase("Label Mapping without FEC", messages: "0400 000c 00000008 " + label16, .messageError(.missingMessageParameters, fatal: false)),
    MalformedCase("Label Mapping without Label", messages: "0400 000f 00000008 " + fec24, .messageError(.missingMessageParameters, fatal: false)),
    MalformedCase("Label Mapping with Label before FEC", messages: "0400 0017 00000008 " + label16 + " " + fec24,
                  .messageError(.missingMessageParameters, fatal: false)),
    MalformedCase("Label Abort Request without Label Request Message ID", messages: "0404 000f 00000012 " + fec24,
                  .messageError(.missingMessageParameters, fatal: false)),
    MalformedCase("Notification without Status", messages: "0001 0004 00000001", .messageError(.missingMessageParameters, fatal: false)),
    MalformedCase("Hello without Common Hello Parameters", messages: "0100 000c 00000001 0401 0004 01010101",
                  .messageError(.missingMessageParameters, fatal: false)),
    MalformedCase("Address without Address List", messages: "0300 0004 00000006", .messageError(.missingMessageParameters, fatal: false)),
    MalformedCase("Capability message without capabilities", messages: "0202 0004 0000000a",
                  .messageError(.missingMessageParameters, fatal: false)),
    // Fixed-size TLVs (§3.4-§3.5)
    MalformedCase("Common Session Parameters of length 13", messages: "0200 0015 00000004 0500 000d 0001 00b4 0000 0000 01010101 00",
                  .messageError(.badTLVLength, fatal: true)),
    MalformedCase("Common Hello Parameters of length 2", messages: "0100 000a 00000001 0400 0002 000f",
                  .messageError(.badTLVLength, fatal: true)),
    MalformedCase("Status TLV of length 8", messages: "0001 0010 00000001 0300 0008 0000000a 00000000",
                  .messageError(.badTLVLength, fatal: true)),
    MalformedCase("Hop Count TLV of length 2", messages: "0401 0015 0000000d " + fec24 + " 0103 0002 0102",
                  .messageError(.badTLVLength, fatal: true)),
    MalformedCase("ATM Session Parameters with N=2 but one range",
                  messages: "0200 0026 00000006 0500 000e 0001 001e 0000 0000 02020202 0000 0501 000c 88000000 00010020 00ffffff",
                  .messageError(.badTLVLength, fatal: true)),
    MalformedCase("Address List of IPv4 addresses with 3 extra octets", messages: "0300 0011 00000006 0101 0009 0001 0a000c01 0a000c",
                  .messageError(.badTLVLength, fatal: true)),
    MalformedCase("Address List of an unknown family", messages: "0300 000e 00000006 0101 0006 0009 0a000c01",
                  .messageError(.unsupportedAddressFamily, fatal: false)),
    MalformedCase("Dual-Stack TLV with transport preference 5", messages: "0100 0014 00000001 0400 0004 000f 0000 8701 0004 50000000",
                  .messageError(.malformedTLVValue, fatal: true)),
]

@Suite struct MalformedTests {
    @Test func thereAreAtLeastThirtyCases() {
        #expect(malformedCases.count >= 30)
    }

    @Test(arguments: malformedCases)
    func malformedInputGivesItsStatusCode(_ testCase: MalformedCase) throws {
        switch testCase.outcome {
        case .pduError(let code):
            do {
                let decoded = try PDU.decode(testCase.pdu)
                Issue.record("decoded: \(decoded)")
            } catch {
                #expect(error.statusCode == code)
                #expect(error.isFatal)
                #expect(error.messageID == nil)
                #expect(error.bytes == Array(testCase.pdu.prefix(10)))
            }
        case .messageError(let code, let fatal):
            let items = try PDU.decode(testCase.pdu).items
            let errorIndex = try #require(items.firstIndex { if case .error = $0 { true } else { false } }, "no error in \(items)")
            guard case .error(let error) = items[errorIndex] else { return }
            #expect(error.statusCode == code)
            #expect(error.isFatal == fatal)
            #expect(error.notification.status.code == code)
            #expect(error.notification.status.isFatal == fatal)
            #expect(!error.bytes.isEmpty)
            // Context: the offending message's id and type, and its bytes for Returned Message.
            if error.messageID != nil, errorIndex == 0 {
                #expect(error.messageType == UInt16(testCase.pdu[10] & 0x7F) << 8 | UInt16(testCase.pdu[11]))
                #expect(testCase.pdu[10...].starts(with: error.bytes))
            }
            if fatal {
                #expect(errorIndex == items.count - 1, "decoding goes on after a fatal error")
            } else {
                #expect(errorIndex == 0)
                #expect(items.last == .message(Message(id: 0x63, body: .keepAlive)))
            }
        case .ignored:
            let items = try PDU.decode(testCase.pdu).items
            #expect(items.first == .ignored(type: 0x3E00, id: 1))
            #expect(items.count == 2)
        case .keptUnknownTLV(let forward):
            let items = try PDU.decode(testCase.pdu).items
            #expect(items.first == .message(Message(id: 3, body: .keepAlive, unknownTLVs: [
                UnknownTLV(type: 0x3E01, unknownBit: true, forwardBit: forward, value: [0xAA])])))
        }
    }

    @Test func unknownCapabilityTLVsAreLeftToTheEngine() throws {
        // Initialization with the Multi-Topology capability (0x850C), unknown to the codec.
        let pdu = MalformedCase("", messages: "0200 0020 00000004 0500 000e 0001 00b4 0000 0000 01010101 0000 8506 0001 80 850c 0001 80",
                                trailingKeepAlive: false, .ignored).pdu
        let message = try #require(try PDU.decode(pdu).messages.first)
        #expect(message.unknownTLVs == [UnknownTLV(type: 0x050C, unknownBit: true, forwardBit: false, value: [0x80])])
        guard case .initialization(let initialization) = message.body else { Issue.record("not Initialization"); return }
        #expect(initialization.capabilities == [.dynamicAnnouncement])
    }

    /// ~200,000 random and mutated PDUs: nothing may trap, whatever the input.
    @Test func mutatedPDUsNeverTrap() {
        var generator = MessageGenerator(seed: 0xBAD)
        var rng = SplitMix64(seed: 0xF00D)
        var outcomes = [0, 0, 0]  // decoded cleanly, decoded with errors, thrown
        for round in 0..<2_000 {
            var seed = generator.pdu(messages: 1...4)
            if round % 10 == 0 {
                // Unknown messages too.
                seed.messages.append(Message(id: 1, body: .unknown(type: UInt16.random(in: 0...0x7FFF, using: &rng),
                                                                   unknownBit: rng.next() & 1 == 0, value: generator.bytes(0...6))))
            }
            let valid = seed.encoded()
            for _ in 0..<100 {
                var bytes = valid
                mutate(&bytes, using: &rng)
                do {
                    let decoded = try PDU.decode(bytes, maximumLength: 0xFFFF)
                    outcomes[decoded.errors.isEmpty ? 0 : 1] += 1
                    // After a fatal error nothing follows.
                    if let index = decoded.items.firstIndex(where: { if case .error(let e) = $0 { e.isFatal } else { false } }) {
                        #expect(index == decoded.items.count - 1)
                    }
                } catch {
                    outcomes[2] += 1
                    #expect(error.isFatal)
                }
            }
        }
        #expect(outcomes.reduce(0, +) == 200_000)
        // The mutations reach every outcome.
        #expect(outcomes.allSatisfy { $0 > 1_000 })
    }

    @Test func framerSurvivesNoise() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<2_000 {
            var framer = PDUFramer()
            framer.append([0x00, 0x01] + (0..<(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            for _ in 0..<4 { _ = try? framer.next() }
        }
    }
}
