// Two LIBs exchanging a large table through their outputs: the batch paths (peerUp dump,
// mapping bursts) stay incremental and end in the expected LFIB.

import Testing
import LDPCodec
import MPLSTables
@testable import LDPEngine

@Suite struct LIBScaleTests {
    /// Delivers every message one LIB sends to the other, until both are quiet.
    private static func deliver(_ outputs: [LIBOutput], from sender: LDPIdentifier, to receiver: inout LabelInformationBase) -> [LIBOutput] {
        var replies: [LIBOutput] = []
        for case .send(_, let body, let id) in outputs {
            replies += receiver.receive(Message(id: id ?? 0, body: body), from: sender)
        }
        return replies
    }

    @Test func twentyThousandFECsConvergeBetweenTwoEngines() {
        let count = 20_000
        let ingressID = LDPIdentifier(lsrID: IPv4Address(1, 1, 1, 1))
        let transitID = LDPIdentifier(lsrID: IPv4Address(2, 2, 2, 2))
        var ingress = LabelInformationBase(configuration: .init(localLSRID: ingressID.lsrID))
        var transit = LabelInformationBase(configuration: .init(localLSRID: transitID.lsrID))
        _ = ingress.setLocalAddresses([IPAddress("10.0.12.1")!])
        _ = transit.setLocalAddresses([IPAddress("10.0.12.2")!])
        let towardTransit = Route.NextHop(address: IPAddress("10.0.12.2")!, interface: "eth1")
        let beyondTransit = Route.NextHop(address: IPAddress("10.0.23.3")!, interface: "eth2")
        for index in 0..<count {
            let prefix = IPPrefix(IPv4Address(rawValue: 0x1400_0000 + UInt32(index) << 8), length: 24)
            _ = ingress.update(Route(prefix: prefix, nextHops: [towardTransit]))
            _ = transit.update(Route(prefix: prefix, nextHops: [beyondTransit]))
        }

        let fromTransit = transit.peerUp(ingressID, capabilities: .init(unrecognizedNotification: true))
        let fromIngress = ingress.peerUp(transitID, capabilities: .init(unrecognizedNotification: true))
        #expect(fromTransit.count == count + 2) // Address, mappings, End-of-LIB
        let ingressChanges = Self.deliver(fromTransit, from: transitID, to: &ingress)
        let transitChanges = Self.deliver(fromIngress, from: ingressID, to: &transit)

        // The ingress installs swap + FTN for every FEC; the transit only retains (liberal).
        #expect(ingressChanges.lfibChanges.count == 2 * count)
        #expect(transitChanges.lfibChanges.isEmpty)
        var applied = LFIB()
        applied.apply(ingressChanges.lfibChanges)
        #expect(applied == ingress.lfib)
        #expect(applied.entries.count == 2 * count)
        let sample = IPPrefix(IPv4Address(rawValue: 0x1400_0000 + 77 << 8), length: 24)
        let transitLabel = transit.binding(for: sample)?.localLabel
        #expect(ingress.binding(for: sample)?.remoteBindings == [.init(peer: transitID, label: transitLabel!, inUse: true)])
    }
}
