// The sans-I/O LDP engine: discovery, sessions and the LIB behind one `handle` function.
// The daemon turns sockets and timers into `EngineInput`s and carries out the
// `EngineOutput`s; tests wire engines together in memory with a virtual clock.
//
// What the daemon promises the engine:
// - Outputs are carried out in order; `send` before `close` of the same connection.
// - `armTimer` replaces a pending timer with the same id; `cancelTimer` of an unarmed timer is
//   a no-op; a timer may still fire after it was cancelled (the engine checks its state).
// - Accepted connections get fresh `.incoming` numbers, never reused. After `connect` comes
//   exactly one of `connectionEstablished` or `connectionFailed`; after either side closes,
//   `connectionClosed` may or may not follow (the engine ignores connections it forgot).
// - `dataReceived` carries the stream as read: the engine frames PDUs itself.
// - `interfaceChanged` for every interface (not only LDP ones) at start and on every change:
//   their addresses are the ones we advertise.

import LDPCodec
import MPLSTables

public struct LDPEngine: Sendable {
    public private(set) var configuration: EngineConfiguration
    var lib: LabelInformationBase

    var isStarted = false
    var isShuttingDown = false
    /// Interface states as the daemon last reported them.
    var interfaceStates: [String: InterfaceState] = [:]
    /// Where we are sending Hellos now, each with its timer running.
    var activeHelloTargets: Set<HelloTarget> = []
    var adjacencies: [AdjacencyKey: Adjacency] = [:]
    /// The deadline each adjacency expiry timer was armed for.
    var adjacencyTimerDeadlines: [AdjacencyKey: EngineTime] = [:]
    var sessions: [ConnectionID: Session] = [:]
    var connectionByPeer: [LDPIdentifier: ConnectionID] = [:]
    var backoffs: [LDPIdentifier: SessionBackoff] = [:]
    /// Peers whose session ended: their next Link Hello is answered at once (see `receiveHello`).
    var peersOwedHello: Set<LDPIdentifier> = []
    var nextOutgoingConnection: UInt64 = 1
    var nextMessageID: UInt32 = 1
    /// §3.5.2 Configuration Sequence Number: bumped on every configuration change.
    var configurationSequenceNumber: UInt32 = 1
    var localAddresses: Set<IPAddress> = []
    /// MD5 keys installed on the listening socket, by peer address.
    var installedMD5Keys: [IPv4Address: String] = [:]

    // Per `handle` call.
    var now = EngineTime.zero
    var outputs: [EngineOutput] = []
    var lfibChanges: [LFIBChange] = []
    /// Messages waiting to be packed into PDUs, per connection, in the order first used.
    var outbox: [ConnectionID: [Message]] = [:]
    var outboxOrder: [ConnectionID] = []

    struct InterfaceState: Hashable, Sendable {
        var isUp: Bool
        var addresses: [IPAddress]
        var firstIPv4: IPv4Address? {
            for address in addresses { if case .v4(let v4) = address { return v4 } }
            return nil
        }
    }

    public init(configuration: EngineConfiguration) {
        self.configuration = configuration
        self.lib = LabelInformationBase(configuration: configuration.labelDistribution)
    }

    public var ldpIdentifier: LDPIdentifier { configuration.ldpIdentifier }

    /// The LIB, read-only, for its own views.
    public var labelInformationBase: LabelInformationBase { lib }

    public mutating func handle(_ input: EngineInput, at now: EngineTime) -> [EngineOutput] {
        self.now = now
        switch input {
        case .start: start()
        case .helloReceived(let interface, let source, let destination, let ttl, let bytes):
            receiveHello(interface: interface, source: source, destination: destination, ttl: ttl, bytes: bytes)
        case .connectionAccepted(let connection, let local, let remote):
            acceptConnection(connection, local: local, remote: remote)
        case .connectionEstablished(let connection):
            connectionEstablished(connection)
        case .connectionFailed(let connection, let reason):
            drive(connection, .connectionClosed, reason: "connect failed: \(reason)")
        case .connectionClosed(let connection, let reason):
            drive(connection, .connectionClosed, reason: "connection closed: \(reason)")
        case .dataReceived(let connection, let bytes):
            receiveData(bytes, on: connection)
        case .timerFired(let timer):
            timerFired(timer)
        case .routeChanged(let route):
            process(lib.update(route))
        case .routeRemoved(let prefix):
            process(lib.removeRoute(prefix))
        case .interfaceChanged(let name, let isUp, let addresses):
            interfaceChanged(name: name, isUp: isUp, addresses: addresses)
        case .configurationChanged(let configuration):
            reconfigure(configuration)
        case .clearNeighbor(let peer):
            backoffs[peer] = nil
            if let connection = connectionByPeer[peer] {
                drive(connection, .fatalErrorDetected(.shutdown), reason: "cleared by the operator")
            }
        case .shutdown:
            shutdown()
        }
        refreshMD5Keys()
        flushAll()
        if !lfibChanges.isEmpty { outputs.append(.lfib(lfibChanges)) }
        let result = outputs
        outputs = []
        lfibChanges = []
        return result
    }

    // MARK: - Start, shutdown, interfaces, configuration

    mutating func start() {
        guard !isStarted else { return }
        isStarted = true
        isShuttingDown = false
        updateLocalAddresses()
        refreshHelloTargets()
    }

    mutating func shutdown() {
        isShuttingDown = true
        for connection in sessions.keys.sorted() {
            drive(connection, .fatalErrorDetected(.shutdown), reason: "shutting down")
        }
        for target in activeHelloTargets.sorted() { outputs.append(.cancelTimer(.helloSend(target))) }
        activeHelloTargets = []
        for key in adjacencies.keys.sorted() { removeAdjacency(key, reason: "shutting down") }
        for peer in backoffs.keys.sorted() { outputs.append(.cancelTimer(.backoff(peer))) }
        backoffs = [:]
        isStarted = false
    }

    mutating func interfaceChanged(name: String, isUp: Bool, addresses: [IPAddress]) {
        interfaceStates[name] = InterfaceState(isUp: isUp, addresses: addresses)
        if !isUp || interfaceStates[name]?.firstIPv4 == nil {
            for (key, _) in adjacencies.sorted(by: { $0.key < $1.key }) {
                if case .link(let interface, _) = key, interface == name {
                    removeAdjacency(key, reason: "interface \(name) down")
                }
            }
        }
        updateLocalAddresses()
        refreshHelloTargets()
    }

    /// The addresses we advertise (§3.5.5): every address of every up interface.
    mutating func updateLocalAddresses() {
        var addresses: Set<IPAddress> = []
        for state in interfaceStates.values where state.isUp {
            for address in state.addresses {
                if case .v4(let v4) = address, !HelloAddresses.isUsableTransportAddress(v4) { continue }
                addresses.insert(address)
            }
        }
        addresses.insert(.v4(configuration.transportAddress))
        guard addresses != localAddresses else { return }
        localAddresses = addresses
        process(lib.setLocalAddresses(addresses))
    }

    mutating func reconfigure(_ new: EngineConfiguration) {
        let old = configuration
        guard new != old else { return }
        configurationSequenceNumber &+= 1
        if old.requiresSessionReset(comparedTo: new) {
            for connection in sessions.keys.sorted() {
                drive(connection, .fatalErrorDetected(.shutdown), reason: "LSR ID or transport address changed")
            }
            for peer in backoffs.keys.sorted() { outputs.append(.cancelTimer(.backoff(peer))) }
            backoffs = [:]
        }
        configuration = new
        if old.labelDistribution != new.labelDistribution {
            process(lib.reconfigure(new.labelDistribution))
        }
        // Adjacencies the new configuration no longer allows.
        for (key, adjacency) in adjacencies.sorted(by: { $0.key < $1.key }) {
            switch key {
            case .link(let interface, _):
                if new.interface(named: interface) == nil { removeAdjacency(key, reason: "interface \(interface) removed from LDP") }
            case .targeted(let source):
                if !acceptsTargetedHello(from: source) { removeAdjacency(key, reason: "targeted hellos from \(source) no longer accepted") }
            }
            _ = adjacency
        }
        updateLocalAddresses()
        refreshHelloTargets()
        for peer in Set(adjacencies.values.map(\.peer)).sorted() { considerSession(with: peer) }
    }

    /// Keys for every configured targeted neighbor and every adjacency's transport address that
    /// has a password, so the listening socket accepts exactly those peers' signed segments.
    mutating func refreshMD5Keys() {
        var desired: [IPv4Address: String] = [:]
        if isStarted && !isShuttingDown {
            for neighbor in configuration.targetedNeighbors {
                if let password = configuration.md5Password(peer: nil, transportAddress: neighbor.address) {
                    desired[neighbor.address] = password
                }
            }
            for adjacency in adjacencies.values {
                if let password = configuration.md5Password(peer: adjacency.peer, transportAddress: adjacency.transportAddress) {
                    desired[adjacency.transportAddress] = password
                }
            }
        }
        guard desired != installedMD5Keys else { return }
        for (address, _) in installedMD5Keys.sorted(by: { $0.key < $1.key }) where desired[address] == nil {
            outputs.append(.setMD5Key(remote: .v4(address), password: nil))
        }
        for (address, password) in desired.sorted(by: { $0.key < $1.key }) where installedMD5Keys[address] != password {
            outputs.append(.setMD5Key(remote: .v4(address), password: password))
        }
        installedMD5Keys = desired
    }

    // MARK: - Timers

    mutating func timerFired(_ timer: TimerID) {
        switch timer {
        case .helloSend(let target):
            guard activeHelloTargets.contains(target) else { return }
            sendHello(to: target)
            outputs.append(.armTimer(timer, after: helloInterval(for: target)))
        case .adjacencyExpiry(let key):
            adjacencyTimerFired(key)
        case .keepAliveSend(let connection):
            guard let session = sessions[connection], session.state == .operational,
                  let negotiated = session.negotiated else { return }
            enqueue(.keepAlive, on: connection)
            outputs.append(.armTimer(timer, after: negotiated.keepAliveInterval))
        case .keepAliveExpiry(let connection):
            guard let session = sessions[connection], session.state == .operational,
                  let negotiated = session.negotiated else { return }
            let deadline = session.lastReceived + .seconds(Int64(negotiated.keepAliveTime))
            if now >= deadline {
                drive(connection, .timeout, reason: "KeepAlive timer expired: nothing received for \(negotiated.keepAliveTime)s")
            } else {
                outputs.append(.armTimer(timer, after: deadline - now))
            }
        case .initializationTimeout(let connection):
            guard let session = sessions[connection],
                  [.initialized, .openSent, .openReceived].contains(session.state) else { return }
            drive(connection, .timeout, reason: "initialization not complete after \(configuration.initializationTimeout)s")
        case .backoff(let peer):
            guard backoffs[peer]?.isWaiting == true else { return }
            backoffs[peer]?.nextAttempt = nil
            considerSession(with: peer)
        case .helloWait(let connection):
            guard let session = sessions[connection], session.peer == nil,
                  let pending = session.pendingInitialization else { return }
            rejectWithoutHello(pending, on: connection)
        }
    }

    // MARK: - LIB

    /// Carries out what the LIB asked for: messages to operational peers, LFIB deltas, events.
    mutating func process(_ libOutputs: [LIBOutput]) {
        for output in libOutputs {
            switch output {
            case .send(let peer, let body, let messageID):
                guard let connection = connectionByPeer[peer], sessions[connection]?.state == .operational else { continue }
                enqueue(body, on: connection, messageID: messageID)
            case .lfib(let change):
                lfibChanges.append(change)
            case .event(let event):
                outputs.append(.event(.label(event)))
            }
        }
    }

    // MARK: - Sending

    mutating func allocateMessageID() -> UInt32 {
        let id = nextMessageID
        nextMessageID = nextMessageID == UInt32.max ? 1 : nextMessageID + 1
        return id
    }

    /// Queues a message for the connection; it leaves in a PDU at the end of this `handle`
    /// call, or earlier if the connection is about to close.
    mutating func enqueue(_ body: MessageBody, on connection: ConnectionID, messageID: UInt32? = nil) {
        guard sessions[connection] != nil else { return }
        let message = Message(id: messageID ?? allocateMessageID(), body: body)
        sessions[connection]?.sent.count(body)
        if outbox[connection] == nil { outboxOrder.append(connection) }
        outbox[connection, default: []].append(message)
    }

    mutating func flush(_ connection: ConnectionID) {
        guard let messages = outbox.removeValue(forKey: connection), !messages.isEmpty else { return }
        let maximumLength = sessions[connection]?.negotiated?.maximumPDULength
            ?? LocalSessionProposal.effectiveMaximumPDULength(configuration.maximumPDULength)
        outputs.append(.send(connection, PDUPacking.stream(messages, from: ldpIdentifier, maximumLength: maximumLength)))
    }

    mutating func flushAll() {
        for connection in outboxOrder { flush(connection) }
        outboxOrder = []
    }
}
