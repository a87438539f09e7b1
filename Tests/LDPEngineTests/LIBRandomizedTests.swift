// Random sequences of routing, session and label events against a naive model: after every
// step, the LFIB built from the emitted deltas must equal the LFIB the model computes from
// scratch, and no label may be bound to a second FEC while some peer may still hold it.

import Testing
import LDPCodec
import LDPTestSupport
import MPLSTables
@testable import LDPEngine

private struct SimulatedPeer {
    var id: LDPIdentifier
    var addresses: [IPAddress]
    var hops: [Route.NextHop]
}

/// What the test believes, kept independently of the LIB's internals.
private struct Model {
    var routes: [IPPrefix: Route] = [:]
    var up: Set<LDPIdentifier> = []
    var advertisedAddresses: [LDPIdentifier: Set<IPAddress>] = [:]
    /// Mappings each peer gave us and has not withdrawn.
    var remote: [LDPIdentifier: [IPPrefix: UInt32]] = [:]
    /// Our mappings each peer holds (last Label Mapping we sent it, not withdrawn).
    var held: [LDPIdentifier: [IPPrefix: UInt32]] = [:]
    /// Our withdrawn labels a peer has not released yet.
    var owedReleases: [LDPIdentifier: [(IPPrefix, UInt32)]] = [:]
}

@Suite struct LIBRandomizedTests {
    private static let peers: [SimulatedPeer] = [
        .init(id: LDPIdentifier(lsrID: IPv4Address(2, 2, 2, 2)), addresses: [IPAddress("2.2.2.2")!, IPAddress("10.0.12.2")!],
              hops: [.init(address: IPAddress("10.0.12.2")!, interface: "eth1")]),
        .init(id: LDPIdentifier(lsrID: IPv4Address(3, 3, 3, 3)), addresses: [IPAddress("3.3.3.3")!, IPAddress("10.0.13.3")!],
              hops: [.init(address: IPAddress("10.0.13.3")!, interface: "eth2")]),
        .init(id: LDPIdentifier(lsrID: IPv4Address(4, 4, 4, 4)), addresses: [IPAddress("10.0.14.4")!, IPAddress("fe80::4")!],
              hops: [.init(address: IPAddress("10.0.14.4")!, interface: "eth3"), .init(address: IPAddress("fe80::4")!, interface: "eth3")]),
    ]
    private static let prefixes: [IPPrefix] = [
        "5.5.5.5/32", "6.6.6.6/32", "7.7.7.7/32", "8.8.8.8/32", "9.9.9.9/32", "10.20.0.0/16",
        "10.30.0.0/24", "172.16.0.0/12", "2001:db8::5/128", "2001:db8:1::/48", "1.1.1.1/32", "10.0.12.0/24",
    ].map { IPPrefix($0)! }
    /// Next hops a route may use: the peers', one nobody advertises, and a connected one.
    private static let nextHops: [Route.NextHop] = peers.flatMap(\.hops)
        + [.init(address: IPAddress("10.0.15.5")!, interface: "eth4"), .init(address: nil, interface: "eth1")]

    @Test(arguments: [(LabelDistributionConfiguration.Control.independent, UInt64(20_260_101)),
                      (.ordered, UInt64(4_242))])
    func randomEventsKeepTheLFIBExact(control: LabelDistributionConfiguration.Control, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let range: ClosedRange<UInt32> = control == .ordered ? 16...19 : 16...23 // small: exhaustion and reuse happen often
        var lib = LabelInformationBase(configuration: .init(localLSRID: IPv4Address(1, 1, 1, 1), labelRange: range, control: control))
        var model = Model()
        var applied = LFIB()
        var counts: [String: Int] = [:]

        for step in 0..<2_500 {
            let (name, outputs) = Self.randomStep(&lib, &model, &random)
            counts[name, default: 0] += 1
            for output in outputs {
                switch output {
                case .lfib(let change): applied.apply(change)
                case .send(let to, let body, _): Self.track(body, sentTo: to, in: &model, step: step)
                case .event(.labelsExhausted): counts["exhausted", default: 0] += 1
                case .event(.labelFreed): counts["freed", default: 0] += 1
                case .event: break
                }
            }
            let expected = Self.referenceLFIB(lib, model)
            #expect(applied == expected, "step \(step) (\(name)): deltas diverge from the reference")
            #expect(lib.lfib == expected, "step \(step) (\(name)): lfib view diverges from the reference")
            Self.checkLabels(lib, model, range: range, control: control, step: step)
            if applied != expected { break }
        }
        // Every kind of step ran often enough to mean something, and labels ran out and came back.
        #expect(counts.count == 11 && counts.allSatisfy { $0.value > (["exhausted", "freed"].contains($0.key) ? 10 : 50) }, "\(counts)")
    }

    // MARK: Steps

    private static func randomStep(_ lib: inout LabelInformationBase, _ model: inout Model,
                                   _ random: inout SplitMix64) -> (String, [LIBOutput]) {
        let peer = peers.randomElement(using: &random)!
        let prefix = prefixes.randomElement(using: &random)!
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<18:
            var hops: [Route.NextHop]
            if Int.random(in: 0..<8, using: &random) == 0 {
                hops = [.init(address: nil, interface: "eth1")]
            } else {
                hops = Array(nextHops.dropLast().shuffled(using: &random).prefix(Int.random(in: 1...2, using: &random)))
            }
            let route = Route(prefix: prefix, nextHops: hops, isLocal: prefix == IPPrefix("1.1.1.1/32")!)
            model.routes[prefix] = route
            return ("route", lib.update(route))
        case 18..<26:
            model.routes[prefix] = nil
            return ("removeRoute", lib.removeRoute(prefix))
        case 26..<32:
            guard !model.up.contains(peer.id) else { return ("peerUp", []) }
            model.up.insert(peer.id)
            var outputs = lib.peerUp(peer.id, capabilities: .init(unrecognizedNotification: true))
            for family in [AddressFamily.ipv4, .ipv6] {
                let ofFamily = peer.addresses.filter { $0.family == family }
                guard !ofFamily.isEmpty else { continue }
                model.advertisedAddresses[peer.id, default: []].formUnion(ofFamily)
                outputs += lib.receive(Message(id: 1, body: .address(AddressList(family: family, addresses: ofFamily))), from: peer.id)
            }
            return ("peerUp", outputs)
        case 32..<36:
            guard model.up.contains(peer.id) else { return ("peerDown", []) }
            model.up.remove(peer.id)
            model.advertisedAddresses[peer.id] = nil
            model.remote[peer.id] = nil
            model.held[peer.id] = nil
            model.owedReleases[peer.id] = nil
            return ("peerDown", lib.peerDown(peer.id))
        case 36..<60:
            guard model.up.contains(peer.id) else { return ("mapping", []) }
            let label: UInt32 = Bool.random(using: &random) ? 3 : UInt32.random(in: 100...105, using: &random)
            model.remote[peer.id, default: [:]][prefix] = label
            let body = MessageBody.labelMapping(.init(fec: [.prefix(prefix)], label: .generic(label)))
            return ("mapping", lib.receive(Message(id: 2, body: body), from: peer.id))
        case 60..<72:
            guard model.up.contains(peer.id) else { return ("withdraw", []) }
            let fec: FECElement
            var label: UInt32?
            switch Int.random(in: 0..<10, using: &random) {
            case 0: fec = .wildcard
            case 1: fec = .typedWildcard(.prefix(Bool.random(using: &random) ? .ipv4 : .ipv6))
            default:
                fec = .prefix(prefix)
                if Bool.random(using: &random) { label = model.remote[peer.id]?[prefix] ?? 104 }
            }
            let covered = (model.remote[peer.id] ?? [:]).filter { entry in
                let matches: Bool
                switch fec {
                case .wildcard: matches = true
                case .typedWildcard(.prefix(let family)): matches = entry.key.family == family
                case .prefix(let withdrawn): matches = entry.key == withdrawn
                case .typedWildcard(.other): matches = false
                }
                return matches && (label == nil || label == entry.value)
            }
            for prefix in covered.keys { model.remote[peer.id]?[prefix] = nil }
            let body = MessageBody.labelWithdraw(.init(fec: [fec], label: label.map(Label.generic)))
            let outputs = lib.receive(Message(id: 3, body: body), from: peer.id)
            let release = MessageBody.labelRelease(.init(fec: [fec], label: label.map(Label.generic)))
            #expect(outputs.contains(.send(to: peer.id, body: release, messageID: nil)), "withdraw not answered with its release")
            return ("withdraw", outputs)
        case 72..<84:
            guard var owed = model.owedReleases[peer.id], !owed.isEmpty else { return ("release", []) }
            let (released, label) = owed.remove(at: Int.random(in: 0..<owed.count, using: &random))
            model.owedReleases[peer.id] = owed
            let body = MessageBody.labelRelease(.init(fec: [.prefix(released)], label: .generic(label)))
            return ("release", lib.receive(Message(id: 4, body: body), from: peer.id))
        case 84..<92:
            guard model.up.contains(peer.id) else { return ("addressWithdraw", []) }
            let address = peer.addresses.randomElement(using: &random)!
            model.advertisedAddresses[peer.id]?.remove(address)
            let list = AddressList(family: address.family, addresses: [address])
            return ("addressWithdraw", lib.receive(Message(id: 5, body: .addressWithdraw(list)), from: peer.id))
        default:
            guard model.up.contains(peer.id) else { return ("address", []) }
            let address = peer.addresses.randomElement(using: &random)!
            model.advertisedAddresses[peer.id]?.insert(address)
            let list = AddressList(family: address.family, addresses: [address])
            return ("address", lib.receive(Message(id: 6, body: .address(list)), from: peer.id))
        }
    }

    /// Follows what the LIB told each peer, as the peer would.
    private static func track(_ body: MessageBody, sentTo peer: LDPIdentifier, in model: inout Model, step: Int) {
        #expect(model.up.contains(peer), "step \(step): message to a peer that is down")
        switch body {
        case .labelMapping(let mapping):
            guard case .prefix(let prefix) = mapping.fec.first, case .generic(let label) = mapping.label else { return }
            if let previous = model.held[peer]?[prefix] {
                #expect(previous == label, "step \(step): new label for \(prefix) to \(peer) without a withdraw")
            }
            model.held[peer, default: [:]][prefix] = label
        case .labelWithdraw(let withdraw):
            guard case .prefix(let prefix) = withdraw.fec.first, case .generic(let label) = withdraw.label else { return }
            #expect(model.held[peer]?[prefix] == label, "step \(step): withdraw of a label \(peer) does not hold")
            model.held[peer]?[prefix] = nil
            model.owedReleases[peer, default: []].append((prefix, label))
        default:
            break
        }
    }

    // MARK: Reference

    private static func peer(advertising address: IPAddress, _ model: Model) -> LDPIdentifier? {
        model.up.first { model.advertisedAddresses[$0]?.contains(address) == true }
    }

    /// The LFIB recomputed from scratch from the model (local labels read from the LIB).
    private static func referenceLFIB(_ lib: LabelInformationBase, _ model: Model) -> LFIB {
        var entries: [LFIBEntry] = []
        for (prefix, route) in model.routes where !route.isEgress {
            let hops = route.nextHops.compactMap { hop -> LFIBNextHop? in
                guard let address = hop.address, let peer = peer(advertising: address, model),
                      let label = model.remote[peer]?[prefix] else { return nil }
                return LFIBNextHop(address: address, interface: hop.interface, outLabels: [label])
            }
            guard !hops.isEmpty else { continue }
            if let local = lib.binding(for: prefix)?.localLabel, local >= 16 {
                entries.append(LFIBEntry(key: .label(local), fec: prefix, nextHops: hops))
            }
            if hops.contains(where: { $0.outLabels != [3] }) {
                entries.append(LFIBEntry(key: .prefix(prefix), fec: prefix, nextHops: hops))
            }
        }
        return LFIB(entries)
    }

    private static func checkLabels(_ lib: LabelInformationBase, _ model: Model, range: ClosedRange<UInt32>,
                                    control: LabelDistributionConfiguration.Control, step: Int) {
        let bindings = lib.bindings
        let dynamicLabels = bindings.compactMap(\.localLabel).filter { $0 >= 16 }
        let awaiting = lib.labelsAwaitingRelease
        #expect(Set(dynamicLabels).count == dynamicLabels.count, "step \(step): a label bound to two FECs")
        #expect(Set(dynamicLabels).isDisjoint(with: awaiting), "step \(step): a label reused before its release")
        #expect(dynamicLabels.allSatisfy(range.contains), "step \(step): label outside the range")

        for prefix in prefixes {
            let local = lib.binding(for: prefix)?.localLabel
            guard let route = model.routes[prefix] else {
                #expect(local == nil, "step \(step): \(prefix) has a label without a route")
                continue
            }
            if route.isEgress {
                #expect(local == 3, "step \(step): egress \(prefix) is not implicit-null")
                continue
            }
            let downstreamMapped = route.nextHops.contains { hop in
                guard let address = hop.address, let peer = peer(advertising: address, model) else { return false }
                return model.remote[peer]?[prefix] != nil
            }
            if control == .ordered && !downstreamMapped {
                #expect(local == nil, "step \(step): ordered control advertised \(prefix) without a downstream mapping")
            } else if local == nil {
                #expect(dynamicLabels.count + awaiting.count == range.count, "step \(step): \(prefix) unlabelled with labels free")
            }
        }
        // What every peer holds is still ours for that FEC (current label, or awaiting release),
        // and the peer holds the current label of every FEC we advertise.
        for peer in model.up {
            for (prefix, label) in model.held[peer] ?? [:] where label >= 16 {
                let current = lib.binding(for: prefix)?.localLabel
                #expect(current == label, "step \(step): \(peer) holds \(label) for \(prefix), bound to \(String(describing: current))")
            }
            for (prefix, label) in model.owedReleases[peer] ?? [] where label >= 16 {
                #expect(awaiting.contains(label) && lib.binding(for: prefix)?.labelsAwaitingRelease.contains(label) == true,
                        "step \(step): \(label) freed while \(peer) still holds it")
            }
            for binding in bindings {
                guard let local = binding.localLabel else { continue }
                #expect(model.held[peer]?[binding.prefix] == local, "step \(step): \(peer) was never told \(binding.prefix) → \(local)")
            }
        }
    }
}
