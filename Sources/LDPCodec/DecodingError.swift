// Decode errors: typed, with their context, mapped in one place onto RFC 5036 status codes.

/// Why a PDU or message could not be decoded (RFC 5036 §3.5.1.2).
public enum DecodingFailure: Error, Hashable, Sendable, Codable {
    /// Fewer octets than a PDU header (10) or a message header (8).
    case truncatedHeader
    case badProtocolVersion(UInt16)
    /// PDU length field out of range or not matching the octets at hand.
    case badPDULength(Int)
    /// The PDU's LDP identifier is not the session peer's (checked by the engine).
    case badLDPIdentifier
    /// An unknown message type with U=0.
    case unknownMessageType(UInt16)
    /// A message length that overruns the PDU or cannot hold the message ID.
    case badMessageLength(Int)
    /// An unknown TLV with U=0 (the whole message is ignored).
    case unknownTLV(UInt16)
    /// A TLV length that overruns its message or is wrong for its type.
    case badTLVLength(type: UInt16, length: Int)
    /// A TLV whose value breaks its own rules (bad prefix length, reserved bits, ...).
    case malformedTLVValue(type: UInt16, detail: String)
    /// A mandatory TLV absent or out of place.
    case missingMessageParameters(UInt16)
    /// An address family other than IPv4 and IPv6 in a FEC element or address list.
    case unsupportedAddressFamily(UInt16)
    /// A FEC element type this codec cannot parse (its length is type-specific).
    case unknownFECElement(UInt8)
}

/// A decode error with the context a Notification and a log line need.
public struct LDPDecodingError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public var failure: DecodingFailure
    /// The offending message's id and type, when the error is inside a message.
    public var messageID: UInt32?
    public var messageType: UInt16?
    /// The offending octets: the message (for Returned Message) or the PDU header.
    public var bytes: [UInt8]

    public init(_ failure: DecodingFailure, messageID: UInt32? = nil, messageType: UInt16? = nil,
                bytes: [UInt8] = []) {
        self.failure = failure
        self.messageID = messageID
        self.messageType = messageType
        self.bytes = bytes
    }

    /// RFC 5036 §3.5.1.2: the status code to send for this error.
    public var statusCode: StatusCode {
        switch failure {
        case .truncatedHeader, .badPDULength: .badPDULength
        case .badProtocolVersion: .badProtocolVersion
        case .badLDPIdentifier: .badLDPIdentifier
        case .unknownMessageType: .unknownMessageType
        case .badMessageLength: .badMessageLength
        case .unknownTLV: .unknownTLV
        case .badTLVLength: .badTLVLength
        case .malformedTLVValue: .malformedTLVValue
        case .missingMessageParameters: .missingMessageParameters
        case .unsupportedAddressFamily: .unsupportedAddressFamily
        case .unknownFECElement: .unknownFEC
        }
    }

    /// §3.5.1.1: fatal errors close the session after the Notification; advisory ones do not.
    public var isFatal: Bool { statusCode.isFatal }

    /// The Notification that reports this error to the peer.
    public var notification: NotificationMessage {
        var note = NotificationMessage(status: Status(code: statusCode, messageID: messageID ?? 0,
                                                      messageType: messageType ?? 0))
        if !bytes.isEmpty {
            if messageID != nil { note.returnedMessage = bytes } else { note.returnedPDU = bytes }
        }
        return note
    }

    public var description: String {
        var text = "\(statusCode.name) (\(isFatal ? "fatal" : "advisory")): \(failure)"
        if let messageType { text += ", message type 0x\(String(messageType, radix: 16))" }
        if let messageID { text += ", message id \(messageID)" }
        return text
    }
}

/// One element of a decoded PDU, in wire order.
public enum DecodedMessage: Hashable, Sendable, Codable {
    case message(Message)
    /// An unknown message with U=1: silently ignored (§3.5.1.2.1); kept for logging.
    case ignored(type: UInt16, id: UInt32)
    /// A message that could not be decoded. After a fatal one, nothing else follows.
    case error(LDPDecodingError)
}

/// A PDU whose header was valid, with each of its messages or their errors.
public struct DecodedPDU: Hashable, Sendable, Codable {
    public var ldpIdentifier: LDPIdentifier
    public var items: [DecodedMessage]

    public init(ldpIdentifier: LDPIdentifier, items: [DecodedMessage]) {
        self.ldpIdentifier = ldpIdentifier
        self.items = items
    }

    public var messages: [Message] {
        items.compactMap { if case .message(let message) = $0 { message } else { nil } }
    }

    public var errors: [LDPDecodingError] {
        items.compactMap { if case .error(let error) = $0 { error } else { nil } }
    }
}
