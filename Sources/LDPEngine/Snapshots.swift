// Read-only views for the operator CLI (`lsrctl show ldp ...`), Codable for JSON output.

import LDPCodec
import MPLSTables

public struct NeighborSnapshot: Hashable, Sendable, Codable {
    /// Nil for a connection not (yet) matched to a peer.
    public var peer: LDPIdentifier?
    public var connection: ConnectionID
    public var state: SessionState
    public var role: SessionRole
    public var localAddress: IPAddress
    public var remoteAddress: IPAddress
    /// The well-known port on the side that listened; the other side's port is the daemon's.
    public var localPort: UInt16?
    public var remotePort: UInt16?
    /// Time since OPERATIONAL; nil before.
    public var uptime: EngineDuration?
    public var keepAliveTime: UInt16?
    public var keepAliveInterval: EngineDuration?
    public var maximumPDULength: Int?
    public var capabilities: PeerCapabilities?
    public var messagesSent: MessageCounters
    public var messagesReceived: MessageCounters
    public var md5: Bool
    public var gtsm: Bool
    /// Addresses the peer advertised in Address messages (the LIB's record; empty before OPERATIONAL).
    public var advertisedAddresses: [IPAddress]
    /// The adjacencies behind the session.
    public var adjacencies: [AdjacencyKey]
}

public struct AdjacencySnapshot: Hashable, Sendable, Codable {
    public var key: AdjacencyKey
    public var kind: DiscoveryKind
    public var peer: LDPIdentifier
    public var source: IPAddress
    public var transportAddress: IPv4Address
    /// The peer's proposal and the negotiated hold time (0xFFFF: infinite).
    public var proposedHoldTime: UInt16
    public var holdTime: UInt16
    /// Nil when the hold time is infinite.
    public var timeLeft: EngineDuration?
    public var gtsm: Bool
    public var requestsTargetedHellos: Bool
    public var configurationSequenceNumber: UInt32?
    public var age: EngineDuration
}

/// A peer the active side failed to open a session with, and when it tries again.
public struct BackoffSnapshot: Hashable, Sendable, Codable {
    public var peer: LDPIdentifier
    /// Failed set-ups since the last OPERATIONAL session (or since the adjacency came).
    public var failures: Int
    public var lastFailure: String
    /// The peer refused the last set-up (the §2.5.3 schedule, 15 s to 2 minutes), rather than
    /// saying nothing (refused or reset connections: 1 s to 15 s).
    public var refusedByPeer: Bool
    public var delay: EngineDuration
    /// Nil once the delay has passed and an attempt is under way.
    public var nextAttemptIn: EngineDuration?
}

public struct InterfaceSnapshot: Hashable, Sendable, Codable {
    public var name: String
    public var isUp: Bool
    public var addresses: [IPAddress]
    public var helloInterval: UInt16
    public var holdTime: UInt16
    public var sendingHellos: Bool
    public var adjacencyCount: Int
}

public struct TargetedNeighborSnapshot: Hashable, Sendable, Codable {
    public var address: IPv4Address
    /// Configured, or answering a peer's request (R bit).
    public var isConfigured: Bool
    public var sendingHellos: Bool
    public var adjacency: AdjacencyKey?
}

extension LDPEngine {
    public func neighbors(at now: EngineTime) -> [NeighborSnapshot] {
        sessions.values.sorted { $0.connection < $1.connection }.map { session in
            NeighborSnapshot(
                peer: session.peer, connection: session.connection, state: session.state, role: session.role,
                localAddress: session.localAddress, remoteAddress: session.remoteAddress,
                localPort: session.role == .passive ? 646 : nil, remotePort: session.role == .active ? 646 : nil,
                uptime: session.operationalSince.map { now - $0 },
                keepAliveTime: session.negotiated?.keepAliveTime,
                keepAliveInterval: session.negotiated?.keepAliveInterval,
                maximumPDULength: session.negotiated?.maximumPDULength,
                capabilities: session.negotiated == nil ? nil : session.peerCapabilities,
                messagesSent: session.sent, messagesReceived: session.received,
                md5: session.md5, gtsm: session.gtsm,
                advertisedAddresses: session.state == .operational ? session.peer.map { lib.addresses(of: $0).sorted() } ?? [] : [],
                adjacencies: session.peer.map { adjacencies(of: $0).map(\.key) } ?? [])
        }
    }

    public func adjacencies(at now: EngineTime) -> [AdjacencySnapshot] {
        adjacencies.values.sorted { $0.key < $1.key }.map { adjacency in
            AdjacencySnapshot(
                key: adjacency.key, kind: adjacency.discoveryKind, peer: adjacency.peer, source: adjacency.source,
                transportAddress: adjacency.transportAddress, proposedHoldTime: adjacency.proposedHoldTime,
                holdTime: adjacency.holdTime, timeLeft: adjacency.expiresAt.map { max(.zero, $0 - now) },
                gtsm: adjacency.gtsm, requestsTargetedHellos: adjacency.requestsTargetedHellos,
                configurationSequenceNumber: adjacency.configurationSequenceNumber, age: now - adjacency.since)
        }
    }

    public func backoffs(at now: EngineTime) -> [BackoffSnapshot] {
        backoffs.sorted { $0.key < $1.key }.map { peer, backoff in
            BackoffSnapshot(peer: peer, failures: backoff.failures, lastFailure: backoff.lastFailure,
                            refusedByPeer: backoff.lastFailureWasRefusal, delay: backoff.delay,
                            nextAttemptIn: backoff.nextAttempt.map { max(.zero, $0 - now) })
        }
    }

    public var interfaces: [InterfaceSnapshot] {
        configuration.interfaces.map { interface in
            let state = interfaceStates[interface.name]
            return InterfaceSnapshot(
                name: interface.name, isUp: state?.isUp ?? false, addresses: state?.addresses ?? [],
                helloInterval: interface.helloInterval, holdTime: interface.holdTime,
                sendingHellos: activeHelloTargets.contains(.interface(interface.name)),
                adjacencyCount: adjacencies.keys.filter {
                    if case .link(let name, _) = $0 { name == interface.name } else { false }
                }.count)
        }
    }

    public var targetedNeighbors: [TargetedNeighborSnapshot] {
        let addresses = Set(configuration.targetedNeighbors.map(\.address)).union(activeHelloTargets.compactMap {
            if case .targeted(let address) = $0 { address } else { nil }
        })
        return addresses.sorted().map { address in
            TargetedNeighborSnapshot(
                address: address, isConfigured: configuration.targetedNeighbor(address) != nil,
                sendingHellos: activeHelloTargets.contains(.targeted(address)),
                adjacency: adjacencies[.targeted(source: address)]?.key)
        }
    }
}

// MARK: - The LIB's views, passed through

extension LDPEngine {
    /// Every FEC the LIB knows with its local and remote labels.
    public var labelBindings: [FECBinding] { lib.bindings }

    public func labelBinding(for prefix: IPPrefix) -> FECBinding? { lib.binding(for: prefix) }

    /// What each operational peer sent: addresses, mapping counts, End-of-LIB.
    public var peerBindings: [PeerBinding] { lib.peerBindings }

    /// The LFIB the emitted deltas add up to, computed from the LIB's state.
    public var lfib: LFIB { lib.lfib }
}
