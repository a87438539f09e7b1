// A lab brought up by the lab tool itself (the built `lsrlab`, as `scripts/lab` runs it), and
// what the end-to-end tests read from it: LFIBs, bindings and sessions of lsrd and FRR routers,
// checked against a `LabExpectation` (LabKit's checks, the ones `lsrlab verify` runs).

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

    /// The lab as lsrlab sees it, and every router's state read now (LabKit's `LabSnapshot`,
    /// what `lsrlab verify` checks).
    func snapshot() throws -> LabSnapshot {
        try Lab.running(prefix: prefix, binaries: Binaries.directory).snapshot()
    }

    /// The routers adjacent to `node` over the core links the expectation has up.
    func peers(of node: String, in expectation: LabExpectation) -> Set<String> { expectation.peers(of: node) }

    /// Who sits at the far end of `node`'s interface.
    func neighbour(of node: String, on interface: String) -> String? { topology.neighbor(of: node, on: interface) }

    // MARK: Checks (each returns what is wrong; empty when all is well)

    /// Sessions and LFIBs, from one snapshot.
    func sessionAndLFIBProblems(_ expectation: LabExpectation) throws -> [String] {
        let snapshot = try snapshot()
        return snapshot.readProblems() + snapshot.sessionProblems(expectation) + snapshot.lfibProblems(expectation)
    }

    func frrBindingProblems(_ expectation: LabExpectation) throws -> [String] {
        let snapshot = try snapshot()
        return snapshot.readProblems() + snapshot.bindingProblems(expectation)
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
