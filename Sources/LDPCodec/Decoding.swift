// Decoding of PDUs and messages (RFC 5036 §3.1-§3.5, RFC 5561, RFC 5918, RFC 6720, RFC 7552).
//
// Every read is bounds-checked against the enclosing PDU, message or TLV; no input can
// trap. Per-message failures are `DecodingFailure`s, given their context (message id,
// type, bytes) in one place, `decodeMessages`.
//
// Rules applied (RFC 5036 §3.5.1.2):
// - Mandatory TLVs must come first, in the order the RFC lists them; anything else in
//   their place is Missing Message Parameters (or Unknown TLV when it is unknown with U=0).
// - Optional TLVs may come in any order, each at most once. A TLV this message does not
//   expect (unknown, repeated, or known but not allowed here) is an Unknown TLV error for
//   the message when U=0, and is kept in `Message.unknownTLVs` when U=1.
// - Prefix FEC elements carry ceil(PreLen / 8) prefix octets. An element that runs past
//   its FEC TLV is Bad TLV Length (the TLV is too short for its content); octets left over
//   after an element are read as the next element, as a receiver cannot tell them apart.
// - The codec does not judge which FEC elements suit which message (e.g. a Wildcard in a
//   Label Mapping): that is protocol procedure, left to the engine.

extension PDU {
    /// Decodes one whole PDU (as cut by `PDUFramer`, or a UDP datagram).
    /// PDU-level errors (header, version, length) throw; each is fatal.
    /// Per-message errors come back in `DecodedPDU.items` so the caller can notify and go on.
    /// - Parameter maximumLength: the negotiated maximum PDU length (§3.5.3), compared
    ///   with the PDU Length field.
    public static func decode(_ bytes: [UInt8], maximumLength: Int = PDU.defaultMaximumLength) throws(LDPDecodingError) -> DecodedPDU {
        let header = Array(bytes.prefix(headerLength))
        if let failure = headerFailure(bytes, maximumLength: maximumLength) {
            throw LDPDecodingError(failure, bytes: header)
        }
        guard bytes.count >= headerLength else {
            throw LDPDecodingError(.truncatedHeader, bytes: header)
        }
        let pduLength = Int(bytes[2]) << 8 | Int(bytes[3])
        // A PDU cut from a stream or a datagram is exactly its header's length.
        guard bytes.count == pduLength + 4 else {
            throw LDPDecodingError(.badPDULength(pduLength), bytes: header)
        }
        let identifier = LDPIdentifier(
            lsrID: IPv4Address(rawValue: readUInt32(bytes, at: 4)),
            labelSpace: readUInt16(bytes, at: 8))
        var items: [DecodedMessage] = []
        items.reserveCapacity(pduLength / 24)
        decodeMessages(bytes, from: headerLength, to: bytes.count, into: &items)
        return DecodedPDU(ldpIdentifier: identifier, items: items)
    }

    /// The first four octets' verdict: bad version, or a PDU Length below 6 (the LDP
    /// identifier) or above the maximum. Nil when fine or when fewer than needed are at hand.
    static func headerFailure(_ bytes: [UInt8], maximumLength: Int) -> DecodingFailure? {
        guard bytes.count >= 2 else { return bytes.isEmpty ? nil : .truncatedHeader }
        let version = readUInt16(bytes, at: 0)
        guard version == PDU.version else { return .badProtocolVersion(version) }
        guard bytes.count >= 4 else { return .truncatedHeader }
        let pduLength = Int(readUInt16(bytes, at: 2))
        guard pduLength >= headerLength - 4, pduLength <= maximumLength else { return .badPDULength(pduLength) }
        return nil
    }
}

extension Message {
    /// Decodes exactly one message (header and parameters, as `encoded()` writes it).
    public static func decode(_ bytes: [UInt8]) -> DecodedMessage {
        var items: [DecodedMessage] = []
        decodeMessages(bytes, from: 0, to: bytes.count, into: &items)
        if items.count == 1 { return items[0] }
        if let last = items.last, case .error = last { return last }
        // Several messages where one was expected: the first length was wrong.
        return .error(LDPDecodingError(.badMessageLength(bytes.count), bytes: bytes))
    }
}

// MARK: - Messages

/// Appends one item per message in `bytes[start..<end]`; stops after a fatal error.
func decodeMessages(_ bytes: [UInt8], from start: Int, to end: Int, into items: inout [DecodedMessage]) {
    var offset = start
    while offset < end {
        let remaining = end - offset
        guard remaining >= 8 else {
            // Too short for type, length and id (§3.5).
            items.append(.error(LDPDecodingError(.badMessageLength(remaining),
                                                 bytes: Array(bytes[offset..<end]))))
            return
        }
        let rawType = readUInt16(bytes, at: offset)
        let type = rawType & 0x7FFF
        let length = Int(readUInt16(bytes, at: offset + 2))
        let messageEnd = offset + 4 + length
        guard length >= 4, messageEnd <= end else {
            let id = readUInt32(bytes, at: offset + 4)
            items.append(.error(LDPDecodingError(.badMessageLength(length), messageID: id, messageType: type,
                                                 bytes: Array(bytes[offset..<end]))))
            return
        }
        let id = readUInt32(bytes, at: offset + 4)
        defer { offset = messageEnd }
        guard let knownType = MessageType(rawValue: type) else {
            if rawType & 0x8000 != 0 {
                items.append(.ignored(type: type, id: id))
            } else {
                items.append(.error(LDPDecodingError(.unknownMessageType(type), messageID: id, messageType: type,
                                                     bytes: Array(bytes[offset..<messageEnd]))))
            }
            continue
        }
        var reader = TLVReader(bytes: bytes, offset: offset + 8, end: messageEnd, messageType: type)
        do throws(DecodingFailure) {
            let message = try decodeMessage(knownType, id: id, &reader)
            items.append(.message(message))
        } catch {
            let decodingError = LDPDecodingError(error, messageID: id, messageType: type,
                                                 bytes: Array(bytes[offset..<messageEnd]))
            items.append(.error(decodingError))
            if decodingError.isFatal { return }
        }
    }
}

private func decodeMessage(_ type: MessageType, id: UInt32, _ reader: inout TLVReader) throws(DecodingFailure) -> Message {
    var unknownTLVs: [UnknownTLV] = []
    let body: MessageBody
    switch type {
    case .notification:
        // §3.5.1: Status; optional Extended Status, Returned PDU, Returned Message;
        // RFC 5561 §4 Returned TLVs; FEC (RFC 5919 End-of-LIB and others); Label Request Message ID.
        let status = try decodeStatus(reader.mandatory(.status), reader.bytes)
        var notification = NotificationMessage(status: status)
        while let tlv = try reader.next() {
            switch tlv.type {
            case TLVType.extendedStatus.rawValue where notification.extendedStatus == nil:
                notification.extendedStatus = try decodeUInt32(tlv, reader.bytes)
            case TLVType.returnedPDU.rawValue where notification.returnedPDU == nil:
                notification.returnedPDU = Array(reader.bytes[tlv.value])
            case TLVType.returnedMessage.rawValue where notification.returnedMessage == nil:
                notification.returnedMessage = Array(reader.bytes[tlv.value])
            case TLVType.returnedTLVs.rawValue where notification.returnedTLVs == nil:
                notification.returnedTLVs = Array(reader.bytes[tlv.value])
            case TLVType.fec.rawValue where notification.fec == nil:
                notification.fec = try decodeFEC(tlv, reader.bytes)
            case TLVType.labelRequestMessageID.rawValue where notification.labelRequestMessageID == nil:
                notification.labelRequestMessageID = try decodeUInt32(tlv, reader.bytes)
            default:
                try keepUnexpected(tlv, reader.bytes, in: &unknownTLVs)
            }
        }
        body = .notification(notification)

    case .hello:
        // §3.5.2: Common Hello Parameters; optional IPv4 Transport Address, Configuration
        // Sequence Number, IPv6 Transport Address; RFC 7552 Dual-Stack capability.
        let parameters = try decodeHelloParameters(reader.mandatory(.commonHelloParameters), reader.bytes)
        var hello = HelloMessage(parameters: parameters)
        while let tlv = try reader.next() {
            switch tlv.type {
            case TLVType.ipv4TransportAddress.rawValue where hello.ipv4TransportAddress == nil:
                hello.ipv4TransportAddress = IPv4Address(rawValue: try decodeUInt32(tlv, reader.bytes))
            case TLVType.ipv6TransportAddress.rawValue where hello.ipv6TransportAddress == nil:
                guard tlv.value.count == 16 else { throw tlv.badLength }
                hello.ipv6TransportAddress = readIPv6(reader.bytes, at: tlv.value.lowerBound)
            case TLVType.configurationSequenceNumber.rawValue where hello.configurationSequenceNumber == nil:
                hello.configurationSequenceNumber = try decodeUInt32(tlv, reader.bytes)
            case TLVType.dualStackCapability.rawValue where hello.dualStack == nil:
                // RFC 7552 §6.1: |TR (4)| Reserved (28)|; Cisco's format puts TR in the
                // low-order bits (FRRouting's `dual-stack cisco-interop`).
                let word = try decodeUInt32(tlv, reader.bytes)
                if word & 0x0FFF_FFFF == 0, let preference = TransportPreference(rawValue: UInt8(word >> 28)) {
                    hello.dualStack = preference
                } else if let preference = TransportPreference(rawValue: UInt8(truncatingIfNeeded: word)), word <= 0xFF {
                    hello.dualStack = preference
                    hello.dualStackFormat = .ciscoInterop
                } else {
                    throw tlv.malformed("Dual-Stack TLV value 0x\(String(word, radix: 16))")
                }
            default:
                try keepUnexpected(tlv, reader.bytes, in: &unknownTLVs)
            }
        }
        body = .hello(hello)

    case .initialization:
        // §3.5.3: Common Session Parameters; optional ATM or Frame Relay Session
        // Parameters; RFC 5561 §4 capability TLVs.
        let parameters = try decodeSessionParameters(reader.mandatory(.commonSessionParameters), reader.bytes)
        var initialization = InitializationMessage(parameters: parameters)
        while let tlv = try reader.next() {
            switch tlv.type {
            case TLVType.atmSessionParameters.rawValue where initialization.atmParameters == nil:
                let (merge, bidirectional, words) = try decodeRangeParameters(tlv, reader.bytes)
                initialization.atmParameters = ATMSessionParameters(
                    merge: merge, bidirectional: bidirectional,
                    ranges: stride(from: 0, to: words.count, by: 2).map { index in
                        // | Res (4) | VPI (12) | VCI (16) |
                        ATMSessionParameters.LabelRange(
                            minimumVPI: UInt16(truncatingIfNeeded: words[index] >> 16) & 0x0FFF,
                            minimumVCI: UInt16(truncatingIfNeeded: words[index]),
                            maximumVPI: UInt16(truncatingIfNeeded: words[index + 1] >> 16) & 0x0FFF,
                            maximumVCI: UInt16(truncatingIfNeeded: words[index + 1]))
                    })
            case TLVType.frameRelaySessionParameters.rawValue where initialization.frameRelayParameters == nil:
                let (merge, bidirectional, words) = try decodeRangeParameters(tlv, reader.bytes)
                initialization.frameRelayParameters = FrameRelaySessionParameters(
                    merge: merge, bidirectional: bidirectional,
                    ranges: stride(from: 0, to: words.count, by: 2).map { index in
                        FrameRelaySessionParameters.LabelRange(
                            dlciLength: UInt8(truncatingIfNeeded: words[index] >> 23) & 0x3,
                            minimumDLCI: words[index] & 0x7F_FFFF,
                            maximumDLCI: words[index + 1] & 0x7F_FFFF)
                    })
            case let type where Capability.knownTypes.contains(type):
                initialization.capabilities.append(try decodeCapability(tlv, reader.bytes))
            default:
                try keepUnexpected(tlv, reader.bytes, in: &unknownTLVs)
            }
        }
        body = .initialization(initialization)

    case .keepAlive:
        while let tlv = try reader.next() { try keepUnexpected(tlv, reader.bytes, in: &unknownTLVs) }
        body = .keepAlive

    case .capability:
        // RFC 5561 §5: one or more capability TLVs.
        var capabilities: [Capability] = []
        while let tlv = try reader.next() {
            if Capability.knownTypes.contains(tlv.type) {
                capabilities.append(try decodeCapability(tlv, reader.bytes))
            } else {
                try keepUnexpected(tlv, reader.bytes, in: &unknownTLVs)
            }
        }
        guard !capabilities.isEmpty || !unknownTLVs.isEmpty else {
            throw .missingMessageParameters(type.rawValue)
        }
        body = .capability(CapabilityMessage(capabilities: capabilities))

    case .address, .addressWithdraw:
        // §3.5.5, §3.5.6: Address List.
        let list = try decodeAddressList(reader.mandatory(.addressList), reader.bytes)
        while let tlv = try reader.next() { try keepUnexpected(tlv, reader.bytes, in: &unknownTLVs) }
        body = type == .address ? .address(list) : .addressWithdraw(list)

    case .labelMapping:
        // §3.5.7: FEC, Label; optional Label Request Message ID, Hop Count, Path Vector.
        let fec = try decodeFEC(reader.mandatory(.fec), reader.bytes)
        let label = try decodeLabel(reader.mandatoryLabel(), reader.bytes)
        var mapping = LabelMappingMessage(fec: fec, label: label)
        while let tlv = try reader.next() {
            switch tlv.type {
            case TLVType.labelRequestMessageID.rawValue where mapping.labelRequestMessageID == nil:
                mapping.labelRequestMessageID = try decodeUInt32(tlv, reader.bytes)
            case TLVType.hopCount.rawValue where mapping.hopCount == nil:
                mapping.hopCount = try decodeHopCount(tlv, reader.bytes)
            case TLVType.pathVector.rawValue where mapping.pathVector == nil:
                mapping.pathVector = try decodePathVector(tlv, reader.bytes)
            default:
                try keepUnexpected(tlv, reader.bytes, in: &unknownTLVs)
            }
        }
        body = .labelMapping(mapping)

    case .labelRequest:
        // §3.5.8: FEC; optional Hop Count, Path Vector.
        var request = LabelRequestMessage(fec: try decodeFEC(reader.mandatory(.fec), reader.bytes))
        while let tlv = try reader.next() {
            switch tlv.type {
            case TLVType.hopCount.rawValue where request.hopCount == nil:
                request.hopCount = try decodeHopCount(tlv, reader.bytes)
            case TLVType.pathVector.rawValue where request.pathVector == nil:
                request.pathVector = try decodePathVector(tlv, reader.bytes)
            default:
                try keepUnexpected(tlv, reader.bytes, in: &unknownTLVs)
            }
        }
        body = .labelRequest(request)

    case .labelWithdraw, .labelRelease:
        // §3.5.10, §3.5.11: FEC; optional Label.
        let fec = try decodeFEC(reader.mandatory(.fec), reader.bytes)
        var label: Label?
        while let tlv = try reader.next() {
            if label == nil, TLVReader.isLabel(tlv.type) {
                label = try decodeLabel(tlv, reader.bytes)
            } else {
                try keepUnexpected(tlv, reader.bytes, in: &unknownTLVs)
            }
        }
        body = type == .labelWithdraw
            ? .labelWithdraw(LabelWithdrawMessage(fec: fec, label: label))
            : .labelRelease(LabelReleaseMessage(fec: fec, label: label))

    case .labelAbortRequest:
        // §3.5.9: FEC, Label Request Message ID.
        let fec = try decodeFEC(reader.mandatory(.fec), reader.bytes)
        let requestID = try decodeUInt32(reader.mandatory(.labelRequestMessageID), reader.bytes)
        while let tlv = try reader.next() { try keepUnexpected(tlv, reader.bytes, in: &unknownTLVs) }
        body = .labelAbortRequest(LabelAbortRequestMessage(fec: fec, labelRequestMessageID: requestID))
    }
    return Message(id: id, body: body, unknownTLVs: unknownTLVs)
}

/// §3.5.1.2.2: a TLV the message does not expect. U=0: the message is in error;
/// U=1: ignored, kept (with its F bit) for the engine and for forwarding.
private func keepUnexpected(_ tlv: RawTLV, _ bytes: [UInt8], in unknownTLVs: inout [UnknownTLV]) throws(DecodingFailure) {
    guard tlv.unknownBit else { throw .unknownTLV(tlv.type) }
    unknownTLVs.append(UnknownTLV(type: tlv.type, unknownBit: true, forwardBit: tlv.forwardBit,
                                  value: Array(bytes[tlv.value])))
}

// MARK: - TLVs

/// One TLV's header fields and where its value lies in the PDU's bytes.
struct RawTLV {
    /// The 14-bit type code.
    var type: UInt16
    var unknownBit: Bool
    var forwardBit: Bool
    var value: Range<Int>

    var badLength: DecodingFailure { .badTLVLength(type: type, length: value.count) }
    func malformed(_ detail: String) -> DecodingFailure { .malformedTLVValue(type: type, detail: detail) }
}

/// Walks the TLVs of one message: |U|F| Type (14) | Length (16) | Value |.
struct TLVReader {
    let bytes: [UInt8]
    var offset: Int
    let end: Int
    /// The type of the message being read, for Missing Message Parameters.
    let messageType: UInt16

    /// Generic (0x0200), ATM (0x0201) and Frame Relay (0x0202) Label TLVs (§3.4.2).
    @inline(__always) static func isLabel(_ type: UInt16) -> Bool {
        type >= TLVType.genericLabel.rawValue && type <= TLVType.frameRelayLabel.rawValue
    }

    /// The next TLV, nil at the end of the message.
    mutating func next() throws(DecodingFailure) -> RawTLV? {
        guard offset < end else { return nil }
        guard end - offset >= 4 else {
            // Octets left over that cannot hold a TLV header.
            let type = end - offset >= 2 ? readUInt16(bytes, at: offset) & 0x3FFF : 0
            throw .badTLVLength(type: type, length: end - offset)
        }
        let rawType = readUInt16(bytes, at: offset)
        let length = Int(readUInt16(bytes, at: offset + 2))
        let valueStart = offset + 4
        guard length <= end - valueStart else {
            throw .badTLVLength(type: rawType & 0x3FFF, length: length)
        }
        offset = valueStart + length
        return RawTLV(type: rawType & 0x3FFF, unknownBit: rawType & 0x8000 != 0,
                      forwardBit: rawType & 0x4000 != 0, value: valueStart..<offset)
    }

    /// The next TLV, which must be of `type` (mandatory parameters come first, in order).
    mutating func mandatory(_ type: TLVType) throws(DecodingFailure) -> RawTLV {
        try mandatory { $0 == type.rawValue }
    }

    mutating func mandatoryLabel() throws(DecodingFailure) -> RawTLV {
        try mandatory(TLVReader.isLabel)
    }

    private mutating func mandatory(_ accepts: (UInt16) -> Bool) throws(DecodingFailure) -> RawTLV {
        guard let tlv = try next() else { throw .missingMessageParameters(messageType) }
        if accepts(tlv.type) { return tlv }
        // An unknown TLV with U=0 is reported as such, whatever its place.
        if !tlv.unknownBit && TLVType(rawValue: tlv.type) == nil { throw .unknownTLV(tlv.type) }
        throw .missingMessageParameters(messageType)
    }
}

@inline(__always) func readUInt16(_ bytes: [UInt8], at offset: Int) -> UInt16 {
    UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
}

@inline(__always) func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
}

private func readIPv6(_ bytes: [UInt8], at offset: Int) -> IPv6Address {
    IPv6Address(high: UInt64(readUInt32(bytes, at: offset)) << 32 | UInt64(readUInt32(bytes, at: offset + 4)),
                low: UInt64(readUInt32(bytes, at: offset + 8)) << 32 | UInt64(readUInt32(bytes, at: offset + 12)))
}

private func decodeUInt32(_ tlv: RawTLV, _ bytes: [UInt8]) throws(DecodingFailure) -> UInt32 {
    guard tlv.value.count == 4 else { throw tlv.badLength }
    return readUInt32(bytes, at: tlv.value.lowerBound)
}

private func decodeHopCount(_ tlv: RawTLV, _ bytes: [UInt8]) throws(DecodingFailure) -> UInt8 {
    guard tlv.value.count == 1 else { throw tlv.badLength }
    return bytes[tlv.value.lowerBound]
}

/// §3.4.5: the LSR IDs, four octets each.
private func decodePathVector(_ tlv: RawTLV, _ bytes: [UInt8]) throws(DecodingFailure) -> [IPv4Address] {
    guard tlv.value.count % 4 == 0 else { throw tlv.badLength }
    return stride(from: tlv.value.lowerBound, to: tlv.value.upperBound, by: 4).map {
        IPv4Address(rawValue: readUInt32(bytes, at: $0))
    }
}

/// §3.4.6: |E|F| Status Data (30) | Message ID (32) | Message Type (16) |.
private func decodeStatus(_ tlv: RawTLV, _ bytes: [UInt8]) throws(DecodingFailure) -> Status {
    guard tlv.value.count == 10 else { throw tlv.badLength }
    let start = tlv.value.lowerBound
    let code = readUInt32(bytes, at: start)
    return Status(code: StatusCode(rawValue: code), isFatal: code & 0x8000_0000 != 0,
                  forward: code & 0x4000_0000 != 0, messageID: readUInt32(bytes, at: start + 4),
                  messageType: readUInt16(bytes, at: start + 8))
}

/// §3.5.2, RFC 6720 §3: | Hold Time | T | R | G | Reserved (13) |.
private func decodeHelloParameters(_ tlv: RawTLV, _ bytes: [UInt8]) throws(DecodingFailure) -> CommonHelloParameters {
    guard tlv.value.count == 4 else { throw tlv.badLength }
    let start = tlv.value.lowerBound
    let flags = bytes[start + 2]
    return CommonHelloParameters(holdTime: readUInt16(bytes, at: start), targeted: flags & 0x80 != 0,
                                 requestTargeted: flags & 0x40 != 0, gtsm: flags & 0x20 != 0)
}

/// §3.5.3: | Version | KeepAlive | A | D | Reserved | PVLim | Max PDU Length | Receiver LDP Id (6) |.
private func decodeSessionParameters(_ tlv: RawTLV, _ bytes: [UInt8]) throws(DecodingFailure) -> CommonSessionParameters {
    guard tlv.value.count == 14 else { throw tlv.badLength }
    let start = tlv.value.lowerBound
    let flags = bytes[start + 4]
    return CommonSessionParameters(
        protocolVersion: readUInt16(bytes, at: start), keepAliveTime: readUInt16(bytes, at: start + 2),
        downstreamOnDemand: flags & 0x80 != 0, loopDetection: flags & 0x40 != 0,
        pathVectorLimit: bytes[start + 5], maximumPDULength: readUInt16(bytes, at: start + 6),
        receiverLDPIdentifier: LDPIdentifier(lsrID: IPv4Address(rawValue: readUInt32(bytes, at: start + 8)),
                                             labelSpace: readUInt16(bytes, at: start + 12)))
}

/// ATM and Frame Relay Session Parameters (§3.5.3): |M (2)|N (4)|D|Reserved (25)|, then N
/// label range components of two 32-bit words each. Returns M, D and the words.
private func decodeRangeParameters(_ tlv: RawTLV, _ bytes: [UInt8]) throws(DecodingFailure) -> (UInt8, Bool, [UInt32]) {
    guard tlv.value.count >= 4 else { throw tlv.badLength }
    let header = readUInt32(bytes, at: tlv.value.lowerBound)
    let count = Int(header >> 26 & 0xF)
    guard tlv.value.count == 4 + 8 * count else { throw tlv.badLength }
    let words = stride(from: tlv.value.lowerBound + 4, to: tlv.value.upperBound, by: 4).map { readUInt32(bytes, at: $0) }
    return (UInt8(header >> 30), header & 0x0200_0000 != 0, words)
}

/// RFC 5561 §3: | S | Reserved (7) | Capability Data |.
private func decodeCapability(_ tlv: RawTLV, _ bytes: [UInt8]) throws(DecodingFailure) -> Capability {
    guard tlv.value.count >= 1 else { throw tlv.badLength }
    return Capability(type: tlv.type, isEnabled: bytes[tlv.value.lowerBound] & 0x80 != 0,
                      data: Array(bytes[(tlv.value.lowerBound + 1)..<tlv.value.upperBound]))
}

/// §3.4.3: | Address Family | Addresses |.
private func decodeAddressList(_ tlv: RawTLV, _ bytes: [UInt8]) throws(DecodingFailure) -> AddressList {
    guard tlv.value.count >= 2 else { throw tlv.badLength }
    let familyNumber = readUInt16(bytes, at: tlv.value.lowerBound)
    guard let family = AddressFamily(rawValue: familyNumber) else { throw .unsupportedAddressFamily(familyNumber) }
    let start = tlv.value.lowerBound + 2
    let size = family == .ipv4 ? 4 : 16
    guard (tlv.value.upperBound - start) % size == 0 else { throw tlv.badLength }
    let addresses = stride(from: start, to: tlv.value.upperBound, by: size).map { offset -> IPAddress in
        family == .ipv4 ? .v4(IPv4Address(rawValue: readUInt32(bytes, at: offset))) : .v6(readIPv6(bytes, at: offset))
    }
    return AddressList(family: family, addresses: addresses)
}

/// §3.4.2: Generic (20-bit label), ATM (|Res|V|VPI|VCI|) or Frame Relay (|Res|Len|DLCI|).
private func decodeLabel(_ tlv: RawTLV, _ bytes: [UInt8]) throws(DecodingFailure) -> Label {
    guard tlv.value.count == 4 else { throw tlv.badLength }
    let word = readUInt32(bytes, at: tlv.value.lowerBound)
    switch tlv.type {
    case TLVType.genericLabel.rawValue:
        guard word <= ReservedLabel.maximum else { throw tlv.malformed("label \(word) exceeds 20 bits") }
        return .generic(word)
    case TLVType.atmLabel.rawValue:
        return .atm(vpiVciUsage: UInt8(word >> 28 & 0x3), vpi: UInt16(word >> 16 & 0x0FFF),
                    vci: UInt16(truncatingIfNeeded: word))
    default:
        return .frameRelay(dlciLength: UInt8(word >> 23 & 0x3), dlci: word & 0x7F_FFFF)
    }
}

/// §3.4.1 FEC TLV: one or more FEC elements. The Wildcard and Typed Wildcard elements
/// (RFC 5918 §3) must be alone in their TLV.
private func decodeFEC(_ tlv: RawTLV, _ bytes: [UInt8]) throws(DecodingFailure) -> [FECElement] {
    var elements: [FECElement] = []
    var offset = tlv.value.lowerBound
    let end = tlv.value.upperBound
    guard offset < end else { throw tlv.malformed("FEC TLV without elements") }
    while offset < end {
        let elementType = bytes[offset]
        switch elementType {
        case FECElement.wildcardElementType:
            elements.append(.wildcard)
            offset += 1
        case FECElement.prefixElementType:
            // | Prefix (2) | Address Family (16) | PreLen (8) | Prefix: ceil(PreLen / 8) octets |
            guard end - offset >= 4 else { throw tlv.badLength }
            let familyNumber = readUInt16(bytes, at: offset + 1)
            guard let family = AddressFamily(rawValue: familyNumber) else {
                throw .unsupportedAddressFamily(familyNumber)
            }
            let length = bytes[offset + 3]
            guard length <= family.maximumPrefixLength else {
                throw tlv.malformed("prefix length \(length) for \(family)")
            }
            let octetCount = (Int(length) + 7) / 8
            let prefixStart = offset + 4
            guard end - prefixStart >= octetCount else { throw tlv.badLength }
            let address: IPAddress
            switch family {
            case .ipv4:
                var raw: UInt32 = 0
                for index in 0..<octetCount { raw |= UInt32(bytes[prefixStart + index]) << UInt32(24 - 8 * index) }
                address = .v4(IPv4Address(rawValue: raw))
            case .ipv6:
                var high: UInt64 = 0, low: UInt64 = 0
                for index in 0..<octetCount {
                    let octet = UInt64(bytes[prefixStart + index])
                    if index < 8 { high |= octet << UInt64(56 - 8 * index) } else { low |= octet << UInt64(56 - 8 * (index - 8)) }
                }
                address = .v6(IPv6Address(high: high, low: low))
            }
            guard let prefix = IPPrefix(address: address, length: length) else {
                throw tlv.malformed("prefix length \(length)")
            }
            elements.append(.prefix(prefix))
            offset = prefixStart + octetCount
        case FECElement.typedWildcardElementType:
            // RFC 5918 §3: | Typed Wcard (5) | FEC Type | Len FEC Type Info | info |
            guard end - offset >= 3 else { throw tlv.badLength }
            let fecType = bytes[offset + 1]
            let infoLength = Int(bytes[offset + 2])
            let infoStart = offset + 3
            guard end - infoStart >= infoLength else { throw tlv.badLength }
            if fecType == FECElement.prefixElementType {
                // RFC 5918 §4: the Prefix FEC type's info is its Address Family.
                guard infoLength == 2 else { throw tlv.malformed("typed wildcard prefix info length \(infoLength)") }
                let familyNumber = readUInt16(bytes, at: infoStart)
                guard let family = AddressFamily(rawValue: familyNumber) else {
                    throw .unsupportedAddressFamily(familyNumber)
                }
                elements.append(.typedWildcard(.prefix(family)))
            } else {
                elements.append(.typedWildcard(.other(fecType: fecType,
                                                      information: Array(bytes[infoStart..<(infoStart + infoLength)]))))
            }
            offset = infoStart + infoLength
        default:
            throw .unknownFECElement(elementType)
        }
    }
    if elements.count > 1, elements.contains(where: \.isWildcard) {
        throw tlv.malformed("a wildcard FEC element must be alone in its FEC TLV")
    }
    return elements
}

extension FECElement {
    /// The Wildcard and Typed Wildcard elements, which stand for many FECs.
    public var isWildcard: Bool {
        switch self {
        case .wildcard, .typedWildcard: true
        case .prefix: false
        }
    }
}
