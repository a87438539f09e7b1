// lsrlab: MPLS networks in network namespaces, one command away. scripts/lab calls it.

import ArgumentParser
import Foundation
import LabKit
import LSRControl

struct LabOptions: ParsableArguments {
    @Option(help: "Names the lab's namespaces (PREFIX-NODE), so that labs can run side by side.")
    var prefix: String = ProcessInfo.processInfo.environment["LAB_PREFIX"] ?? "lab"

    @Option(help: "Where lsrd and lsrctl are.")
    var binaries: String = ".build/debug"

    func validate() throws {
        guard !prefix.isEmpty, prefix.count <= 6, prefix.allSatisfy({ $0.isLetter || $0.isNumber }) else {
            throw ValidationError("--prefix is 1 to 6 letters or digits")
        }
    }

    /// The running lab, from its saved topology path.
    func runningLab() throws -> Lab { try Lab.running(prefix: prefix, binaries: absolute(binaries)) }
}

func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

func topologyPath(_ name: String?) -> String {
    let name = name ?? "line3"
    if name.contains("/") || name.hasSuffix(".yaml") { return absolute(name) }
    return absolute("topologies/\(name).yaml")
}

func fail(_ error: any Error) -> Never {
    FileHandle.standardError.write(Data("lsrlab: \(error)\n".utf8))
    exit(1)
}

@main
struct LSRLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lsrlab", abstract: "MPLS labs in network namespaces.",
        subcommands: [Up.self, Down.self, Status.self, Verify.self, Snapshot.self, Exec.self, Ping.self, Trace.self, Capture.self,
                      Graph.self, Check.self, Restart.self, LinkCommand.self])
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a topology file and print its routes.")
    @Argument(help: "A topology name in topologies/ or a file.") var topology: String?
    func run() throws {
        do {
            let topology = try LabTopology.load(path: topologyPath(topology))
            for node in topology.nodes {
                print("\(node.name) (\(node.role.rawValue)\(node.loopback.map { ", \($0)" } ?? ""))")
                for route in topology.routes(of: node.name) { print("  \(route)") }
            }
        } catch { fail(error) }
    }
}

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring up a topology and wait until OSPF (with --igp ospf) and LDP have converged.")
    @Argument(help: "A topology name in topologies/ (default line3) or a file.") var topology: String?
    @OptionGroup var options: LabOptions
    @Option(help: "Seconds to wait for every session.") var timeout: Double = 60
    @Option(help: "lsrd's dataplane: kernel, userspace, both or auto (default: lsrd's, auto).") var dataplane: String?
    @Option(help: "The routers' IP routes: static (computed from the topology) or ospf (FRR's ospfd in every router); default: the topology's igp, else static.")
    var igp: LabTopology.IGP?

    func validate() throws {
        if let dataplane, !["kernel", "userspace", "both", "auto"].contains(dataplane) {
            throw ValidationError("--dataplane is kernel, userspace, both or auto")
        }
    }

    func run() throws {
        do {
            let path = topologyPath(topology)
            let lab = Lab(prefix: options.prefix, topology: try LabTopology.load(path: path), binaries: absolute(options.binaries),
                          dataplane: dataplane, igp: igp)
            // With OSPF, lsrd starts once every router routes every loopback.
            let ospfProblems = try lab.up(topologyPath: path, igpTimeout: timeout)
            var summary = "lab '\(options.prefix)' (\(lab.topology.name)): \(lab.topology.nodes.count) nodes, \(lab.topology.links.count) links"
            if lab.igp == .ospf {
                summary += ospfProblems.isEmpty ? "; OSPF converged" : "; OSPF has not converged (\(ospfProblems.joined(separator: "; ")))"
            }
            print(summary + "; waiting for LDP...")
            let converged = try waitForSessions(lab, timeout: timeout)
            print(converged ? "LDP converged." : "not every LDP session is OPERATIONAL yet (see 'status').")
            // Every router as the topology predicts (what `verify` checks), once the last
            // mappings have settled.
            if converged { print(verify(lab, timeout: 15).report) }
            // Show label switching: the first two CEs ping each other across the core, and the
            // LFIB counters below count what the routers switched.
            let edges = lab.topology.customerEdges.map(\.name)
            // FRR's ldpd leaves forwarding to the kernel: without MPLS in it, no ping crosses FRR.
            let frrCannotForward = lab.topology.routers.contains { $0.software == .frr }
                && !Lab.kernelHasMPLS
            if converged, edges.count >= 2, frrCannotForward {
                print("\nno ping across: FRR routers forward labelled packets only with the kernel's MPLS, which this kernel lacks")
            } else if converged, edges.count >= 2 {
                let target = try address(of: edges[1], in: lab)
                var replies = 0
                // The first echo may wait for ARP and FTN routes: a few tries.
                for _ in 0..<10 where replies == 0 {
                    let output = try lab.exec(edges[0], ["ping", "-c", "3", "-i", "0.2", "-W", "1", target], allowFailure: true)
                    replies = output.split(separator: "\n").filter { $0.contains("bytes from") }.count
                }
                print("\nping \(edges[0]) -> \(edges[1]) (\(target)): \(replies)/3 replies, label-switched across the core")
            }
            try printStatus(lab)
        } catch { fail(error) }
    }
}

/// Session ends OPERATIONAL, against one per router pair on a core link that is up (counted
/// once per end).
func sessionsUp(_ lab: Lab) throws -> (up: Int, expected: Int) {
    let expectation = LabExpectation(lab.topology, down: lab.downLinks)
    let snapshot = lab.snapshot()
    let expected = lab.topology.routers.map { expectation.peers(of: $0.name).count }.reduce(0, +)
    return (snapshot.routers.map(\.operationalPeers.count).reduce(0, +), expected)
}

func waitForSessions(_ lab: Lab, timeout: Double) throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let (up, expected) = try sessionsUp(lab)
        if up >= expected { return true }
        usleep(500_000)
    }
    return false
}

func printStatus(_ lab: Lab) throws {
    for router in lab.topology.routers {
        print("\n=== \(router.name) \(router.loopback.map { "(\($0))" } ?? "")\(router.software == .frr ? " [FRR]" : "")")
        if lab.igp == .ospf { print((try? lab.vtysh(router.name, "show ip ospf neighbor")) ?? "") }
        switch router.software {
        case .lsrd:
            // What `lsrctl show ldp neighbor` and `lsrctl show lfib` print, read in this process.
            let client = ControlClient(socketPath: lab.controlSocket(router.name))
            do {
                print(try client.call(ControlRequest(command: .showNeighbors), as: NeighborsView.self).0.renderText(detail: false), terminator: "\n\n")
                print(try client.call(ControlRequest(command: .showLFIB), as: LFIBView.self).0.renderText(), terminator: "\n\n")
            } catch {
                print("lsrd does not answer: \(error)")
            }
        case .frr:
            print((try? lab.vtysh(router.name, "show mpls ldp neighbor")) ?? "")
            print((try? lab.vtysh(router.name, "show mpls ldp binding")) ?? "")
        }
    }
}

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the lab's processes and remove its namespaces.")
    @OptionGroup var options: LabOptions
    func run() throws {
        do {
            try Lab.down(prefix: options.prefix)
            print("lab '\(options.prefix)' is down")
        } catch { fail(error) }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Every router's sessions and LFIB.")
    @OptionGroup var options: LabOptions
    func run() throws {
        do {
            let lab = try options.runningLab()
            let (up, expected) = try sessionsUp(lab)
            print("lab '\(options.prefix)' (\(lab.topology.name), igp \(lab.igp.rawValue)): \(up)/\(expected) LDP session ends OPERATIONAL")
            if lab.igp == .ospf {
                let problems = try lab.ospfProblems()
                print(problems.isEmpty ? "OSPF: every router routes every loopback" : "OSPF: \(problems.joined(separator: "; "))")
            }
            try printStatus(lab)
        } catch { fail(error) }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every router against what the topology predicts: OSPF's routes (igp ospf), sessions, each lsrd's LFIB (dynamic labels masked) installed in its dataplane, labels agreed between neighbours.")
    @OptionGroup var options: LabOptions
    @Option(help: "Seconds to keep checking until all is as predicted (0: check once).") var timeout: Double = 0
    func run() throws {
        do {
            let lab = try options.runningLab()
            let verified = verify(lab, timeout: timeout)
            print(verified.report)
            if !verified.problems.isEmpty { throw ExitCode(1) }
        } catch let exit as ExitCode { throw exit } catch { fail(error) }
    }
}

/// Polls the lab's snapshot until it is as its topology predicts or `timeout` seconds have
/// passed; returns what is still wrong and a report for the operator.
func verify(_ lab: Lab, timeout: Double) -> (problems: [String], report: String) {
    let expectation = LabExpectation(lab.topology, down: lab.downLinks)
    // With OSPF, every router routes every loopback its links that are up can reach.
    func igpProblems() -> [String] {
        guard lab.igp == .ospf else { return [] }
        do {
            return try lab.ospfProblems { from, to in expectation.hops(from: from)[to] != nil }
        } catch { return ["OSPF routes: \(error)"] }
    }
    let started = Date()
    var snapshot = lab.snapshot()
    var problems = igpProblems() + snapshot.problems(expectation)
    while !problems.isEmpty && Date().timeIntervalSince(started) < timeout {
        usleep(250_000)
        snapshot = lab.snapshot()
        problems = igpProblems() + snapshot.problems(expectation)
    }
    let down = expectation.down.isEmpty ? "none" : expectation.down.sorted().joined(separator: ", ")
    guard problems.isEmpty else {
        return (problems, "lab '\(lab.prefix)' (\(lab.topology.name), links down: \(down)) is not as its topology predicts:\n"
                + problems.map { "  " + $0 }.joined(separator: "\n"))
    }
    let sessions = snapshot.routers.map(\.operationalPeers.count).reduce(0, +)
    let entries = snapshot.routers.compactMap(\.lfib?.count).reduce(0, +)
    return ([], "lab '\(lab.prefix)' (\(lab.topology.name), links down: \(down)): \(snapshot.routers.count) routers, "
                + "\(sessions) session ends OPERATIONAL, \(entries) LFIB entries installed as predicted, labels agreed "
                + String(format: "(%.1f s)", Date().timeIntervalSince(started)))
}

struct Snapshot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every router's sessions, labels, LFIB and dataplane state as one JSON document.")
    @OptionGroup var options: LabOptions
    func run() throws {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(try options.runningLab().snapshot()), as: UTF8.self))
        } catch { fail(error) }
    }
}

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a command in a node: exec pe1 -- lsrctl show lfib")
    @OptionGroup var options: LabOptions
    @Argument(help: "The node.") var node: String
    @Argument(parsing: .captureForPassthrough, help: "The command.") var command: [String] = []

    func run() throws {
        do {
            let lab = try options.runningLab()
            guard lab.topology.node(node) != nil else { throw LabError("no node '\(node)' in \(lab.topology.name)") }
            var arguments = command.first == "--" ? Array(command.dropFirst()) : command
            guard !arguments.isEmpty else { throw LabError("no command given") }
            if arguments[0] == "lsrctl" {
                arguments = ["\(lab.binaries)/lsrctl"] + arguments.dropFirst() + ["--socket", lab.controlSocket(node)]
            }
            // Hand the terminal to the command.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["ip", "netns", "exec", lab.namespace(node)] + arguments
            try process.run()
            process.waitUntilExit()
            throw ExitCode(process.terminationStatus)
        } catch let exit as ExitCode {
            throw exit
        } catch { fail(error) }
    }
}

/// The address of a CE on its only link.
func address(of ce: String, in lab: Lab) throws -> String {
    guard let (_, link) = lab.topology.attachment(of: ce), let address = link.address(of: ce) else {
        throw LabError("'\(ce)' is not a customer edge of \(lab.topology.name)")
    }
    return address.description
}

struct Ping: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ping from one CE to another.")
    @OptionGroup var options: LabOptions
    @Argument var from: String
    @Argument var to: String
    @Option var count = 3
    func run() throws {
        do {
            let lab = try options.runningLab()
            let target = try address(of: to, in: lab)
            _ = try address(of: from, in: lab)
            let output = try lab.exec(from, ["ping", "-c", "\(count)", "-W", "1", "-i", "0.2", target], allowFailure: true)
            print(output, terminator: "")
            if !output.contains(" 0% packet loss") { throw ExitCode(1) }
        } catch let exit as ExitCode { throw exit } catch { fail(error) }
    }
}

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "traceroute -e from one CE to another (shows MPLS labels).")
    @OptionGroup var options: LabOptions
    @Argument var from: String
    @Argument var to: String
    func run() throws {
        do {
            let lab = try options.runningLab()
            let target = try address(of: to, in: lab)
            print(try lab.exec(from, ["traceroute", "-e", "-n", "-w", "1", "-q", "1", target], allowFailure: true), terminator: "")
        } catch { fail(error) }
    }
}

struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Capture a link into a pcap: capture pe1-p1 [--seconds 5]")
    @OptionGroup var options: LabOptions
    @Argument(help: "A link as A-B (node names).") var link: String
    @Option var seconds = 5
    @Option var output: String?
    func run() throws {
        do {
            let lab = try options.runningLab()
            guard let match = lab.topology.links.first(where: { $0.name == link || "\($0.b.node)-\($0.a.node)" == link }) else {
                throw LabError("no link '\(link)'; links: \(lab.topology.links.map(\.name).joined(separator: ", "))")
            }
            let file = absolute(output ?? "\(link).pcap")
            _ = try lab.exec(match.a.node, ["timeout", "\(seconds)", "tcpdump", "-i", match.a.interface, "--immediate-mode", "-w", file, "-U"],
                             allowFailure: true)
            print("captured \(match.a.description) for \(seconds) s into \(file)")
        } catch { fail(error) }
    }
}

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The topology with its labels, as Graphviz (dot, or png/svg with --output).")
    @OptionGroup var options: LabOptions
    @Argument(help: "A topology (default: the running lab's).") var topology: String?
    @Option(help: "A .png or .svg file (needs graphviz), or .dot.") var output: String?
    func run() throws {
        do {
            var lab: Lab?
            let model: LabTopology
            if let topology {
                model = try LabTopology.load(path: topologyPath(topology))
            } else {
                lab = try options.runningLab()
                model = lab!.topology
            }
            var labels: [String: String] = [:]
            if let lab {
                // Per core link: the labels each end will send across it (its out labels).
                for link in model.links where model.isCoreLink(link) {
                    var parts: [String] = []
                    for end in [link.a, link.b] where model.node(end.node)?.software == .lsrd {
                        let json = try lab.exec(end.node, ["\(lab.binaries)/lsrctl", "show", "lfib", "--json", "--socket",
                                                           lab.controlSocket(end.node)], allowFailure: true)
                        guard let view = try? JSONDecoder().decode(LFIBView.self, from: Data(json.utf8)) else { continue }
                        let out = view.entries.flatMap { entry in
                            entry.nexthops.filter { $0.interface == end.interface }.map { hop in
                                "\(entry.fec) \(hop.outLabels.map(labelText).joined(separator: "/"))"
                            }
                        }
                        if !out.isEmpty { parts.append("\(end.node)→: " + out.prefix(4).joined(separator: ", ")) }
                    }
                    labels[link.name] = parts.joined(separator: "\\n")
                }
            }
            let dot = model.graphviz(linkLabels: labels)
            guard let output else {
                print(dot, terminator: "")
                return
            }
            let path = absolute(output)
            if path.hasSuffix(".dot") {
                try dot.write(toFile: path, atomically: true, encoding: .utf8)
            } else {
                let format = path.hasSuffix(".svg") ? "svg" : "png"
                let dotFile = path + ".dot"
                try dot.write(toFile: dotFile, atomically: true, encoding: .utf8)
                try Command.run(["dot", "-K", "neato", "-T\(format)", dotFile, "-o", path])
                try? FileManager.default.removeItem(atPath: dotFile)
            }
            print("wrote \(path)")
        } catch { fail(error) }
    }
}

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restart a router's lsrd with its configuration (stopped with SIGTERM if it runs, started if not).")
    @OptionGroup var options: LabOptions
    @Argument(help: "The router.") var node: String
    func run() throws {
        do {
            let lab = try options.runningLab()
            try lab.restart(node)
            print("\(node): lsrd restarted (pid \(lab.lsrdProcess(node).map(String.init) ?? "?"))")
        } catch { fail(error) }
    }
}

struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Take a link down or up and recompute every node's static routes (OSPF reconverges itself): link p1-p2 down, link p1:eth1 up")
    enum State: String, ExpressibleByArgument { case up, down }
    @OptionGroup var options: LabOptions
    @Argument(help: "A link: A-B, or A:IF where two links join A and B.") var link: String
    @Argument(help: "up or down.") var state: State
    func run() throws {
        do {
            let lab = try options.runningLab()
            try lab.setLink(link, up: state == .up)
            let down = lab.downLinks.sorted()
            print("\(link) is \(state.rawValue); links down: \(down.isEmpty ? "none" : down.joined(separator: ", "))")
        } catch { fail(error) }
    }
}

extension LabTopology.IGP: ExpressibleByArgument {}
