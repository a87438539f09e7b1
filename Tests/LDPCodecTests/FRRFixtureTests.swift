import Foundation
import Testing
import LDPCodec

/// One PDU of Fixtures/frr-pdus.json (written by Fixtures/extract.py from the FRR captures).
struct CapturedPDU: Decodable, Sendable {
    var frame: Int
    var transport: String
    var source: String
    var destination: String
    var hex: String
    var bytes: [UInt8] { LDPCodecTests.hex(hex) }
}

func loadCapturedPDUs() throws -> [String: [CapturedPDU]] {
    let url = try #require(Bundle.module.url(forResource: "frr-pdus", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode([String: [CapturedPDU]].self, from: Data(contentsOf: url))
}

/// Real PDUs of FRRouting 8.4.4. Expected values were read with tshark 4.0.17
/// (`tshark -r FILE -V`), not with this codec.
@Suite struct FRRFixtureTests {
    let captures: [String: [CapturedPDU]]
    init() throws { captures = try loadCapturedPDUs() }

    func messages(_ capture: String, from source: String) throws -> [Message] {
        try #require(captures[capture]).filter { $0.source == source }.flatMap { try PDU.decode($0.bytes).messages }
    }

    @Test func everyPDUDecodesCleanlyAndReencodesByteIdentical() throws {
        #expect(captures.count == 3)
        var total = 0
        for (capture, pdus) in captures {
            #expect(!pdus.isEmpty, "\(capture)")
            for captured in pdus {
                let bytes = captured.bytes
                let decoded = try PDU.decode(bytes)
                #expect(decoded.errors.isEmpty, "\(capture) frame \(captured.frame): \(decoded.errors)")
                #expect(decoded.messages.count == decoded.items.count, "\(capture) frame \(captured.frame)")
                #expect(decoded.messages.allSatisfy { $0.unknownTLVs.isEmpty })
                let reencoded = PDU(ldpIdentifier: decoded.ldpIdentifier, messages: decoded.messages).encoded()
                #expect(hexText(reencoded) == captured.hex, "\(capture) frame \(captured.frame)")
                total += 1
            }
        }
        #expect(total == 14 + 125 + 16)
    }

    @Test func sessionHellos() throws {
        let hellos = try #require(captures["frr-ldp-session.pcap"]).filter { $0.transport == "udp" }
        #expect(hellos.count == 5)
        for captured in hellos {
            let pdu = try PDU.decode(captured.bytes)
            let lsr = captured.source == "10.0.12.1" ? IPv4Address(1, 1, 1, 1) : IPv4Address(2, 2, 2, 2)
            #expect(pdu.ldpIdentifier == LDPIdentifier(lsrID: lsr, labelSpace: 0))
            guard case .hello(let hello) = try #require(pdu.messages.first).body else {
                Issue.record("frame \(captured.frame) is not a Hello"); continue
            }
            #expect(hello.parameters == CommonHelloParameters(holdTime: 15, gtsm: true))
            #expect(hello.ipv4TransportAddress == lsr)
            #expect(hello.configurationSequenceNumber != nil)
            #expect(hello.ipv6TransportAddress == nil && hello.dualStack == nil)
        }
    }

    @Test func sessionInitializationAndCapabilities() throws {
        let fromR2 = try messages("frr-ldp-session.pcap", from: "2.2.2.2")
        let initialization = try #require(fromR2.compactMap { message -> InitializationMessage? in
            if case .initialization(let body) = message.body { body } else { nil }
        }.first)
        #expect(initialization.parameters == CommonSessionParameters(
            keepAliveTime: 180, receiverLDPIdentifier: LDPIdentifier(lsrID: IPv4Address(1, 1, 1, 1))))
        #expect(initialization.capabilities == [.dynamicAnnouncement, .typedWildcardFEC, .unrecognizedNotification])
    }

    @Test func sessionLabelMappings() throws {
        func mappings(from source: String) throws -> [String] {
            try messages("frr-ldp-session.pcap", from: source).compactMap { message in
                guard case .labelMapping(let mapping) = message.body, case .generic(let label) = mapping.label,
                      mapping.fec.count == 1, case .prefix(let prefix) = mapping.fec[0] else { return nil }
                return "\(prefix) \(label)"
            }
        }
        #expect(try mappings(from: "2.2.2.2") == ["1.1.1.1/32 16", "2.2.2.2/32 3", "3.3.3.3/32 17",
                                                  "10.0.12.0/24 3", "10.0.23.0/24 3"])
        #expect(try mappings(from: "1.1.1.1") == ["1.1.1.1/32 3", "2.2.2.2/32 16", "3.3.3.3/32 17",
                                                  "10.0.12.0/24 3", "10.0.23.0/24 18"])
    }

    @Test func sessionShutdownNotification() throws {
        let pdus = try #require(captures["frr-ldp-session.pcap"]).filter { $0.source == "1.1.1.1" }
        let notification = try #require(pdus.first { $0.frame == 18 })
        let message = try #require(try PDU.decode(notification.bytes).messages.first)
        guard case .notification(let body) = message.body else { Issue.record("not a Notification"); return }
        #expect(body.status.code == .shutdown)
        #expect(body.status.isFatal)
        #expect(!body.status.forward)
        // The Status Code field as tshark shows it: 0x8000000A.
        #expect(hexText(notification.bytes).contains("0300000a8000000a"))
    }

    /// The dual-stack capture changes FRR's configuration on the way: values per frame as
    /// tshark shows them (`-e ldp.msg.tlv.hello.hold -e ldp.msg.tlv.value`).
    @Test func dualStackHellos() throws {
        let hellos = try #require(captures["frr-ldp-dualstack.pcap"]).filter { $0.transport == "udp" }
        #expect(hellos.count == 93)
        var formats: Set<String> = []
        for captured in hellos {
            guard case .hello(let hello) = try #require(try PDU.decode(captured.bytes).messages.first).body else {
                Issue.record("frame \(captured.frame) is not a Hello"); continue
            }
            if captured.source.hasPrefix("fe80:") {
                // IPv6 link Hellos: hold 15, no GTSM, the IPv6 transport address.
                #expect(hello.parameters == CommonHelloParameters(holdTime: 15))
                #expect(hello.ipv6TransportAddress == IPv6Address(captured.source == "fe80:0:0:0:6803:99ff:fefc:1faa"
                                                                   ? "2001:db8::1" : "2001:db8::2"))
                #expect(hello.ipv4TransportAddress == nil)
            } else {
                // IPv4 link Hellos: hold 3, G bit, the IPv4 transport address.
                #expect(hello.parameters == CommonHelloParameters(holdTime: 3, gtsm: true))
                #expect(hello.ipv4TransportAddress == (captured.source == "10.0.12.1" ? IPv4Address(1, 1, 1, 1) : IPv4Address(2, 2, 2, 2)))
                #expect(hello.ipv6TransportAddress == nil)
            }
            switch captured.frame {
            case 1, 3:
                #expect(hello.dualStack == nil)  // IPv4 Hellos before dual-stack was enabled
            case ..<70:
                // 0x60000000: RFC 7552 format, prefer IPv6.
                #expect(hello.dualStack == .ipv6 && hello.dualStackFormat == .rfc7552, "frame \(captured.frame)")
                formats.insert("v6")
            case ..<115:
                // 0x40000000: `dual-stack transport-connection prefer ipv4`.
                #expect(hello.dualStack == .ipv4 && hello.dualStackFormat == .rfc7552, "frame \(captured.frame)")
                formats.insert("v4")
            default:
                // 0x00000004: `dual-stack cisco-interop`, TR in the low-order bits.
                #expect(hello.dualStack == .ipv4 && hello.dualStackFormat == .ciscoInterop, "frame \(captured.frame)")
                formats.insert("cisco")
            }
        }
        #expect(formats == ["v6", "v4", "cisco"])
    }

    @Test func dualStackAddresses() throws {
        let lists = try messages("frr-ldp-dualstack.pcap", from: "2001:db8:0:0:0:0:0:2").compactMap { message -> AddressList? in
            if case .address(let list) = message.body { list } else { nil }
        }
        #expect(Set(lists.map(\.family)) == [.ipv4, .ipv6])
        #expect(lists.contains { $0.addresses.contains(IPAddress("2001:db8::2")!) })
    }

    @Test func gtsmSessionHasEveryMessageOfASession() throws {
        let pdus = try #require(captures["frr-ldp-gtsm.pcap"])
        let types = Set(try pdus.flatMap { try PDU.decode($0.bytes).messages.compactMap(\.type) })
        #expect(types == [.initialization, .keepAlive, .address, .labelMapping, .notification])
    }
}
