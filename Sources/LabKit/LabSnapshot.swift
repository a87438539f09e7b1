// What every router of a running lab holds at one moment, read the way an operator would: lsrd
// through its control socket (what `lsrctl` shows), FRR through vtysh. Both kinds of router come
// down to the same facts (sessions, local and remote labels), so the checks below treat an lsrd
// and an FRR peer alike. `lsrlab snapshot` prints it; `lsrlab verify` checks it against the
// topology's `LabExpectation`.

import Foundation
import LSRControl

public struct LabSnapshot: Codable, Sendable {
    public struct Router: Codable, Sendable {
        public var name: String
        public var software: LabTopology.Software
        /// LSR IDs of the peers whose session is OPERATIONAL.
        public var operationalPeers: [String]
        /// FEC → the label this router advertises (3: implicit-null).
        public var localLabels: [String: UInt32]
        /// Peer LSR ID → FEC → the label that peer advertised to this router.
        public var remoteLabels: [String: [String: UInt32]]
        /// lsrd only: its LFIB and dataplane state.
        public var lfib: [LFIBView.Entry]?
        public var dataplane: DataplaneView?
        /// What could not be read (a daemon not answering).
        public var errors: [String]
    }

    public var lab: String
    public var topology: String
    /// lsrd's `dataplane:` setting in this lab (nil: lsrd's default).
    public var dataplane: String?
    /// Identifiers of the links `lsrlab link` took down.
    public var downLinks: [String]
    public var routers: [Router]

    public func router(_ name: String) -> Router? { routers.first { $0.name == name } }
}

extension Lab {
    /// Reads every router: lsrd over its control socket (no process started: the lab polls
    /// this often, and a process start costs a second under emulation), FRR with vtysh.
    public func snapshot() -> LabSnapshot {
        let routers = topology.routers.map { router in
            router.software == .lsrd ? lsrdState(router.name) : frrState(router.name)
        }
        return LabSnapshot(lab: prefix, topology: topology.name, dataplane: dataplane, downLinks: downLinks.sorted(),
                           routers: routers)
    }

    func lsrdState(_ node: String) -> LabSnapshot.Router {
        var state = LabSnapshot.Router(name: node, software: .lsrd, operationalPeers: [], localLabels: [:], remoteLabels: [:],
                                       errors: [])
        let client = ControlClient(socketPath: controlSocket(node), timeout: 5)
        func read<View: Codable & Sendable>(_ command: ControlCommand, as type: View.Type) -> View? {
            do { return try client.call(ControlRequest(command: command), as: type).0 } catch {
                state.errors.append("\(command.rawValue): \(error)")
                return nil
            }
        }
        for neighbor in read(.showNeighbors, as: NeighborsView.self)?.neighbors ?? [] where neighbor.state == "OPERATIONAL" {
            state.operationalPeers.append(Self.lsrID(neighbor.peer))
        }
        for binding in read(.showBindings, as: BindingsView.self)?.bindings ?? [] {
            if let local = binding.localLabel { state.localLabels[binding.fec] = local }
            for remote in binding.remote { state.remoteLabels[Self.lsrID(remote.peer), default: [:]][binding.fec] = remote.label }
        }
        state.lfib = read(.showLFIB, as: LFIBView.self)?.entries
        state.dataplane = read(.showDataplane, as: DataplaneView.self)
        state.operationalPeers.sort()
        return state
    }

    func frrState(_ node: String) -> LabSnapshot.Router {
        var state = LabSnapshot.Router(name: node, software: .frr, operationalPeers: [], localLabels: [:], remoteLabels: [:],
                                       errors: [])
        do {
            let neighbors = try JSONSerialization.jsonObject(with: Data(vtysh(node, "show mpls ldp neighbor json").utf8))
            for row in (neighbors as? [String: Any])?["neighbors"] as? [[String: Any]] ?? [] {
                if let id = row["neighborId"] as? String, row["state"] as? String == "OPERATIONAL" { state.operationalPeers.append(id) }
            }
            for row in try Self.frrBindingRows(vtysh(node, "show mpls ldp binding json")) {
                guard let prefix = row["prefix"] as? String else { continue }
                if let local = Self.frrLabel(row["localLabel"]) { state.localLabels[prefix] = local }
                if let neighbor = row["neighborId"] as? String, neighbor != "0.0.0.0", let remote = Self.frrLabel(row["remoteLabel"]) {
                    state.remoteLabels[neighbor, default: [:]][prefix] = remote
                }
            }
        } catch {
            state.errors.append("vtysh: \(error)")
        }
        state.operationalPeers.sort()
        return state
    }

    /// "10.255.0.2:0" (an LDP identifier) → "10.255.0.2".
    static func lsrID(_ peer: String) -> String { String(peer.split(separator: ":").first ?? "") }

    /// FRR's binding rows: a "bindings" array, or (older releases) an object of rows.
    public static func frrBindingRows(_ json: String) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8))
        if let rows = (object as? [String: Any])?["bindings"] as? [[String: Any]] { return rows }
        if let dictionary = object as? [String: Any] { return dictionary.values.compactMap { $0 as? [String: Any] } }
        return object as? [[String: Any]] ?? []
    }

    /// FRR's label text: a number or "imp-null" (3); nil for none ("-").
    static func frrLabel(_ value: Any?) -> UInt32? {
        if let number = value as? Int { return UInt32(exactly: number) }
        guard let text = value as? String else { return nil }
        return text == "imp-null" ? 3 : text == "exp-null" ? 0 : UInt32(text)
    }
}

// MARK: Checks: each returns what is wrong, empty when all is well.

extension LabSnapshot {
    /// Every router's snapshot was read whole.
    public func readProblems() -> [String] {
        routers.flatMap { router in router.errors.map { "\(router.name): \($0)" } }
    }

    /// Every LDP session the expectation's core links call for is OPERATIONAL, at both ends, and
    /// no other session is.
    public func sessionProblems(_ expectation: LabExpectation) -> [String] {
        let topology = expectation.topology
        return routers.compactMap { router in
            let expected = Set(expectation.peers(of: router.name).compactMap { topology.node($0)?.loopback.map { "\($0)" } })
            let operational = Set(router.operationalPeers)
            guard operational != expected else { return nil }
            return "\(router.name): sessions OPERATIONAL with \(operational.sorted()), expected \(expected.sorted())"
        }
    }

    /// Every lsrd router's LFIB is the expected one (dynamic labels masked) and installed in the
    /// lab's dataplane without error (entry by entry, and no drift in any plane), and its labels
    /// are the ones the routers agreed on: an incoming label is the router's own binding, an
    /// outgoing label the next hop's (no stale labels).
    public func lfibProblems(_ expectation: LabExpectation) -> [String] {
        let topology = expectation.topology
        let labels = Dictionary(routers.map { ($0.name, $0.localLabels) }) { first, _ in first }
        var problems: [String] = []
        for router in routers where router.software == .lsrd {
            guard let entries = router.lfib else {
                problems.append("\(router.name): no LFIB read")
                continue
            }
            let actual = entries.map(maskedEntry).sorted(), expected = expectation.lfib(of: router.name)
            if actual != expected {
                let missing = expected.filter { !actual.contains($0) }, extra = actual.filter { !expected.contains($0) }
                problems.append("\(router.name): LFIB differs\n    missing: \(missing)\n    unexpected: \(extra)")
            }
            let carried = expectation.carriedOverLSPs(at: router.name)
            for entry in entries {
                if let problem = installProblem(entry) { problems.append("\(router.name): \(maskedEntry(entry)) \(problem)") }
                if let incoming = entry.inLabel, labels[router.name]?[entry.fec] != incoming {
                    problems.append("\(router.name): in-label \(incoming) for \(entry.fec), but its binding is \(labels[router.name]?[entry.fec].map(String.init) ?? "none")")
                }
                // A static route's entry carries the labels of the LSP to the remote LER's loopback.
                let labelledFEC = entry.inLabel == nil ? carried[entry.fec] ?? entry.fec : entry.fec
                for hop in entry.nexthops {
                    guard let peer = topology.neighbor(of: router.name, on: hop.interface) else {
                        problems.append("\(router.name): \(entry.fec) via \(hop.interface), which is no link")
                        continue
                    }
                    let theirs = labels[peer]?[labelledFEC]
                    if hop.outLabels != theirs.map({ [$0] }) {
                        problems.append("\(router.name): \(entry.fec) out \(hop.outLabels) via \(peer), whose label is \(theirs.map(String.init) ?? "none")")
                    }
                }
            }
            let incoming = entries.compactMap(\.inLabel)
            if Set(incoming).count != incoming.count { problems.append("\(router.name): an in-label twice: \(incoming.sorted())") }
            // What a plane itself finds wrong: kernel routes that differ from the LFIB, a socket
            // or a route into lsr0 that failed.
            for backend in router.dataplane?.backends ?? [] where !backend.drift.isEmpty {
                problems.append("\(router.name): \(backend.name) dataplane: \(backend.drift.joined(separator: "; "))")
            }
        }
        return problems
    }

    /// Why an entry is not in the planes the lab's `dataplane` calls for, or nil.
    func installProblem(_ entry: LFIBView.Entry) -> String? {
        if let error = entry.error { return "failed: \(error)" }
        let installed = entry.installed
        switch dataplane {
        case "kernel": return installed.kernel ? nil : "not installed in the kernel"
        case "userspace": return installed.userspace ? nil : "not installed in userspace"
        case "both": return installed.kernel && installed.userspace ? nil : "not installed in both planes"
        default: return installed.kernel || installed.userspace ? nil : "not installed"
        }
    }

    /// For every session with an FRR router, both directions: what one side holds as the other's
    /// label for a FEC is the other's local label, FEC by FEC, for every FEC the other should
    /// advertise (what it owns or routes), and for no other (RFC 5036 §3.5.7: each advertises its
    /// bindings to every peer).
    public func bindingProblems(_ expectation: LabExpectation) -> [String] {
        var problems: [String] = []
        for frr in routers where frr.software == .frr {
            for name in expectation.peers(of: frr.name).sorted() {
                guard let lsrd = router(name), lsrd.software == .lsrd,
                      let frrID = expectation.topology.node(frr.name)?.loopback.map({ "\($0)" }),
                      let lsrdID = expectation.topology.node(name)?.loopback.map({ "\($0)" }) else { continue }
                for (holder, advertiser, advertiserID) in [(frr, lsrd, lsrdID), (lsrd, frr, frrID)] {
                    let heard = holder.remoteLabels[advertiserID] ?? [:]
                    // ldpd keeps a withdrawn FEC's local label for a while (its LIB garbage
                    // collector frees it), so only what the router should advertise counts.
                    let advertised = advertiser.localLabels.filter { expectation.advertisedLabel(of: advertiser.name, for: $0.key) != nil }
                    if heard != advertised {
                        problems.append("\(holder.name) holds from \(advertiser.name) \(heard.sorted { $0.key < $1.key }), \(advertiser.name) advertised \(advertised.sorted { $0.key < $1.key })")
                    }
                }
                if lsrd.localLabels.isEmpty || frr.localLabels.isEmpty { problems.append("\(lsrd.name) or \(frr.name) has no bindings at all") }
            }
        }
        return problems
    }

    /// Everything `lsrlab verify` checks.
    public func problems(_ expectation: LabExpectation) -> [String] {
        readProblems() + sessionProblems(expectation) + lfibProblems(expectation) + bindingProblems(expectation)
    }
}

extension LabExpectation {
    /// The routers adjacent to `node` over the core links that are up.
    public func peers(of node: String) -> Set<String> {
        Set(coreLinks.compactMap { $0.other(than: node)?.node })
    }
}

extension LabTopology {
    /// Who sits at the far end of `node`'s interface.
    public func neighbor(of node: String, on interface: String) -> String? {
        links.first { $0.endpoint(of: node)?.interface == interface }?.other(than: node)?.node
    }
}
