// Session parameter negotiation (RFC 5036 §2.5.3, §3.5.3; RFC 5561 capabilities).

import LDPCodec

/// What a session agreed on.
public struct NegotiatedParameters: Hashable, Sendable, Codable {
    /// The smaller of both KeepAlive Time proposals, in seconds (§3.5.3).
    public var keepAliveTime: UInt16
    /// The smaller of both Max PDU Length proposals, each 4096 when 255 or less (§3.5.3).
    public var maximumPDULength: Int
    /// Downstream Unsolicited always: we are not a label-controlled ATM or Frame Relay LSR, so
    /// when the peer proposes Downstream on Demand, §2.5.3 resolves to Downstream Unsolicited.
    public var peerProposedDownstreamOnDemand: Bool
    /// The peer enabled path vector loop detection; we do not, and §2.5.3 needs no agreement.
    public var peerLoopDetection: Bool
    public var peerCapabilities: PeerCapabilities
    /// TLV types the peer sent that we do not know, unknown capabilities among them: ignored
    /// (U bit set: RFC 5036 §3.5.1.2.2, RFC 5561 §4).
    public var ignoredTLVs: [UInt16]

    /// §2.5.6: a KeepAlive every third of the negotiated time keeps the peer's timer from
    /// expiring even when one is delayed.
    public var keepAliveInterval: EngineDuration {
        let third = EngineDuration.seconds(Int64(keepAliveTime)) / 3
        return third < .seconds(1) ? .seconds(1) : third
    }
}

/// Our side of the negotiation.
public struct LocalSessionProposal: Hashable, Sendable, Codable {
    public var ldpIdentifier: LDPIdentifier
    public var keepAliveTime: UInt16
    public var maximumPDULength: UInt16

    public init(ldpIdentifier: LDPIdentifier, keepAliveTime: UInt16, maximumPDULength: UInt16) {
        self.ldpIdentifier = ldpIdentifier
        self.keepAliveTime = keepAliveTime
        self.maximumPDULength = maximumPDULength
    }

    /// The capabilities we announce (RFC 5561 §4): Dynamic Announcement, Typed Wildcard FEC
    /// (RFC 5918) and Unrecognized Notification (RFC 5919).
    public static let announcedCapabilities: [Capability] = [
        .dynamicAnnouncement, .typedWildcardFEC, .unrecognizedNotification,
    ]

    /// Our Initialization message to `peer`.
    public func initialization(to peer: LDPIdentifier) -> InitializationMessage {
        InitializationMessage(
            parameters: CommonSessionParameters(
                keepAliveTime: keepAliveTime, downstreamOnDemand: false, loopDetection: false,
                pathVectorLimit: 0, maximumPDULength: maximumPDULength, receiverLDPIdentifier: peer),
            capabilities: Self.announcedCapabilities)
    }

    /// §3.5.3: "A value of 255 or less specifies the default maximum length of 4096 octets".
    public static func effectiveMaximumPDULength(_ proposed: UInt16) -> Int {
        proposed <= 255 ? PDU.defaultMaximumLength : Int(proposed)
    }

    /// Accepts the peer's Initialization or names the status to reject it with.
    public func negotiate(with received: InitializationMessage,
                          unknownTLVs: [UnknownTLV] = []) -> Result<NegotiatedParameters, InitializationRejection> {
        let parameters = received.parameters
        guard parameters.protocolVersion == PDU.version else {
            return .failure(InitializationRejection(code: .badProtocolVersion,
                                                    reason: "protocol version \(parameters.protocolVersion)"))
        }
        // §3.5.3: the Receiver LDP Identifier matches the Init to one of our Hello adjacencies;
        // when it names another label space or LSR, there is none: Session Rejected/No Hello.
        guard parameters.receiverLDPIdentifier == ldpIdentifier else {
            return .failure(InitializationRejection(
                code: .sessionRejectedNoHello,
                reason: "receiver LDP identifier \(parameters.receiverLDPIdentifier) is not ours (\(ldpIdentifier))"))
        }
        // §3.5.3: KeepAlive Time is a "non zero" number of seconds.
        guard parameters.keepAliveTime > 0 else {
            return .failure(InitializationRejection(code: .sessionRejectedBadKeepAliveTime, reason: "KeepAlive Time 0"))
        }
        var capabilities = PeerCapabilities()
        var unknown = unknownTLVs.map(\.type)
        for capability in received.capabilities {
            switch capability.type {
            case Capability.typedWildcardFEC.type: capabilities.typedWildcardFEC = capability.isEnabled
            case Capability.unrecognizedNotification.type: capabilities.unrecognizedNotification = capability.isEnabled
            case Capability.dynamicAnnouncement.type: capabilities.dynamicAnnouncement = capability.isEnabled
            default: unknown.append(capability.type)
            }
        }
        return .success(NegotiatedParameters(
            keepAliveTime: min(keepAliveTime, parameters.keepAliveTime),
            maximumPDULength: min(Self.effectiveMaximumPDULength(maximumPDULength),
                                  Self.effectiveMaximumPDULength(parameters.maximumPDULength)),
            peerProposedDownstreamOnDemand: parameters.downstreamOnDemand,
            peerLoopDetection: parameters.loopDetection,
            peerCapabilities: capabilities,
            ignoredTLVs: unknown))
    }
}

public struct InitializationRejection: Error, Hashable, Sendable, Codable {
    public var code: StatusCode
    public var reason: String
}
