// Fixtures for the LIB tests: a small topology and message builders. No encode/decode here.

import LDPCodec
import MPLSTables
@testable import LDPEngine

/// This LSR is 1.1.1.1; peer A (2.2.2.2) is reached over eth1 at 10.0.12.2, peer B (3.3.3.3)
/// over eth2 at 10.0.13.3.
enum Topology {
    static let localLSRID = IPv4Address(1, 1, 1, 1)
    static let peerA = LDPIdentifier(lsrID: IPv4Address(2, 2, 2, 2))
    static let peerB = LDPIdentifier(lsrID: IPv4Address(3, 3, 3, 3))
    static let addressA = IPAddress("10.0.12.2")!
    static let addressB = IPAddress("10.0.13.3")!
    static let addressesA: [IPAddress] = [IPAddress("2.2.2.2")!, addressA]
    static let addressesB: [IPAddress] = [IPAddress("3.3.3.3")!, addressB]
    static let hopA = Route.NextHop(address: addressA, interface: "eth1")
    static let hopB = Route.NextHop(address: addressB, interface: "eth2")
}

func prefix(_ text: String) -> IPPrefix { IPPrefix(text)! }

func route(_ text: String, via hops: Route.NextHop...) -> Route {
    Route(prefix: prefix(text), nextHops: hops)
}

func connectedRoute(_ text: String, interface: String) -> Route {
    Route(prefix: prefix(text), nextHops: [.init(address: nil, interface: interface)])
}

func loopbackRoute(_ text: String) -> Route {
    Route(prefix: prefix(text), nextHops: [.init(address: nil, interface: "lo")], isLocal: true)
}

func message(_ body: MessageBody, id: UInt32 = 1) -> Message { Message(id: id, body: body) }

func mappingBody(_ fec: String, _ label: UInt32, requestID: UInt32? = nil) -> MessageBody {
    .labelMapping(LabelMappingMessage(fec: [.prefix(prefix(fec))], label: .generic(label), labelRequestMessageID: requestID))
}

func withdrawBody(_ fec: [FECElement], _ label: UInt32?) -> MessageBody {
    .labelWithdraw(LabelWithdrawMessage(fec: fec, label: label.map(Label.generic)))
}

func releaseBody(_ fec: [FECElement], _ label: UInt32?) -> MessageBody {
    .labelRelease(LabelReleaseMessage(fec: fec, label: label.map(Label.generic)))
}

func endOfLIBBody(_ family: AddressFamily) -> MessageBody {
    .notification(NotificationMessage(status: Status(code: .endOfLIB, isFatal: false, forward: false, messageID: 0, messageType: 0),
                                      fec: [.typedWildcard(.prefix(family))]))
}

func sendTo(_ peer: LDPIdentifier, _ body: MessageBody) -> LIBOutput { .send(to: peer, body: body, messageID: nil) }

func entry(_ key: LFIBKey, _ fec: String, _ hops: (Route.NextHop, UInt32)...) -> LFIBEntry {
    LFIBEntry(key: key, fec: prefix(fec), nextHops: hops.map { LFIBNextHop(address: $0.0.address, interface: $0.0.interface, outLabels: [$0.1]) })
}

extension Array where Element == LIBOutput {
    var sentMessages: [LIBOutput] { filter { if case .send = $0 { true } else { false } } }
    var lfibChanges: [LFIBChange] { compactMap { if case .lfib(let change) = $0 { change } else { nil } } }
    var events: [LIBEvent] { compactMap { if case .event(let event) = $0 { event } else { nil } } }
}

extension LabelInformationBase {
    /// A LIB with peers A and B operational and their addresses known.
    static func withPeers(_ configuration: LabelDistributionConfiguration = .init(localLSRID: Topology.localLSRID),
                          capabilities: PeerCapabilities = .init()) -> LabelInformationBase {
        var lib = LabelInformationBase(configuration: configuration)
        _ = lib.peerUp(Topology.peerA, capabilities: capabilities)
        _ = lib.peerUp(Topology.peerB, capabilities: capabilities)
        _ = lib.receive(message(.address(AddressList(family: .ipv4, addresses: Topology.addressesA))), from: Topology.peerA)
        _ = lib.receive(message(.address(AddressList(family: .ipv4, addresses: Topology.addressesB))), from: Topology.peerB)
        return lib
    }
}
