// A lab brought up by the lab tool itself (the built `lsrlab`, as `scripts/lab` runs it), and
// what the end-to-end tests read from it: LFIBs, bindings and sessions of lsrd and FRR routers,
// checked against a `LabExpectation`.

import Foundation
import LabKit
import LSRControl
#if canImport(Glibc)
import Glibc
#endif

final class RunningLab {
    let prefix: String
    let topologyPath: String
    let topology: LabTopology

    init(topology name: String, prefix: String) throws {
        self.prefix = prefix
        topologyPath = FileManager.default.currentDirectoryPath + "/topologies/\(name).yaml"
        topology = try LabTopology.load(path: topologyPath)
    }

    var stateDirectory: String { "/run/lsrlab/\(prefix)" }
    func namespace(_ node: String) -> String { "\(prefix)-\(node)" }
    var lsrdRouters: [String] { topology.routers.filter { $0.software == .lsrd }.map(\.name) }
    var frrRouters: [String] { topology.routers.filter { $0.software == .frr }.map(\.name) }
    func loopback(_ node: String) -> String { topology.node(node)?.loopback.map { "\($0)" } ?? "?" }

    /// `lsrlab ARGUMENTS --prefix P --binaries DIR`.
    @discardableResult
    func lsrlab(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Shell.run([Binaries.directory + "/lsrlab"] + arguments + ["--prefix", prefix, "--binaries", Binaries.directory])
    }

    func exec(_ node: String, _ arguments: [String]) throws -> String {
        try Shell.check(["ip", "netns", "exec", namespace(node)] + arguments)
    }

    func lsrctl<View: Decodable>(_ node: String, _ arguments: [String], as type: View.Type) throws -> View {
        let output = try exec(node, [Binaries.lsrctl] + arguments + ["--json", "--socket", "\(stateDirectory)/\(node).sock"])
        return try JSONDecoder().decode(View.self, from: Data(output.utf8))
    }

    func lfib(_ node: String) throws -> [LFIBView.Entry] { try lsrctl(node, ["show", "lfib"], as: LFIBView.self).entries }

    func vtysh(_ node: String, _ command: String) throws -> String {
        try Shell.check(["vtysh", "--vty_socket", "/var/run/frr/\(namespace(node))", "-c", command])
    }

    /// Each router's local label per FEC (3 for implicit-null), from lsrd or FRR.
    func localLabels(_ node: String) throws -> [String: UInt32] {
        if topology.node(node)?.software == .frr {
            var labels: [String: UInt32] = [:]
            for row in try FRRBinding.parse(vtysh(node, "show mpls ldp binding json")) {
                if let label = Self.label(row.localLabel) { labels[row.prefix] = label }
            }
            return labels
        }
        let view = try lsrctl(node, ["show", "ldp", "binding"], as: BindingsView.self)
        return Dictionary(view.bindings.compactMap { binding in binding.localLabel.map { (binding.fec, $0) } }) { first, _ in first }
    }

    /// FRR's label text: a number or "imp-null" (3); nil for none.
    static func label(_ text: String) -> UInt32? { text == "imp-null" ? 3 : UInt32(text) }

    /// The routers adjacent to `node` over the core links the expectation has up.
    func peers(of node: String, in expectation: LabExpectation) -> Set<String> {
        Set(expectation.coreLinks.compactMap { $0.other(than: node)?.node })
    }

    /// Who sits at the far end of `node`'s interface.
    func neighbour(of node: String, on interface: String) -> String? {
        topology.links.first { $0.endpoint(of: node)?.interface == interface }?.other(than: node)?.node
    }

    // MARK: Checks (each returns what is wrong; empty when all is well)

    /// Every LDP session the expectation's core links call for is OPERATIONAL, at both ends, and
    /// no other session is.
    func sessionProblems(_ expectation: LabExpectation) throws -> [String] {
        var problems: [String] = []
        for router in topology.routers {
            let expected = Set(peers(of: router.name, in: expectation).map(loopback))
            var operational: Set<String> = []
            if router.software == .lsrd {
                for neighbour in try lsrctl(router.name, ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors
                    where neighbour.state == "OPERATIONAL" {
                    operational.insert(String(neighbour.peer.split(separator: ":").first ?? ""))
                }
            } else {
                operational = Set(try FRRNeighbor.parse(vtysh(router.name, "show mpls ldp neighbor json"))
                    .filter { $0.state == "OPERATIONAL" }.map(\.id))
            }
            if operational != expected {
                problems.append("\(router.name): sessions OPERATIONAL with \(operational.sorted()), expected \(expected.sorted())")
            }
        }
        return problems
    }

    /// Every lsrd node's LFIB is the expected one (dynamic labels masked), installed in the
    /// userspace plane without error, and its labels are the ones the routers agreed on: an
    /// incoming label is the node's own binding, an outgoing label the next hop's (no stale labels).
    func lfibProblems(_ expectation: LabExpectation) throws -> [String] {
        var problems: [String] = []
        var locals: [String: [String: UInt32]] = [:]
        for router in topology.routers { locals[router.name] = try localLabels(router.name) }
        for node in lsrdRouters {
            let entries = try lfib(node)
            let actual = entries.map(maskedEntry).sorted(), expected = expectation.lfib(of: node)
            if actual != expected {
                let missing = expected.filter { !actual.contains($0) }, extra = actual.filter { !expected.contains($0) }
                problems.append("\(node): LFIB differs\n    missing: \(missing)\n    unexpected: \(extra)")
            }
            let carried = expectation.carriedOverLSPs(at: node)
            for entry in entries {
                // A static route's entry carries the labels of the LSP to the remote LER's loopback.
                let labelledFEC = entry.inLabel == nil ? carried[entry.fec] ?? entry.fec : entry.fec
                if !entry.installed.userspace || entry.error != nil {
                    problems.append("\(node): \(maskedEntry(entry)) not installed in userspace (\(entry.error ?? "-"))")
                }
                if let incoming = entry.inLabel, locals[node]?[entry.fec] != incoming {
                    problems.append("\(node): in-label \(incoming) for \(entry.fec), but its binding is \(locals[node]?[entry.fec].map(String.init) ?? "none")")
                }
                for hop in entry.nexthops {
                    guard let peer = neighbour(of: node, on: hop.interface) else {
                        problems.append("\(node): \(entry.fec) via \(hop.interface), which is no link")
                        continue
                    }
                    let theirs = locals[peer]?[labelledFEC]
                    if hop.outLabels != theirs.map({ [$0] }) {
                        problems.append("\(node): \(entry.fec) out \(hop.outLabels) via \(peer), whose label is \(theirs.map(String.init) ?? "none")")
                    }
                }
            }
            let incoming = entries.compactMap(\.inLabel)
            if Set(incoming).count != incoming.count { problems.append("\(node): an in-label twice: \(incoming.sorted())") }
        }
        return problems
    }

    /// For every lsrd–FRR session, both directions: what one side holds as the other's label
    /// for a FEC is the other's local label, FEC by FEC.
    func frrBindingProblems(_ expectation: LabExpectation) throws -> [String] {
        var problems: [String] = []
        for frr in frrRouters {
            let rows = try FRRBinding.parse(vtysh(frr, "show mpls ldp binding json"))
            let frrLocal = try localLabels(frr)
            for lsrd in peers(of: frr, in: expectation) where topology.node(lsrd)?.software == .lsrd {
                let bindings = try lsrctl(lsrd, ["show", "ldp", "binding"], as: BindingsView.self).bindings
                // lsrd → FRR: lsrd's local labels are FRR's remote labels from lsrd.
                let advertised = Dictionary(bindings.compactMap { b in b.localLabel.map { (b.fec, $0) } }) { a, _ in a }
                let heardByFRR = Dictionary(rows.filter { $0.neighbor == loopback(lsrd) }
                    .compactMap { row in Self.label(row.remoteLabel).map { (row.prefix, $0) } }) { a, _ in a }
                if advertised != heardByFRR {
                    problems.append("\(frr) holds from \(lsrd) \(heardByFRR.sorted { $0.key < $1.key }), \(lsrd) advertised \(advertised.sorted { $0.key < $1.key })")
                }
                // FRR → lsrd: FRR's local labels are lsrd's remote labels from FRR.
                let heardByLSRD = Dictionary(bindings.compactMap { binding in
                    binding.remote.first { $0.peer.split(separator: ":").first.map(String.init) == loopback(frr) }.map { (binding.fec, $0.label) }
                }) { a, _ in a }
                if frrLocal != heardByLSRD {
                    problems.append("\(lsrd) holds from \(frr) \(heardByLSRD.sorted { $0.key < $1.key }), \(frr) advertised \(frrLocal.sorted { $0.key < $1.key })")
                }
                if advertised.isEmpty || frrLocal.isEmpty { problems.append("\(lsrd) or \(frr) has no bindings at all") }
            }
        }
        return problems
    }

    /// Polls `problems` until it returns none; returns the seconds that took, or throws with the
    /// last problems after `timeout` seconds.
    @discardableResult
    func waitUntilNone(_ what: String, timeout: Double, _ problems: () throws -> [String]) throws -> Double {
        let start = Date()
        var last: [String] = []
        while true {
            do { last = try problems() } catch { last = ["\(error)"] }
            if last.isEmpty { return Date().timeIntervalSince(start) }
            if Date().timeIntervalSince(start) > timeout { break }
            usleep(250_000)
        }
        throw CommandFailure(description: "\(what): not within \(timeout) s:\n  " + last.joined(separator: "\n  "))
    }

    // MARK: Customer edges

    /// CE pairs behind different LERs: their traffic crosses the core.
    var customerPairs: [(String, String)] {
        let edges = topology.customerEdges.map(\.name)
        var pairs: [(String, String)] = []
        for (index, a) in edges.enumerated() {
            for b in edges[(index + 1)...] where topology.attachment(of: a)?.router != topology.attachment(of: b)?.router {
                pairs.append((a, b))
            }
        }
        return pairs
    }

    func address(of ce: String) -> String {
        topology.attachment(of: ce).flatMap { $0.link.address(of: ce) }.map { "\($0)" } ?? "?"
    }

    /// `lsrlab ping A B --count N`: every echo answered.
    func ping(_ from: String, _ to: String, count: Int) throws -> (ok: Bool, output: String) {
        let result = try lsrlab(["ping", from, to, "--count", "\(count)"])
        return (result.status == 0, result.output)
    }

    /// `lsrlab trace A B` (traceroute -e) across the core: one hop per LSR between the two LERs,
    /// each showing the RFC 4950 label stack whose TTL expired there.
    func traceProblems(_ expectation: LabExpectation) throws -> [String] {
        guard let (a, b) = customerPairs.first, let ingress = topology.attachment(of: a)?.router,
              let egress = topology.attachment(of: b)?.router, let distance = expectation.hops(from: ingress)[egress] else {
            return ["no pair of CEs behind different LERs to trace between"]
        }
        let result = try lsrlab(["trace", a, b])
        let labelled = result.output.split(separator: "\n").filter { $0.contains("<MPLS:L=") }
        guard labelled.count != distance - 1 else { return [] }
        return ["trace \(a) -> \(b): \(labelled.count) hops with labels, expected \(distance - 1) (the LSRs between \(ingress) and \(egress))\n\(result.output)"]
    }

    /// Every lsrd LER takes its CEs' IPv4 off each CE-facing interface (userspace.customer-interfaces).
    func ingressProblems() throws -> [String] {
        try lsrdRouters.compactMap { node in
            let wanted = UInt64(topology.customerInterfaces(of: node).count)
            let backend = try lsrctl(node, ["show", "dataplane"], as: DataplaneView.self).backends.first { $0.name == "userspace" }
            let rings = backend?.detail["ingress-rings"]
            return rings == wanted ? nil : "\(node): \(rings.map { "\($0)" } ?? "no") ingress rings, expected \(wanted): \(backend?.drift ?? [])"
        }
    }

    /// Every CE pair answers `count` echoes (the first may wait for ARP and routes: polled).
    func pingProblems(count: Int) throws -> [String] {
        try customerPairs.compactMap { a, b in
            let result = try ping(a, b, count: count)
            return result.ok ? nil : "ping \(a) -> \(b):\n\(result.output)"
        }
    }
}

struct FRRNeighbor {
    var id: String
    var state: String
    /// From "HH:MM:SS" (FRR shows longer uptimes otherwise; those count as old).
    var uptimeSeconds: Double?

    static func parse(_ json: String) throws -> [FRRNeighbor] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let rows = object?["neighbors"] as? [[String: Any]] ?? []
        return rows.compactMap { row in
            guard let id = row["neighborId"] as? String, let state = row["state"] as? String else { return nil }
            let parts = (row["upTime"] as? String)?.split(separator: ":").compactMap { Double($0) } ?? []
            let uptime = parts.count == 3 ? parts[0] * 3600 + parts[1] * 60 + parts[2] : nil
            return FRRNeighbor(id: id, state: state, uptimeSeconds: uptime)
        }
    }
}
