// Basic and Extended Discovery (RFC 5036 §2.4, §2.5.5, §2.5.6).

import LDPCodec

extension LDPEngine {
    // MARK: Sending Hellos

    /// Where Hellos should go now: up LDP interfaces with an IPv4 address, configured targeted
    /// neighbors, and sources whose accepted Targeted Hellos asked for ours (R bit).
    func desiredHelloTargets() -> Set<HelloTarget> {
        guard isStarted, !isShuttingDown else { return [] }
        var targets: Set<HelloTarget> = []
        for interface in configuration.interfaces {
            if let state = interfaceStates[interface.name], state.isUp, state.firstIPv4 != nil {
                targets.insert(.interface(interface.name))
            }
        }
        for neighbor in configuration.targetedNeighbors { targets.insert(.targeted(neighbor.address)) }
        for adjacency in adjacencies.values where adjacency.requestsTargetedHellos {
            if case .targeted(let source) = adjacency.key { targets.insert(.targeted(source)) }
        }
        return targets
    }

    /// Starts Hellos to new targets (one right away, then every interval) and stops the others.
    mutating func refreshHelloTargets() {
        let desired = desiredHelloTargets()
        for target in activeHelloTargets.subtracting(desired).sorted() {
            outputs.append(.cancelTimer(.helloSend(target)))
        }
        let added = desired.subtracting(activeHelloTargets).sorted()
        activeHelloTargets = desired
        for target in added {
            sendHello(to: target)
            outputs.append(.armTimer(.helloSend(target), after: helloInterval(for: target)))
        }
    }

    func helloInterval(for target: HelloTarget) -> EngineDuration {
        switch target {
        case .interface(let name):
            return .seconds(Int64(max(1, configuration.interface(named: name)?.helloInterval ?? 5)))
        case .targeted(let address):
            return .seconds(Int64(max(1, configuration.targetedNeighbor(address)?.helloInterval ?? 15)))
        }
    }

    func localHoldTime(for target: HelloTarget) -> UInt16 {
        switch target {
        case .interface(let name): configuration.interface(named: name)?.holdTime ?? HelloHoldTime.defaultLink
        case .targeted(let address): configuration.targetedNeighbor(address)?.holdTime ?? HelloHoldTime.defaultTargeted
        }
    }

    mutating func sendHello(to target: HelloTarget) {
        let isTargeted: Bool
        let output: (interface: String?, source: IPAddress?, destination: IPAddress, ttl: UInt8)
        switch target {
        case .interface(let name):
            guard let source = interfaceStates[name]?.firstIPv4 else { return }
            isTargeted = false
            output = (name, .v4(source), .v4(HelloAddresses.allRouters), HelloAddresses.linkTTL(gtsm: configuration.gtsm))
        case .targeted(let address):
            isTargeted = true
            output = (nil, .v4(configuration.transportAddress), .v4(address), HelloAddresses.targetedTTL)
        }
        // Configured targeted neighbors ask for Hellos back (R); answers to others do not.
        let requestTargeted: Bool
        if case .targeted(let address) = target { requestTargeted = configuration.targetedNeighbor(address) != nil } else { requestTargeted = false }
        let hello = HelloMessage(
            parameters: CommonHelloParameters(holdTime: localHoldTime(for: target), targeted: isTargeted,
                                              requestTargeted: requestTargeted,
                                              gtsm: !isTargeted && configuration.gtsm),
            ipv4TransportAddress: configuration.transportAddress,
            configurationSequenceNumber: configurationSequenceNumber)
        let pdu = PDU(ldpIdentifier: ldpIdentifier, messages: [Message(id: allocateMessageID(), body: .hello(hello))])
        outputs.append(.sendHello(interface: output.interface, source: output.source, destination: output.destination,
                                  ttl: output.ttl, bytes: pdu.encoded()))
    }

    // MARK: Receiving Hellos

    /// §2.4.2: Targeted Hellos from configured neighbors, or from sources the policy allows.
    func acceptsTargetedHello(from source: IPv4Address) -> Bool {
        if configuration.targetedNeighbor(source) != nil { return true }
        switch configuration.targetedHelloPolicy {
        case .configuredNeighborsOnly: return false
        case .any: return true
        case .from(let prefixes): return prefixes.contains { $0.contains(.v4(source)) }
        }
    }

    mutating func receiveHello(interface: String?, source: IPAddress, destination: IPAddress, ttl: UInt8, bytes: [UInt8]) {
        guard isStarted, !isShuttingDown else { return }
        func reject(_ reason: String) {
            outputs.append(.event(.helloRejected(source: source, interface: interface, reason: reason)))
        }
        let accepted: AcceptedHello
        switch validateHello(bytes: bytes, source: source, destination: destination, ttl: ttl,
                             ourIdentifier: ldpIdentifier, gtsmEnabled: configuration.gtsm) {
        case .failure(let rejection): return reject(rejection.reason)
        case .success(let hello): accepted = hello
        }
        let key: AdjacencyKey
        let target: HelloTarget
        if accepted.isTargeted {
            guard case .v4(let sourceV4) = source else { return reject("IPv6 targeted hellos are not supported yet") }
            guard acceptsTargetedHello(from: sourceV4) else {
                return reject("targeted hello from \(sourceV4), which is not a configured neighbor, refused by policy")
            }
            key = .targeted(source: sourceV4)
            target = .targeted(sourceV4)
        } else {
            guard let interface, configuration.interface(named: interface) != nil else {
                return reject("link hello on an interface without LDP")
            }
            guard interfaceStates[interface]?.isUp == true else { return reject("link hello on \(interface), which is down") }
            key = .link(interface: interface, peer: accepted.peer)
            target = .interface(interface)
        }
        let parameters = accepted.hello.parameters
        let holdTime = HelloHoldTime.negotiated(local: localHoldTime(for: target), received: parameters.holdTime,
                                                targeted: accepted.isTargeted)
        let expiresAt = HelloHoldTime.lifetime(holdTime).map { now + $0 }

        if let existing = adjacencies[key], existing.peer != accepted.peer {
            // Another LSR now uses this source address: the old adjacency is gone.
            removeAdjacency(key, reason: "source now used by \(accepted.peer)")
        }
        if var adjacency = adjacencies[key] {
            if let number = accepted.hello.configurationSequenceNumber,
               adjacency.configurationSequenceNumber != number {
                // §3.5.2: a new sequence number means the peer's configuration changed; nothing resets.
                outputs.append(.event(.configurationSequenceChanged(peer: accepted.peer, sequenceNumber: number)))
            }
            let requestedBefore = adjacency.requestsTargetedHellos
            adjacency.source = source
            adjacency.transportAddress = accepted.transportAddress
            adjacency.proposedHoldTime = parameters.holdTime
            adjacency.holdTime = holdTime
            adjacency.gtsm = !accepted.isTargeted && configuration.gtsm && parameters.gtsm
            adjacency.requestsTargetedHellos = accepted.isTargeted && parameters.requestTargeted
            adjacency.configurationSequenceNumber = accepted.hello.configurationSequenceNumber
            adjacency.expiresAt = expiresAt
            adjacencies[key] = adjacency
            armAdjacencyTimerIfSooner(key)
            if requestedBefore != adjacency.requestsTargetedHellos { refreshHelloTargets() }
            // The first Hello after a lost session is most likely a restarted peer's first: it
            // learns of us now, not at our next interval, and is ready for our connection (or
            // makes its own). Once per lost session, so two peers cannot keep answering each other.
            if !accepted.isTargeted, activeHelloTargets.contains(target), peersOwedHello.remove(accepted.peer) != nil {
                sendHello(to: target)
            }
        } else {
            let adjacency = Adjacency(
                key: key, peer: accepted.peer, source: source, transportAddress: accepted.transportAddress,
                proposedHoldTime: parameters.holdTime, holdTime: holdTime,
                gtsm: !accepted.isTargeted && configuration.gtsm && parameters.gtsm,
                requestsTargetedHellos: accepted.isTargeted && parameters.requestTargeted,
                configurationSequenceNumber: accepted.hello.configurationSequenceNumber,
                since: now, expiresAt: expiresAt)
            adjacencies[key] = adjacency
            outputs.append(.event(.adjacencyUp(peer: accepted.peer, via: adjacency.discoveryKind, holdTime: holdTime)))
            armAdjacencyTimerIfSooner(key)
            if adjacency.requestsTargetedHellos { refreshHelloTargets() }
            // Answer a new neighbor at once rather than at our next interval: the passive side
            // must know us before our Initialization arrives, or it answers No Hello (§2.5.3)
            // and the session waits out a backoff.
            if !accepted.isTargeted, activeHelloTargets.contains(target) { sendHello(to: target) }
            adoptWaitingConnections(for: accepted.peer, transportAddress: accepted.transportAddress)
        }
        considerSession(with: accepted.peer)
    }

    // MARK: Adjacency hold timers

    /// The expiry timer only moves earlier here; when it fires early it re-arms for the rest.
    mutating func armAdjacencyTimerIfSooner(_ key: AdjacencyKey) {
        guard let expiresAt = adjacencies[key]?.expiresAt else { return }
        if let armed = adjacencyTimerDeadlines[key], armed <= expiresAt { return }
        adjacencyTimerDeadlines[key] = expiresAt
        outputs.append(.armTimer(.adjacencyExpiry(key), after: expiresAt - now))
    }

    mutating func adjacencyTimerFired(_ key: AdjacencyKey) {
        adjacencyTimerDeadlines[key] = nil
        guard let adjacency = adjacencies[key], let expiresAt = adjacency.expiresAt else { return }
        if now >= expiresAt {
            removeAdjacency(key, reason: "hold time \(adjacency.holdTime)s expired")
        } else {
            armAdjacencyTimerIfSooner(key)
        }
    }

    /// §2.5.6: when the last adjacency of a session goes, the session goes too.
    mutating func removeAdjacency(_ key: AdjacencyKey, reason: String) {
        guard let adjacency = adjacencies.removeValue(forKey: key) else { return }
        if adjacencyTimerDeadlines.removeValue(forKey: key) != nil {
            outputs.append(.cancelTimer(.adjacencyExpiry(key)))
        }
        outputs.append(.event(.adjacencyDown(peer: adjacency.peer, via: adjacency.discoveryKind, reason: reason)))
        if adjacency.requestsTargetedHellos { refreshHelloTargets() }
        let peer = adjacency.peer
        guard !adjacencies.values.contains(where: { $0.peer == peer }) else { return }
        peersOwedHello.remove(peer)
        if backoffs.removeValue(forKey: peer) != nil { outputs.append(.cancelTimer(.backoff(peer))) }
        if let connection = connectionByPeer[peer] {
            drive(connection, .fatalErrorDetected(.holdTimerExpired), reason: "last hello adjacency lost: \(reason)")
        }
    }

    func adjacencies(of peer: LDPIdentifier) -> [Adjacency] {
        adjacencies.values.filter { $0.peer == peer }.sorted { $0.key < $1.key }
    }
}
