// The LDP message model (RFC 5036 §3, RFC 5561, RFC 5918, RFC 5919, RFC 6720, RFC 7552).
// Value types only: encoding lives in Encoding.swift, decoding in Decoding.swift.

/// An LDP PDU (RFC 5036 §3.1):
///
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |  Version                      |         PDU Length            |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                         LDP Identifier                        |
///    +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                               |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public struct PDU: Hashable, Sendable, Codable {
    public static let version: UInt16 = 1
    /// Version (2) + PDU Length (2) + LDP Identifier (6).
    public static let headerLength = 10
    /// RFC 5036 §3.5.3: 4096 when the session parameters say 0 (or up to 255).
    public static let defaultMaximumLength = 4096

    public var ldpIdentifier: LDPIdentifier
    public var messages: [Message]

    public init(ldpIdentifier: LDPIdentifier, messages: [Message]) {
        self.ldpIdentifier = ldpIdentifier
        self.messages = messages
    }
}

/// An LDP message (RFC 5036 §3.5):
///
///    |U|   Message Type              |      Message Length           |
///    |                     Message ID                                |
///    |                     Mandatory Parameters                      |
///    |                     Optional Parameters                       |
public struct Message: Hashable, Sendable, Codable {
    public var id: UInt32
    public var body: MessageBody
    /// Unknown TLVs received with the U bit set (RFC 5036 §3.5.1.2.2): ignored by the
    /// receiver, kept so that those with the F bit set can be forwarded with the message.
    public var unknownTLVs: [UnknownTLV]

    public init(id: UInt32, body: MessageBody, unknownTLVs: [UnknownTLV] = []) {
        self.id = id
        self.body = body
        self.unknownTLVs = unknownTLVs
    }

    public var type: MessageType? { body.type }
}

/// Message type codes (IANA "LDP Message Type Name Space").
public enum MessageType: UInt16, Hashable, Sendable, Codable, CaseIterable {
    case notification = 0x0001
    case hello = 0x0100
    case initialization = 0x0200
    case keepAlive = 0x0201
    case capability = 0x0202
    case address = 0x0300
    case addressWithdraw = 0x0301
    case labelMapping = 0x0400
    case labelRequest = 0x0401
    case labelWithdraw = 0x0402
    case labelRelease = 0x0403
    case labelAbortRequest = 0x0404
}

public enum MessageBody: Hashable, Sendable, Codable {
    case notification(NotificationMessage)
    case hello(HelloMessage)
    case initialization(InitializationMessage)
    case keepAlive
    case capability(CapabilityMessage)
    case address(AddressList)
    case addressWithdraw(AddressList)
    case labelMapping(LabelMappingMessage)
    case labelRequest(LabelRequestMessage)
    case labelWithdraw(LabelWithdrawMessage)
    case labelRelease(LabelReleaseMessage)
    case labelAbortRequest(LabelAbortRequestMessage)
    /// A message of a type this codec does not know. Never produced by the decoder
    /// (§3.5.1.2.1 says to notify or ignore); here so tests and tools can send one.
    case unknown(type: UInt16, unknownBit: Bool, value: [UInt8])

    public var type: MessageType? {
        switch self {
        case .notification: .notification
        case .hello: .hello
        case .initialization: .initialization
        case .keepAlive: .keepAlive
        case .capability: .capability
        case .address: .address
        case .addressWithdraw: .addressWithdraw
        case .labelMapping: .labelMapping
        case .labelRequest: .labelRequest
        case .labelWithdraw: .labelWithdraw
        case .labelRelease: .labelRelease
        case .labelAbortRequest: .labelAbortRequest
        case .unknown: nil
        }
    }
}

// MARK: - TLV type codes

/// TLV type codes (IANA "LDP TLV Type Name Space"), without the U and F bits.
public enum TLVType: UInt16, Hashable, Sendable, Codable, CaseIterable {
    case fec = 0x0100
    case addressList = 0x0101
    case hopCount = 0x0103
    case pathVector = 0x0104
    case genericLabel = 0x0200
    case atmLabel = 0x0201
    case frameRelayLabel = 0x0202
    case status = 0x0300
    case extendedStatus = 0x0301
    case returnedPDU = 0x0302
    case returnedMessage = 0x0303
    /// RFC 5561 §4: carries the capability TLVs a Notification refuses.
    case returnedTLVs = 0x0304
    case commonHelloParameters = 0x0400
    case ipv4TransportAddress = 0x0401
    case configurationSequenceNumber = 0x0402
    case ipv6TransportAddress = 0x0403
    case commonSessionParameters = 0x0500
    case atmSessionParameters = 0x0501
    case frameRelaySessionParameters = 0x0502
    /// RFC 5561 §9: sent with U=1, F=0.
    case dynamicCapabilityAnnouncement = 0x0506
    /// RFC 5918 §4.
    case typedWildcardFECCapability = 0x050B
    case labelRequestMessageID = 0x0600
    /// RFC 5919 §3 (RFC 5036's Unrecognized Notification capability, defined in RFC 5919).
    case unrecognizedNotificationCapability = 0x0603
    /// RFC 7552 §6.1: in Hello messages, sent with U=1, F=0 (0x8701 on the wire).
    case dualStackCapability = 0x0701
}

/// A TLV kept as raw bytes: an unknown TLV (U bit set) or a TLV we only carry.
public struct UnknownTLV: Hashable, Sendable, Codable {
    /// The 14-bit type code.
    public var type: UInt16
    public var unknownBit: Bool
    public var forwardBit: Bool
    public var value: [UInt8]

    public init(type: UInt16, unknownBit: Bool, forwardBit: Bool, value: [UInt8]) {
        self.type = type
        self.unknownBit = unknownBit
        self.forwardBit = forwardBit
        self.value = value
    }
}

// MARK: - FEC (RFC 5036 §3.4.1, RFC 5918 §3)

/// One FEC element of a FEC TLV.
public enum FECElement: Hashable, Sendable, Codable {
    /// Type 0x01: all FECs bound to a label (Withdraw, Release, Request only).
    case wildcard
    /// Type 0x02: an address prefix; prefix octets on the wire = ceil(length / 8).
    case prefix(IPPrefix)
    /// Type 0x05 (RFC 5918): all FECs of one FEC type.
    case typedWildcard(TypedWildcardFEC)

    public static let wildcardElementType: UInt8 = 0x01
    public static let prefixElementType: UInt8 = 0x02
    public static let typedWildcardElementType: UInt8 = 0x05
}

/// RFC 5918 §3:
///
///    |  Typed Wcard  |   FEC Type    |   Len FEC Type Info           |
///    |                                                               |
///    ~                 Additional FEC Type-specific Information      ~
public enum TypedWildcardFEC: Hashable, Sendable, Codable {
    /// RFC 5918 §4: the Prefix FEC type, with its Address Family.
    case prefix(AddressFamily)
    /// Any other FEC type, with its type-specific information kept raw.
    case other(fecType: UInt8, information: [UInt8])
}

// MARK: - Labels (RFC 5036 §3.4.2)

public enum Label: Hashable, Sendable, Codable {
    /// Generic Label TLV: a 20-bit label value.
    case generic(UInt32)
    /// ATM Label TLV: V bits (2), VPI (12), VCI (16).
    case atm(vpiVciUsage: UInt8, vpi: UInt16, vci: UInt16)
    /// Frame Relay Label TLV: DLCI length code (2 bits), DLCI (23 bits).
    case frameRelay(dlciLength: UInt8, dlci: UInt32)
}

/// Reserved label values (RFC 3032 §2.1, RFC 7274).
public enum ReservedLabel {
    public static let ipv4ExplicitNull: UInt32 = 0
    public static let routerAlert: UInt32 = 1
    public static let ipv6ExplicitNull: UInt32 = 2
    public static let implicitNull: UInt32 = 3
    public static let firstUnreserved: UInt32 = 16
    public static let maximum: UInt32 = 0xFFFFF
}

// MARK: - Status (RFC 5036 §3.4.6, §3.9)

/// Status TLV:
///
///    |U|F| Status (0x0300)           |      Length                   |
///    |                           Status Code                         |
///    |                           Message ID                          |
///    |      Message Type             |
///
/// Status Code: |E|F|                 Status Data                   |
public struct Status: Hashable, Sendable, Codable {
    /// The 30-bit status data.
    public var code: StatusCode
    /// E bit: a fatal error (the session is closed after sending).
    public var isFatal: Bool
    /// F bit of the status code: forward the notification to the originator's upstream.
    public var forward: Bool
    /// The message that caused this status, or 0.
    public var messageID: UInt32
    /// The type of that message, or 0.
    public var messageType: UInt16

    public init(code: StatusCode, isFatal: Bool? = nil, forward: Bool = false,
                messageID: UInt32 = 0, messageType: UInt16 = 0) {
        self.code = code
        self.isFatal = isFatal ?? code.isFatal
        self.forward = forward
        self.messageID = messageID
        self.messageType = messageType
    }
}

/// Status codes (IANA "LDP Status Code Name Space"), 30 bits, without E and F.
public struct StatusCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue & 0x3FFF_FFFF }

    public static let success = StatusCode(rawValue: 0x00)
    public static let badLDPIdentifier = StatusCode(rawValue: 0x01)
    public static let badProtocolVersion = StatusCode(rawValue: 0x02)
    public static let badPDULength = StatusCode(rawValue: 0x03)
    public static let unknownMessageType = StatusCode(rawValue: 0x04)
    public static let badMessageLength = StatusCode(rawValue: 0x05)
    public static let unknownTLV = StatusCode(rawValue: 0x06)
    public static let badTLVLength = StatusCode(rawValue: 0x07)
    public static let malformedTLVValue = StatusCode(rawValue: 0x08)
    public static let holdTimerExpired = StatusCode(rawValue: 0x09)
    public static let shutdown = StatusCode(rawValue: 0x0A)
    public static let loopDetected = StatusCode(rawValue: 0x0B)
    public static let unknownFEC = StatusCode(rawValue: 0x0C)
    public static let noRoute = StatusCode(rawValue: 0x0D)
    public static let noLabelResources = StatusCode(rawValue: 0x0E)
    public static let labelResourcesAvailable = StatusCode(rawValue: 0x0F)
    public static let sessionRejectedNoHello = StatusCode(rawValue: 0x10)
    public static let sessionRejectedAdvertisementMode = StatusCode(rawValue: 0x11)
    public static let sessionRejectedMaxPDULength = StatusCode(rawValue: 0x12)
    public static let sessionRejectedLabelRange = StatusCode(rawValue: 0x13)
    public static let keepAliveTimerExpired = StatusCode(rawValue: 0x14)
    public static let labelRequestAborted = StatusCode(rawValue: 0x15)
    public static let missingMessageParameters = StatusCode(rawValue: 0x16)
    public static let unsupportedAddressFamily = StatusCode(rawValue: 0x17)
    public static let sessionRejectedBadKeepAliveTime = StatusCode(rawValue: 0x18)
    public static let internalError = StatusCode(rawValue: 0x19)
    /// RFC 5561 §9.
    public static let unsupportedCapability = StatusCode(rawValue: 0x2E)
    /// RFC 5919 §4.
    public static let endOfLIB = StatusCode(rawValue: 0x2F)
    /// RFC 7552 §6.1.
    public static let transportConnectionMismatch = StatusCode(rawValue: 0x32)

    /// The E bit RFC 5036 §3.9 gives each status code; codes defined later say so themselves.
    public var isFatal: Bool {
        switch self {
        case .badLDPIdentifier, .badProtocolVersion, .badPDULength, .badMessageLength,
             .badTLVLength, .malformedTLVValue, .holdTimerExpired, .shutdown,
             .sessionRejectedNoHello, .sessionRejectedAdvertisementMode,
             .sessionRejectedMaxPDULength, .sessionRejectedLabelRange,
             .keepAliveTimerExpired, .sessionRejectedBadKeepAliveTime, .internalError,
             .transportConnectionMismatch:
            true
        default:
            false
        }
    }

    public var name: String {
        switch self {
        case .success: "Success"
        case .badLDPIdentifier: "Bad LDP Identifier"
        case .badProtocolVersion: "Bad Protocol Version"
        case .badPDULength: "Bad PDU Length"
        case .unknownMessageType: "Unknown Message Type"
        case .badMessageLength: "Bad Message Length"
        case .unknownTLV: "Unknown TLV"
        case .badTLVLength: "Bad TLV Length"
        case .malformedTLVValue: "Malformed TLV Value"
        case .holdTimerExpired: "Hold Timer Expired"
        case .shutdown: "Shutdown"
        case .loopDetected: "Loop Detected"
        case .unknownFEC: "Unknown FEC"
        case .noRoute: "No Route"
        case .noLabelResources: "No Label Resources"
        case .labelResourcesAvailable: "Label Resources Available"
        case .sessionRejectedNoHello: "Session Rejected/No Hello"
        case .sessionRejectedAdvertisementMode: "Session Rejected/Parameters Advertisement Mode"
        case .sessionRejectedMaxPDULength: "Session Rejected/Parameters Max PDU Length"
        case .sessionRejectedLabelRange: "Session Rejected/Parameters Label Range"
        case .keepAliveTimerExpired: "KeepAlive Timer Expired"
        case .labelRequestAborted: "Label Request Aborted"
        case .missingMessageParameters: "Missing Message Parameters"
        case .unsupportedAddressFamily: "Unsupported Address Family"
        case .sessionRejectedBadKeepAliveTime: "Session Rejected/Bad KeepAlive Time"
        case .internalError: "Internal Error"
        case .unsupportedCapability: "Unsupported Capability"
        case .endOfLIB: "End-of-LIB"
        case .transportConnectionMismatch: "Transport Connection Mismatch"
        default: "Status 0x\(String(rawValue, radix: 16))"
        }
    }

    public var description: String { name }
}

// MARK: - Messages

/// Notification (0x0001), RFC 5036 §3.5.1.
public struct NotificationMessage: Hashable, Sendable, Codable {
    public var status: Status
    /// Extended Status TLV (0x0301).
    public var extendedStatus: UInt32?
    /// Returned PDU TLV (0x0302): the offending PDU header, as much as fits.
    public var returnedPDU: [UInt8]?
    /// Returned Message TLV (0x0303): the offending message.
    public var returnedMessage: [UInt8]?
    /// Returned TLVs TLV (0x0304, RFC 5561): refused capability TLVs, raw.
    public var returnedTLVs: [UInt8]?
    /// FEC TLV: RFC 5919 End-of-LIB carries a Typed Wildcard FEC; Unknown FEC, No Route.
    public var fec: [FECElement]?
    /// Label Request Message ID TLV: No Route, Loop Detected, Label Request Aborted.
    public var labelRequestMessageID: UInt32?

    public init(status: Status, extendedStatus: UInt32? = nil, returnedPDU: [UInt8]? = nil,
                returnedMessage: [UInt8]? = nil, returnedTLVs: [UInt8]? = nil,
                fec: [FECElement]? = nil, labelRequestMessageID: UInt32? = nil) {
        self.status = status
        self.extendedStatus = extendedStatus
        self.returnedPDU = returnedPDU
        self.returnedMessage = returnedMessage
        self.returnedTLVs = returnedTLVs
        self.fec = fec
        self.labelRequestMessageID = labelRequestMessageID
    }
}

/// Common Hello Parameters TLV (0x0400), RFC 5036 §3.5.2, RFC 6720 §3:
///
///    |      Hold Time                |T|R|G|     Reserved            |
public struct CommonHelloParameters: Hashable, Sendable, Codable {
    /// 0 = the default (15 s link, 45 s targeted); 0xFFFF = infinite.
    public var holdTime: UInt16
    /// T: a Targeted Hello.
    public var targeted: Bool
    /// R: ask the receiver to send Targeted Hellos back.
    public var requestTargeted: Bool
    /// G (RFC 6720): GTSM is supported and wanted.
    public var gtsm: Bool

    public init(holdTime: UInt16, targeted: Bool = false, requestTargeted: Bool = false, gtsm: Bool = false) {
        self.holdTime = holdTime
        self.targeted = targeted
        self.requestTargeted = requestTargeted
        self.gtsm = gtsm
    }
}

/// RFC 7552 §6.1 Dual-Stack capability TLV: |TR| Reserved ... (TR: 4 = IPv4, 6 = IPv6).
public enum TransportPreference: UInt8, Hashable, Sendable, Codable {
    case ipv4 = 0b0100
    case ipv6 = 0b0110
}

/// Where the Dual-Stack TLV carries its TR field.
public enum DualStackFormat: Hashable, Sendable, Codable {
    /// RFC 7552 §6.1: TR in the four high-order bits (0x60000000 asks for IPv6).
    case rfc7552
    /// TR in the low-order bits (0x00000006 asks for IPv6): Cisco's non-compliant format,
    /// which FRRouting sends and expects with `dual-stack cisco-interop`.
    case ciscoInterop
}

/// Hello (0x0100), RFC 5036 §3.5.2.
public struct HelloMessage: Hashable, Sendable, Codable {
    public var parameters: CommonHelloParameters
    public var ipv4TransportAddress: IPv4Address?
    public var ipv6TransportAddress: IPv6Address?
    public var configurationSequenceNumber: UInt32?
    public var dualStack: TransportPreference?
    /// How `dualStack` was (or is to be) encoded; meaningful only when it is set.
    public var dualStackFormat: DualStackFormat

    public init(parameters: CommonHelloParameters, ipv4TransportAddress: IPv4Address? = nil,
                ipv6TransportAddress: IPv6Address? = nil, configurationSequenceNumber: UInt32? = nil,
                dualStack: TransportPreference? = nil, dualStackFormat: DualStackFormat = .rfc7552) {
        self.parameters = parameters
        self.ipv4TransportAddress = ipv4TransportAddress
        self.ipv6TransportAddress = ipv6TransportAddress
        self.configurationSequenceNumber = configurationSequenceNumber
        self.dualStack = dualStack
        self.dualStackFormat = dualStackFormat
    }
}

/// Common Session Parameters TLV (0x0500), RFC 5036 §3.5.3:
///
///    | Protocol Version              |      KeepAlive Time           |
///    |A|D|  Reserved |     PVLim     |      Max PDU Length           |
///    |                 Receiver LDP Identifier                       |
///    +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public struct CommonSessionParameters: Hashable, Sendable, Codable {
    public var protocolVersion: UInt16
    public var keepAliveTime: UInt16
    /// A bit: Downstream on Demand when set, Downstream Unsolicited when clear.
    public var downstreamOnDemand: Bool
    /// D bit: loop detection enabled.
    public var loopDetection: Bool
    public var pathVectorLimit: UInt8
    /// 0 means the default, 4096.
    public var maximumPDULength: UInt16
    public var receiverLDPIdentifier: LDPIdentifier

    public init(protocolVersion: UInt16 = PDU.version, keepAliveTime: UInt16, downstreamOnDemand: Bool = false,
                loopDetection: Bool = false, pathVectorLimit: UInt8 = 0, maximumPDULength: UInt16 = 0,
                receiverLDPIdentifier: LDPIdentifier) {
        self.protocolVersion = protocolVersion
        self.keepAliveTime = keepAliveTime
        self.downstreamOnDemand = downstreamOnDemand
        self.loopDetection = loopDetection
        self.pathVectorLimit = pathVectorLimit
        self.maximumPDULength = maximumPDULength
        self.receiverLDPIdentifier = receiverLDPIdentifier
    }
}

/// ATM Session Parameters TLV (0x0501), RFC 5036 §3.5.3:
///
///    | M |   N   |D|                        Reserved                 |
///    |                 ATM Label Range Component 1                   |
///
/// Component: | Res |    Minimum VPI        |      Minimum VCI        |
///            | Res |    Maximum VPI        |      Maximum VCI        |
public struct ATMSessionParameters: Hashable, Sendable, Codable {
    public struct LabelRange: Hashable, Sendable, Codable {
        public var minimumVPI: UInt16
        public var minimumVCI: UInt16
        public var maximumVPI: UInt16
        public var maximumVCI: UInt16
        public init(minimumVPI: UInt16, minimumVCI: UInt16, maximumVPI: UInt16, maximumVCI: UInt16) {
            self.minimumVPI = minimumVPI
            self.minimumVCI = minimumVCI
            self.maximumVPI = maximumVPI
            self.maximumVCI = maximumVCI
        }
    }
    /// M: merge capability (0 none, 1 VP, 2 VC, 3 both).
    public var merge: UInt8
    /// D: directionality (bidirectional when set).
    public var bidirectional: Bool
    public var ranges: [LabelRange]

    public init(merge: UInt8, bidirectional: Bool, ranges: [LabelRange]) {
        self.merge = merge
        self.bidirectional = bidirectional
        self.ranges = ranges
    }
}

/// Frame Relay Session Parameters TLV (0x0502), RFC 5036 §3.5.3:
///
///    | M |   N   |D|                        Reserved                 |
/// Component: | Reserved    |Len|              Minimum DLCI           |
///            | Reserved        |              Maximum DLCI           |
public struct FrameRelaySessionParameters: Hashable, Sendable, Codable {
    public struct LabelRange: Hashable, Sendable, Codable {
        public var dlciLength: UInt8
        public var minimumDLCI: UInt32
        public var maximumDLCI: UInt32
        public init(dlciLength: UInt8, minimumDLCI: UInt32, maximumDLCI: UInt32) {
            self.dlciLength = dlciLength
            self.minimumDLCI = minimumDLCI
            self.maximumDLCI = maximumDLCI
        }
    }
    public var merge: UInt8
    public var bidirectional: Bool
    public var ranges: [LabelRange]

    public init(merge: UInt8, bidirectional: Bool, ranges: [LabelRange]) {
        self.merge = merge
        self.bidirectional = bidirectional
        self.ranges = ranges
    }
}

/// A capability TLV (RFC 5561 §3):
///
///    |U|F| TLV Code Point            |            Length             |
///    |S| Reserved    |                                               |
///    +-+-+-+-+-+-+-+-+                                               +
///    ~              Capability Data (vendor-specific)                ~
public struct Capability: Hashable, Sendable, Codable {
    /// The TLV code point (0x0506, 0x050B, 0x0603, ...).
    public var type: UInt16
    /// S: announce (true) or withdraw (false) the capability.
    public var isEnabled: Bool
    public var data: [UInt8]

    public init(type: UInt16, isEnabled: Bool = true, data: [UInt8] = []) {
        self.type = type
        self.isEnabled = isEnabled
        self.data = data
    }

    public static let dynamicAnnouncement = Capability(type: TLVType.dynamicCapabilityAnnouncement.rawValue)
    public static let typedWildcardFEC = Capability(type: TLVType.typedWildcardFECCapability.rawValue)
    public static let unrecognizedNotification = Capability(type: TLVType.unrecognizedNotificationCapability.rawValue)

    /// The capability code points this codec decodes as capabilities.
    public static let knownTypes: Set<UInt16> = [
        TLVType.dynamicCapabilityAnnouncement.rawValue,
        TLVType.typedWildcardFECCapability.rawValue,
        TLVType.unrecognizedNotificationCapability.rawValue,
    ]
}

/// Initialization (0x0200), RFC 5036 §3.5.3.
public struct InitializationMessage: Hashable, Sendable, Codable {
    public var parameters: CommonSessionParameters
    public var atmParameters: ATMSessionParameters?
    public var frameRelayParameters: FrameRelaySessionParameters?
    /// RFC 5561 §4: capabilities advertised at session start, in the order received.
    public var capabilities: [Capability]

    public init(parameters: CommonSessionParameters, atmParameters: ATMSessionParameters? = nil,
                frameRelayParameters: FrameRelaySessionParameters? = nil, capabilities: [Capability] = []) {
        self.parameters = parameters
        self.atmParameters = atmParameters
        self.frameRelayParameters = frameRelayParameters
        self.capabilities = capabilities
    }
}

/// Capability (0x0202), RFC 5561 §5: one or more capability TLVs.
public struct CapabilityMessage: Hashable, Sendable, Codable {
    public var capabilities: [Capability]
    public init(capabilities: [Capability]) { self.capabilities = capabilities }
}

/// Address List TLV (0x0101), RFC 5036 §3.4.3; also the body of Address (0x0300) and
/// Address Withdraw (0x0301) messages.
///
///    |        Address Family         |                               |
///    ~                                                               ~
///    |                        Addresses                              |
public struct AddressList: Hashable, Sendable, Codable {
    public var family: AddressFamily
    /// All of `family`.
    public var addresses: [IPAddress]

    public init(family: AddressFamily, addresses: [IPAddress]) {
        self.family = family
        self.addresses = addresses
    }

    public init(_ addresses: [IPv4Address]) {
        self.init(family: .ipv4, addresses: addresses.map(IPAddress.v4))
    }
}

/// Label Mapping (0x0400), RFC 5036 §3.5.7.
public struct LabelMappingMessage: Hashable, Sendable, Codable {
    public var fec: [FECElement]
    public var label: Label
    public var labelRequestMessageID: UInt32?
    public var hopCount: UInt8?
    /// Path Vector TLV: the LSR IDs the mapping has traversed.
    public var pathVector: [IPv4Address]?

    public init(fec: [FECElement], label: Label, labelRequestMessageID: UInt32? = nil,
                hopCount: UInt8? = nil, pathVector: [IPv4Address]? = nil) {
        self.fec = fec
        self.label = label
        self.labelRequestMessageID = labelRequestMessageID
        self.hopCount = hopCount
        self.pathVector = pathVector
    }
}

/// Label Request (0x0401), RFC 5036 §3.5.8.
public struct LabelRequestMessage: Hashable, Sendable, Codable {
    public var fec: [FECElement]
    public var hopCount: UInt8?
    public var pathVector: [IPv4Address]?

    public init(fec: [FECElement], hopCount: UInt8? = nil, pathVector: [IPv4Address]? = nil) {
        self.fec = fec
        self.hopCount = hopCount
        self.pathVector = pathVector
    }
}

/// Label Withdraw (0x0402), RFC 5036 §3.5.10.
public struct LabelWithdrawMessage: Hashable, Sendable, Codable {
    public var fec: [FECElement]
    public var label: Label?

    public init(fec: [FECElement], label: Label? = nil) {
        self.fec = fec
        self.label = label
    }
}

/// Label Release (0x0403), RFC 5036 §3.5.11.
public struct LabelReleaseMessage: Hashable, Sendable, Codable {
    public var fec: [FECElement]
    public var label: Label?

    public init(fec: [FECElement], label: Label? = nil) {
        self.fec = fec
        self.label = label
    }
}

/// Label Abort Request (0x0404), RFC 5036 §3.5.9.
public struct LabelAbortRequestMessage: Hashable, Sendable, Codable {
    public var fec: [FECElement]
    public var labelRequestMessageID: UInt32

    public init(fec: [FECElement], labelRequestMessageID: UInt32) {
        self.fec = fec
        self.labelRequestMessageID = labelRequestMessageID
    }
}
