import Foundation
import Testing
import LDPCodec
import LDPTestSupport

/// tshark, when installed: an LDP decoder written independently of this codec.
let tsharkPath: String? = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// Our encoder's PDUs, wrapped in Ethernet/IPv4/UDP (Hello) or TCP (the rest) on port 646,
/// read back by tshark: no malformed packet, no expert error, and the fields we encoded.
///
/// tshark 4.0.17's LDP dissector has two known bugs, and only these are excused:
/// (a) FEC TLV over-read: it reads octets past the end of a FEC TLV (past a Prefix element,
///     and up to 8 octets past a Wildcard element); when the PDU ends there it throws
///     "Malformed Packet (Exception occurred)". So every message whose last TLV is a FEC TLV
///     (every Label Request, Withdraw/Release without a label) is flagged malformed when it
///     ends the PDU, and so is a Wildcard FEC TLV followed by fewer than 9 octets.
/// (b) RFC 5918 Typed Wildcard FEC elements (type 0x05) are decoded as a pseudowire
///     element: "Error in FEC Element N" or "VC FEC size format error" (expert errors), or a
///     malformed packet.
/// Expert warnings fail the test too, except tshark's remark that a Targeted Hello has no
/// G bit ("GTSM is not supported by the source, since basic discovery is not enabled"),
/// which is what RFC 6720 §3 asks for.
/// Each message is also sent a second time followed by a KeepAlive in the same PDU, where
/// bug (a) cannot strike, so that every message type is compared field by field.
@Suite(.enabled(if: tsharkPath != nil, "tshark is not installed: the independent-decoder test is skipped"))
struct TsharkTests {
    static let targetedHelloRemark = "GTSM is not supported by the source, since basic discovery is not enabled"

    struct Frame {
        var pdu: PDU
        var bytes: [UInt8]
        var knownBugA: Bool
        var knownBugB: Bool
    }

    /// The variants: every message type, 40 random messages each, alone and with a KeepAlive.
    static func frames() -> [Frame] {
        var generator = MessageGenerator(seed: 0x7357)
        var frames: [Frame] = []
        for type in MessageType.allCases {
            for index in 0..<40 {
                let message = tsharkFriendly(generator.message(type), &generator)
                let identifier = generator.ldpIdentifier()
                for messages in [[message], [message, Message(id: UInt32(index), body: .keepAlive)]] {
                    let pdu = PDU(ldpIdentifier: identifier, messages: messages)
                    let bytes = pdu.encoded()
                    frames.append(Frame(pdu: pdu, bytes: bytes, knownBugA: fecOverreadReachesTheEnd(bytes),
                                        knownBugB: messages.contains { $0.fecElements.contains(where: \.isTypedWildcard) }))
                }
            }
        }
        return frames
    }

    /// Field values must mean the same to tshark: Returned PDU/Message hold a real header
    /// and message, vendor-private TLVs carry their Vendor ID, the G bit is only on link Hellos
    /// (RFC 6720), capability TLVs have no data (none of the three defines any).
    static func tsharkFriendly(_ message: Message, _ generator: inout MessageGenerator) -> Message {
        var message = message
        switch message.body {
        case .notification(var notification):
            if notification.returnedPDU != nil { notification.returnedPDU = hex("0001 000e 01010101 0000") }
            if notification.returnedMessage != nil { notification.returnedMessage = hex("0201 0004 00000003") }
            if notification.returnedTLVs != nil { notification.returnedTLVs = hex("8506 0001 80") }
            message.body = .notification(notification)
        case .hello(var hello):
            if hello.parameters.targeted { hello.parameters.gtsm = false }
            message.body = .hello(hello)
        case .initialization(var initialization):
            initialization.parameters.protocolVersion = 1
            initialization.capabilities = initialization.capabilities.map { Capability(type: $0.type, isEnabled: $0.isEnabled) }
            message.body = .initialization(initialization)
        case .capability(var capability):
            capability.capabilities = capability.capabilities.map { Capability(type: $0.type, isEnabled: $0.isEnabled) }
            message.body = .capability(capability)
        default:
            break
        }
        return message
    }

    /// Known bug (a): does a FEC TLV end at the end of the PDU, or a Wildcard FEC TLV less than
    /// 9 octets before it? Walks the PDU's messages and TLVs.
    static func fecOverreadReachesTheEnd(_ bytes: [UInt8]) -> Bool {
        var offset = PDU.headerLength
        while offset + 8 <= bytes.count {
            let messageEnd = offset + 4 + (Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3]))
            var tlv = offset + 8
            while tlv + 4 <= messageEnd {
                let type = (UInt16(bytes[tlv]) << 8 | UInt16(bytes[tlv + 1])) & 0x3FFF
                let end = tlv + 4 + (Int(bytes[tlv + 2]) << 8 | Int(bytes[tlv + 3]))
                if type == TLVType.fec.rawValue {
                    let reach = bytes[tlv + 4] == FECElement.wildcardElementType ? 9 : 1
                    if bytes.count - end < reach { return true }
                }
                tlv = end
            }
            offset = messageEnd
        }
        return false
    }

    @Test func tsharkReadsWhatWeEncoded() throws {
        let tshark = try #require(tsharkPath)
        let frames = Self.frames()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ldp-tshark-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("codec.pcap")
        try Data(PcapWriter.capture(frames.map { ($0.bytes, isHello: $0.pdu.messages.first?.type == .hello) })).write(to: file)

        let fields = ["frame.number", "_ws.malformed", "_ws.expert.severity", "_ws.expert.message",
                      "ldp.hdr.ldpid.lsr", "ldp.msg.type", "ldp.msg.id", "ldp.msg.tlv.fec.pfval", "ldp.msg.tlv.fec.len",
                      "ldp.msg.tlv.generic.label", "ldp.msg.tlv.hello.hold", "ldp.msg.tlv.hello.gtsm",
                      "ldp.msg.tlv.ipv4.taddr", "ldp.msg.tlv.ipv6.taddr", "ldp.msg.tlv.hello.cnf_seqno",
                      "ldp.msg.tlv.status.data", "ldp.msg.tlv.addrl.addr", "ldp.msg.tlv.sess.ka",
                      "ldp.msg.tlv.hc.value", "ldp.msg.tlv.pv.lsrid", "ldp.msg.tlv.lbl_req_msg_id"]
        let output = try run(tshark, ["-r", file.path, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
                                      "-E", "aggregator=~"] + fields.flatMap { ["-e", $0] })
        let rows = output.split(separator: "\n", omittingEmptySubsequences: true).map {
            $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        }
        try #require(rows.count == frames.count, "tshark read \(rows.count) of \(frames.count) frames")

        var compared = 0, excusedA = 0, excusedB = 0
        var comparedTypes: Set<MessageType> = []
        for (frame, row) in zip(frames, rows) {
            try #require(row.count == fields.count)
            let value = { (name: String) in row[fields.firstIndex(of: name)!] }
            let number = value("frame.number")
            let malformed = !value("_ws.malformed").isEmpty
            // Severity: PI_ERROR is 0x00800000, PI_WARN 0x00600000 (epan/proto.h).
            let severities = value("_ws.expert.severity").split(separator: "~").compactMap { Int($0) }
            let messages = value("_ws.expert.message").split(separator: "~").map(String.init)
            // Warnings count too, except tshark's remark that a Targeted Hello has no G bit,
            // which is RFC 6720 §3 (GTSM is for basic discovery only).
            let problems = zip(severities, messages).filter {
                $0.0 >= 0x0080_0000 || ($0.0 >= 0x0060_0000 && $0.1 != Self.targetedHelloRemark)
            }.map(\.1)
            if malformed || !problems.isEmpty {
                let knownA = frame.knownBugA && problems.allSatisfy { $0 == "Malformed Packet (Exception occurred)" }
                let knownB = frame.knownBugB && problems.allSatisfy {
                    $0.hasPrefix("Error in FEC Element") || $0 == "VC FEC size format error"
                        || $0 == "Malformed Packet (Exception occurred)"
                }
                #expect(knownA || knownB, "frame \(number): \(problems) \(hexText(frame.bytes))")
                if knownA { excusedA += 1 } else if knownB { excusedB += 1 }
                continue
            }
            // Every field tshark shows, in wire order, as we encoded it.
            let expected = Self.expectedFields(frame.pdu)
            for (name, text) in expected {
                #expect(value(name) == text, "frame \(number) \(name)")
            }
            compared += 1
            comparedTypes.formUnion(frame.pdu.messages.compactMap(\.type))
        }
        #expect(comparedTypes == Set(MessageType.allCases), "a message type was never compared field by field")
        #expect(compared > frames.count / 2)
        print("tshark: \(frames.count) frames, \(compared) compared field by field, \(excusedA) excused as known bug (a), \(excusedB) as known bug (b)")
    }

    /// The expert summary (`tshark -q -z expert -Y ldp`; the display filter makes tshark build
    /// the protocol tree, without which the LDP dissector adds no expert info) lists no error
    /// but the known bugs', and no warning but the Targeted Hello remark. Without the frames
    /// the known bugs strike, there is no error at all.
    @Test func expertSummaryHasNoOtherErrors() throws {
        let tshark = try #require(tsharkPath)
        let all = Self.frames()
        let clean = all.filter { !$0.knownBugA && !$0.knownBugB }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ldp-tshark-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let knownBugMessages = ["Malformed Packet (Exception occurred)", "VC FEC size format error"]
        for (name, frames) in [("all", all), ("clean", clean)] {
            let file = directory.appendingPathComponent("\(name).pcap")
            try Data(PcapWriter.capture(frames.map { ($0.bytes, isHello: $0.pdu.messages.first?.type == .hello) })).write(to: file)
            let summary = try run(tshark, ["-r", file.path, "-q", "-z", "expert", "-Y", "ldp"])
            var section = ""
            var sawWarning = false
            for line in summary.split(separator: "\n").map(String.init) {
                if let header = ["Errors", "Warns", "Notes", "Chats"].first(where: { line.hasPrefix($0 + " (") }) {
                    section = header
                    continue
                }
                guard line.contains(" LDP ") else { continue }
                let text = String(line[line.range(of: " LDP ")!.upperBound...]).trimmingCharacters(in: .whitespaces)
                switch section {
                case "Errors":
                    #expect(name == "all", "error in a frame no known bug explains: \(text)")
                    #expect(knownBugMessages.contains(text) || text.hasPrefix("Error in FEC Element"), "\(text)")
                case "Warns":
                    #expect(text == Self.targetedHelloRemark, "\(text)")
                    sawWarning = true
                default:
                    break
                }
            }
            // The test has Targeted Hellos, so the remark must be there: the summary was read.
            #expect(sawWarning, "no expert summary read from tshark: \(summary)")
        }
        let count = try run(tshark, ["-r", directory.appendingPathComponent("clean.pcap").path,
                                     "-Y", "_ws.malformed || _ws.expert.severity >= 0x00800000", "-T", "fields", "-e", "frame.number"])
        #expect(count.split(separator: "\n").isEmpty, "frames with errors: \(count)")
    }

    static func expectedFields(_ pdu: PDU) -> [(String, String)] {
        var values: [String: [String]] = [:]
        func add(_ name: String, _ value: String) { values[name, default: []].append(value) }
        func hex8(_ value: UInt32) -> String { "0x" + String(repeating: "0", count: 8 - String(value, radix: 16).count) + String(value, radix: 16) }
        func addFEC(_ elements: [FECElement]) {
            for case .prefix(let prefix) in elements {
                add("ldp.msg.tlv.fec.pfval", prefix.address.description)
                add("ldp.msg.tlv.fec.len", "\(prefix.length)")
            }
        }
        func addLabel(_ label: Label?) {
            if case .generic(let value) = label { add("ldp.msg.tlv.generic.label", "\(value)") }
        }
        for message in pdu.messages {
            let type = message.type!.rawValue
            add("ldp.hdr.ldpid.lsr", pdu.ldpIdentifier.lsrID.description)
            add("ldp.msg.type", "0x" + String(repeating: "0", count: 4 - String(type, radix: 16).count) + String(type, radix: 16))
            add("ldp.msg.id", hex8(message.id))
            switch message.body {
            case .notification(let notification):
                add("ldp.msg.tlv.status.data", hex8(notification.status.code.rawValue))
                if let fec = notification.fec { addFEC(fec) }
                if let id = notification.labelRequestMessageID { add("ldp.msg.tlv.lbl_req_msg_id", hex8(id)) }
            case .hello(let hello):
                add("ldp.msg.tlv.hello.hold", "\(hello.parameters.holdTime)")
                add("ldp.msg.tlv.hello.gtsm", hello.parameters.gtsm ? "1" : "0")
                if let address = hello.ipv4TransportAddress { add("ldp.msg.tlv.ipv4.taddr", address.description) }
                if let address = hello.ipv6TransportAddress { add("ldp.msg.tlv.ipv6.taddr", address.description) }
                if let sequence = hello.configurationSequenceNumber { add("ldp.msg.tlv.hello.cnf_seqno", "\(sequence)") }
            case .initialization(let initialization):
                add("ldp.msg.tlv.sess.ka", "\(initialization.parameters.keepAliveTime)")
            case .address(let list), .addressWithdraw(let list):
                for address in list.addresses { add("ldp.msg.tlv.addrl.addr", address.description) }
            case .labelMapping(let mapping):
                addFEC(mapping.fec)
                addLabel(mapping.label)
                if let id = mapping.labelRequestMessageID { add("ldp.msg.tlv.lbl_req_msg_id", hex8(id)) }
                if let hopCount = mapping.hopCount { add("ldp.msg.tlv.hc.value", "\(hopCount)") }
                for lsr in mapping.pathVector ?? [] { add("ldp.msg.tlv.pv.lsrid", lsr.description) }
            case .labelRequest(let request):
                addFEC(request.fec)
                if let hopCount = request.hopCount { add("ldp.msg.tlv.hc.value", "\(hopCount)") }
                for lsr in request.pathVector ?? [] { add("ldp.msg.tlv.pv.lsrid", lsr.description) }
            case .labelWithdraw(let withdraw):
                addFEC(withdraw.fec)
                addLabel(withdraw.label)
            case .labelRelease(let release):
                addFEC(release.fec)
                addLabel(release.label)
            case .labelAbortRequest(let abort):
                addFEC(abort.fec)
                add("ldp.msg.tlv.lbl_req_msg_id", hex8(abort.labelRequestMessageID))
            case .keepAlive, .capability, .unknown:
                break
            }
        }
        let names = ["ldp.hdr.ldpid.lsr", "ldp.msg.type", "ldp.msg.id", "ldp.msg.tlv.fec.pfval", "ldp.msg.tlv.fec.len",
                     "ldp.msg.tlv.generic.label", "ldp.msg.tlv.hello.hold", "ldp.msg.tlv.hello.gtsm", "ldp.msg.tlv.ipv4.taddr",
                     "ldp.msg.tlv.ipv6.taddr", "ldp.msg.tlv.hello.cnf_seqno", "ldp.msg.tlv.status.data",
                     "ldp.msg.tlv.addrl.addr", "ldp.msg.tlv.sess.ka", "ldp.msg.tlv.hc.value", "ldp.msg.tlv.pv.lsrid",
                     "ldp.msg.tlv.lbl_req_msg_id"]
        return names.map { name in
            // tshark shows the PDU header field once per PDU.
            let list = values[name] ?? []
            return (name, name == "ldp.hdr.ldpid.lsr" ? (list.first ?? "") : list.joined(separator: "~"))
        }
    }

    func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

extension Message {
    /// The FEC elements of the message's FEC TLV, if it has one.
    var fecElements: [FECElement] {
        switch body {
        case .notification(let notification): notification.fec ?? []
        case .labelMapping(let mapping): mapping.fec
        case .labelRequest(let request): request.fec
        case .labelWithdraw(let withdraw): withdraw.fec
        case .labelRelease(let release): release.fec
        case .labelAbortRequest(let abort): abort.fec
        default: []
        }
    }
}

extension FECElement {
    var isTypedWildcard: Bool { if case .typedWildcard = self { true } else { false } }
}

/// A classic libpcap file (RFC-less but stable: tcpdump's format), link type Ethernet.
enum PcapWriter {
    static func capture(_ payloads: [(bytes: [UInt8], isHello: Bool)]) -> [UInt8] {
        var file: [UInt8] = []
        func le32(_ value: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { file.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) } }
        func le16(_ value: UInt16) { file.append(UInt8(value & 0xFF)); file.append(UInt8(value >> 8)) }
        le32(0xA1B2_C3D4); le16(2); le16(4); le32(0); le32(0); le32(65535); le32(1)
        var sequence: UInt32 = 1000
        for (index, payload) in payloads.enumerated() {
            let frame = ethernetIPv4(payload.bytes, udp: payload.isHello, sequence: &sequence)
            le32(UInt32(index)); le32(0); le32(UInt32(frame.count)); le32(UInt32(frame.count))
            file += frame
        }
        return file
    }

    static func ethernetIPv4(_ payload: [UInt8], udp: Bool, sequence: inout UInt32) -> [UInt8] {
        func be16(_ value: Int) -> [UInt8] { [UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }
        func be32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }
        let transport: [UInt8]
        if udp {
            // UDP 646 → 646, checksum 0 (none).
            transport = be16(646) + be16(646) + be16(8 + payload.count) + be16(0) + payload
        } else {
            // TCP 40000 → 646, one stream, PSH+ACK, data offset 5, checksum 0 (not checked by tshark).
            transport = be16(40000) + be16(646) + be32(sequence) + be32(1) + [0x50, 0x18] + be16(65535) + be16(0) + be16(0) + payload
            sequence &+= UInt32(payload.count)
        }
        let ip: [UInt8] = [0x45, 0xC0] + be16(20 + transport.count) + be16(0) + be16(0x4000) + [udp ? 1 : 64, udp ? 17 : 6]
            + be16(0) + [10, 0, 12, 1] + (udp ? [224, 0, 0, 2] : [10, 0, 12, 2])
        let ethernet: [UInt8] = [0x01, 0x00, 0x5E, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00]
        return ethernet + ip + transport
    }
}
