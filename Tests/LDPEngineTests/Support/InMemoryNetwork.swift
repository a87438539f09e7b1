// A network of LDP engines in memory: links carry Link Hellos between interfaces, addresses
// locate Targeted Hellos and TCP connections, and a virtual clock fires armed timers in order.
// Every input is queued and delivered one at a time, as a daemon's event loop would.

import LDPCodec
@testable import LDPEngine
import MPLSTables

struct InMemoryNetwork {
    struct InterfaceEnd: Hashable {
        var node: String
        var interface: String
    }

    struct Link {
        var ends: [InterfaceEnd]
        var isUp = true
    }

    struct ConnectionEnd: Hashable {
        var node: String
        var connection: ConnectionID
    }

    final class Node {
        let name: String
        var configuration: EngineConfiguration
        var engine: LDPEngine
        /// Interface name → address (with its prefix length).
        var interfaceAddresses: [String: (address: IPv4Address, prefixLength: UInt8)] = [:]
        var interfaceUp: [String: Bool] = [:]
        var routes: [IPPrefix: Route] = [:]
        var isRunning = false
        /// Drop every TCP send of this node: a peer that has gone silent.
        var isSilentOnTCP = false
        /// Drop every Hello this node sends (its adjacencies at the others expire).
        var isSilentOnUDP = false
        /// Refuse incoming TCP connections.
        var refusesConnections = false
        var events: [EngineEvent] = []
        var outputs: [(time: EngineTime, output: EngineOutput)] = []
        /// Every input this engine handled, for replay.
        var inputs: [RecordedInput] = []
        var lfib = LFIB()
        var gtsmConnections: Set<ConnectionID> = []
        var md5Keys: [IPAddress: String] = [:]

        init(name: String, configuration: EngineConfiguration) {
            self.name = name
            self.configuration = configuration
            self.engine = LDPEngine(configuration: configuration)
        }

        var loopback: IPv4Address { configuration.lsrID }
        var identifier: LDPIdentifier { configuration.ldpIdentifier }

        func owns(_ address: IPAddress) -> Bool {
            guard case .v4(let v4) = address else { return false }
            return v4 == loopback || v4 == configuration.transportAddress
                || interfaceAddresses.values.contains { $0.address == v4 }
        }
    }

    /// Recompute shortest-path routes (an IGP stand-in) whenever links or nodes change.
    var computesRoutes = false
    private(set) var now = EngineTime.zero
    private(set) var nodes: [String: Node] = [:]
    var links: [String: Link] = [:]
    private var queue: [(node: String, input: EngineInput)] = []
    private var timers: [String: [TimerID: (deadline: EngineTime, sequence: UInt64)]] = [:]
    private var timerSequence: UInt64 = 0
    private var peerEnds: [ConnectionEnd: ConnectionEnd] = [:]
    private var nextIncoming: UInt64 = 1
    /// Every TCP payload, by sender, for assertions about what went on the wire.
    private(set) var wire: [(time: EngineTime, from: ConnectionEnd, bytes: [UInt8])] = []

    // MARK: - Topology

    @discardableResult
    mutating func addNode(_ name: String, lsrID: String,
                          configure: (inout EngineConfiguration) -> Void = { _ in }) -> Node {
        var configuration = EngineConfiguration(lsrID: IPv4Address(lsrID)!)
        configure(&configuration)
        let node = Node(name: name, configuration: configuration)
        nodes[name] = node
        return node
    }

    /// A point-to-point (or multi-access) link; each end is (node, interface, "address/length").
    mutating func addLink(_ name: String, _ ends: [(node: String, interface: String, address: String)],
                          helloInterval: UInt16 = 5, holdTime: UInt16 = 15) {
        var link = Link(ends: [])
        for end in ends {
            let node = nodes[end.node]!
            let prefix = IPPrefix(end.address)!
            let parts = end.address.split(separator: "/")
            node.interfaceAddresses[end.interface] = (IPv4Address(parts[0])!, prefix.length)
            node.interfaceUp[end.interface] = true
            if node.configuration.interface(named: end.interface) == nil {
                node.configuration.interfaces.append(
                    InterfaceConfiguration(name: end.interface, helloInterval: helloInterval, holdTime: holdTime))
                node.engine = LDPEngine(configuration: node.configuration)
            }
            link.ends.append(InterfaceEnd(node: end.node, interface: end.interface))
        }
        links[name] = link
    }

    /// Two nodes joined by one link "a-b" with interfaces named after the peer.
    mutating func connect(_ a: String, _ b: String, subnet: UInt8) {
        addLink("\(a)-\(b)", [(a, "to-\(b)", "10.0.\(subnet).1/24"), (b, "to-\(a)", "10.0.\(subnet).2/24")])
    }

    /// Sets a node's routes to `routes`, telling its engine what changed.
    mutating func replaceRoutes(_ node: String, with routes: [IPPrefix: Route]) {
        let old = nodes[node]!.routes
        for (prefix, route) in routes.sorted(by: { $0.key < $1.key }) where old[prefix] != route { addRoute(node, route) }
        for prefix in old.keys.sorted() where routes[prefix] == nil { removeRoute(node, prefix) }
    }

    mutating func addRoute(_ node: String, _ route: Route) {
        nodes[node]!.routes[route.prefix] = route
        if nodes[node]!.isRunning { enqueue(node, .routeChanged(route)) }
    }

    mutating func removeRoute(_ node: String, _ prefix: IPPrefix) {
        nodes[node]!.routes[prefix] = nil
        if nodes[node]!.isRunning { enqueue(node, .routeRemoved(prefix)) }
    }

    // MARK: - Life cycle

    mutating func start(_ name: String) {
        let node = nodes[name]!
        node.isRunning = true
        enqueue(name, .interfaceChanged(name: "lo", isUp: true, addresses: [.v4(node.loopback)]))
        for (interface, address) in node.interfaceAddresses.sorted(by: { $0.key < $1.key }) {
            enqueue(name, .interfaceChanged(name: interface, isUp: node.interfaceUp[interface] ?? true,
                                            addresses: [.v4(address.address)]))
        }
        for route in node.routes.values.sorted(by: { $0.prefix < $1.prefix }) { enqueue(name, .routeChanged(route)) }
        enqueue(name, .start)
    }

    mutating func startAll() {
        for name in nodes.keys.sorted() { start(name) }
    }

    /// The node stops dead: its timers are gone and its peers see its connections close.
    mutating func crash(_ name: String) {
        let node = nodes[name]!
        node.isRunning = false
        timers[name] = [:]
        queue.removeAll { $0.node == name }
        for (end, peer) in peerEnds where end.node == name {
            peerEnds[end] = nil
            peerEnds[peer] = nil
            enqueue(peer.node, .connectionClosed(peer.connection, reason: "connection reset"))
        }
    }

    /// Crash, then come back with a fresh engine.
    mutating func restart(_ name: String) {
        crash(name)
        let node = nodes[name]!
        node.engine = LDPEngine(configuration: node.configuration)
        node.lfib = LFIB()
        start(name)
    }

    mutating func setLink(_ name: String, isUp: Bool) {
        links[name]!.isUp = isUp
        defer { if computesRoutes { recomputeRoutes() } }
        for end in links[name]!.ends {
            let node = nodes[end.node]!
            node.interfaceUp[end.interface] = isUp
            if node.isRunning {
                enqueue(end.node, .interfaceChanged(name: end.interface, isUp: isUp,
                                                    addresses: [.v4(node.interfaceAddresses[end.interface]!.address)]))
            }
        }
    }

    mutating func inject(_ node: String, _ input: EngineInput) { enqueue(node, input) }

    // MARK: - Running

    mutating func enqueue(_ node: String, _ input: EngineInput) { queue.append((node, input)) }

    /// Delivers queued inputs, then fires timers in deadline order up to `now + duration`.
    mutating func run(for duration: EngineDuration) {
        let end = now + duration
        while true {
            drainQueue()
            guard let (node, timer, deadline) = nextTimer(), deadline <= end else { break }
            now = max(now, deadline)
            timers[node]![timer] = nil
            enqueue(node, .timerFired(timer))
        }
        now = end
        drainQueue()
    }

    /// Runs until `condition` holds (checked after each input) or `limit` passes; returns whether it held.
    @discardableResult
    mutating func run(until limit: EngineDuration, _ condition: (InMemoryNetwork) -> Bool) -> Bool {
        let end = now + limit
        while true {
            drainQueue()
            if condition(self) { return true }
            guard let (node, timer, deadline) = nextTimer(), deadline <= end else { break }
            now = max(now, deadline)
            timers[node]![timer] = nil
            enqueue(node, .timerFired(timer))
        }
        now = end
        drainQueue()
        return condition(self)
    }

    private func nextTimer() -> (String, TimerID, EngineTime)? {
        var best: (String, TimerID, EngineTime, UInt64)?
        for (node, table) in timers {
            for (timer, entry) in table {
                if best == nil || (entry.deadline, entry.sequence) < (best!.2, best!.3) {
                    best = (node, timer, entry.deadline, entry.sequence)
                }
            }
        }
        return best.map { ($0.0, $0.1, $0.2) }
    }

    private mutating func drainQueue() {
        var delivered = 0
        var head = 0
        defer { queue.removeFirst(head) }
        while head < queue.count {
            let (name, input) = queue[head]
            head += 1
            let node = nodes[name]!
            guard node.isRunning else { continue }
            node.inputs.append(RecordedInput(time: now, input: input))
            let outputs = node.engine.handle(input, at: now)
            for output in outputs { carryOut(output, from: node) }
            delivered += 1
            precondition(delivered < 10_000_000, "the network does not settle")
        }
    }

    private mutating func carryOut(_ output: EngineOutput, from node: Node) {
        node.outputs.append((now, output))
        switch output {
        case .sendHello(let interface, let source, let destination, let ttl, let bytes):
            guard !node.isSilentOnUDP else { return }
            if let interface, destination == .v4(HelloAddresses.allRouters) {
                guard node.interfaceUp[interface] == true,
                      let (_, link) = links.first(where: { $0.value.ends.contains(InterfaceEnd(node: node.name, interface: interface)) }),
                      link.isUp else { return }
                for end in link.ends where end.node != node.name {
                    guard nodes[end.node]!.interfaceUp[end.interface] == true else { continue }
                    enqueue(end.node, .helloReceived(interface: end.interface, source: source ?? .v4(.any),
                                                     destination: destination, ttl: ttl, bytes: bytes))
                }
            } else if let receiver = nodes.values.first(where: { $0.owns(destination) && $0.name != node.name }) {
                // Targeted: one router in between, so the TTL drops by one.
                enqueue(receiver.name, .helloReceived(interface: nil, source: source ?? .v4(node.configuration.transportAddress),
                                                      destination: destination, ttl: ttl &- 1, bytes: bytes))
            }
        case .connect(let connection, let local, let remote, let password, let gtsm):
            if gtsm { node.gtsmConnections.insert(connection) }
            // TCP MD5: both ends must hold the same key for the segments to be accepted.
            guard let receiver = nodes.values.first(where: { $0.owns(remote) && $0.name != node.name }),
                  receiver.isRunning, !receiver.refusesConnections, receiver.md5Keys[local] == password else {
                enqueue(node.name, .connectionFailed(connection, reason: "connection refused"))
                return
            }
            let incoming = ConnectionID.incoming(nextIncoming)
            nextIncoming += 1
            let ours = ConnectionEnd(node: node.name, connection: connection)
            let theirs = ConnectionEnd(node: receiver.name, connection: incoming)
            peerEnds[ours] = theirs
            peerEnds[theirs] = ours
            enqueue(receiver.name, .connectionAccepted(incoming, local: remote, remote: local))
            enqueue(node.name, .connectionEstablished(connection))
        case .send(let connection, let bytes):
            let ours = ConnectionEnd(node: node.name, connection: connection)
            guard !node.isSilentOnTCP, let theirs = peerEnds[ours] else { return }
            wire.append((now, ours, bytes))
            enqueue(theirs.node, .dataReceived(theirs.connection, bytes))
        case .close(let connection):
            let ours = ConnectionEnd(node: node.name, connection: connection)
            guard let theirs = peerEnds.removeValue(forKey: ours) else { return }
            peerEnds[theirs] = nil
            enqueue(theirs.node, .connectionClosed(theirs.connection, reason: "closed by peer"))
        case .setGTSM(let connection):
            node.gtsmConnections.insert(connection)
        case .setMD5Key(let remote, let password):
            node.md5Keys[remote] = password
        case .armTimer(let timer, let after):
            timerSequence += 1
            timers[node.name, default: [:]][timer] = (now + after, timerSequence)
        case .cancelTimer(let timer):
            timers[node.name]?[timer] = nil
        case .lfib(let changes):
            node.lfib.apply(changes)
        case .event(let event):
            node.events.append(event)
        }
    }

    // MARK: - Looking

    func node(_ name: String) -> Node { nodes[name]! }

    func isArmed(_ node: String, _ timer: TimerID) -> Bool { timers[node]?[timer] != nil }

    func armedDeadline(_ node: String, _ timer: TimerID) -> EngineTime? { timers[node]?[timer]?.deadline }

    func sessionState(_ node: String, with peer: String) -> SessionState? {
        let peerID = nodes[peer]!.identifier
        return nodes[node]!.engine.neighbors(at: now).first { $0.peer == peerID }?.state
    }

    func sessionDowns(_ node: String) -> [String] {
        nodes[node]!.events.compactMap { if case .sessionDown(_, _, let reason) = $0 { reason } else { nil } }
    }

    func isOperational(_ a: String, _ b: String) -> Bool {
        sessionState(a, with: b) == .operational && sessionState(b, with: a) == .operational
    }

    /// Every message `node` sent on TCP, decoded.
    func messagesSent(by node: String) -> [Message] {
        wire.filter { $0.from.node == node }.flatMap { entry -> [Message] in
            var framer = PDUFramer()
            framer.append(entry.bytes)
            var messages: [Message] = []
            while let pdu = try? framer.next() {
                if let decoded = try? PDU.decode(pdu) { messages += decoded.messages }
            }
            return messages
        }
    }

    func notificationsSent(by node: String) -> [Status] {
        messagesSent(by: node).compactMap { if case .notification(let note) = $0.body { note.status } else { nil } }
    }
}

/// One input as a daemon would record it.
struct RecordedInput: Codable, Equatable {
    var time: EngineTime
    var input: EngineInput
}
