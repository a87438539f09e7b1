// Session establishment and life (RFC 5036 §2.5.2 - §2.5.6, §3.5.1).

import LDPCodec

extension LDPEngine {
    /// The longest PDU we accept: our own Max PDU Length proposal.
    var receiveLimit: Int { LocalSessionProposal.effectiveMaximumPDULength(configuration.maximumPDULength) }

    var localProposal: LocalSessionProposal {
        LocalSessionProposal(ldpIdentifier: ldpIdentifier, keepAliveTime: configuration.keepAliveTime,
                             maximumPDULength: configuration.maximumPDULength)
    }

    /// §2.5.2: the LSR with the greater transport address is active; nil when both are equal.
    func role(towards transportAddress: IPv4Address) -> SessionRole? {
        if configuration.transportAddress > transportAddress { return .active }
        if configuration.transportAddress < transportAddress { return .passive }
        return nil
    }

    /// A session is single-hop when all its adjacencies are Link Hello adjacencies; RFC 6720
    /// applies GTSM to it when both sides set G.
    func usesGTSM(_ adjacencies: [Adjacency]) -> Bool {
        !adjacencies.isEmpty && adjacencies.allSatisfy { !$0.isTargeted && $0.gtsm }
    }

    /// With an adjacency and no session, the active side opens the connection (§2.5.3).
    mutating func considerSession(with peer: LDPIdentifier) {
        guard isStarted, !isShuttingDown, connectionByPeer[peer] == nil else { return }
        let peerAdjacencies = adjacencies(of: peer)
        guard let adjacency = peerAdjacencies.first,
              role(towards: adjacency.transportAddress) == .active,
              backoffs[peer]?.isWaiting != true else { return }
        let connection = ConnectionID.outgoing(nextOutgoingConnection)
        nextOutgoingConnection += 1
        let password = configuration.md5Password(peer: peer, transportAddress: adjacency.transportAddress)
        let gtsm = usesGTSM(peerAdjacencies)
        let session = Session(connection: connection, peer: peer, role: .active,
                              localAddress: .v4(configuration.transportAddress),
                              remoteAddress: .v4(adjacency.transportAddress),
                              md5: password != nil, gtsm: gtsm, receiveLimit: receiveLimit, now: now)
        sessions[connection] = session
        connectionByPeer[peer] = connection
        outputs.append(.event(.connectionAttempt(peer: peer, remote: session.remoteAddress, connection: connection)))
        outputs.append(.connect(connection, local: session.localAddress, remote: session.remoteAddress,
                                md5Password: password, gtsm: gtsm))
    }

    /// §2.5.3: the passive side matches the connection to an adjacency by the peer's
    /// transport address. Without one, it waits for the Initialization to reject it.
    mutating func acceptConnection(_ connection: ConnectionID, local: IPAddress, remote: IPAddress) {
        guard isStarted, !isShuttingDown, sessions[connection] == nil else {
            outputs.append(.event(.connectionRejected(connection: connection, remote: remote, reason: "not running")))
            outputs.append(.close(connection))
            return
        }
        let matching = adjacencies.values.filter { .v4($0.transportAddress) == remote }.sorted { $0.key < $1.key }
        var peer: LDPIdentifier?
        var gtsm = false
        if let adjacency = matching.first {
            let candidate = adjacency.peer
            if role(towards: adjacency.transportAddress) != .passive {
                outputs.append(.event(.connectionRejected(connection: connection, remote: remote,
                                                          reason: "\(candidate) must wait for us: we are the active side")))
                outputs.append(.close(connection))
                return
            }
            if let existing = connectionByPeer[candidate] {
                outputs.append(.event(.connectionRejected(
                    connection: connection, remote: remote,
                    reason: "a session with \(candidate) exists (\(existing), \(sessions[existing]?.state ?? .nonExistent))")))
                outputs.append(.close(connection))
                return
            }
            peer = candidate
            gtsm = usesGTSM(adjacencies(of: candidate))
        }
        let password = configuration.md5Password(peer: peer, transportAddress: remote.ipv4 ?? .any)
        let session = Session(connection: connection, peer: peer, role: .passive, localAddress: local,
                              remoteAddress: remote, md5: password != nil, gtsm: gtsm, receiveLimit: receiveLimit, now: now)
        sessions[connection] = session
        if let peer { connectionByPeer[peer] = connection }
        if gtsm { outputs.append(.setGTSM(connection)) }
        drive(connection, .connectionUp, reason: "connection accepted")
    }

    mutating func connectionEstablished(_ connection: ConnectionID) {
        guard sessions[connection]?.state == .nonExistent else { return }
        sessions[connection]?.connectedAt = now
        sessions[connection]?.lastReceived = now
        // GTSM and MD5 of an active open were set by `connect`.
        drive(connection, .connectionUp, reason: "connection established")
    }

    // MARK: - The state machine, applied

    /// Runs one event through the state machine and carries out its actions.
    /// - Parameter notification: the Notification to send instead of a bare status, when the
    ///   event comes from a decode error that has its own (with Returned PDU or Message).
    mutating func drive(_ connection: ConnectionID, _ event: SessionEvent, reason: String,
                        notification: NotificationMessage? = nil) {
        guard let session = sessions[connection] else { return }
        let transition = sessionTransition(from: session.state, role: session.role, on: event)
        if transition.state != session.state {
            outputs.append(.event(.sessionStateChanged(peer: session.peer, connection: connection,
                                                       from: session.state, to: transition.state)))
        }
        sessions[connection]?.state = transition.state
        if session.state == .nonExistent, event == .connectionUp { sessions[connection]?.connectedAt = now }
        for action in transition.actions {
            perform(action, on: connection, notification: notification)
        }
        let ends: Bool
        switch (session.state, event) {
        case (.nonExistent, .connectionClosed), (.nonExistent, .fatalErrorDetected): ends = true
        case (.nonExistent, _): ends = false
        default: ends = transition.state == .nonExistent
        }
        if ends { endSession(connection, reason: reason) }
    }

    mutating func perform(_ action: SessionAction, on connection: ConnectionID, notification: NotificationMessage?) {
        guard let session = sessions[connection] else { return }
        switch action {
        case .sendInitialization:
            guard let peer = session.peer else { return }
            enqueue(.initialization(localProposal.initialization(to: peer)), on: connection)
        case .sendKeepAlive:
            enqueue(.keepAlive, on: connection)
        case .sendFatalNotification(let code):
            var message = notification ?? NotificationMessage(status: Status(code: code, isFatal: true))
            message.status.isFatal = true
            enqueue(.notification(message), on: connection)
            outputs.append(.event(.notificationSent(peer: session.peer, code: message.status.code, fatal: true)))
        case .startInitializationTimer:
            outputs.append(.armTimer(.initializationTimeout(connection), after: .seconds(Int64(configuration.initializationTimeout))))
        case .enterOperational:
            enterOperational(connection)
        case .closeConnection:
            flush(connection)
            outputs.append(.close(connection))
        }
    }

    mutating func enterOperational(_ connection: ConnectionID) {
        guard var session = sessions[connection], let peer = session.peer, let negotiated = session.negotiated else { return }
        session.operationalSince = now
        session.peerCapabilities = negotiated.peerCapabilities
        sessions[connection] = session
        outputs.append(.cancelTimer(.initializationTimeout(connection)))
        outputs.append(.armTimer(.keepAliveSend(connection), after: negotiated.keepAliveInterval))
        outputs.append(.armTimer(.keepAliveExpiry(connection), after: .seconds(Int64(negotiated.keepAliveTime))))
        if backoffs.removeValue(forKey: peer) != nil { outputs.append(.cancelTimer(.backoff(peer))) }
        outputs.append(.event(.sessionUp(peer: peer, role: session.role, keepAliveTime: negotiated.keepAliveTime,
                                         maximumPDULength: negotiated.maximumPDULength)))
        process(lib.peerUp(peer, capabilities: negotiated.peerCapabilities))
    }

    /// Any session end: timers stop, the LIB forgets the peer, the active side backs off if
    /// the session never came up (§2.5.3, see `SessionBackoff`) or tries again at once if it had.
    mutating func endSession(_ connection: ConnectionID, reason: String) {
        guard let session = sessions.removeValue(forKey: connection) else { return }
        outbox[connection] = nil
        if let peer = session.peer, connectionByPeer[peer] == connection { connectionByPeer[peer] = nil }
        outputs.append(.cancelTimer(.initializationTimeout(connection)))
        if session.hasBeenOperational {
            outputs.append(.cancelTimer(.keepAliveSend(connection)))
            outputs.append(.cancelTimer(.keepAliveExpiry(connection)))
        }
        outputs.append(.event(.sessionDown(peer: session.peer, connection: connection, reason: reason)))
        guard let peer = session.peer else { return }
        if session.hasBeenOperational {
            process(lib.peerDown(peer))
        }
        guard !isShuttingDown, !adjacencies(of: peer).isEmpty else { return }
        peersOwedHello.insert(peer)
        if session.role == .active && !session.hasBeenOperational {
            let delay = backoffs[peer, default: SessionBackoff(configuration.sessionBackoff)].fail(peerSpoke: session.received.total > 0,
                                                                           reason: reason, at: now)
            outputs.append(.event(.backoff(peer: peer, delay: delay)))
            outputs.append(.armTimer(.backoff(peer), after: delay))
        } else {
            considerSession(with: peer)
        }
    }

    // MARK: - Receiving

    mutating func receiveData(_ bytes: [UInt8], on connection: ConnectionID) {
        guard sessions[connection] != nil else { return }
        sessions[connection]?.framer.append(bytes)
        // No copy of the session may live across `framer.next()`: it would make the framer's
        // buffer copy itself on every PDU of a large burst.
        while let state = sessions[connection]?.state, state != .nonExistent {
            let pdu: [UInt8]?
            do {
                pdu = try sessions[connection]?.framer.next()
            } catch {
                outputs.append(.event(.decodeError(peer: sessions[connection]?.peer, detail: error.description)))
                drive(connection, .fatalErrorDetected(error.statusCode), reason: "bad PDU: \(error)",
                      notification: error.notification)
                return
            }
            guard let pdu else { return }
            receivePDU(pdu, on: connection)
        }
    }

    mutating func receivePDU(_ bytes: [UInt8], on connection: ConnectionID) {
        guard let session = sessions[connection] else { return }
        sessions[connection]?.lastReceived = now
        let maximumLength = LocalSessionProposal.effectiveMaximumPDULength(configuration.maximumPDULength)
        let decoded: DecodedPDU
        do {
            decoded = try PDU.decode(bytes, maximumLength: maximumLength)
        } catch {
            outputs.append(.event(.decodeError(peer: session.peer, detail: error.description)))
            drive(connection, .fatalErrorDetected(error.statusCode), reason: "bad PDU: \(error)",
                  notification: error.notification)
            return
        }
        // §3.5.1.2.1: the PDU must come from the session's peer (and label space 0: §2.5.2).
        if let peer = session.peer, decoded.ldpIdentifier != peer {
            let error = LDPDecodingError(.badLDPIdentifier, bytes: Array(bytes.prefix(PDU.headerLength)))
            outputs.append(.event(.decodeError(peer: peer, detail: "PDU from \(decoded.ldpIdentifier) on the session with \(peer)")))
            drive(connection, .fatalErrorDetected(.badLDPIdentifier), reason: "PDU from \(decoded.ldpIdentifier)",
                  notification: error.notification)
            return
        }
        for item in decoded.items {
            guard let current = sessions[connection], current.state != .nonExistent else { return }
            switch item {
            case .message(let message):
                sessions[connection]?.received.count(message.body)
                receive(message, from: decoded.ldpIdentifier, on: connection)
            case .ignored:
                continue
            case .error(let error):
                outputs.append(.event(.decodeError(peer: current.peer ?? decoded.ldpIdentifier, detail: error.description)))
                if error.isFatal {
                    drive(connection, .fatalErrorDetected(error.statusCode), reason: "\(error)", notification: error.notification)
                    return
                }
                // §3.5.1.1: an advisory error is reported and the session goes on.
                enqueue(.notification(error.notification), on: connection)
                outputs.append(.event(.notificationSent(peer: current.peer, code: error.statusCode, fatal: false)))
            }
        }
    }

    mutating func receive(_ message: Message, from sender: LDPIdentifier, on connection: ConnectionID) {
        guard let session = sessions[connection] else { return }
        switch message.body {
        case .initialization(let initialization):
            receiveInitialization(initialization, message: message, from: sender, on: connection)
        case .keepAlive:
            drive(connection, .keepAliveReceived, reason: "KeepAlive out of sequence")
        case .notification(let notification):
            let code = notification.status.code
            outputs.append(.event(.notificationReceived(peer: session.peer ?? sender, code: code, fatal: notification.status.isFatal)))
            if notification.status.isFatal {
                drive(connection, .fatalNotificationReceived, reason: "peer sent \(code.name)")
            } else if session.state == .operational, let peer = session.peer {
                process(lib.receive(message, from: peer))
            } else {
                drive(connection, .otherMessageReceived, reason: "Notification during initialization")
            }
        case .capability(let capabilities):
            guard session.state == .operational, let peer = session.peer else {
                return drive(connection, .otherMessageReceived, reason: "Capability during initialization")
            }
            receiveCapabilities(capabilities, message: message, from: peer, on: connection)
        default:
            guard session.state == .operational, let peer = session.peer else {
                return drive(connection, .otherMessageReceived,
                             reason: "\(message.type.map { "\($0)" } ?? "unknown") message during initialization")
            }
            process(lib.receive(message, from: peer))
        }
    }

    mutating func receiveInitialization(_ initialization: InitializationMessage, message: Message,
                                        from sender: LDPIdentifier, on connection: ConnectionID) {
        guard let session = sessions[connection] else { return }
        func reject(_ code: StatusCode, _ reason: String) {
            let notification = NotificationMessage(status: Status(code: code, isFatal: true, messageID: message.id,
                                                                  messageType: MessageType.initialization.rawValue))
            drive(connection, .unacceptableInitializationReceived(code), reason: reason, notification: notification)
        }
        guard session.peer != nil else {
            // §2.5.3: no Hello adjacency for this connection. The sender's first Hello is often
            // just behind its connection (both leave when it hears our Hello): wait a moment
            // for it before refusing, rather than sending the peer into a 15 s backoff.
            guard session.pendingInitialization == nil else { return }
            sessions[connection]?.pendingInitialization = PendingInitialization(
                initialization: initialization, message: message, sender: sender)
            // The Hello may have come between the connection and this Initialization: the
            // connection had no adjacency when it was accepted, but the sender has one now.
            if case .v4(let remote) = session.remoteAddress,
               adjacencies(of: sender).contains(where: { $0.transportAddress == remote }) {
                adoptWaitingConnections(for: sender, transportAddress: remote)
            } else {
                outputs.append(.armTimer(.helloWait(connection), after: Self.helloWaitForInitialization))
            }
            return
        }
        // Only before our side is open do the parameters matter; later the machine refuses it.
        guard session.state == .initialized || session.state == .openSent else {
            return drive(connection, .acceptableInitializationReceived, reason: "Initialization in \(session.state)")
        }
        switch localProposal.negotiate(with: initialization, unknownTLVs: message.unknownTLVs) {
        case .failure(let rejection):
            reject(rejection.code, "Initialization rejected: \(rejection.reason)")
        case .success(let negotiated):
            // Received PDUs stay checked against our own proposal: what we said we accept.
            sessions[connection]?.negotiated = negotiated
            drive(connection, .acceptableInitializationReceived, reason: "Initialization accepted")
        }
    }

    static let helloWaitForInitialization = EngineDuration.seconds(2)

    /// §2.5.3: still no Hello adjacency for the sender of this Initialization.
    mutating func rejectWithoutHello(_ pending: PendingInitialization, on connection: ConnectionID) {
        guard let session = sessions[connection] else { return }
        sessions[connection]?.pendingInitialization = nil
        outputs.append(.event(.connectionRejected(connection: connection, remote: session.remoteAddress,
                                                  reason: "no hello adjacency with \(pending.sender)")))
        let notification = NotificationMessage(status: Status(code: .sessionRejectedNoHello, isFatal: true,
                                                              messageID: pending.message.id,
                                                              messageType: MessageType.initialization.rawValue))
        drive(connection, .unacceptableInitializationReceived(.sessionRejectedNoHello),
              reason: "no hello adjacency with \(pending.sender) at \(session.remoteAddress)", notification: notification)
    }

    /// A new adjacency: a connection waiting for this peer's Hello may now go on (§2.5.3).
    mutating func adoptWaitingConnections(for peer: LDPIdentifier, transportAddress: IPv4Address) {
        for (connection, session) in sessions.sorted(by: { $0.key < $1.key }) {
            guard session.peer == nil, let pending = session.pendingInitialization, pending.sender == peer,
                  session.remoteAddress == .v4(transportAddress) else { continue }
            outputs.append(.cancelTimer(.helloWait(connection)))
            guard role(towards: transportAddress) == .passive, connectionByPeer[peer] == nil else {
                rejectWithoutHello(pending, on: connection)
                continue
            }
            sessions[connection]?.peer = peer
            sessions[connection]?.pendingInitialization = nil
            connectionByPeer[peer] = connection
            if usesGTSM(adjacencies(of: peer)) {
                sessions[connection]?.gtsm = true
                outputs.append(.setGTSM(connection))
            }
            receiveInitialization(pending.initialization, message: pending.message, from: peer, on: connection)
        }
    }

    /// RFC 5561 §5: after OPERATIONAL, capabilities change by Capability message, when both
    /// announced Dynamic Announcement; unknown ones are refused with Unsupported Capability.
    mutating func receiveCapabilities(_ capabilities: CapabilityMessage, message: Message,
                                      from peer: LDPIdentifier, on connection: ConnectionID) {
        guard sessions[connection]?.negotiated?.peerCapabilities.dynamicAnnouncement == true else {
            outputs.append(.event(.decodeError(peer: peer, detail: "Capability message without Dynamic Announcement: ignored")))
            return
        }
        for capability in capabilities.capabilities {
            switch capability.type {
            case Capability.typedWildcardFEC.type:
                sessions[connection]?.peerCapabilities.typedWildcardFEC = capability.isEnabled
            case Capability.unrecognizedNotification.type:
                sessions[connection]?.peerCapabilities.unrecognizedNotification = capability.isEnabled
            default:
                // RFC 5561 §9: Dynamic Announcement itself is only announced in Initialization.
                break
            }
            outputs.append(.event(.capabilityReceived(peer: peer, capability: capability.type, enabled: capability.isEnabled)))
        }
        // The codec keeps capability TLVs it does not know as unknown TLVs: refuse them as sent.
        var refused: [UInt8] = []
        for tlv in message.unknownTLVs {
            let flags: UInt8 = (tlv.unknownBit ? 0x80 : 0) | (tlv.forwardBit ? 0x40 : 0)
            refused += [flags | UInt8(tlv.type >> 8) & 0x3F, UInt8(tlv.type & 0xFF),
                        UInt8(tlv.value.count >> 8), UInt8(tlv.value.count & 0xFF)] + tlv.value
            outputs.append(.event(.capabilityReceived(peer: peer, capability: tlv.type, enabled: tlv.value.first.map { $0 & 0x80 != 0 } ?? false)))
        }
        if !capabilities.capabilities.isEmpty, let updated = sessions[connection]?.peerCapabilities {
            process(lib.updateCapabilities(updated, of: peer))
        }
        if !refused.isEmpty {
            let notification = NotificationMessage(
                status: Status(code: .unsupportedCapability, isFatal: false, messageID: message.id,
                               messageType: MessageType.capability.rawValue),
                returnedTLVs: refused)
            enqueue(.notification(notification), on: connection)
            outputs.append(.event(.notificationSent(peer: peer, code: .unsupportedCapability, fatal: false)))
        }
    }
}

extension IPAddress {
    var ipv4: IPv4Address? {
        if case .v4(let address) = self { address } else { nil }
    }
}
