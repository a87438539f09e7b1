// Encoding of PDUs and messages (RFC 5036 §3.1-§3.5).
//
// Everything is written into one preallocated [UInt8]. Lengths (PDU, message, TLV) are
// written as zero placeholders and patched once the enclosed part is complete, so no
// TLV is ever built in a temporary array.
//
// Canonical order: the mandatory TLVs first, in the order the RFC gives them, then the
// optional TLVs in a fixed order (listed per message below), then the unknown TLVs kept
// from decoding. Known TLVs are sent with U=0, F=0, except the capability TLVs (RFC 5561
// §3) and the Dual-Stack TLV (RFC 7552 §6.1), which are sent with U=1, F=0.

extension PDU {
    /// The PDU's wire bytes (header, then each message).
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        // A Label Mapping with an IPv4 prefix is 32 octets; most messages are smaller.
        bytes.reserveCapacity(PDU.headerLength + 32 * messages.count)
        encode(into: &bytes)
        return bytes
    }

    /// Appends the PDU's wire bytes to `bytes`.
    public func encode(into bytes: inout [UInt8]) {
        var writer = WireWriter(bytes: bytes)
        bytes = []  // Hand the storage to the writer: no copy on append.
        let start = writer.bytes.count
        writer.append(PDU.version)
        writer.append(UInt16(0))  // PDU Length, patched below.
        writer.append(ldpIdentifier)
        for message in messages {
            writer.append(message)
        }
        // PDU Length excludes the Version and PDU Length fields.
        writer.patchLength(at: start + 2)
        bytes = writer.bytes
    }
}

extension Message {
    /// One message's wire bytes (for Returned Message and for tests).
    public func encoded() -> [UInt8] {
        var writer = WireWriter(bytes: [])
        writer.bytes.reserveCapacity(64)
        writer.append(self)
        return writer.bytes
    }
}

/// Big-endian writer with length placeholders.
struct WireWriter {
    var bytes: [UInt8]

    @inline(__always) mutating func append(_ value: UInt8) { bytes.append(value) }

    @inline(__always) mutating func append(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always) mutating func append(_ value: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func append(_ value: UInt64) {
        append(UInt32(truncatingIfNeeded: value >> 32))
        append(UInt32(truncatingIfNeeded: value))
    }

    mutating func append(_ identifier: LDPIdentifier) {
        append(identifier.lsrID.rawValue)
        append(identifier.labelSpace)
    }

    mutating func append(_ address: IPAddress) {
        switch address {
        case .v4(let v4): append(v4.rawValue)
        case .v6(let v6): append(v6.high); append(v6.low)
        }
    }

    /// Writes `|U|F| type | length=0 |` and returns the position of the length field.
    @inline(__always)
    mutating func beginTLV(_ type: UInt16, unknownBit: Bool = false, forwardBit: Bool = false) -> Int {
        append(type & 0x3FFF | (unknownBit ? 0x8000 : 0) | (forwardBit ? 0x4000 : 0))
        let lengthPosition = bytes.count
        append(UInt16(0))
        return lengthPosition
    }

    @inline(__always) mutating func beginTLV(_ type: TLVType, unknownBit: Bool = false) -> Int {
        beginTLV(type.rawValue, unknownBit: unknownBit)
    }

    /// Patches a 16-bit length field with the number of octets written after it.
    @inline(__always) mutating func patchLength(at position: Int) {
        let length = bytes.count - position - 2
        bytes[position] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[position + 1] = UInt8(truncatingIfNeeded: length)
    }

    // MARK: Messages

    /// RFC 5036 §3.5: |U| Message Type | Message Length | Message ID | parameters.
    mutating func append(_ message: Message) {
        let rawType: UInt16
        switch message.body {
        case .unknown(let type, let unknownBit, _): rawType = type & 0x7FFF | (unknownBit ? 0x8000 : 0)
        default: rawType = message.body.type?.rawValue ?? 0
        }
        append(rawType)
        let lengthPosition = bytes.count
        append(UInt16(0))
        append(message.id)
        appendBody(message.body)
        for tlv in message.unknownTLVs {
            let tlvLength = beginTLV(tlv.type, unknownBit: tlv.unknownBit, forwardBit: tlv.forwardBit)
            bytes.append(contentsOf: tlv.value)
            patchLength(at: tlvLength)
        }
        // Message Length counts everything after the length field (Message ID included).
        patchLength(at: lengthPosition)
    }

    private mutating func appendBody(_ body: MessageBody) {
        switch body {
        case .notification(let notification):
            // §3.5.1: Status; optional Extended Status, Returned PDU, Returned Message;
            // RFC 5561 Returned TLVs; FEC (RFC 5919); Label Request Message ID.
            appendStatus(notification.status)
            if let extended = notification.extendedStatus { appendUInt32TLV(.extendedStatus, extended) }
            if let pdu = notification.returnedPDU { appendRawTLV(.returnedPDU, pdu) }
            if let message = notification.returnedMessage { appendRawTLV(.returnedMessage, message) }
            if let tlvs = notification.returnedTLVs { appendRawTLV(.returnedTLVs, tlvs) }
            if let fec = notification.fec { appendFEC(fec) }
            if let id = notification.labelRequestMessageID { appendUInt32TLV(.labelRequestMessageID, id) }
        case .hello(let hello):
            // §3.5.2: Common Hello Parameters; then the transport address, the
            // Configuration Sequence Number and the Dual-Stack TLV (the order FRR uses).
            let common = beginTLV(.commonHelloParameters)
            append(hello.parameters.holdTime)
            append(UInt8((hello.parameters.targeted ? 0x80 : 0) | (hello.parameters.requestTargeted ? 0x40 : 0)
                         | (hello.parameters.gtsm ? 0x20 : 0)))
            append(UInt8(0))
            patchLength(at: common)
            if let address = hello.ipv4TransportAddress { appendUInt32TLV(.ipv4TransportAddress, address.rawValue) }
            if let address = hello.ipv6TransportAddress {
                let tlv = beginTLV(.ipv6TransportAddress)
                append(address.high)
                append(address.low)
                patchLength(at: tlv)
            }
            if let sequence = hello.configurationSequenceNumber {
                appendUInt32TLV(.configurationSequenceNumber, sequence)
            }
            if let preference = hello.dualStack {
                // RFC 7552 §6.1: |TR| Reserved (28 bits)|, U=1, F=0.
                let tlv = beginTLV(.dualStackCapability, unknownBit: true)
                switch hello.dualStackFormat {
                case .rfc7552: append(UInt32(preference.rawValue) << 28)
                case .ciscoInterop: append(UInt32(preference.rawValue))
                }
                patchLength(at: tlv)
            }
        case .initialization(let initialization):
            appendSessionParameters(initialization.parameters)
            if let atm = initialization.atmParameters { appendATMSessionParameters(atm) }
            if let frameRelay = initialization.frameRelayParameters { appendFrameRelaySessionParameters(frameRelay) }
            for capability in initialization.capabilities { appendCapability(capability) }
        case .keepAlive:
            break
        case .capability(let message):
            for capability in message.capabilities { appendCapability(capability) }
        case .address(let list), .addressWithdraw(let list):
            appendAddressList(list)
        case .labelMapping(let mapping):
            // §3.5.7: FEC, Label; optional Label Request Message ID, Hop Count, Path Vector.
            appendFEC(mapping.fec)
            appendLabel(mapping.label)
            if let id = mapping.labelRequestMessageID { appendUInt32TLV(.labelRequestMessageID, id) }
            if let hopCount = mapping.hopCount { appendHopCount(hopCount) }
            if let pathVector = mapping.pathVector { appendPathVector(pathVector) }
        case .labelRequest(let request):
            // §3.5.8: FEC; optional Hop Count, Path Vector.
            appendFEC(request.fec)
            if let hopCount = request.hopCount { appendHopCount(hopCount) }
            if let pathVector = request.pathVector { appendPathVector(pathVector) }
        case .labelWithdraw(let withdraw):
            // §3.5.10: FEC; optional Label.
            appendFEC(withdraw.fec)
            if let label = withdraw.label { appendLabel(label) }
        case .labelRelease(let release):
            // §3.5.11: FEC; optional Label.
            appendFEC(release.fec)
            if let label = release.label { appendLabel(label) }
        case .labelAbortRequest(let abort):
            // §3.5.9: FEC, Label Request Message ID.
            appendFEC(abort.fec)
            appendUInt32TLV(.labelRequestMessageID, abort.labelRequestMessageID)
        case .unknown(_, _, let value):
            bytes.append(contentsOf: value)
        }
    }

    // MARK: TLVs

    private mutating func appendUInt32TLV(_ type: TLVType, _ value: UInt32) {
        append(type.rawValue)
        append(UInt16(4))
        append(value)
    }

    private mutating func appendRawTLV(_ type: TLVType, _ value: [UInt8]) {
        let tlv = beginTLV(type)
        bytes.append(contentsOf: value)
        patchLength(at: tlv)
    }

    /// §3.4.6: |E|F| Status Data (30) | Message ID | Message Type |.
    private mutating func appendStatus(_ status: Status) {
        append(TLVType.status.rawValue)
        append(UInt16(10))
        append(status.code.rawValue & 0x3FFF_FFFF | (status.isFatal ? 0x8000_0000 : 0) | (status.forward ? 0x4000_0000 : 0))
        append(status.messageID)
        append(status.messageType)
    }

    private mutating func appendHopCount(_ hopCount: UInt8) {
        append(TLVType.hopCount.rawValue)
        append(UInt16(1))
        append(hopCount)
    }

    private mutating func appendPathVector(_ lsrIDs: [IPv4Address]) {
        let tlv = beginTLV(.pathVector)
        for lsrID in lsrIDs { append(lsrID.rawValue) }
        patchLength(at: tlv)
    }

    /// §3.4.1: a FEC TLV holding the elements in order.
    mutating func appendFEC(_ elements: [FECElement]) {
        let tlv = beginTLV(.fec)
        for element in elements {
            switch element {
            case .wildcard:
                append(FECElement.wildcardElementType)
            case .prefix(let prefix):
                // |Prefix (2)| Address Family | PreLen | Prefix: ceil(PreLen / 8) octets |
                append(FECElement.prefixElementType)
                append(prefix.family.rawValue)
                append(prefix.length)
                appendPrefixOctets(prefix)
            case .typedWildcard(let typed):
                // RFC 5918 §3: |Typed Wcard (5)| FEC Type | Len FEC Type Info | info |
                append(FECElement.typedWildcardElementType)
                switch typed {
                case .prefix(let family):
                    append(FECElement.prefixElementType)
                    append(UInt8(2))
                    append(family.rawValue)
                case .other(let fecType, let information):
                    append(fecType)
                    append(UInt8(truncatingIfNeeded: information.count))
                    bytes.append(contentsOf: information.prefix(255))
                }
            }
        }
        patchLength(at: tlv)
    }

    @inline(__always) private mutating func appendPrefixOctets(_ prefix: IPPrefix) {
        let octetCount = (Int(prefix.length) + 7) / 8
        switch prefix.address {
        case .v4(let address):
            var shift = 24
            for _ in 0..<octetCount {
                append(UInt8(truncatingIfNeeded: address.rawValue >> UInt32(shift)))
                shift -= 8
            }
        case .v6(let address):
            for index in 0..<octetCount {
                let half = index < 8 ? address.high : address.low
                append(UInt8(truncatingIfNeeded: half >> UInt64(56 - 8 * (index % 8))))
            }
        }
    }

    /// §3.4.2: Generic, ATM or Frame Relay Label TLV.
    mutating func appendLabel(_ label: Label) {
        switch label {
        case .generic(let value):
            append(TLVType.genericLabel.rawValue)
            append(UInt16(4))
            append(value & 0xFFFFF)
        case .atm(let usage, let vpi, let vci):
            // |Res|V| VPI (12) | VCI (16) |
            append(TLVType.atmLabel.rawValue)
            append(UInt16(4))
            append(UInt16(usage & 0x3) << 12 | vpi & 0x0FFF)
            append(vci)
        case .frameRelay(let dlciLength, let dlci):
            // | Reserved (7) | Len (2) | DLCI (23) |
            append(TLVType.frameRelayLabel.rawValue)
            append(UInt16(4))
            append(UInt32(dlciLength & 0x3) << 23 | dlci & 0x7F_FFFF)
        }
    }

    private mutating func appendAddressList(_ list: AddressList) {
        let tlv = beginTLV(.addressList)
        append(list.family.rawValue)
        for address in list.addresses { append(address) }
        patchLength(at: tlv)
    }

    /// §3.5.3 Common Session Parameters.
    private mutating func appendSessionParameters(_ parameters: CommonSessionParameters) {
        append(TLVType.commonSessionParameters.rawValue)
        append(UInt16(14))
        append(parameters.protocolVersion)
        append(parameters.keepAliveTime)
        append(UInt8((parameters.downstreamOnDemand ? 0x80 : 0) | (parameters.loopDetection ? 0x40 : 0)))
        append(parameters.pathVectorLimit)
        append(parameters.maximumPDULength)
        append(parameters.receiverLDPIdentifier)
    }

    /// |M (2)|N (4)|D|Reserved (25)|: N is at most 15, so only the first 15 ranges are sent.
    private mutating func appendSessionRangeHeader(merge: UInt8, count: Int, bidirectional: Bool) {
        let n = UInt32(min(count, 15))
        append(UInt32(merge & 0x3) << 30 | n << 26 | (bidirectional ? 1 << 25 : 0))
    }

    private mutating func appendATMSessionParameters(_ parameters: ATMSessionParameters) {
        let tlv = beginTLV(.atmSessionParameters)
        appendSessionRangeHeader(merge: parameters.merge, count: parameters.ranges.count,
                                 bidirectional: parameters.bidirectional)
        for range in parameters.ranges.prefix(15) {
            // | Res (4) | VPI (12) | VCI (16) |
            append(range.minimumVPI & 0x0FFF)
            append(range.minimumVCI)
            append(range.maximumVPI & 0x0FFF)
            append(range.maximumVCI)
        }
        patchLength(at: tlv)
    }

    private mutating func appendFrameRelaySessionParameters(_ parameters: FrameRelaySessionParameters) {
        let tlv = beginTLV(.frameRelaySessionParameters)
        appendSessionRangeHeader(merge: parameters.merge, count: parameters.ranges.count,
                                 bidirectional: parameters.bidirectional)
        for range in parameters.ranges.prefix(15) {
            // | Reserved (7) | Len (2) | Minimum DLCI (23) |, | Reserved (9) | Maximum DLCI (23) |
            append(UInt32(range.dlciLength & 0x3) << 23 | range.minimumDLCI & 0x7F_FFFF)
            append(range.maximumDLCI & 0x7F_FFFF)
        }
        patchLength(at: tlv)
    }

    /// RFC 5561 §3: |1|0| code point | length | S | Reserved (7) | data |.
    private mutating func appendCapability(_ capability: Capability) {
        let tlv = beginTLV(capability.type, unknownBit: true)
        append(UInt8(capability.isEnabled ? 0x80 : 0))
        bytes.append(contentsOf: capability.data)
        patchLength(at: tlv)
    }
}
