// One LDP session: a TCP connection and what it carries (RFC 5036 §2.5).

import LDPCodec

/// Messages counted by type, for the operator. Encoded as a table keyed by type name.
public struct MessageCounters: Hashable, Sendable, Codable {
    private var counts: [MessageType: UInt64] = [:]
    /// Messages of types the codec does not know.
    public private(set) var unknown: UInt64 = 0

    public init() {}

    public var total: UInt64 { counts.values.reduce(unknown, +) }

    public subscript(type: MessageType) -> UInt64 { counts[type] ?? 0 }

    /// Counts keyed by message type name ("labelMapping", "keepAlive", ..., "unknown").
    public var byType: [String: UInt64] {
        var table = Dictionary(uniqueKeysWithValues: counts.map { ("\($0.key)", $0.value) })
        if unknown > 0 { table["unknown"] = unknown }
        return table
    }

    mutating func count(_ body: MessageBody) {
        if let type = body.type { counts[type, default: 0] += 1 } else { unknown += 1 }
    }

    public init(from decoder: any Decoder) throws {
        let table = try decoder.singleValueContainer().decode([String: UInt64].self)
        for type in MessageType.allCases { if let count = table["\(type)"] { counts[type] = count } }
        unknown = table["unknown"] ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(byType)
    }
}

struct Session: Sendable {
    let connection: ConnectionID
    /// Nil for a connection accepted from an address no adjacency names: it lives only long
    /// enough to answer the Initialization with Session Rejected/No Hello (§2.5.3).
    var peer: LDPIdentifier?
    let role: SessionRole
    var state: SessionState = .nonExistent
    let localAddress: IPAddress
    let remoteAddress: IPAddress
    var framer: PDUFramer
    var negotiated: NegotiatedParameters?
    var connectedAt: EngineTime?
    var operationalSince: EngineTime?
    var lastReceived: EngineTime
    var sent = MessageCounters()
    var received = MessageCounters()
    let md5: Bool
    var gtsm: Bool
    /// An Initialization that arrived before any Hello from its sender: held for a moment,
    /// since the sender's first Hello and its connection often race (see `helloWait`).
    var pendingInitialization: PendingInitialization?
    /// The peer's capabilities, updated by Capability messages after OPERATIONAL (RFC 5561).
    var peerCapabilities = PeerCapabilities()
    var hasBeenOperational: Bool { operationalSince != nil }

    init(connection: ConnectionID, peer: LDPIdentifier?, role: SessionRole, localAddress: IPAddress,
         remoteAddress: IPAddress, md5: Bool, gtsm: Bool, receiveLimit: Int, now: EngineTime) {
        self.connection = connection
        self.peer = peer
        self.role = role
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        self.md5 = md5
        self.gtsm = gtsm
        self.lastReceived = now
        self.framer = PDUFramer(maximumLength: receiveLimit)
    }
}

struct PendingInitialization: Sendable {
    var initialization: InitializationMessage
    var message: Message
    var sender: LDPIdentifier
}

/// How long the active side waits before its next attempt at a session with a peer.
///
/// §2.5.3 throttles set-ups whose Initialization was refused: the next attempt waits at least
/// 15 s, and the delays grow to at least 2 minutes. lsrd applies that to every failed set-up
/// in which the peer said something (a Notification, its own Initialization).
///
/// A set-up in which the peer said nothing refused nothing: the connection was refused or
/// reset, or never came up, because the peer's LDP is not running (it is restarting; a
/// listening socket that dies with its process still completes handshakes for a moment) or its
/// transport address is not routed yet (the IGP is converging). Those attempts back off on a
/// shorter schedule, 1 s doubling up to the §2.5.3 initial delay, so that a restarted peer is
/// found within seconds. Both schedules start again after an OPERATIONAL session, or when the
/// last adjacency with the peer goes.
struct SessionBackoff: Hashable, Sendable, Codable {
    static let initialConnectDelay = EngineDuration.seconds(1)

    /// The §2.5.3 schedule (`session-backoff`); it also caps the short one.
    let initialDelay: EngineDuration
    let maximumDelay: EngineDuration
    /// The delay the next refused set-up will wait.
    var nextDelay: EngineDuration
    /// The delay the next set-up the peer said nothing in will wait.
    var nextConnectDelay = SessionBackoff.initialConnectDelay
    /// When the backoff timer fires; nil once it has (an attempt may go ahead).
    var nextAttempt: EngineTime?
    // For the operator (`lsrctl show ldp backoff`).
    var failures = 0
    var lastFailure = ""
    var lastFailureWasRefusal = false
    var delay = EngineDuration.zero

    /// A backoff timer is running: do not connect before it fires.
    var isWaiting: Bool { nextAttempt != nil }

    init(_ configuration: SessionBackoffConfiguration) {
        initialDelay = .seconds(Int64(configuration.initial))
        maximumDelay = .seconds(Int64(max(configuration.maximum, configuration.initial)))
        nextDelay = initialDelay
    }

    /// Records a failed set-up at `now`; returns how long to wait. `peerSpoke`: an LDP message
    /// from the peer arrived on the connection.
    mutating func fail(peerSpoke: Bool, reason: String, at now: EngineTime) -> EngineDuration {
        failures += 1
        lastFailure = reason
        lastFailureWasRefusal = peerSpoke
        if peerSpoke {
            delay = nextDelay
            nextDelay = min(nextDelay * 2, maximumDelay)
        } else {
            delay = nextConnectDelay
            nextConnectDelay = min(nextConnectDelay * 2, initialDelay)
        }
        nextAttempt = now + delay
        return delay
    }
}
