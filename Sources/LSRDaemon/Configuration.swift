// lsrd's configuration: a YAML file, strictly checked. Every error names the file, the line
// and the key; unknown keys are errors, never ignored.
//
//   router-id: 1.1.1.1
//   transport-address: 1.1.1.1        # default: the router id
//   interfaces:
//     - eth0                           # a name, or a mapping:
//     - { name: eth1, hello-interval: 5, hold-time: 15 }
//     - { name: eth2, forwarding: userspace }   # dataplane both only: which plane forwards
//                                               # labelled frames arriving here (default kernel)
//   targeted-neighbors:
//     - { address: 3.3.3.3, hello-interval: 15, hold-time: 45 }
//   accept-targeted-hellos: false
//   neighbors:
//     - { lsr-id: 2.2.2.2, password: secret }    # TCP MD5 (RFC 5036 §2.9)
//   keepalive: 180
//   session-backoff: { initial: 15, maximum: 120 }   # after a refused set-up (RFC 5036 §2.5.3)
//   gtsm: true
//   label-range: 16-1048575
//   explicit-null: false
//   label-control: independent         # or ordered
//   labels-for: all                    # all, host-routes, or a list of prefixes
//   dataplane: auto                    # kernel, userspace, both, auto
//   kernel:                            # the kernel dataplane (kernel, both, auto)
//     platform-labels: 100000          # sets net.mpls.platform_labels (default: when 0, label-range's end + 1, at most 1048575)
//     mpls-input: true                 # sets net.mpls.conf.<if>.input=1 on LDP interfaces
//     keep-routes: false               # leave the routes in the kernel at shutdown
//     ftn-table: 193                   # IPv4 table of labelled (push) routes
//     ftn-rule-priority: 1000          # its `ip rule`, consulted before main (32766)
//   userspace:                         # the userspace dataplane (userspace, both, auto without kernel MPLS)
//     polling: adaptive                # throughput, adaptive, or low-latency (busy polling)
//     threads: 1                       # forwarding threads; each LDP interface is one thread's
//     cpus: [1]                        # pin thread i to cpus[i % count]
//     ring-frames: 1024                # receive ring slots per interface
//     ttl-model: uniform               # RFC 3443: uniform or pipe
//     customer-interfaces: [ce0]       # LER: take IPv4 off these before the kernel routes it
//                                      # (Linux 6.6 tcx; not LDP interfaces; not with both)
//   static-routes:                     # LER: reach a prefix through the LSP to a loopback
//     - { prefix: 192.168.2.0/24, via: 10.255.0.3 }
//   static-lsps:                       # operator LSPs beside LDP's (they win for the same key)
//     - { in-label: 100, via: 10.0.2.2, interface: eth1, out-labels: [200] }          # swap
//     - { in-label: 101, via: 10.0.2.2, interface: eth1, out-labels: [implicit-null] } # pop
//     - { prefix: 10.9.0.0/16, via: 10.0.2.2, interface: eth1, out-labels: [300] }    # push
//   control-socket: /run/lsrd/r1.sock
//   log-level: info

import Foundation
import LDPCodec
import LDPEngine
import MPLSForwarding
import MPLSTables
import Yams

public enum DataplaneMode: String, Codable, Sendable, CaseIterable {
    case kernel, userspace, both, auto
}

/// The plane that forwards the labelled frames arriving on an interface.
public enum ForwardingPlane: String, Codable, Sendable, CaseIterable {
    case kernel, userspace
}

/// How the kernel dataplane prepares and leaves the kernel.
public struct KernelDataplaneOptions: Codable, Sendable, Equatable {
    /// net.mpls.platform_labels to set; nil leaves it as it is, unless it is 0 (then it covers the label range).
    public var platformLabels: UInt32?
    public var enableMPLSInput = true
    public var keepRoutes = false
    public var ftnTable: UInt32 = 193
    public var ftnRulePriority: UInt32 = 1000
    /// The most net.mpls.platform_labels the kernel takes: 2^20 - 1 (labels 0...1048574).
    public static let maximumPlatformLabels: UInt32 = (1 << 20) - 1
    public init() {}
}

/// How the userspace dataplane runs its forwarding threads.
public struct UserspaceDataplaneOptions: Codable, Sendable, Equatable {
    public enum Polling: String, Codable, Sendable, CaseIterable {
        /// Sleeps in poll(2) as soon as the rings are empty: least CPU, a wake-up per burst.
        case throughput
        /// Keeps polling the rings for 200 µs after the last packet, then sleeps: low latency
        /// under steady traffic at little cost when idle.
        case adaptive
        /// Never sleeps: the lowest latency, and one CPU always busy per thread.
        case lowLatency = "low-latency"
    }

    public var polling = Polling.adaptive
    public var threads = 1
    /// CPUs to pin the threads to (thread i to cpus[i % count]); empty: not pinned.
    public var cpus: [Int] = []
    public var ringFrames = 1024
    public var ttlModel = TTLModel.uniform
    /// Customer-facing interfaces whose IPv4 the engine pushes straight from a receive ring,
    /// without the kernel routing it into the TUN device first.
    public var customerInterfaces: [String] = []
    public init() {}
}

public enum LogLevelSetting: String, Codable, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

public struct DaemonConfiguration: Codable, Sendable, Equatable {
    public struct Interface: Codable, Sendable, Equatable {
        public var name: String
        public var helloInterval: UInt16 = 5
        public var holdTime: UInt16 = 15
        /// Which plane receives labelled frames here; set only with `dataplane: both` (nil: kernel).
        public var forwarding: ForwardingPlane?
        public init(name: String, helloInterval: UInt16 = 5, holdTime: UInt16 = 15, forwarding: ForwardingPlane? = nil) {
            self.name = name
            self.helloInterval = helloInterval
            self.holdTime = holdTime
            self.forwarding = forwarding
        }
    }

    public struct TargetedNeighbor: Codable, Sendable, Equatable {
        public var address: IPv4Address
        public var helloInterval: UInt16 = 15
        public var holdTime: UInt16 = 45
        public init(address: IPv4Address, helloInterval: UInt16 = 15, holdTime: UInt16 = 45) {
            self.address = address
            self.helloInterval = helloInterval
            self.holdTime = holdTime
        }
    }

    public struct Neighbor: Codable, Sendable, Equatable {
        public var lsrID: IPv4Address
        public var password: String?
        public init(lsrID: IPv4Address, password: String? = nil) {
            self.lsrID = lsrID
            self.password = password
        }
    }

    public enum LabelsFor: Codable, Sendable, Equatable {
        case all
        case hostRoutes
        case prefixes([IPPrefix])
    }

    public enum LabelControl: String, Codable, Sendable, CaseIterable {
        case independent, ordered
    }

    public var routerID: IPv4Address
    public var transportAddress: IPv4Address?
    public var interfaces: [Interface] = []
    public var targetedNeighbors: [TargetedNeighbor] = []
    public var acceptTargetedHellos = false
    public var neighbors: [Neighbor] = []
    public var keepAlive: UInt16 = 180
    public var sessionBackoff = SessionBackoffConfiguration()
    public var gtsm = true
    public var labelRange: ClosedRange<UInt32> = 16...ReservedLabel.maximum
    public var explicitNull = false
    public var labelControl = LabelControl.independent
    public var labelsFor = LabelsFor.all
    public var dataplane = DataplaneMode.auto
    public var kernel = KernelDataplaneOptions()
    public var userspace = UserspaceDataplaneOptions()
    /// Customer prefixes behind remote LERs (see StaticRoute), pushed with the LSP's labels.
    public var staticRoutes: [StaticRoute] = []
    public var staticLSPs: [StaticLSP] = []
    public var controlSocket: String?
    public var logLevel = LogLevelSetting.info

    public init(routerID: IPv4Address) { self.routerID = routerID }

    public var effectiveTransportAddress: IPv4Address { transportAddress ?? routerID }

    public func password(for lsrID: IPv4Address) -> String? {
        neighbors.first { $0.lsrID == lsrID }?.password
    }
}

/// A configuration error, written "FILE:LINE: key 'KEY': PROBLEM".
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var problem: String

    public init(file: String, line: Int?, key: String?, problem: String) {
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "key '\(key)': " }
        return text + problem
    }
}

extension DaemonConfiguration {
    /// Reads and checks a configuration file.
    public static func load(path: String) throws(ConfigurationError) -> DaemonConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: path, line: nil, key: nil, problem: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    /// Parses configuration text; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> DaemonConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
            let key = duplicates.first ?? "?"
            throw ConfigurationError(file: file, line: secondLine(of: key, in: text) ?? context.mark.line, key: key,
                                     problem: "given twice")
        } catch let error as YamlError {
            throw ConfigurationError(file: file, line: error.line, key: nil, problem: "not valid YAML: \(error.problem)")
        } catch {
            throw ConfigurationError(file: file, line: nil, key: nil, problem: "not valid YAML: \(error)")
        }
        guard let root else {
            throw ConfigurationError(file: file, line: nil, key: nil, problem: "the file is empty; 'router-id' is required")
        }
        return try ConfigurationReader(file: file).read(root)
    }
}

/// The line where `key` appears a second time: Yams reports only where the mapping starts.
private func secondLine(of key: String, in text: String) -> Int? {
    var seen = 0
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let trimmed = line.drop { $0 == " " || $0 == "-" }
        if trimmed.hasPrefix(key + ":") {
            seen += 1
            if seen == 2 { return index + 1 }
        }
    }
    return nil
}

extension YamlError {
    var line: Int? {
        switch self {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    var problem: String {
        switch self {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        case .duplicatedKeysInMapping(let duplicates, _): "duplicated keys: \(duplicates.joined(separator: ", "))"
        default: "\(self)"
        }
    }
}

/// Walks the YAML node tree with the file's marks at hand, so every error has its line.
struct ConfigurationReader {
    let file: String

    func error(_ node: Node?, _ key: String?, _ problem: String) -> ConfigurationError {
        ConfigurationError(file: file, line: node?.mark?.line, key: key, problem: problem)
    }

    /// The pairs of a mapping, refusing keys that are not in `allowed` and duplicates.
    func pairs(_ node: Node, context: String?, allowed: [String]) throws(ConfigurationError) -> [String: (key: Node, value: Node)] {
        guard let mapping = node.mapping else {
            throw error(node, context, "expected a mapping of keys")
        }
        var result: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw error(key, context, "keys must be strings") }
            let path = context.map { "\($0).\(name)" } ?? name
            guard allowed.contains(name) else {
                throw error(key, path, "unknown key (known keys: \(allowed.joined(separator: ", ")))")
            }
            guard result[name] == nil else { throw error(key, path, "given twice") }
            result[name] = (key, value)
        }
        return result
    }

    func scalar(_ node: Node, _ key: String) throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node else { throw error(node, key, "expected a single value") }
        return scalar.string
    }

    func address(_ node: Node, _ key: String) throws(ConfigurationError) -> IPv4Address {
        let text = try scalar(node, key)
        guard let address = IPv4Address(text) else { throw error(node, key, "'\(text)' is not an IPv4 address") }
        return address
    }

    func bool(_ node: Node, _ key: String) throws(ConfigurationError) -> Bool {
        let text = try scalar(node, key)
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(node, key, "'\(text)' is not true or false")
        }
    }

    func seconds(_ node: Node, _ key: String, range: ClosedRange<Int>) throws(ConfigurationError) -> UInt16 {
        let text = try scalar(node, key)
        guard let value = Int(text), range.contains(value) else {
            throw error(node, key, "'\(text)' is not a whole number of seconds in \(range.lowerBound)...\(range.upperBound)")
        }
        return UInt16(value)
    }

    func choice<Choice: RawRepresentable & CaseIterable>(_ node: Node, _ key: String, _ type: Choice.Type) throws(ConfigurationError) -> Choice
    where Choice.RawValue == String {
        let text = try scalar(node, key)
        guard let value = Choice(rawValue: text) else {
            throw error(node, key, "'\(text)' is not one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    func list(_ node: Node, _ key: String) throws(ConfigurationError) -> [Node] {
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.tag == .init(.null) { return [] }
        guard case .sequence(let sequence) = node else { throw error(node, key, "expected a list") }
        return Array(sequence)
    }

    static let topLevelKeys = [
        "router-id", "transport-address", "interfaces", "targeted-neighbors", "accept-targeted-hellos",
        "neighbors", "keepalive", "session-backoff", "gtsm", "label-range", "explicit-null", "label-control", "labels-for",
        "dataplane", "kernel", "userspace", "static-routes", "static-lsps", "control-socket", "log-level",
    ]

    func read(_ root: Node) throws(ConfigurationError) -> DaemonConfiguration {
        let top = try pairs(root, context: nil, allowed: Self.topLevelKeys)
        guard let routerID = top["router-id"] else {
            throw error(root, "router-id", "missing: every LSR needs a router id (an IPv4 address)")
        }
        var configuration = DaemonConfiguration(routerID: try address(routerID.value, "router-id"))
        if let node = top["transport-address"]?.value {
            configuration.transportAddress = try address(node, "transport-address")
        }
        // The first interface that names a plane, for the error when the mode has only one.
        var firstPlaneChoice: Node?
        if let node = top["interfaces"]?.value {
            var seen = Set<String>()
            for item in try list(node, "interfaces") {
                let interface = try readInterface(item)
                guard seen.insert(interface.name).inserted else {
                    throw error(item, "interfaces", "interface '\(interface.name)' is listed twice")
                }
                if interface.forwarding != nil, firstPlaneChoice == nil { firstPlaneChoice = item.mapping?["forwarding"] ?? item }
                configuration.interfaces.append(interface)
            }
        }
        if let node = top["targeted-neighbors"]?.value {
            for item in try list(node, "targeted-neighbors") {
                let fields = try pairs(item, context: "targeted-neighbors", allowed: ["address", "hello-interval", "hold-time"])
                guard let addressNode = fields["address"]?.value else {
                    throw error(item, "targeted-neighbors.address", "missing")
                }
                var neighbor = DaemonConfiguration.TargetedNeighbor(address: try address(addressNode, "targeted-neighbors.address"))
                if let value = fields["hello-interval"]?.value {
                    neighbor.helloInterval = try seconds(value, "targeted-neighbors.hello-interval", range: 1...65535)
                }
                if let value = fields["hold-time"]?.value {
                    neighbor.holdTime = try seconds(value, "targeted-neighbors.hold-time", range: 1...65535)
                }
                try checkHold(neighbor.holdTime, interval: neighbor.helloInterval, node: item, key: "targeted-neighbors.hold-time")
                configuration.targetedNeighbors.append(neighbor)
            }
        }
        if let node = top["accept-targeted-hellos"]?.value {
            configuration.acceptTargetedHellos = try bool(node, "accept-targeted-hellos")
        }
        if let node = top["neighbors"]?.value {
            for item in try list(node, "neighbors") {
                let fields = try pairs(item, context: "neighbors", allowed: ["lsr-id", "password"])
                guard let idNode = fields["lsr-id"]?.value else { throw error(item, "neighbors.lsr-id", "missing") }
                var neighbor = DaemonConfiguration.Neighbor(lsrID: try address(idNode, "neighbors.lsr-id"))
                if let value = fields["password"]?.value {
                    let password = try scalar(value, "neighbors.password")
                    // TCP_MD5SIG_MAXKEYLEN is 80 octets.
                    guard !password.isEmpty, password.utf8.count <= 80 else {
                        throw error(value, "neighbors.password", "must be 1 to 80 characters")
                    }
                    neighbor.password = password
                }
                configuration.neighbors.append(neighbor)
            }
        }
        if let node = top["keepalive"]?.value {
            // RFC 5036 §3.5.3: the KeepAlive Time is a hold time; below 15 s is not useful.
            configuration.keepAlive = try seconds(node, "keepalive", range: 15...65535)
        }
        if let node = top["session-backoff"]?.value { configuration.sessionBackoff = try sessionBackoff(node) }
        if let node = top["gtsm"]?.value { configuration.gtsm = try bool(node, "gtsm") }
        if let node = top["label-range"]?.value { configuration.labelRange = try labelRange(node) }
        if let node = top["explicit-null"]?.value { configuration.explicitNull = try bool(node, "explicit-null") }
        if let node = top["label-control"]?.value {
            configuration.labelControl = try choice(node, "label-control", DaemonConfiguration.LabelControl.self)
        }
        if let node = top["labels-for"]?.value { configuration.labelsFor = try labelsFor(node) }
        if let node = top["dataplane"]?.value { configuration.dataplane = try choice(node, "dataplane", DataplaneMode.self) }
        if let firstPlaneChoice, configuration.dataplane != .both {
            // One plane forwards everything in the other modes: a per-interface choice would be ignored.
            throw error(firstPlaneChoice, "interfaces.forwarding",
                        "only valid with 'dataplane: both' (the dataplane is '\(configuration.dataplane.rawValue)')")
        }
        if let node = top["kernel"]?.value { configuration.kernel = try kernelOptions(node) }
        if let node = top["userspace"]?.value {
            configuration.userspace = try userspaceOptions(node)
            try checkCustomerInterfaces(node, configuration)
        }
        if let node = top["static-routes"]?.value {
            configuration.staticRoutes = try staticRoutes(node, routerID: configuration.routerID)
        }
        if let node = top["static-lsps"]?.value {
            configuration.staticLSPs = try staticLSPs(node, labelRange: configuration.labelRange)
        }
        if let node = top["control-socket"]?.value {
            let path = try scalar(node, "control-socket")
            guard path.hasPrefix("/") else { throw error(node, "control-socket", "must be an absolute path") }
            configuration.controlSocket = path
        }
        if let node = top["log-level"]?.value { configuration.logLevel = try choice(node, "log-level", LogLevelSetting.self) }
        return configuration
    }

    func userspaceOptions(_ node: Node) throws(ConfigurationError) -> UserspaceDataplaneOptions {
        let fields = try pairs(node, context: "userspace", allowed: ["polling", "threads", "cpus", "ring-frames", "ttl-model", "customer-interfaces"])
        var options = UserspaceDataplaneOptions()
        if let value = fields["polling"]?.value {
            options.polling = try choice(value, "userspace.polling", UserspaceDataplaneOptions.Polling.self)
        }
        if let value = fields["threads"]?.value {
            let text = try scalar(value, "userspace.threads")
            guard let threads = Int(text), (1...64).contains(threads) else {
                throw error(value, "userspace.threads", "'\(text)' is not a thread count in 1...64")
            }
            options.threads = threads
        }
        if let value = fields["cpus"]?.value {
            let available = ProcessInfo.processInfo.activeProcessorCount
            for item in try list(value, "userspace.cpus") {
                let text = try scalar(item, "userspace.cpus")
                guard let cpu = Int(text), cpu >= 0, cpu < available else {
                    throw error(item, "userspace.cpus", "'\(text)' is not a CPU of this machine (0...\(available - 1))")
                }
                options.cpus.append(cpu)
            }
        }
        if let value = fields["ring-frames"]?.value {
            let text = try scalar(value, "userspace.ring-frames")
            guard let frames = Int(text), (64...65536).contains(frames) else {
                throw error(value, "userspace.ring-frames", "'\(text)' is not a slot count in 64...65536")
            }
            options.ringFrames = frames
        }
        if let value = fields["ttl-model"]?.value { options.ttlModel = try choice(value, "userspace.ttl-model", TTLModel.self) }
        if let value = fields["customer-interfaces"]?.value {
            for item in try list(value, "userspace.customer-interfaces") {
                let name = try interfaceName(item, key: "userspace.customer-interfaces")
                guard !options.customerInterfaces.contains(name) else {
                    throw error(item, "userspace.customer-interfaces", "'\(name)' is listed twice")
                }
                options.customerInterfaces.append(name)
            }
        }
        return options
    }

    func kernelOptions(_ node: Node) throws(ConfigurationError) -> KernelDataplaneOptions {
        let fields = try pairs(node, context: "kernel",
                               allowed: ["platform-labels", "mpls-input", "keep-routes", "ftn-table", "ftn-rule-priority"])
        var options = KernelDataplaneOptions()
        if let value = fields["platform-labels"]?.value {
            let text = try scalar(value, "kernel.platform-labels")
            // The kernel accepts at most 2^20 - 1 (net/mpls/af_mpls.c: label_limit): label 1048575
            // can never be installed.
            guard let count = UInt32(text), count <= KernelDataplaneOptions.maximumPlatformLabels else {
                throw error(value, "kernel.platform-labels", "'\(text)' is not a label count in 0...1048575 (the kernel's maximum)")
            }
            options.platformLabels = count
        }
        if let value = fields["mpls-input"]?.value { options.enableMPLSInput = try bool(value, "kernel.mpls-input") }
        if let value = fields["keep-routes"]?.value { options.keepRoutes = try bool(value, "kernel.keep-routes") }
        if let value = fields["ftn-table"]?.value {
            let text = try scalar(value, "kernel.ftn-table")
            // 0 is unspecified; 253-255 are default, main and local.
            guard let table = UInt32(text), table > 0, !(253...255).contains(table) else {
                throw error(value, "kernel.ftn-table", "'\(text)' is not a table number other than 0, 253, 254, 255")
            }
            options.ftnTable = table
        }
        if let value = fields["ftn-rule-priority"]?.value {
            let text = try scalar(value, "kernel.ftn-rule-priority")
            guard let priority = UInt32(text), priority > 0, priority < 32766 else {
                throw error(value, "kernel.ftn-rule-priority", "'\(text)' must be in 1...32765, before the main table's rule")
            }
            options.ftnRulePriority = priority
        }
        return options
    }

    func readInterface(_ item: Node) throws(ConfigurationError) -> DaemonConfiguration.Interface {
        if case .scalar = item {
            return DaemonConfiguration.Interface(name: try interfaceName(item))
        }
        let fields = try pairs(item, context: "interfaces", allowed: ["name", "hello-interval", "hold-time", "forwarding"])
        guard let nameNode = fields["name"]?.value else { throw error(item, "interfaces.name", "missing") }
        var interface = DaemonConfiguration.Interface(name: try interfaceName(nameNode))
        if let value = fields["hello-interval"]?.value {
            interface.helloInterval = try seconds(value, "interfaces.hello-interval", range: 1...65535)
        }
        if let value = fields["hold-time"]?.value {
            interface.holdTime = try seconds(value, "interfaces.hold-time", range: 1...65535)
        }
        if let value = fields["forwarding"]?.value {
            interface.forwarding = try choice(value, "interfaces.forwarding", ForwardingPlane.self)
        }
        try checkHold(interface.holdTime, interval: interface.helloInterval, node: item, key: "interfaces.hold-time")
        return interface
    }

    func interfaceName(_ node: Node, key: String = "interfaces.name") throws(ConfigurationError) -> String {
        let name = try scalar(node, key)
        // IFNAMSIZ is 16 including the terminating NUL; '/' and blanks are refused by the kernel.
        guard !name.isEmpty, name.utf8.count < 16, !name.contains("/"), !name.contains(where: \.isWhitespace) else {
            throw error(node, key, "'\(name)' is not a valid interface name")
        }
        return name
    }

    /// Customer interfaces face CEs: never an LDP interface, and not where the kernel pushes.
    func checkCustomerInterfaces(_ node: Node, _ configuration: DaemonConfiguration) throws(ConfigurationError) {
        guard let first = configuration.userspace.customerInterfaces.first else { return }
        let listing = node.mapping?["customer-interfaces"] ?? node
        if let ldp = configuration.userspace.customerInterfaces.first(where: { name in configuration.interfaces.contains { $0.name == name } }) {
            throw error(listing, "userspace.customer-interfaces", "'\(ldp)' is an LDP interface: customer interfaces carry IP, not labels")
        }
        if configuration.dataplane == .both || configuration.dataplane == .kernel {
            throw error(listing, "userspace.customer-interfaces",
                        "'\(first)': only with 'dataplane: userspace' or 'auto' (with '\(configuration.dataplane.rawValue)' the kernel pushes)")
        }
    }

    func checkHold(_ hold: UInt16, interval: UInt16, node: Node, key: String) throws(ConfigurationError) {
        guard hold > interval else {
            throw error(node, key, "hold time \(hold) s must exceed the hello interval \(interval) s, or every adjacency flaps")
        }
    }

    /// RFC 5036 §2.5.3: after a refused set-up, wait at least 15 s, growing to at least 2 minutes.
    func sessionBackoff(_ node: Node) throws(ConfigurationError) -> SessionBackoffConfiguration {
        let fields = try pairs(node, context: "session-backoff", allowed: ["initial", "maximum"])
        var backoff = SessionBackoffConfiguration()
        if let value = fields["initial"]?.value {
            backoff.initial = try seconds(value, "session-backoff.initial",
                                          range: Int(SessionBackoffConfiguration.leastInitial)...65535)
        }
        if let value = fields["maximum"]?.value {
            backoff.maximum = try seconds(value, "session-backoff.maximum",
                                          range: Int(SessionBackoffConfiguration.leastMaximum)...65535)
        }
        guard backoff.maximum >= backoff.initial else {
            throw error(node, "session-backoff", "the maximum (\(backoff.maximum) s) is below the initial delay (\(backoff.initial) s)")
        }
        return backoff
    }

    func labelRange(_ node: Node) throws(ConfigurationError) -> ClosedRange<UInt32> {
        let key = "label-range"
        let low: UInt32, high: UInt32
        if node.mapping != nil {
            let fields = try pairs(node, context: key, allowed: ["min", "max"])
            guard let minNode = fields["min"]?.value, let maxNode = fields["max"]?.value else {
                throw error(node, key, "needs both 'min' and 'max'")
            }
            guard let minimum = UInt32(try scalar(minNode, key)), let maximum = UInt32(try scalar(maxNode, key)) else {
                throw error(node, key, "'min' and 'max' must be label numbers")
            }
            (low, high) = (minimum, maximum)
        } else {
            let text = try scalar(node, key)
            let parts = text.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let minimum = UInt32(parts[0]), let maximum = UInt32(parts[1]) else {
                throw error(node, key, "'\(text)' is not a range like 16-1048575")
            }
            (low, high) = (minimum, maximum)
        }
        guard low >= ReservedLabel.firstUnreserved else {
            throw error(node, key, "labels below 16 are reserved (RFC 3032); the range starts at \(low)")
        }
        guard high <= ReservedLabel.maximum else {
            throw error(node, key, "labels are 20 bits: the range ends at \(high), above 1048575")
        }
        guard low <= high else { throw error(node, key, "inverted: \(low) is above \(high)") }
        return low...high
    }

    func staticRoutes(_ node: Node, routerID: IPv4Address) throws(ConfigurationError) -> [StaticRoute] {
        var routes: [StaticRoute] = []
        for item in try list(node, "static-routes") {
            let fields = try pairs(item, context: "static-routes", allowed: ["prefix", "via"])
            guard let prefixNode = fields["prefix"]?.value else { throw error(item, "static-routes.prefix", "missing") }
            guard let viaNode = fields["via"]?.value else { throw error(item, "static-routes.via", "missing") }
            let text = try scalar(prefixNode, "static-routes.prefix")
            guard text.contains("/"), let prefix = IPPrefix(text), prefix.family == .ipv4 else {
                throw error(prefixNode, "static-routes.prefix", "'\(text)' is not an IPv4 prefix like 192.168.2.0/24")
            }
            // A typo like 192.168.2.1/24 would silently route the whole /24: say so instead.
            guard prefix.description == text else {
                throw error(prefixNode, "static-routes.prefix", "'\(text)' has host bits set (the prefix is \(prefix))")
            }
            let via = try address(viaNode, "static-routes.via")
            guard via != routerID else {
                throw error(viaNode, "static-routes.via", "\(via) is this router's own id: a route needs a remote LER's loopback")
            }
            guard !routes.contains(where: { $0.prefix == prefix }) else {
                throw error(prefixNode, "static-routes.prefix", "\(prefix) is listed twice")
            }
            routes.append(StaticRoute(prefix: prefix, via: via))
        }
        return routes
    }

    func staticLSPs(_ node: Node, labelRange: ClosedRange<UInt32>) throws(ConfigurationError) -> [StaticLSP] {
        var lsps: [StaticLSP] = []
        for item in try list(node, "static-lsps") {
            let fields = try pairs(item, context: "static-lsps", allowed: ["in-label", "prefix", "via", "interface", "out-labels", "fec"])
            let key: LFIBKey
            var fec = IPPrefix(IPv4Address.any, length: 0)
            switch (fields["in-label"]?.value, fields["prefix"]?.value) {
            case (let labelNode?, nil):
                let text = try scalar(labelNode, "static-lsps.in-label")
                guard let label = UInt32(text), label >= 16, label <= ReservedLabel.maximum else {
                    throw error(labelNode, "static-lsps.in-label", "'\(text)' is not a label in 16...1048575")
                }
                // LDP hands out labels from the range: a static one inside it could be given twice.
                guard !labelRange.contains(label) else {
                    throw error(labelNode, "static-lsps.in-label",
                                "\(label) is inside label-range \(labelRange.lowerBound)-\(labelRange.upperBound), which LDP allocates from")
                }
                key = .label(label)
                if let fecNode = fields["fec"]?.value { fec = try prefix(fecNode, "static-lsps.fec") }
            case (nil, let prefixNode?):
                fec = try prefix(prefixNode, "static-lsps.prefix")
                key = .prefix(fec)
                if let fecNode = fields["fec"]?.value { throw error(fecNode, "static-lsps.fec", "a prefix LSP carries its own prefix") }
            case (nil, nil):
                throw error(item, "static-lsps.in-label", "missing: give in-label (swap, pop) or prefix (push)")
            case (_?, let prefixNode?):
                throw error(prefixNode, "static-lsps.prefix", "give in-label or prefix, not both")
            }
            guard let viaNode = fields["via"]?.value else { throw error(item, "static-lsps.via", "missing") }
            let via = try address(viaNode, "static-lsps.via")
            guard let interfaceNode = fields["interface"]?.value else { throw error(item, "static-lsps.interface", "missing") }
            let interface = try interfaceName(interfaceNode)
            guard let labelsNode = fields["out-labels"]?.value else { throw error(item, "static-lsps.out-labels", "missing") }
            var outLabels: [UInt32] = []
            for labelNode in try list(labelsNode, "static-lsps.out-labels") {
                let text = try scalar(labelNode, "static-lsps.out-labels")
                switch text {
                case "implicit-null": outLabels.append(ReservedLabel.implicitNull)
                case "explicit-null": outLabels.append(ReservedLabel.ipv4ExplicitNull)
                default:
                    guard let label = UInt32(text), label <= ReservedLabel.maximum else {
                        throw error(labelNode, "static-lsps.out-labels", "'\(text)' is not a label, implicit-null or explicit-null")
                    }
                    // Router alert, entropy, GAL, OAM...: special-purpose labels are not for LSPs.
                    guard label >= 16 || label == 0 || label == 2 || label == 3 else {
                        throw error(labelNode, "static-lsps.out-labels", "\(label) is a special-purpose label (RFC 7274)")
                    }
                    outLabels.append(label)
                }
            }
            // RFC 3032 §2.1: implicit-null never goes on the wire; it means "pop" and stands alone.
            if outLabels.isEmpty || (outLabels.contains(ReservedLabel.implicitNull) && outLabels.count > 1) {
                throw error(labelsNode, "static-lsps.out-labels", "give the labels to push or swap to, or [implicit-null] alone to pop")
            }
            if case .prefix = key, outLabels == [ReservedLabel.implicitNull] {
                throw error(labelsNode, "static-lsps.out-labels", "a prefix LSP must push a label; implicit-null is a plain route")
            }
            let hop = LFIBNextHop(address: IPAddress.v4(via), interface: interface, outLabels: outLabels)
            if lsps.contains(where: { $0.key == key && $0.nextHop.interface == interface && $0.nextHop.address == hop.address }) {
                throw error(item, "static-lsps", "\(key) via \(via) on \(interface) is listed twice")
            }
            lsps.append(StaticLSP(key: key, fec: fec, nextHop: hop))
        }
        return lsps
    }

    func prefix(_ node: Node, _ key: String) throws(ConfigurationError) -> IPPrefix {
        let text = try scalar(node, key)
        guard text.contains("/"), let prefix = IPPrefix(text), prefix.family == .ipv4 else {
            throw error(node, key, "'\(text)' is not an IPv4 prefix like 10.9.0.0/16")
        }
        guard prefix.description == text else { throw error(node, key, "'\(text)' has host bits set (the prefix is \(prefix))") }
        return prefix
    }

    func labelsFor(_ node: Node) throws(ConfigurationError) -> DaemonConfiguration.LabelsFor {
        let key = "labels-for"
        if case .scalar(let scalar) = node {
            switch scalar.string {
            case "all": return .all
            case "host-routes": return .hostRoutes
            default: throw error(node, key, "'\(scalar.string)' is not 'all', 'host-routes' or a list of prefixes")
            }
        }
        var prefixes: [IPPrefix] = []
        for item in try list(node, key) {
            let text = try scalar(item, key)
            guard let prefix = IPPrefix(text), text.contains("/") else {
                throw error(item, key, "'\(text)' is not a prefix like 10.0.0.0/24")
            }
            prefixes.append(prefix)
        }
        return .prefixes(prefixes)
    }
}
