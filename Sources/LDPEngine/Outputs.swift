// What the engine asks the world to do, and what it reports.

import LDPCodec
import MPLSTables

/// Where Hellos go: out of an interface (Basic Discovery) or to one address (Extended Discovery).
public enum HelloTarget: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    case interface(String)
    case targeted(IPv4Address)

    public var description: String {
        switch self {
        case .interface(let name): name
        case .targeted(let address): "targeted \(address)"
        }
    }
}

/// A timer the engine armed. Arming an armed timer replaces it. The engine checks its own state
/// when one fires, so a timer that fires after it stopped mattering does nothing.
public enum TimerID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Time to send the next Hello (§2.5.5).
    case helloSend(HelloTarget)
    /// The Hello hold timer of an adjacency (§2.5.6).
    case adjacencyExpiry(AdjacencyKey)
    /// Time to send a KeepAlive on a session (§2.5.6).
    case keepAliveSend(ConnectionID)
    /// The session KeepAlive timer: nothing received for the negotiated time (§2.5.6).
    case keepAliveExpiry(ConnectionID)
    /// Initialization took too long (§2.5.4: "Timeout" in the state diagram).
    case initializationTimeout(ConnectionID)
    /// The active side may try to open a session with this peer again (§2.5.3 backoff).
    case backoff(LDPIdentifier)
    /// How long an Initialization from an LSR we have no Hello from waits for one before it
    /// is refused with Session Rejected/No Hello.
    case helloWait(ConnectionID)

    public var description: String {
        switch self {
        case .helloSend(let target): "hello \(target)"
        case .adjacencyExpiry(let key): "adjacency \(key)"
        case .keepAliveSend(let connection): "keepalive-send \(connection)"
        case .keepAliveExpiry(let connection): "keepalive-expiry \(connection)"
        case .initializationTimeout(let connection): "init-timeout \(connection)"
        case .backoff(let peer): "backoff \(peer)"
        case .helloWait(let connection): "hello-wait \(connection)"
        }
    }
}

public enum EngineOutput: Hashable, Sendable, Codable {
    /// Send a Hello datagram to UDP port 646 with this IP TTL.
    case sendHello(interface: String?, source: IPAddress?, destination: IPAddress, ttl: UInt8, bytes: [UInt8])
    /// Open TCP from `local` to `remote` port 646, with the MD5 key if any, and with TTL 255
    /// and IP_MINTTL 255 when `gtsm` is set (RFC 6720 §3).
    case connect(ConnectionID, local: IPAddress, remote: IPAddress, md5Password: String?, gtsm: Bool)
    /// Install (or, with nil, remove) the TCP MD5 signature key for this peer address on the
    /// listening socket, so that the peer's connection is accepted (RFC 5036 §2.9, RFC 2385).
    /// Active opens carry their key in `connect`.
    case setMD5Key(remote: IPAddress, password: String?)
    case send(ConnectionID, [UInt8])
    case close(ConnectionID)
    /// RFC 6720 §3: both sides set G on the link adjacency: send with TTL 255 and accept only
    /// segments with TTL 255 (IP_MINTTL) on this accepted connection.
    case setGTSM(ConnectionID)
    case armTimer(TimerID, after: EngineDuration)
    case cancelTimer(TimerID)
    /// LFIB deltas produced during one `handle` call, in order.
    case lfib([LFIBChange])
    case event(EngineEvent)
}

/// How an adjacency was discovered, for logs.
public enum DiscoveryKind: Hashable, Sendable, Codable, CustomStringConvertible {
    case link(interface: String)
    case targeted(source: IPv4Address)

    public var description: String {
        switch self {
        case .link(let interface): "link \(interface)"
        case .targeted(let source): "targeted \(source)"
        }
    }
}

/// Things worth a log line, with enough detail to grep.
public enum EngineEvent: Hashable, Sendable, Codable, CustomStringConvertible {
    case adjacencyUp(peer: LDPIdentifier, via: DiscoveryKind, holdTime: UInt16)
    case adjacencyDown(peer: LDPIdentifier, via: DiscoveryKind, reason: String)
    case helloRejected(source: IPAddress, interface: String?, reason: String)
    case configurationSequenceChanged(peer: LDPIdentifier, sequenceNumber: UInt32)
    case connectionAttempt(peer: LDPIdentifier, remote: IPAddress, connection: ConnectionID)
    case connectionRejected(connection: ConnectionID, remote: IPAddress, reason: String)
    case sessionStateChanged(peer: LDPIdentifier?, connection: ConnectionID, from: SessionState, to: SessionState)
    case sessionUp(peer: LDPIdentifier, role: SessionRole, keepAliveTime: UInt16, maximumPDULength: Int)
    case sessionDown(peer: LDPIdentifier?, connection: ConnectionID, reason: String)
    case backoff(peer: LDPIdentifier, delay: EngineDuration)
    case notificationSent(peer: LDPIdentifier?, code: StatusCode, fatal: Bool)
    case notificationReceived(peer: LDPIdentifier?, code: StatusCode, fatal: Bool)
    case decodeError(peer: LDPIdentifier?, detail: String)
    case capabilityReceived(peer: LDPIdentifier, capability: UInt16, enabled: Bool)
    case label(LIBEvent)

    public var description: String {
        func name(_ peer: LDPIdentifier?) -> String { peer?.description ?? "?" }
        switch self {
        case .adjacencyUp(let peer, let via, let hold): return "adjacency up: \(peer) via \(via), hold \(hold)s"
        case .adjacencyDown(let peer, let via, let reason): return "adjacency down: \(peer) via \(via): \(reason)"
        case .helloRejected(let source, let interface, let reason):
            return "hello rejected from \(source) on \(interface ?? "-"): \(reason)"
        case .configurationSequenceChanged(let peer, let number): return "configuration sequence of \(peer) now \(number)"
        case .connectionAttempt(let peer, let remote, let connection): return "connecting to \(peer) at \(remote) (\(connection))"
        case .connectionRejected(let connection, let remote, let reason): return "connection \(connection) from \(remote) rejected: \(reason)"
        case .sessionStateChanged(let peer, let connection, let from, let to):
            return "session \(name(peer)) (\(connection)): \(from) -> \(to)"
        case .sessionUp(let peer, let role, let keepAlive, let maxPDU):
            return "session up: \(peer) (\(role)), keepalive \(keepAlive)s, max PDU \(maxPDU)"
        case .sessionDown(let peer, let connection, let reason): return "session down: \(name(peer)) (\(connection)): \(reason)"
        case .backoff(let peer, let delay): return "backoff for \(peer): next attempt in \(delay)"
        case .notificationSent(let peer, let code, let fatal):
            return "notification sent to \(name(peer)): \(code.name)\(fatal ? " (fatal)" : "")"
        case .notificationReceived(let peer, let code, let fatal):
            return "notification received from \(name(peer)): \(code.name)\(fatal ? " (fatal)" : "")"
        case .decodeError(let peer, let detail): return "decode error from \(name(peer)): \(detail)"
        case .capabilityReceived(let peer, let capability, let enabled):
            return "capability 0x\(String(capability, radix: 16)) \(enabled ? "announced" : "withdrawn") by \(peer)"
        case .label(let event): return "label: \(event)"
        }
    }
}
