// Read-only views for the operator (`show ldp binding`, `show ldp neighbor`) and for tests.

import LDPCodec
import MPLSTables

/// One FEC as `show ldp binding` prints it.
public struct FECBinding: Hashable, Sendable, Codable {
    public struct RemoteBinding: Hashable, Sendable, Codable {
        public var peer: LDPIdentifier
        public var label: UInt32
        /// The peer is a next hop of the FEC's route: its label is in the LFIB.
        public var inUse: Bool
    }
    public var prefix: IPPrefix
    /// The label we advertise (nil: none, e.g. filtered out, ordered control waiting, no route).
    public var localLabel: UInt32?
    /// Peers we advertised `localLabel` to and that have not released it.
    public var advertisedTo: [LDPIdentifier]
    public var remoteBindings: [RemoteBinding]
    /// The route's next hops; empty when there is no route.
    public var nextHops: [Route.NextHop]
    /// Our former labels for this FEC still held by some peer.
    public var labelsAwaitingRelease: [UInt32]
}

/// One operational peer as the LIB sees it.
public struct PeerBinding: Hashable, Sendable, Codable {
    public var peer: LDPIdentifier
    public var addresses: [IPAddress]
    public var capabilities: PeerCapabilities
    public var mappingCount: Int
    public var endOfLIBReceived: Bool
}

extension LabelInformationBase {
    /// Every FEC the LIB knows (routed, or mapped by some peer), in prefix order.
    public var bindings: [FECBinding] {
        fecs.keys.sorted().compactMap(binding(for:))
    }

    public func binding(for prefix: IPPrefix) -> FECBinding? {
        guard let record = fecs[prefix] else { return nil }
        let usedPeers = Set(record.route?.nextHops.compactMap { $0.address.flatMap { peerByAddress[$0] } } ?? [])
        let remote = record.remoteMappings.compactMap { mapping -> FECBinding.RemoteBinding? in
            guard let peer = peers[Int(mapping.peer)] else { return nil }
            return .init(peer: peer.id, label: mapping.label, inUse: record.route?.isEgress == false && usedPeers.contains(mapping.peer))
        }.sorted { $0.peer < $1.peer }
        let advertisedTo = record.advertisements.filter { !$0.released }.compactMap { peers[Int($0.peer)]?.id }.sorted()
        return FECBinding(prefix: prefix, localLabel: record.localLabel, advertisedTo: advertisedTo,
                          remoteBindings: remote, nextHops: record.route?.nextHops ?? [],
                          labelsAwaitingRelease: record.labelsAwaitingRelease.sorted())
    }

    public var peerBindings: [PeerBinding] {
        peers.compactMap { $0 }.sorted { $0.id < $1.id }.map { peer in
            PeerBinding(peer: peer.id, addresses: peer.addresses.sorted(), capabilities: peer.capabilities,
                        mappingCount: peer.mappedFECs.count, endOfLIBReceived: peer.endOfLIBReceived)
        }
    }

    /// Addresses the peer advertised (empty for a peer that is not operational).
    public func addresses(of peer: LDPIdentifier) -> Set<IPAddress> {
        slotsByPeer[peer].flatMap { peers[Int($0)]?.addresses } ?? []
    }

    public var operationalPeers: [LDPIdentifier] { slotsByPeer.keys.sorted() }

    /// Withdrawn labels not yet released by every peer: not reusable yet.
    public var labelsAwaitingRelease: [UInt32] { pendingReleases.keys.sorted() }

    /// The LFIB that applying every emitted `LFIBChange` gives: computed from the LIB's state.
    public var lfib: LFIB {
        var entries: [LFIBEntry] = []
        for prefix in fecs.keys {
            let forwarding = forwarding(for: prefix)
            if let entry = forwarding.incomingLabelEntry { entries.append(entry) }
            if let entry = forwarding.ingressEntry { entries.append(entry) }
        }
        return LFIB(entries)
    }
}
