// The shipped topologies end to end, brought up by the lab tool (`lsrlab`, what `scripts/lab`
// runs) with lsrd in `userspace` mode: LFIBs against an independent expectation, CE-to-CE pings,
// label stacks on the wire, a core link down and up again, an lsrd killed and restarted, FRR
// sessions and bindings, and a `down` that leaves nothing behind.

import Foundation
import LabKit
import LDPCodec
import LSRControl
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized, .enabled(if: Environment.canRunNamespaces && FRR.isInstalled
                                 && FileManager.default.isExecutableFile(atPath: "/usr/bin/ping")
                                 && FileManager.default.isExecutableFile(atPath: "/usr/bin/tcpdump"),
                             "needs root, iproute2, iputils-ping, tcpdump and frr"))
struct TopologyEndToEndTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var topology: String
        /// Namespace prefix: unique to this suite.
        var prefix: String
        /// A core link whose loss leaves a path, as `lsrlab link` names it.
        var linkToFail: String?
        /// An lsrd router to kill and restart.
        var routerToRestart: String
        /// CE-to-CE traffic crosses the core. Not in frr-mix on this host: FRR's ldpd leaves
        /// forwarding to the kernel, which has no MPLS (PLATFORM.md), so no ping crosses p1.
        var forwards: Bool
        var testDescription: String { topology }
    }

    static let cases = [
        Case(topology: "line3", prefix: "e2a", linkToFail: nil, routerToRestart: "p1", forwards: true),
        Case(topology: "ring4", prefix: "e2b", linkToFail: "pe1-p1", routerToRestart: "p1", forwards: true),
        // One of the two parallel p1-p2 links.
        Case(topology: "core6", prefix: "e2c", linkToFail: "p1:eth1", routerToRestart: "p1", forwards: true),
        Case(topology: "frr-mix", prefix: "e2d", linkToFail: nil, routerToRestart: "p2", forwards: false),
        // Two adjacent LERs: customer traffic crosses as plain IP (the LSP's egress is the next hop).
        Case(topology: "line2", prefix: "e2e", linkToFail: nil, routerToRestart: "pe1", forwards: true),
    ]

    /// The default LDP hello hold time: what reconvergence must beat.
    static let holdTime = 15.0
    static let echoes = 5

    @Test(arguments: cases)
    func labBehavesAsItsTopologySays(_ test: Case) throws {
        let lab = try RunningLab(topology: test.topology, prefix: test.prefix)
        _ = try lab.lsrlab(["down"])
        var isUp = true
        defer {
            if isUp {
                // The run failed: what the routers said about their sessions, before `down`
                // removes the logs.
                print(sessionLogExcerpt(lab))
                _ = try? lab.lsrlab(["down"])
            }
        }
        let started = Date()
        let up = try lab.lsrlab(["up", lab.topologyPath, "--dataplane", "userspace", "--timeout", "60"])
        try #require(up.status == 0 && up.output.contains("LDP converged."), "\(up.output)")
        let full = LabExpectation(lab.topology)
        let converged = try lab.waitUntilNone("LFIBs as the topology predicts", timeout: 30) {
            try lab.sessionAndLFIBProblems(full)
        }
        var timings = ["up \(seconds(Date().timeIntervalSince(started)))", "LFIBs +\(seconds(converged))"]

        if !lab.frrRouters.isEmpty {
            try lab.waitUntilNone("FRR and lsrd agree on bindings", timeout: 20) { try lab.frrBindingProblems(full) }
        }
        if test.forwards {
            try lab.waitUntilNone("every CE pair answering pings", timeout: 20) { try lab.pingProblems(count: 1) }
            #expect(try lab.pingProblems(count: Self.echoes).isEmpty)
            #expect(try lab.ingressProblems().isEmpty)
            try checkLabelStacks(lab)
            try lab.waitUntilNone("traceroute -e showing every core LSR with its label", timeout: 15) { try lab.traceProblems(full) }
        }

        if let name = test.linkToFail {
            let link = try lab.topology.link(named: name)
            let reduced = LabExpectation(lab.topology, down: [link.identifier])
            #expect(reduced.lfib(of: link.a.node) != full.lfib(of: link.a.node), "the link's loss must change what is expected")
            let down = try lab.lsrlab(["link", name, "down"])
            try #require(down.status == 0, "\(down.output)")
            let downAt = Date()
            try lab.waitUntilNone("reconvergence without \(name)", timeout: Self.holdTime) {
                try lab.sessionAndLFIBProblems(reduced) + staleUses(of: link, in: lab)
            }
            try lab.waitUntilNone("pings without \(name)", timeout: max(1, Self.holdTime - Date().timeIntervalSince(downAt))) {
                try lab.pingProblems(count: 1)
            }
            timings.append("\(name) down: reconverged and pinging in \(seconds(Date().timeIntervalSince(downAt)))")
            #expect(try lab.pingProblems(count: Self.echoes).isEmpty)

            let restored = try lab.lsrlab(["link", name, "up"])
            try #require(restored.status == 0, "\(restored.output)")
            let upAt = Date()
            try lab.waitUntilNone("reconvergence with \(name) back", timeout: Self.holdTime) {
                try lab.sessionAndLFIBProblems(full)
            }
            try lab.waitUntilNone("pings with \(name) back", timeout: Self.holdTime) { try lab.pingProblems(count: 1) }
            timings.append("\(name) up: \(seconds(Date().timeIntervalSince(upAt)))")
        }

        try killAndRestart(test.routerToRestart, in: lab, expectation: full, timings: &timings)
        if test.forwards { #expect(try lab.pingProblems(count: Self.echoes).isEmpty) }
        if !lab.frrRouters.isEmpty {
            try lab.waitUntilNone("FRR and lsrd agree on bindings after the restart", timeout: 20) { try lab.frrBindingProblems(full) }
        }

        // Session set-ups that waited out a backoff (a failed connection or a refused
        // Initialization), with their delays: a 15 s one at bring-up is worth a look.
        let delays = lab.lsrdRouters.flatMap { router in
            lsrdLog(router, in: lab).split(separator: "\n").filter { $0.contains("event=backoff") }
                .compactMap { $0.split(separator: " ").last.map(String.init) }
        }
        timings.append("backoffs \(delays.count) \(delays)")

        try checkDownLeavesNothing(lab)
        isUp = false
        timings.append("total \(seconds(Date().timeIntervalSince(started)))")
        print("\(test.topology): \(timings.joined(separator: ", "))")
    }

    func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }

    // MARK: OSPF

    /// ring4 with FRR's zebra and ospfd in every router instead of static routes (`--igp ospf`):
    /// lsrd learns OSPF's routes from the kernel, as in production. The routes are ospfd's and
    /// the ones the topology calls for (no customer routes in the core), the LFIBs are the static
    /// mode's, and OSPF alone reroutes around a lost link (`link` writes no route).
    @Test func ring4WithOSPF() throws {
        let lab = try RunningLab(topology: "ring4", prefix: "osp")
        _ = try lab.lsrlab(["down"])
        var isUp = true
        defer {
            if isUp {
                // The run failed: what the routers said about their sessions, before `down`
                // removes the logs.
                print(sessionLogExcerpt(lab))
                _ = try? lab.lsrlab(["down"])
            }
        }
        let started = Date()
        let up = try lab.lsrlab(["up", lab.topologyPath, "--igp", "ospf", "--dataplane", "userspace", "--timeout", "60"])
        try #require(up.status == 0 && up.output.contains("OSPF converged") && up.output.contains("LDP converged."), "\(up.output)")
        let full = LabExpectation(lab.topology)
        let converged = try lab.waitUntilNone("LFIBs as the topology predicts", timeout: 30) {
            try lab.sessionAndLFIBProblems(full)
        }
        var timings = ["up \(seconds(Date().timeIntervalSince(started)))", "LFIBs +\(seconds(converged))"]
        #expect(try ospfRouteProblems(lab, full).isEmpty)
        try lab.waitUntilNone("every CE pair answering pings", timeout: 20) { try lab.pingProblems(count: 1) }
        #expect(try lab.pingProblems(count: Self.echoes).isEmpty)
        let status = try lab.lsrlab(["status"])
        #expect(status.status == 0 && status.output.contains("(ring4, igp ospf)") && status.output.contains("Full/"), "\(status.output)")
        let verified = try lab.lsrlab(["verify"])
        #expect(verified.status == 0 && verified.output.contains("installed as predicted"), "\(verified.output)")

        let link = try lab.topology.link(named: "pe1-p1")
        let reduced = LabExpectation(lab.topology, down: [link.identifier])
        let down = try lab.lsrlab(["link", "pe1-p1", "down"])
        try #require(down.status == 0, "\(down.output)")
        let downAt = Date()
        try lab.waitUntilNone("OSPF and LDP reconverged without pe1-p1", timeout: Self.holdTime) {
            try ospfRouteProblems(lab, reduced) + lab.sessionAndLFIBProblems(reduced) + staleUses(of: link, in: lab)
        }
        try lab.waitUntilNone("pings without pe1-p1", timeout: max(1, Self.holdTime - Date().timeIntervalSince(downAt))) {
            try lab.pingProblems(count: 1)
        }
        timings.append("pe1-p1 down: reconverged and pinging in \(seconds(Date().timeIntervalSince(downAt)))")
        #expect(try lab.pingProblems(count: Self.echoes).isEmpty)
        let verifiedDown = try lab.lsrlab(["verify"])
        #expect(verifiedDown.status == 0 && verifiedDown.output.contains("links down: pe1:eth0-p1:eth0"), "\(verifiedDown.output)")

        let restored = try lab.lsrlab(["link", "pe1-p1", "up"])
        try #require(restored.status == 0, "\(restored.output)")
        let upAt = Date()
        try lab.waitUntilNone("OSPF and LDP reconverged with pe1-p1 back", timeout: Self.holdTime) {
            try ospfRouteProblems(lab, full) + lab.sessionAndLFIBProblems(full)
        }
        try lab.waitUntilNone("pings with pe1-p1 back", timeout: Self.holdTime) { try lab.pingProblems(count: 1) }
        timings.append("pe1-p1 up: \(seconds(Date().timeIntervalSince(upAt)))")

        // zebra and ospfd of every router, by the PIDs they wrote: running now, gone after `down`.
        var daemons: [(what: String, pid: Int32)] = []
        for router in lab.topology.routers {
            for daemon in ["zebra", "ospfd"] {
                let file = "\(lab.stateDirectory)/frr/\(router.name)/\(daemon).pid"
                let pid = try #require(Int32(try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
                let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                #expect(command.contains("/usr/lib/frr/\(daemon)"), "\(router.name): \(daemon) (\(pid)) is not running")
                daemons.append(("\(router.name)'s \(daemon)", pid))
            }
        }
        try checkDownLeavesNothing(lab)
        isUp = false
        for daemon in daemons { #expect(kill(daemon.pid, 0) != 0, "\(daemon.what) (\(daemon.pid)) survived 'down'") }
        // ospfd's one file outside the lab's directories, shared by every ospfd on the machine.
        if !Lab.isRunning("/usr/lib/frr/ospfd") { #expect(!FileManager.default.fileExists(atPath: Lab.ospfStateFile)) }
        timings.append("total \(seconds(Date().timeIntervalSince(started)))")
        print("ring4 with OSPF: \(timings.joined(separator: ", "))")
    }

    /// Every router's kernel routes against the expectation's: besides the connected ones, exactly
    /// a route per prefix it routes, from ospfd (protocol ospf), through every expected next hop.
    func ospfRouteProblems(_ lab: RunningLab, _ expectation: LabExpectation) throws -> [String] {
        var problems: [String] = []
        for router in lab.topology.routers {
            let json = try lab.exec(router.name, ["ip", "-j", "-4", "route", "show", "table", "main"])
            let routes = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
            var actual: [String: Set<String>] = [:]
            for route in routes where route["protocol"] as? String != "kernel" {
                var prefix = route["dst"] as? String ?? "?"
                if !prefix.contains("/") { prefix += "/32" }
                if route["protocol"] as? String != "ospf" {
                    problems.append("\(router.name): \(prefix) has protocol \(route["protocol"] ?? "none"), not ospf")
                }
                let hops = route["nexthops"] as? [[String: Any]] ?? [route]
                actual[prefix] = Set(hops.map { "\($0["gateway"] ?? "-")%\($0["dev"] ?? "-")" })
            }
            var expected: [String: Set<String>] = [:]
            for (prefix, owners) in expectation.routedPrefixes(of: router.name) {
                let hops = expectation.nextHops(of: router.name, toward: owners)
                if !hops.isEmpty { expected[prefix] = Set(hops.map { "\($0.address)%\($0.interface)" }) }
            }
            for prefix in Set(actual.keys).union(expected.keys).sorted() where actual[prefix] != expected[prefix] {
                problems.append("\(router.name): \(prefix) via \(actual[prefix]?.sorted() ?? []), expected \(expected[prefix]?.sorted() ?? [])")
            }
        }
        return problems
    }

    /// LFIB next hops still on either end of a link that is down.
    func staleUses(of link: LabTopology.Link, in lab: RunningLab) throws -> [String] {
        try [link.a, link.b].filter { lab.lsrdRouters.contains($0.node) }.flatMap { end in
            try lab.lfib(end.node).filter { $0.nexthops.contains { $0.interface == end.interface } }
                .map { "\(end.node): \(maskedEntry($0)) still uses \(end.interface), which is down" }
        }
    }

    // MARK: Label stacks on the wire

    /// Captures every core link while each CE pair pings, and checks every echo frame against
    /// the LFIB of the router that sent it: on a link where that router swaps or pushes toward
    /// the egress LER's loopback, the frame carries exactly that label; where it pops (PHP, the
    /// last hop into the egress LER), the frame is plain IP. Core LSRs receive labelled frames only.
    func checkLabelStacks(_ lab: RunningLab) throws {
        // Who sent a frame: the MAC address of every router interface.
        var owners: [String: (node: String, interface: String)] = [:]
        for router in lab.topology.routers {
            let json = try lab.exec(router.name, ["ip", "-j", "link", "show"])
            let links = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
            for link in links {
                if let name = link["ifname"] as? String, let mac = link["address"] as? String { owners[mac] = (router.name, name) }
            }
        }
        let coreLinks = lab.topology.links.filter { lab.topology.isCoreLink($0) }
        let directory = NSTemporaryDirectory() + "e2e-\(lab.prefix)-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Both ends of every core link, inbound only: lsrd sends past the qdisc (PACKET_QDISC_BYPASS),
        // so its own frames may not show on the sending side; every frame shows where it arrives.
        var captures: [(end: LabTopology.Endpoint, file: String, pid: pid_t)] = []
        defer {
            for capture in captures where kill(capture.pid, 0) == 0 { stopCapture(capture.pid) }
        }
        for end in coreLinks.flatMap({ [$0.a, $0.b] }) {
            let file = "\(directory)/\(end.node)-\(end.interface).pcap", log = "\(directory)/\(end.node)-\(end.interface).log"
            let pid = try Command.spawnDetached(["ip", "netns", "exec", lab.namespace(end.node), "tcpdump", "-i", end.interface,
                                                 "-Q", "in", "--immediate-mode", "-U", "-n", "-w", file, "mpls or icmp"], log: log)
            captures.append((end, file, pid))
        }
        for capture in captures {
            let log = capture.file.replacingOccurrences(of: ".pcap", with: ".log")
            try lab.waitUntilNone("tcpdump on \(capture.end)", timeout: 10) {
                ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("listening on") ? [] : ["not listening yet"]
            }
        }
        #expect(try lab.pingProblems(count: Self.echoes).isEmpty)
        for capture in captures { stopCapture(capture.pid) }

        var lfibs: [String: [LFIBView.Entry]] = [:]
        for node in lab.lsrdRouters { lfibs[node] = try lab.lfib(node) }
        let customerSubnets = lab.topology.customerEdges.compactMap { ce in
            lab.topology.attachment(of: ce.name).map { (subnet: $0.link.subnet, ler: $0.router) }
        }
        func egress(of address: String) -> String? {
            guard let ip = IPPrefix("\(address)/32") else { return nil }
            return customerSubnets.first { $0.subnet.contains(ip.address) }?.ler
        }
        var problems: [String] = []
        var labelled = 0
        for capture in captures {
            for frame in try CapturedFrame.read(pcap: capture.file) {
                // Echoes between customer edges only (not LDP, not the routers' own ICMP).
                guard frame.ipProtocol == 1, egress(of: frame.ipSource) != nil, let ler = egress(of: frame.ipDestination) else { continue }
                let receiver = capture.end.node
                guard let sender = owners[frame.sourceMAC],
                      lab.neighbour(of: receiver, on: capture.end.interface) == sender.node else {
                    problems.append("\(capture.end): a frame from \(owners[frame.sourceMAC].map { "\($0)" } ?? frame.sourceMAC), not its neighbour")
                    continue
                }
                let fec = "\(lab.loopback(ler))/32"
                let stacks = Set((lfibs[sender.node] ?? []).filter { $0.fec == fec }.flatMap(\.nexthops)
                    .filter { $0.interface == sender.interface }.map(\.outLabels))
                let what = "\(sender.node)→\(receiver) \(frame.ipSource)→\(frame.ipDestination) labels \(frame.labels)"
                if stacks.count != 1 {
                    problems.append("\(what): \(sender.node)'s LFIB has \(stacks.count) label stacks for \(fec) on \(sender.interface)")
                } else if stacks.first == [3] {
                    if frame.isLabelled || receiver != ler { problems.append("\(what): expected plain IP into \(ler) (PHP)") }
                } else if frame.labels != stacks.first {
                    problems.append("\(what): expected \(stacks.first!) from \(sender.node)'s LFIB for \(fec)")
                }
                if lab.topology.node(receiver)?.role == .lsr && !frame.isLabelled {
                    problems.append("\(what): plain IP into the core LSR \(receiver)")
                }
                if frame.isLabelled { labelled += 1 }
            }
        }
        #expect(problems.isEmpty, "\(problems.prefix(20).joined(separator: "\n"))")
        // Each echo request and each reply crosses at least one labelled hop, where an LSR sits
        // between the two LERs (between adjacent LERs the LSP is PHP'd away).
        let expectation = LabExpectation(lab.topology)
        let acrossLSRs = lab.customerPairs.filter { a, b in
            guard let from = lab.topology.attachment(of: a)?.router, let to = lab.topology.attachment(of: b)?.router else { return true }
            return (expectation.hops(from: from)[to] ?? 0) > 1
        }
        #expect(labelled >= 2 * Self.echoes * acrossLSRs.count, "\(labelled) labelled echo frames captured")
    }

    func stopCapture(_ pid: pid_t) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    // MARK: Kill and restart

    /// SIGKILLs the router's lsrd (by the PID the lab recorded), restarts it with `lsrlab restart`
    /// and waits until every session is back (new ones, with the restarted lsrd), every LFIB is
    /// the expected one with the labels now in use, and the node holds no leftovers.
    func killAndRestart(_ node: String, in lab: RunningLab, expectation: LabExpectation, timings: inout [String]) throws {
        let pidText = try String(contentsOfFile: "\(lab.stateDirectory)/\(node).pid", encoding: .utf8)
        let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        try #require(kill(pid, 0) == 0, "\(node)'s lsrd (\(pid)) is not running")
        #expect(try lab.exec(node, ["ip", "link", "show", "lsr0"]).contains("lsr0"), "lsrd's TUN device")
        let killedAt = Date()
        kill(pid, SIGKILL)
        // Not our child (the lab's): init reaps it.
        try lab.waitUntilNone("\(node)'s lsrd to die", timeout: 5) { kill(pid, 0) == 0 ? ["alive"] : [] }
        let restarted = try lab.lsrlab(["restart", node])
        try #require(restarted.status == 0, "\(restarted.output)")
        let newPID = try #require(Int32(try String(contentsOfFile: "\(lab.stateDirectory)/\(node).pid", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(newPID != pid && kill(newPID, 0) == 0)
        let took = try lab.waitUntilNone("\(node) rejoining after kill -9", timeout: 30) {
            try lab.sessionAndLFIBProblems(expectation) + freshSessionProblems(node, in: lab, since: killedAt, expectation: expectation)
        }
        timings.append("\(node) kill -9 + restart: rejoined in \(seconds(took))")
        // One rule into table 193 (the killed lsrd's was replaced) and one TUN device.
        let rules = try lab.exec(node, ["ip", "rule", "show"]).split(separator: "\n").filter { $0.contains("lookup 193") }
        #expect(rules.count == 1, "\(rules)")
        let tunnels = try lab.exec(node, ["ip", "-o", "link", "show", "type", "tun"]).split(separator: "\n")
        #expect(tunnels.count == 1 && tunnels.first?.contains("lsr0") == true, "\(tunnels)")
    }

    /// Sessions with `node` that predate its kill: its neighbours did not notice.
    func freshSessionProblems(_ node: String, in lab: RunningLab, since: Date, expectation: LabExpectation) throws -> [String] {
        let limit = Date().timeIntervalSince(since)
        var problems: [String] = []
        for peer in lab.peers(of: node, in: expectation) {
            if lab.topology.node(peer)?.software == .frr {
                for session in try FRRNeighbor.parse(lab.vtysh(peer, "show mpls ldp neighbor json"))
                    where session.id == lab.loopback(node) && (session.uptimeSeconds ?? .infinity) > limit + 1 {
                    problems.append("\(peer) (FRR): session with \(node) up \(session.uptimeSeconds ?? -1) s, older than the restart")
                }
                continue
            }
            let sessions = try lab.lsrctl(peer, ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors
            for session in sessions where session.peer.hasPrefix(lab.loopback(node) + ":") && (session.uptimeSeconds ?? .infinity) > limit {
                problems.append("\(peer): session with \(node) up \(session.uptimeSeconds ?? -1) s, older than the restart")
            }
        }
        return problems
    }

    // MARK: Down

    /// `lsrlab down` stops every process of the lab and removes its namespaces (and with them
    /// the TUN devices and veths) and its state.
    func checkDownLeavesNothing(_ lab: RunningLab) throws {
        var pids: [Int32] = []
        for node in lab.topology.nodes {
            pids += try Shell.check(["ip", "netns", "pids", lab.namespace(node.name)]).split(separator: "\n").compactMap { Int32($0) }
        }
        #expect(pids.count >= lab.lsrdRouters.count + 3 * lab.frrRouters.count, "the lab's processes: \(pids)")
        let down = try lab.lsrlab(["down"])
        #expect(down.status == 0, "\(down.output)")
        let namespaces = try Shell.check(["ip", "netns", "list"]).split(separator: "\n").filter { $0.hasPrefix("\(lab.prefix)-") }
        #expect(namespaces.isEmpty, "left behind: \(namespaces)")
        for pid in pids { #expect(kill(pid, 0) != 0, "process \(pid) survived 'down'") }
        // Nothing else runs with the lab's files (lsrd's configuration, FRR's).
        let survivors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { entry -> String? in
            guard Int32(entry) != nil, let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8) else { return nil }
            return command.contains("\(lab.stateDirectory)/") ? "\(entry): \(command.replacingOccurrences(of: "\0", with: " "))" : nil
        } ?? []
        #expect(survivors.isEmpty, "\(survivors)")
        #expect(!FileManager.default.fileExists(atPath: lab.stateDirectory))
        let frrSockets = (try? FileManager.default.contentsOfDirectory(atPath: "/var/run/frr"))?.filter { $0.hasPrefix("\(lab.prefix)-") } ?? []
        #expect(frrSockets.isEmpty, "\(frrSockets)")
    }
}

func lsrdLog(_ router: String, in lab: RunningLab) -> String {
    (try? String(contentsOfFile: "\(lab.stateDirectory)/\(router).log", encoding: .utf8)) ?? ""
}

/// Each lsrd's last session events (set-ups, refusals, backoffs), for a failed run's output.
func sessionLogExcerpt(_ lab: RunningLab) -> String {
    let events = ["session-up", "session-down", "backoff", "connection-rejected", "notification-received"]
    return lab.lsrdRouters.map { router in
        let lines = lsrdLog(router, in: lab).split(separator: "\n").filter { line in events.contains { line.contains("event=\($0)") } }
        return "--- \(router)'s session events:\n" + lines.suffix(12).joined(separator: "\n")
    }.joined(separator: "\n")
}

