// Seeded random inputs shared by the test targets: a generator, and valid LDP messages of
// every type for round trips and for mutation (the codec's and the engine's "never traps").

import LDPCodec

/// SplitMix64 (Steele, Lea, Flood 2014): a small seeded generator, so failures reproduce.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random valid messages of every type, with every optional field sometimes present.
public struct MessageGenerator {
    public var rng: SplitMix64

    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    public mutating func bool() -> Bool { rng.next() & 1 == 1 }
    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    public mutating func uint32() -> UInt32 { UInt32(truncatingIfNeeded: rng.next()) }
    public mutating func uint16() -> UInt16 { UInt16(truncatingIfNeeded: rng.next()) }
    public mutating func uint8() -> UInt8 { UInt8(truncatingIfNeeded: rng.next()) }
    public mutating func bytes(_ range: ClosedRange<Int>) -> [UInt8] { (0..<int(range)).map { _ in uint8() } }
    public mutating func maybe<T>(_ make: (inout MessageGenerator) -> T) -> T? { bool() ? make(&self) : nil }

    public mutating func ipv4() -> IPv4Address { IPv4Address(rawValue: uint32()) }
    public mutating func ipv6() -> IPv6Address { IPv6Address(high: rng.next(), low: rng.next()) }

    public mutating func prefix() -> IPPrefix {
        if bool() {
            return IPPrefix(ipv4(), length: UInt8(int(0...32)))
        }
        return IPPrefix(address: .v6(ipv6()), length: UInt8(int(0...128)))!
    }

    public mutating func fec() -> [FECElement] {
        switch int(0...5) {
        case 0: return [.wildcard]
        case 1: return [.typedWildcard(.prefix(bool() ? .ipv4 : .ipv6))]
        case 2:
            // Any FEC type but Prefix (2), whose information is the address family.
            var fecType = uint8()
            if fecType == FECElement.prefixElementType { fecType = 0x80 }
            return [.typedWildcard(.other(fecType: fecType, information: bytes(0...6)))]
        default: return (0..<int(1...4)).map { _ in .prefix(prefix()) }
        }
    }

    public mutating func label() -> Label {
        switch int(0...3) {
        case 0: return .atm(vpiVciUsage: UInt8(int(0...3)), vpi: UInt16(int(0...0xFFF)), vci: uint16())
        case 1: return .frameRelay(dlciLength: UInt8(int(0...3)), dlci: UInt32(int(0...0x7F_FFFF)))
        default: return .generic(UInt32(int(0...0xFFFFF)))
        }
    }

    public mutating func ldpIdentifier() -> LDPIdentifier { LDPIdentifier(lsrID: ipv4(), labelSpace: uint16()) }

    public mutating func capability() -> Capability {
        let types = Array(Capability.knownTypes).sorted()
        return Capability(type: types[int(0...types.count - 1)], isEnabled: bool(), data: bytes(0...3))
    }

    /// Vendor-private TLVs (types 0x3E00-0x3EFF, value starting with a 4-octet Vendor ID,
    /// RFC 5036 §3.6.1.1) are unknown to every message.
    public mutating func unknownTLVs() -> [UnknownTLV] {
        (0..<int(0...2)).map { _ in
            UnknownTLV(type: 0x3E00 | UInt16(uint8()), unknownBit: true, forwardBit: bool(), value: bytes(4...12))
        }
    }

    public mutating func status() -> Status {
        Status(code: StatusCode(rawValue: uint32()), isFatal: bool(), forward: bool(),
               messageID: uint32(), messageType: uint16())
    }

    public mutating func addressList() -> AddressList {
        if bool() {
            return AddressList(family: .ipv4, addresses: (0..<int(0...5)).map { _ in .v4(ipv4()) })
        }
        return AddressList(family: .ipv6, addresses: (0..<int(0...3)).map { _ in .v6(ipv6()) })
    }

    public mutating func body(_ type: MessageType) -> MessageBody {
        switch type {
        case .notification:
            return .notification(NotificationMessage(
                status: status(), extendedStatus: maybe { $0.uint32() }, returnedPDU: maybe { $0.bytes(0...12) },
                returnedMessage: maybe { $0.bytes(0...20) }, returnedTLVs: maybe { $0.bytes(0...10) },
                fec: maybe { $0.fec() }, labelRequestMessageID: maybe { $0.uint32() }))
        case .hello:
            let dualStack: TransportPreference? = maybe { $0.bool() ? .ipv4 : .ipv6 }
            return .hello(HelloMessage(
                parameters: CommonHelloParameters(holdTime: uint16(), targeted: bool(), requestTargeted: bool(), gtsm: bool()),
                ipv4TransportAddress: maybe { $0.ipv4() }, ipv6TransportAddress: maybe { $0.ipv6() },
                configurationSequenceNumber: maybe { $0.uint32() }, dualStack: dualStack,
                dualStackFormat: dualStack != nil && bool() ? .ciscoInterop : .rfc7552))
        case .initialization:
            let parameters = CommonSessionParameters(
                protocolVersion: uint16(), keepAliveTime: uint16(), downstreamOnDemand: bool(), loopDetection: bool(),
                pathVectorLimit: uint8(), maximumPDULength: uint16(), receiverLDPIdentifier: ldpIdentifier())
            let atm = maybe { generator in
                ATMSessionParameters(merge: UInt8(generator.int(0...3)), bidirectional: generator.bool(),
                                     ranges: (0..<generator.int(0...15)).map { _ in
                    ATMSessionParameters.LabelRange(minimumVPI: UInt16(generator.int(0...0xFFF)), minimumVCI: generator.uint16(),
                                                    maximumVPI: UInt16(generator.int(0...0xFFF)), maximumVCI: generator.uint16())
                })
            }
            let frameRelay = maybe { generator in
                FrameRelaySessionParameters(merge: UInt8(generator.int(0...3)), bidirectional: generator.bool(),
                                            ranges: (0..<generator.int(0...15)).map { _ in
                    FrameRelaySessionParameters.LabelRange(dlciLength: UInt8(generator.int(0...3)),
                                                           minimumDLCI: UInt32(generator.int(0...0x7F_FFFF)),
                                                           maximumDLCI: UInt32(generator.int(0...0x7F_FFFF)))
                })
            }
            return .initialization(InitializationMessage(parameters: parameters, atmParameters: atm,
                                                         frameRelayParameters: frameRelay,
                                                         capabilities: (0..<int(0...4)).map { _ in capability() }))
        case .keepAlive:
            return .keepAlive
        case .capability:
            return .capability(CapabilityMessage(capabilities: (0..<int(1...4)).map { _ in capability() }))
        case .address:
            return .address(addressList())
        case .addressWithdraw:
            return .addressWithdraw(addressList())
        case .labelMapping:
            return .labelMapping(LabelMappingMessage(
                fec: fec(), label: label(), labelRequestMessageID: maybe { $0.uint32() }, hopCount: maybe { $0.uint8() },
                pathVector: maybe { generator in (0..<generator.int(0...4)).map { _ in generator.ipv4() } }))
        case .labelRequest:
            return .labelRequest(LabelRequestMessage(
                fec: fec(), hopCount: maybe { $0.uint8() },
                pathVector: maybe { generator in (0..<generator.int(0...4)).map { _ in generator.ipv4() } }))
        case .labelWithdraw:
            return .labelWithdraw(LabelWithdrawMessage(fec: fec(), label: maybe { $0.label() }))
        case .labelRelease:
            return .labelRelease(LabelReleaseMessage(fec: fec(), label: maybe { $0.label() }))
        case .labelAbortRequest:
            return .labelAbortRequest(LabelAbortRequestMessage(fec: fec(), labelRequestMessageID: uint32()))
        }
    }

    public mutating func message(_ type: MessageType? = nil) -> Message {
        let all = MessageType.allCases
        let chosen = type ?? all[int(0...all.count - 1)]
        return Message(id: uint32(), body: body(chosen), unknownTLVs: unknownTLVs())
    }

    public mutating func pdu(messages count: ClosedRange<Int> = 1...5) -> PDU {
        PDU(ldpIdentifier: ldpIdentifier(), messages: (0..<int(count)).map { _ in message() })
    }
}

/// Damages an encoded PDU (at least 11 octets) one of five ways, as a fuzzer would: bit flips,
/// truncation, an overwritten length, octets inserted, or noise behind the header.
public func mutate(_ bytes: inout [UInt8], using rng: inout SplitMix64) {
    switch rng.next() % 5 {
    case 0:  // bit flips
        for _ in 0...(rng.next() % 4) {
            let index = Int(rng.next() % UInt64(bytes.count))
            bytes[index] ^= 1 << (rng.next() % 8)
        }
    case 1:  // truncation, with the PDU length sometimes made to agree
        bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
        if bytes.count >= 4 && rng.next() & 1 == 0 {
            bytes[2] = UInt8(truncatingIfNeeded: (bytes.count - 4) >> 8)
            bytes[3] = UInt8(truncatingIfNeeded: bytes.count - 4)
        }
    case 2:  // a length field (PDU, message or TLV) overwritten
        let index = Int(rng.next() % UInt64(bytes.count - 1))
        bytes[index] = UInt8(truncatingIfNeeded: rng.next())
        bytes[index + 1] = UInt8(truncatingIfNeeded: rng.next())
    case 3:  // random octets inserted, PDU length fixed
        let index = 10 + Int(rng.next() % UInt64(bytes.count - 9))
        bytes.insert(contentsOf: (0...(rng.next() % 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: index)
        bytes[2] = UInt8(truncatingIfNeeded: (bytes.count - 4) >> 8)
        bytes[3] = UInt8(truncatingIfNeeded: bytes.count - 4)
    default:  // pure noise behind a valid header
        bytes = Array(bytes.prefix(10)) + (0..<(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        bytes[2] = UInt8(truncatingIfNeeded: (bytes.count - 4) >> 8)
        bytes[3] = UInt8(truncatingIfNeeded: bytes.count - 4)
    }
}
