// Running a lab: namespaces, veth links, addresses, routes, one lsrd (or FRR) per router, and
// tearing exactly that down again. Every process that sends traffic runs in the lab's
// namespaces; state lives in /run/lsrlab/<prefix>/ so `down` works after a crash too.

import Foundation
import Glibc

public struct LabError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum Command {
    /// Runs a program to completion; output captured. Daemons must use `spawnDetached`.
    @discardableResult
    public static func run(_ arguments: [String], allowFailure: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        if process.terminationStatus != 0 && !allowFailure {
            throw LabError("\(arguments.joined(separator: " ")) failed: \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return output
    }

    /// Marks every descriptor above stderr close-on-exec. A daemon started from a process that
    /// inherited its parent's pipes would otherwise hold them open, and a parent reading the
    /// pipe to its end would wait for as long as the daemon lives.
    public static func closeInheritedDescriptorsOnExec() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for entry in entries {
            guard let descriptor = Int32(entry), descriptor > 2 else { continue }
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 { _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Starts a long-running program in its own session, output to `log`, with a clean signal
    /// mask; returns its PID without waiting. With `wait`, waits for it (daemons that fork).
    ///
    /// Why posix_spawn and not Foundation's Process: Process did not reap a child that exits
    /// right after forking its daemon, and gives no control over the signal mask. Why a clean
    /// mask: a test runner's threads block signals, a child inherits that mask, and a daemon with
    /// SIGTERM blocked never stops. Why close-on-exec first: a daemon holding its starter's pipe
    /// open keeps whoever reads that pipe waiting for an end of file that never comes.
    @discardableResult
    public static func spawnDetached(_ arguments: [String], log: String, wait: Bool = false) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | 0x80 /* POSIX_SPAWN_SETSID */))
        closeInheritedDescriptorsOnExec()
        let argv = ["/usr/bin/env"] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, &cArguments, environ)
        guard status == 0 else { throw LabError("cannot start \(arguments[0]): \(String(cString: strerror(status)))") }
        if wait {
            var result: Int32 = 0
            while waitpid(pid, &result, 0) < 0 && errno == EINTR {}
            guard result & 0x7F == 0, (result >> 8) & 0xFF == 0 else {
                throw LabError("\(arguments.joined(separator: " ")) failed; see \(log)")
            }
        }
        return pid
    }
}

public final class Lab {
    public let prefix: String
    public let topology: LabTopology
    public let binaries: String
    /// lsrd's `dataplane:` setting (nil: lsrd's default, auto).
    public let dataplane: String?
    /// Where the routers' IP routes come from.
    public let igp: LabTopology.IGP
    public var stateDirectory: String { Lab.stateDirectory(prefix: prefix) }

    public static func stateDirectory(prefix: String) -> String { "/run/lsrlab/\(prefix)" }

    /// `igp` overrides the topology file's.
    public init(prefix: String, topology: LabTopology, binaries: String, dataplane: String? = nil, igp: LabTopology.IGP? = nil) {
        self.prefix = prefix
        self.topology = topology
        self.binaries = binaries
        self.dataplane = dataplane
        self.igp = igp ?? topology.igp
    }

    /// The lab that `up` brought up, from its state directory.
    public static func running(prefix: String, binaries: String) throws -> Lab {
        let state = stateDirectory(prefix: prefix)
        guard let path = try? String(contentsOfFile: "\(state)/topology", encoding: .utf8) else {
            throw LabError("lab '\(prefix)' is not up")
        }
        let igp = (try? String(contentsOfFile: "\(state)/igp", encoding: .utf8))
            .flatMap { LabTopology.IGP(rawValue: $0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let dataplane = (try? String(contentsOfFile: "\(state)/dataplane", encoding: .utf8))
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        return Lab(prefix: prefix, topology: try LabTopology.load(path: path), binaries: binaries, dataplane: dataplane, igp: igp)
    }

    public func namespace(_ node: String) -> String { "\(prefix)-\(node)" }
    public func controlSocket(_ node: String) -> String { "\(stateDirectory)/\(node).sock" }
    public func log(_ node: String) -> String { "\(stateDirectory)/\(node).log" }

    @discardableResult
    public func exec(_ node: String, _ arguments: [String], allowFailure: Bool = false) throws -> String {
        try Command.run(["ip", "netns", "exec", namespace(node)] + arguments, allowFailure: allowFailure)
    }

    // MARK: Up

    /// Brings the lab up. With OSPF, lsrd starts once OSPF has converged or `igpTimeout` has
    /// passed: LDP's sessions run between loopbacks that OSPF routes, and a connection that
    /// finds no route waits out a retry delay. Returns what keeps OSPF from having converged.
    @discardableResult
    public func up(topologyPath: String, igpTimeout: Double = 60) throws -> [String] {
        guard !FileManager.default.fileExists(atPath: stateDirectory) else {
            throw LabError("lab '\(prefix)' is already up: run 'down' first (or use another --prefix)")
        }
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try topologyPath.write(toFile: "\(stateDirectory)/topology", atomically: true, encoding: .utf8)
        try "\(igp.rawValue)\n".write(toFile: "\(stateDirectory)/igp", atomically: true, encoding: .utf8)
        try "\(dataplane ?? "")\n".write(toFile: "\(stateDirectory)/dataplane", atomically: true, encoding: .utf8)
        do {
            return try build(igpTimeout: igpTimeout)
        } catch {
            try? down()
            throw error
        }
    }

    func build(igpTimeout: Double) throws -> [String] {
        for node in topology.nodes {
            try Command.run(["ip", "netns", "add", namespace(node.name)])
            try exec(node.name, ["ip", "link", "set", "lo", "up"])
            if let loopback = node.loopback { try exec(node.name, ["ip", "addr", "add", "\(loopback)/32", "dev", "lo"]) }
            // LSRs forward labelled packets, not IP: only the LERs route IP.
            let forwarding = node.role == .ler ? "1" : "0"
            try exec(node.name, ["sysctl", "-qw", "net.ipv4.ip_forward=\(forwarding)"])
        }
        for (index, link) in topology.links.enumerated() {
            let temporaryA = "\(prefix.prefix(6))\(index)a", temporaryB = "\(prefix.prefix(6))\(index)b"
            try Command.run(["ip", "link", "add", temporaryA, "type", "veth", "peer", "name", temporaryB])
            try Command.run(["ip", "link", "set", temporaryA, "netns", namespace(link.a.node), "name", link.a.interface])
            try Command.run(["ip", "link", "set", temporaryB, "netns", namespace(link.b.node), "name", link.b.interface])
            for (endpoint, address) in [(link.a, link.addressA), (link.b, link.addressB)] {
                try exec(endpoint.node, ["ip", "addr", "add", "\(address)/\(link.subnet.length)", "dev", endpoint.interface])
                try exec(endpoint.node, ["ip", "link", "set", endpoint.interface, "up"])
                // Offloads off: veth would hand over partial checksums and 64 KB frames.
                _ = try? exec(endpoint.node, ["ethtool", "-K", endpoint.interface, "tx", "off", "tso", "off", "gso", "off", "gro", "off"],
                              allowFailure: true)
            }
        }
        // CEs keep their default route whatever the routers run.
        for node in topology.nodes where node.role == .ce || (node.software == .lsrd && igp == .static) {
            for route in topology.routes(of: node.name) { try exec(node.name, ["ip"] + route.ipArguments) }
        }
        // FRR's ldpd leaves the MPLS forwarding to the kernel, and zebra does not switch it on:
        // where the kernel has MPLS, the lab does (lsrd sets its own, for its dataplane mode).
        if Self.kernelHasMPLS {
            for router in topology.routers where router.software == .frr {
                try exec(router.name, ["sysctl", "-qw", "net.mpls.platform_labels=1048575"])
                for interface in topology.ldpInterfaces(of: router.name) {
                    try exec(router.name, ["sysctl", "-qw", "net.mpls.conf.\(interface).input=1"])
                }
            }
        }
        // zebra before lsrd: OSPF's routes are there when lsrd starts (lsrd's own routes carry a
        // protocol number zebra leaves alone, so the order matters only for convergence time).
        for router in topology.routers where router.software == .frr || igp == .ospf { try startFRR(router.name) }
        let problems = igp == .ospf ? try waitForOSPF(timeout: igpTimeout) : []
        for router in topology.routers where router.software == .lsrd { try startLSRD(router.name) }
        return problems
    }

    /// Whether the kernel forwards MPLS (mpls_router loaded): FRR's routers then label-switch.
    public static var kernelHasMPLS: Bool { FileManager.default.fileExists(atPath: "/proc/sys/net/mpls/platform_labels") }

    func startLSRD(_ node: String) throws {
        let configuration = topology.lsrdConfiguration(of: node, controlSocket: controlSocket(node), dataplane: dataplane)
        try configuration.write(toFile: configurationPath(node), atomically: true, encoding: .utf8)
        try spawnLSRD(node)
    }

    func configurationPath(_ node: String) -> String { "\(stateDirectory)/\(node).yaml" }
    func pidPath(_ node: String) -> String { "\(stateDirectory)/\(node).pid" }

    /// The PID of the node's lsrd, if it runs.
    public func lsrdProcess(_ node: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: pidPath(node), encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0,
              let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
              command.contains(configurationPath(node)) else { return nil }
        return pid
    }

    private func spawnLSRD(_ node: String) throws {
        let path = configurationPath(node)
        let pid = try Command.spawnDetached(["ip", "netns", "exec", namespace(node), "\(binaries)/lsrd", "--config", path],
                                            log: log(node))
        try "\(pid)\n".write(toFile: pidPath(node), atomically: true, encoding: .utf8)
    }

    /// Restarts a node's lsrd with the configuration it was started with: stops it (SIGTERM)
    /// when it runs, starts it again when it does not (after a crash or a `kill -9`).
    public func restart(_ node: String) throws {
        guard let router = topology.node(node), router.isRouter else { throw LabError("no router '\(node)' in \(topology.name)") }
        guard router.software == .lsrd else { throw LabError("\(node) runs FRR: restart is for lsrd routers") }
        if let pid = lsrdProcess(node) {
            kill(pid, SIGTERM)
            for _ in 0..<50 where kill(pid, 0) == 0 { usleep(100_000) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        try spawnLSRD(node)
    }

    // MARK: Links

    var downLinksPath: String { "\(stateDirectory)/down-links" }

    /// The identifiers of the links `setLink` took down.
    public var downLinks: Set<String> {
        let text = (try? String(contentsOfFile: downLinksPath, encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").map(String.init))
    }

    /// Takes a link down or up (both ends) and, as an IGP would, replaces every node's static
    /// routes with the shortest paths over the links left. With OSPF only the CEs' static routes
    /// are replaced: ospfd reconverges by itself.
    ///
    /// Up, the ends come up one at a time: first the end of LDP's active router (the higher
    /// transport address, here the loopback), whose routes go in while its interface is up but
    /// has no carrier yet (the kernel takes them), then the other end, then every other node's
    /// routes. The active router connects as soon as it hears its peer's first hello, and a
    /// connection that finds no route to the peer costs it a retry delay (1 s, doubling).
    public func setLink(_ name: String, up: Bool) throws {
        let link = try topology.link(named: name)
        let before = downLinks
        var after = before
        if up { after.remove(link.identifier) } else { after.insert(link.identifier) }
        let recomputed = topology.nodes.filter { igp == .static || $0.role == .ce }
        var done: Set<String> = []
        for end in Lab.linkUpOrder(link, in: topology) {
            try exec(end.node, ["ip", "link", "set", end.interface, up ? "up" : "down"])
            // Down, every route changes once both ends are down.
            guard up, let node = recomputed.first(where: { $0.name == end.node }), !done.contains(end.node) else { continue }
            try replaceRoutes(of: node, from: before, to: after)
            done.insert(end.node)
        }
        try after.sorted().map { $0 + "\n" }.joined().write(toFile: downLinksPath, atomically: true, encoding: .utf8)
        for node in recomputed where !done.contains(node.name) { try replaceRoutes(of: node, from: before, to: after) }
    }

    /// A link's ends, LDP's active end first: the router with the higher loopback (its transport
    /// address). Ends without a loopback (customer edges) come last.
    public static func linkUpOrder(_ link: LabTopology.Link, in topology: LabTopology) -> [LabTopology.Endpoint] {
        func transport(_ end: LabTopology.Endpoint) -> UInt32 { topology.node(end.node)?.loopback?.rawValue ?? 0 }
        return transport(link.b) > transport(link.a) ? [link.b, link.a] : [link.a, link.b]
    }

    /// Brings a node's routes from those of the `before` topology to those of `after`.
    func replaceRoutes(of node: LabTopology.Node, from before: Set<String>, to after: Set<String>) throws {
        let old = topology.routes(of: node.name, excluding: before), new = topology.routes(of: node.name, excluding: after)
        if node.software == .frr && node.isRouter {
            let oldLines = Set(frrStaticRoutes(of: node.name, excluding: before))
            let newLines = Set(frrStaticRoutes(of: node.name, excluding: after))
            let removed = oldLines.subtracting(newLines), added = newLines.subtracting(oldLines)
            guard !removed.isEmpty || !added.isEmpty else { return }
            var arguments = ["vtysh", "--vty_socket", frrSocketDirectory(node.name), "-c", "configure terminal"]
            for line in removed.sorted() { arguments += ["-c", "no " + line] }
            for line in added.sorted() { arguments += ["-c", line] }
            try Command.run(arguments)
            return
        }
        let kept = Set(new.map(\.prefix))
        for route in old where !kept.contains(route.prefix) {
            try exec(node.name, ["ip", "route", "del", route.prefix.description], allowFailure: true)
        }
        // The kernel dropped the routes through a downed interface itself: replace them all.
        for route in new where !old.contains(route) { try exec(node.name, ["ip"] + route.ipArguments) }
    }

    var frrDirectory: String { "\(stateDirectory)/frr" }
    func frrSocketDirectory(_ node: String) -> String { "/var/run/frr/\(namespace(node))" }

    /// staticd's routes of an FRR router, one line per next hop: with igp static, the topology's
    /// routes. An LER's routes to the other LERs' customer subnets point at their loopbacks
    /// instead, with either igp: zebra resolves them over the loopback's route, with the label
    /// ldpd gave it, so customer traffic takes the LSP (lsrd's `static-routes`; distance 1 beats
    /// OSPF's route too).
    func frrStaticRoutes(of node: String, excluding down: Set<String> = []) -> [String] {
        let overLSPs = topology.ldpStaticRoutes(of: node)
        let hopByHop = igp == .ospf ? [] : topology.routes(of: node, excluding: down).filter { route in
            !overLSPs.contains { $0.prefix == route.prefix }
        }
        return hopByHop.flatMap { route in route.nextHops.map { "ip route \(route.prefix) \($0.address)" } }
            + overLSPs.map { "ip route \($0.prefix) \($0.via)" }
    }

    /// FRR in a router: zebra, and ospfd (igp ospf) or staticd (an FRR router's static routes);
    /// ldpd, and staticd for its routes over LSPs, in an FRR router.
    func startFRR(_ node: String) throws {
        let router = topology.node(node)!
        let staticRoutes = router.software == .frr ? frrStaticRoutes(of: node) : []
        var daemons = ["zebra"]
        if igp == .ospf { daemons.append("ospfd") }
        if igp == .static || !staticRoutes.isEmpty { daemons.append("staticd") }
        if router.software == .frr { daemons.append("ldpd") }
        for daemon in daemons where !FileManager.default.isExecutableFile(atPath: "/usr/lib/frr/\(daemon)") {
            throw LabError("node \(node) runs FRR's \(daemon), which is not installed (apt-get install frr)")
        }
        let directory = "\(frrDirectory)/\(node)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let loopback = router.loopback!
        var configuration = """
            frr defaults traditional
            hostname \(node)
            log file \(directory)/frr.log informational
            !

            """
        if igp == .ospf { configuration += topology.ospfConfiguration(of: node) }
        configuration += staticRoutes.map { $0 + "\n" }.joined()
        if router.software == .frr {
            let interfaces = topology.ldpInterfaces(of: node).map {
                "  interface \($0)\n   discovery hello interval 1\n   discovery hello holdtime 3\n  exit"
            }
            configuration += """
                !
                mpls ldp
                 router-id \(loopback)
                 !
                 address-family ipv4
                  discovery transport-address \(loopback)
                \(interfaces.joined(separator: "\n"))
                 exit-address-family
                exit
                !

                """
        }
        try configuration.write(toFile: "\(directory)/frr.conf", atomically: true, encoding: .utf8)
        try Command.run(["chown", "-R", "frr:frr", frrDirectory])
        try Command.run(["mkdir", "-p", frrSocketDirectory(node)])
        try Command.run(["chown", "frr:frr", frrSocketDirectory(node)])
        for daemon in daemons {
            try Command.spawnDetached(["ip", "netns", "exec", namespace(node), "/usr/lib/frr/\(daemon)", "-d", "-N", namespace(node),
                                       "-f", "\(directory)/frr.conf", "-i", "\(directory)/\(daemon).pid"],
                                      log: "\(directory)/\(daemon).out", wait: true)
        }
    }

    /// Polls until OSPF has converged; returns what is still missing at the deadline.
    public func waitForOSPF(timeout: Double) throws -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        var problems = try ospfProblems()
        while !problems.isEmpty && Date() < deadline {
            usleep(200_000)
            problems = try ospfProblems()
        }
        return problems
    }

    /// What keeps OSPF from having converged: each router needs a route in its kernel table,
    /// from ospfd through zebra, to every other router's loopback.
    public func ospfProblems(reachable: (_ from: String, _ to: String) -> Bool = { _, _ in true }) throws -> [String] {
        var problems: [String] = []
        for router in topology.routers {
            // Text, not `ip -j`: for a labelled route iproute2's JSON holds "dst" twice, the
            // second time for the MPLS label (`encap mpls 17`), and the label is what a decoder keeps.
            let text = try exec(router.name, ["ip", "-4", "route", "show", "table", "main", "proto", "ospf"])
            let destinations = Set(text.split(separator: "\n").filter { !($0.first?.isWhitespace ?? true) }
                .compactMap { $0.split(separator: " ").first.map(String.init) })
            for other in topology.routers where other.name != router.name && reachable(router.name, other.name) {
                let loopback = other.loopback!.description
                if !destinations.contains(loopback) && !destinations.contains("\(loopback)/32") {
                    problems.append("\(router.name) has no OSPF route to \(other.name) (\(loopback))")
                }
            }
        }
        return problems
    }

    public func vtysh(_ node: String, _ command: String) throws -> String {
        try Command.run(["vtysh", "--vty_socket", frrSocketDirectory(node), "-c", command])
    }

    // MARK: Down

    /// Stops every process in the lab's namespaces (they are the lab's) and removes the
    /// namespaces whose names carry the prefix; safe to run after a crash.
    public static func down(prefix: String) throws {
        let listed = (try? Command.run(["ip", "netns", "list"])) ?? ""
        let namespaces = listed.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix("\(prefix)-") }
        var pids = Set<Int32>()
        for namespace in namespaces {
            let output = (try? Command.run(["ip", "netns", "pids", namespace], allowFailure: true)) ?? ""
            for line in output.split(separator: "\n") { if let pid = Int32(line) { pids.insert(pid) } }
        }
        // FRR daemons keep their namespace through `ip netns exec`, but check the PID files too.
        let state = stateDirectory(prefix: prefix)
        if let files = FileManager.default.enumerator(atPath: state) {
            for case let file as String in files where file.hasSuffix(".pid") {
                if let text = try? String(contentsOfFile: "\(state)/\(file)", encoding: .utf8),
                   let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                   let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
                   command.contains("lsrd") || command.contains("/usr/lib/frr/") {
                    pids.insert(pid)
                }
            }
        }
        for pid in pids { kill(pid, SIGTERM) }
        for _ in 0..<30 where pids.contains(where: { kill($0, 0) == 0 }) { usleep(100_000) }
        for pid in pids where kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        for namespace in namespaces {
            _ = try? Command.run(["ip", "netns", "delete", namespace], allowFailure: true)
            _ = try? Command.run(["rm", "-rf", "/var/run/frr/\(namespace)"], allowFailure: true)
        }
        // ospfd writes its graceful-restart state to one file whatever its -N: the last ospfd
        // to stop takes it away.
        let ranOSPF = (try? String(contentsOfFile: "\(state)/igp", encoding: .utf8))?.hasPrefix("ospf") == true
        if ranOSPF && !isRunning("/usr/lib/frr/ospfd") {
            try? FileManager.default.removeItem(atPath: ospfStateFile)
        }
        try? FileManager.default.removeItem(atPath: state)
    }

    public static let ospfStateFile = "/var/run/frr/ospfd-gr.json"

    /// Whether any process runs `program`.
    public static func isRunning(_ program: String) -> Bool {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.contains { entry in
            Int32(entry) != nil && (try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8))?.hasPrefix(program + "\0") == true
        }
    }

    public func down() throws { try Lab.down(prefix: prefix) }
}
