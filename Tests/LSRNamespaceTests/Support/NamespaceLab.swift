// A small lab of network namespaces for tests: nodes with loopbacks, veth links, static
// routes, real lsrd processes, and lsrctl to look at them. Every name carries the lab's
// prefix; `tearDown` stops exactly the processes it started and removes exactly its namespaces.

import Foundation
import LabKit
import LSRControl
#if canImport(Glibc)
import Glibc
#endif

struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}

enum Shell {
    /// Runs a program and returns its exit status and combined output.
    @discardableResult
    static func run(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        if input == nil { process.standardInput = FileHandle.nullDevice }
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs a program that leaves a daemon behind: its output goes to `log`, not to a pipe the
    /// daemon would inherit and keep open. Waits for the program itself to exit.
    static func startDaemon(_ arguments: [String], log: String) throws {
        try Command.spawnDetached(arguments, log: log, wait: true)
    }

    /// Starts a long-running program, output appended to `log`, and returns its PID at once.
    /// (LabKit's `Command.spawnDetached` says why it is not Foundation's Process.)
    static func spawn(_ arguments: [String], log: String) throws -> pid_t {
        try Command.spawnDetached(arguments, log: log)
    }

    /// Runs and throws with the output when the status is not 0.
    @discardableResult
    static func check(_ arguments: [String]) throws -> String {
        let (status, output) = try run(arguments)
        guard status == 0 else { throw CommandFailure(description: "\(arguments.joined(separator: " ")) exited \(status): \(output)") }
        return output
    }
}

/// Where the package's executables were built: beside the test bundle.
enum Binaries {
    static var directory: String {
        var url = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("lsrd").path) { return url.path }
        }
        return FileManager.default.currentDirectoryPath + "/.build/debug"
    }
    static var lsrd: String { directory + "/lsrd" }
    static var lsrctl: String { directory + "/lsrctl" }
}

enum Environment {
    static var canRunNamespaces: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
    }
}

final class NamespaceLab: @unchecked Sendable {
    let prefix: String
    private(set) var namespaces: [String] = []
    /// A process the lab started and stops by this PID (never by name).
    struct Spawned {
        let processIdentifier: pid_t
    }

    private(set) var daemons: [String: Spawned] = [:]
    /// Nodes running FRR daemons (see FRRNode.swift).
    var frrNodes: Set<String> = []
    let directory: String

    init(prefix: String) throws {
        self.prefix = prefix
        directory = NSTemporaryDirectory() + "lsrtest-\(prefix)-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A crashed earlier run may have left namespaces with our prefix.
        let existing = (try? Shell.run(["ip", "netns", "list"]).output) ?? ""
        for line in existing.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            if name.hasPrefix("\(prefix)-") { _ = try? Shell.run(["ip", "netns", "delete", name]) }
        }
    }

    func namespace(_ node: String) -> String { "\(prefix)-\(node)" }
    func socket(_ node: String) -> String { "\(directory)/\(node).sock" }
    func logPath(_ node: String) -> String { "\(directory)/\(node).log" }

    /// A node: a namespace with lo up and a loopback address.
    func addNode(_ node: String, loopback: String) throws {
        let name = namespace(node)
        try Shell.check(["ip", "netns", "add", name])
        namespaces.append(name)
        try exec(node, ["ip", "link", "set", "lo", "up"])
        try exec(node, ["ip", "addr", "add", "\(loopback)/32", "dev", "lo"])
        try exec(node, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    }

    /// A veth link between two nodes, with an address on each end (a /24 given as "10.0.12").
    func addLink(_ a: String, _ interfaceA: String, _ b: String, _ interfaceB: String, subnet: String,
                 hostA: Int = 1, hostB: Int = 2) throws {
        let temporaryA = "\(prefix)\(namespaces.count)a"
        let temporaryB = "\(prefix)\(namespaces.count)b"
        try Shell.check(["ip", "link", "add", temporaryA, "type", "veth", "peer", "name", temporaryB])
        try Shell.check(["ip", "link", "set", temporaryA, "netns", namespace(a), "name", interfaceA])
        try Shell.check(["ip", "link", "set", temporaryB, "netns", namespace(b), "name", interfaceB])
        try exec(a, ["ip", "addr", "add", "\(subnet).\(hostA)/24", "dev", interfaceA])
        try exec(b, ["ip", "addr", "add", "\(subnet).\(hostB)/24", "dev", interfaceB])
        try exec(a, ["ip", "link", "set", interfaceA, "up"])
        try exec(b, ["ip", "link", "set", interfaceB, "up"])
    }

    @discardableResult
    func exec(_ node: String, _ arguments: [String]) throws -> String {
        try Shell.check(["ip", "netns", "exec", namespace(node)] + arguments)
    }

    /// Starts lsrd in the node's namespace with this YAML configuration.
    func startDaemon(_ node: String, configuration: String) throws {
        let path = "\(directory)/\(node).yaml"
        try (configuration + "\ncontrol-socket: \(socket(node))\n").write(toFile: path, atomically: true, encoding: .utf8)
        // posix_spawn with a clean signal mask and close-on-exec descriptors: see Shell.spawn.
        let pid = try Shell.spawn(["ip", "netns", "exec", namespace(node), Binaries.lsrd, "--config", path, "--log-level", "debug"],
                                  log: logPath(node))
        daemons[node] = Spawned(processIdentifier: pid)
    }

    /// Starts any program in the node's namespace, output to the node's log.
    func startProcess(_ node: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", namespace(node)] + arguments
        FileManager.default.createFile(atPath: logPath(node), contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath(node)))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Starts a program in the node's namespace with posix_spawn (see Shell.spawn: a Process
    /// child inherits the runner's blocked SIGTERM and never stops), output to `log`.
    func spawn(_ node: String, _ arguments: [String], log: String) throws -> Spawned {
        Spawned(processIdentifier: try Shell.spawn(["ip", "netns", "exec", namespace(node)] + arguments, log: log))
    }

    /// Stops a process `spawn` started, by its PID, and reaps it.
    func stop(_ process: Spawned) {
        kill(process.processIdentifier, SIGTERM)
        var status: Int32 = 0
        while waitpid(process.processIdentifier, &status, 0) < 0 && errno == EINTR {}
    }

    func stop(_ process: Process) {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    /// Stops a node's lsrd with a signal and waits for it.
    func stopDaemon(_ node: String, signal: Int32 = SIGTERM) {
        guard let process = daemons.removeValue(forKey: node) else { return }
        // `ip netns exec` execs lsrd, so the PID is lsrd's own.
        kill(process.processIdentifier, signal)
        var status: Int32 = 0
        while waitpid(process.processIdentifier, &status, 0) < 0 && errno == EINTR {}
    }

    func log(_ node: String) -> String { (try? String(contentsOfFile: logPath(node), encoding: .utf8)) ?? "" }

    /// `lsrctl ARGS --json` in the node, decoded.
    func show<View: Decodable>(_ node: String, _ arguments: [String], as type: View.Type) throws -> View {
        let output = try exec(node, [Binaries.lsrctl] + arguments + ["--json", "--socket", socket(node)])
        return try JSONDecoder().decode(View.self, from: Data(output.utf8))
    }

    /// Polls `condition` until it holds or `timeout` seconds pass.
    func wait(timeout: Double, _ what: String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError: (any Error)?
        while Date() < deadline {
            do {
                if try condition() { return }
            } catch {
                lastError = error
            }
            usleep(200_000)
        }
        throw CommandFailure(description: "timed out after \(timeout) s waiting for \(what)\(lastError.map { " (last error: \($0))" } ?? "")")
    }

    func tearDown() {
        for node in Array(daemons.keys) { stopDaemon(node) }
        for node in Array(frrNodes) { stopFRR(node) }
        for name in namespaces { _ = try? Shell.run(["ip", "netns", "delete", name]) }
        namespaces.removeAll()
    }

    deinit { tearDown() }
}
