import Testing
import LDPCodec

/// Hand-written wire images, one per message type and TLV, checked against the RFC diagrams.
/// Each vector is |Type|Length|Message ID|TLVs... with the TLVs on their own lines.
struct ByteVector: Sendable, CustomTestStringConvertible {
    var name: String
    var message: Message
    var wire: String
    var testDescription: String { name }
}

private let lsr1 = IPv4Address(1, 1, 1, 1)
private let lsr2 = IPv4Address(2, 2, 2, 2)

let byteVectors: [ByteVector] = [
    ByteVector(name: "Notification Shutdown (RFC 5036 §3.5.1, E bit set)",
               message: Message(id: 5, body: .notification(NotificationMessage(status: Status(code: .shutdown)))),
               wire: """
               0001 0012 00000005
               0300 000a 8000000a 00000000 0000
               """),
    ByteVector(name: "Notification No Route with Extended Status, Returned PDU/Message/TLVs, FEC, Label Request Message ID",
               message: Message(id: 9, body: .notification(NotificationMessage(
                   status: Status(code: .noRoute, forward: true, messageID: 7, messageType: 0x0401),
                   extendedStatus: 0x1122_3344, returnedPDU: hex("0001000e0101010100 00"),
                   returnedMessage: hex("0201000400000003"), returnedTLVs: hex("8506000180"),
                   fec: [.prefix(IPPrefix("10.0.0.0/8")!)], labelRequestMessageID: 7))),
               wire: """
               0001 004e 00000009
               0300 000a 4000000d 00000007 0401
               0301 0004 11223344
               0302 000a 0001000e010101010000
               0303 0008 0201000400000003
               0304 0005 8506000180
               0100 0005 02 0001 08 0a
               0600 0004 00000007
               """),
    ByteVector(name: "Notification End-of-LIB with Typed Wildcard FEC (RFC 5919 §4)",
               message: Message(id: 10, body: .notification(NotificationMessage(
                   status: Status(code: .endOfLIB), fec: [.typedWildcard(.prefix(.ipv4))])))
               , wire: """
               0001 001b 0000000a
               0300 000a 0000002f 00000000 0000
               0100 0005 05 02 02 0001
               """),
    ByteVector(name: "Hello: link, hold 15, G bit, IPv4 transport address, configuration sequence number (FRR)",
               message: Message(id: 1, body: .hello(HelloMessage(
                   parameters: CommonHelloParameters(holdTime: 15, gtsm: true),
                   ipv4TransportAddress: lsr1, configurationSequenceNumber: 2))),
               wire: """
               0100 001c 00000001
               0400 0004 000f 2000
               0401 0004 01010101
               0402 0004 00000002
               """),
    ByteVector(name: "Hello: targeted, R bit, IPv6 transport address, Dual-Stack IPv6 (RFC 7552 §6.1, 0x8701)",
               message: Message(id: 2, body: .hello(HelloMessage(
                   parameters: CommonHelloParameters(holdTime: 45, targeted: true, requestTargeted: true),
                   ipv6TransportAddress: IPv6Address("2001:db8::1")!, dualStack: .ipv6))),
               wire: """
               0100 0028 00000002
               0400 0004 002d c000
               0403 0010 20010db8000000000000000000000001
               8701 0004 60000000
               """),
    ByteVector(name: "Initialization with the three FRR capabilities (RFC 5561 §3, U=1)",
               message: Message(id: 4, body: .initialization(InitializationMessage(
                   parameters: CommonSessionParameters(keepAliveTime: 180, receiverLDPIdentifier: LDPIdentifier(lsrID: lsr1)),
                   capabilities: [.dynamicAnnouncement, .typedWildcardFEC, .unrecognizedNotification]))),
               wire: """
               0200 0025 00000004
               0500 000e 0001 00b4 00 00 0000 01010101 0000
               8506 0001 80
               850b 0001 80
               8603 0001 80
               """),
    ByteVector(name: "Initialization with A and D bits, PVLim, ATM and Frame Relay Session Parameters",
               message: Message(id: 6, body: .initialization(InitializationMessage(
                   parameters: CommonSessionParameters(keepAliveTime: 30, downstreamOnDemand: true, loopDetection: true,
                                                       pathVectorLimit: 10, maximumPDULength: 4096,
                                                       receiverLDPIdentifier: LDPIdentifier(lsrID: lsr2, labelSpace: 1)),
                   atmParameters: ATMSessionParameters(merge: 2, bidirectional: true, ranges: [
                       .init(minimumVPI: 1, minimumVCI: 32, maximumVPI: 0xFF, maximumVCI: 0xFFFF)]),
                   frameRelayParameters: FrameRelaySessionParameters(merge: 0, bidirectional: false, ranges: [
                       .init(dlciLength: 2, minimumDLCI: 16, maximumDLCI: 0x7F_FFFF)])))),
               wire: """
               0200 0036 00000006
               0500 000e 0001 001e c0 0a 1000 02020202 0001
               0501 000c 86000000 0001 0020 00ff ffff
               0502 000c 04000000 01000010 007fffff
               """),
    ByteVector(name: "KeepAlive",
               message: Message(id: 3, body: .keepAlive),
               wire: "0201 0004 00000003"),
    ByteVector(name: "Capability message: withdraw Typed Wildcard FEC, announce Unrecognized Notification (RFC 5561 §5)",
               message: Message(id: 10, body: .capability(CapabilityMessage(capabilities: [
                   Capability(type: 0x050B, isEnabled: false), .unrecognizedNotification]))),
               wire: """
               0202 000e 0000000a
               850b 0001 00
               8603 0001 80
               """),
    ByteVector(name: "Address: IPv4 list",
               message: Message(id: 6, body: .address(AddressList([IPv4Address(10, 0, 12, 1), lsr1]))),
               wire: """
               0300 0012 00000006
               0101 000a 0001 0a000c01 01010101
               """),
    ByteVector(name: "Address Withdraw: IPv6 list",
               message: Message(id: 7, body: .addressWithdraw(AddressList(family: .ipv6, addresses: [IPAddress("2001:db8::1")!]))),
               wire: """
               0301 001a 00000007
               0101 0012 0002 20010db8000000000000000000000001
               """),
    ByteVector(name: "Label Mapping: 10.0.12.0/24 → implicit null (FRR)",
               message: Message(id: 8, body: .labelMapping(LabelMappingMessage(
                   fec: [.prefix(IPPrefix("10.0.12.0/24")!)], label: .generic(3)))),
               wire: """
               0400 0017 00000008
               0100 0007 02 0001 18 0a000c
               0200 0004 00000003
               """),
    ByteVector(name: "Label Mapping: two prefixes (/0, IPv6 /32), generic label, all optional TLVs",
               message: Message(id: 0x20, body: .labelMapping(LabelMappingMessage(
                   fec: [.prefix(IPPrefix("0.0.0.0/0")!), .prefix(IPPrefix("2001:db8::/32")!)],
                   label: .generic(0xFFFFF), labelRequestMessageID: 0x1F, hopCount: 1, pathVector: [lsr1, lsr2]))),
               wire: """
               0400 0035 00000020
               0100 000c 02 0001 00 02 0002 20 20010db8
               0200 0004 000fffff
               0600 0004 0000001f
               0103 0001 01
               0104 0008 01010101 02020202
               """),
    ByteVector(name: "Label Mapping: ATM label (V=1, VPI 5, VCI 100), prefix /9",
               message: Message(id: 11, body: .labelMapping(LabelMappingMessage(
                   fec: [.prefix(IPPrefix("10.128.0.0/9")!)], label: .atm(vpiVciUsage: 1, vpi: 5, vci: 100)))),
               wire: """
               0400 0016 0000000b
               0100 0006 02 0001 09 0a80
               0201 0004 1005 0064
               """),
    ByteVector(name: "Label Mapping: Frame Relay label (23-bit DLCI 1000)",
               message: Message(id: 12, body: .labelMapping(LabelMappingMessage(
                   fec: [.prefix(IPPrefix("192.0.2.1/32")!)], label: .frameRelay(dlciLength: 2, dlci: 1000)))),
               wire: """
               0400 0018 0000000c
               0100 0008 02 0001 20 c0000201
               0202 0004 010003e8
               """),
    ByteVector(name: "Label Request: host prefix, Hop Count, Path Vector",
               message: Message(id: 13, body: .labelRequest(LabelRequestMessage(
                   fec: [.prefix(IPPrefix("192.0.2.1/32")!)], hopCount: 2, pathVector: [lsr1]))),
               wire: """
               0401 001d 0000000d
               0100 0008 02 0001 20 c0000201
               0103 0001 02
               0104 0004 01010101
               """),
    ByteVector(name: "Label Withdraw: Wildcard FEC with label 17",
               message: Message(id: 14, body: .labelWithdraw(LabelWithdrawMessage(fec: [.wildcard], label: .generic(17)))),
               wire: """
               0402 0011 0000000e
               0100 0001 01
               0200 0004 00000011
               """),
    ByteVector(name: "Label Withdraw: prefix without label",
               message: Message(id: 15, body: .labelWithdraw(LabelWithdrawMessage(fec: [.prefix(IPPrefix("2.2.2.2/32")!)]))),
               wire: """
               0402 0010 0000000f
               0100 0008 02 0001 20 02020202
               """),
    ByteVector(name: "Label Release: Typed Wildcard FEC for IPv6 prefixes (RFC 5918 §4)",
               message: Message(id: 16, body: .labelRelease(LabelReleaseMessage(fec: [.typedWildcard(.prefix(.ipv6))]))),
               wire: """
               0403 000d 00000010
               0100 0005 05 02 02 0002
               """),
    ByteVector(name: "Label Release: prefix and label",
               message: Message(id: 17, body: .labelRelease(LabelReleaseMessage(
                   fec: [.prefix(IPPrefix("10.0.0.0/16")!)], label: .generic(16)))),
               wire: """
               0403 0016 00000011
               0100 0006 02 0001 10 0a00
               0200 0004 00000010
               """),
    ByteVector(name: "Label Abort Request",
               message: Message(id: 18, body: .labelAbortRequest(LabelAbortRequestMessage(
                   fec: [.prefix(IPPrefix("10.0.0.1/32")!)], labelRequestMessageID: 11))),
               wire: """
               0404 0018 00000012
               0100 0008 02 0001 20 0a000001
               0600 0004 0000000b
               """),
    ByteVector(name: "KeepAlive carrying an unknown TLV with U=1, F=1 (vendor-private 0x3E01)",
               message: Message(id: 3, body: .keepAlive, unknownTLVs: [
                   UnknownTLV(type: 0x3E01, unknownBit: true, forwardBit: true, value: [0xAA, 0xBB, 0xCC])]),
               wire: """
               0201 000b 00000003
               fe01 0003 aabbcc
               """),
]

@Suite struct ByteVectorTests {
    @Test(arguments: byteVectors)
    func encodesToTheWireImage(_ vector: ByteVector) {
        #expect(hexText(vector.message.encoded()) == hexText(hex(vector.wire)))
    }

    @Test(arguments: byteVectors)
    func decodesFromTheWireImage(_ vector: ByteVector) {
        #expect(Message.decode(hex(vector.wire)) == .message(vector.message))
    }

    @Test func everyMessageTypeHasAVector() {
        let covered = Set(byteVectors.compactMap(\.message.type))
        #expect(covered == Set(MessageType.allCases))
    }

    @Test func pduHeader() throws {
        // §3.1: Version 1, PDU Length 14 (LDP Identifier 6 + KeepAlive 8), 1.1.1.1:0.
        let pdu = PDU(ldpIdentifier: LDPIdentifier(lsrID: lsr1), messages: [Message(id: 3, body: .keepAlive)])
        let wire = hex("0001 000e 01010101 0000 0201 0004 00000003")
        #expect(pdu.encoded() == wire)
        let decoded = try PDU.decode(wire)
        #expect(decoded.ldpIdentifier == pdu.ldpIdentifier)
        #expect(decoded.items == [.message(pdu.messages[0])])
    }

    @Test func unknownMessageTypesEncodeWithTheirUBit() {
        let message = Message(id: 1, body: .unknown(type: 0x3E00, unknownBit: true, value: [1, 2]))
        #expect(message.encoded() == hex("be00 0006 00000001 0102"))
        #expect(Message.decode(message.encoded()) == .ignored(type: 0x3E00, id: 1))
    }
}
