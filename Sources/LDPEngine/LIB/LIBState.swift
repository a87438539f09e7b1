// The LIB's internal records. Per-FEC state is kept small: peers are named by a slot number
// (an index into `LabelInformationBase.peers`), not by their LDP identifier.

import LDPCodec
import MPLSTables

/// Index of an operational peer in `LabelInformationBase.peers`. Reused after the peer is gone,
/// once every record that named it has been cleaned up.
typealias PeerSlot = UInt16

/// Everything the LIB knows about one FEC (one prefix).
struct FECRecord: Sendable {
    /// Our advertisement of `localLabel` to one peer.
    struct Advertisement: Sendable {
        var peer: PeerSlot
        /// The peer sent a Label Release for the label (it no longer holds it); we do not
        /// advertise the label to it again.
        var released: Bool
    }

    /// A mapping a peer advertised to us (kept whether or not the peer is the next hop).
    struct RemoteMapping: Sendable {
        var peer: PeerSlot
        var label: UInt32
    }

    var route: Route?
    /// The label we advertise for the FEC (a dynamic label, or implicit/explicit null).
    var localLabel: UInt32?
    /// Peers we sent `localLabel` to.
    var advertisements: [Advertisement] = []
    var remoteMappings: [RemoteMapping] = []
    /// Our former dynamic labels for this FEC that some peer has not released yet.
    var labelsAwaitingRelease: [UInt32] = []

    var isUnused: Bool {
        route == nil && localLabel == nil && remoteMappings.isEmpty && labelsAwaitingRelease.isEmpty
    }

    func remoteLabel(from peer: PeerSlot) -> UInt32? {
        remoteMappings.first { $0.peer == peer }?.label
    }

    func advertisementIndex(of peer: PeerSlot) -> Int? {
        advertisements.firstIndex { $0.peer == peer }
    }
}

/// An operational peer.
struct PeerRecord: Sendable {
    var id: LDPIdentifier
    var capabilities: PeerCapabilities
    /// Addresses from its Address messages (RFC 5036 §3.5.5).
    var addresses: Set<IPAddress> = []
    /// FECs it advertised a mapping for (the labels themselves live in `FECRecord`).
    var mappedFECs: Set<IPPrefix> = []
    /// Label Requests we could not answer yet (ordered control, no downstream mapping):
    /// FEC → the request's message id.
    var deferredRequests: [IPPrefix: UInt32] = [:]
    var endOfLIBReceived = false

    init(id: LDPIdentifier, capabilities: PeerCapabilities) {
        self.id = id
        self.capabilities = capabilities
    }
}

/// A withdrawn local label that some peers still hold: reused only once they all released it.
struct PendingRelease: Sendable {
    var fec: IPPrefix
    var holders: [PeerSlot]
}

/// The at most two LFIB entries one FEC owns: the swap/pop entry keyed by our local label and
/// the FTN (push) entry keyed by the prefix.
struct FECForwarding: Equatable, Sendable {
    var incomingLabelEntry: LFIBEntry?
    var ingressEntry: LFIBEntry?
}
