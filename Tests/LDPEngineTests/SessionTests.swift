import Testing
import LDPCodec
@testable import LDPEngine

/// Two engines joined by one link, talking over in-memory TCP.
@Suite struct SessionTests {
    func pair(_ a: String = "1.1.1.1", _ b: String = "2.2.2.2",
              configure: (inout EngineConfiguration) -> Void = { _ in }) -> InMemoryNetwork {
        var network = InMemoryNetwork()
        network.addNode("A", lsrID: a, configure: configure)
        network.addNode("B", lsrID: b, configure: configure)
        network.connect("A", "B", subnet: 12)
        network.startAll()
        return network
    }

    /// A and B with these TCP MD5 passwords for each other (the same: a session; not: none).
    func md5Pair(_ passwordA: String, _ passwordB: String) -> InMemoryNetwork {
        var network = InMemoryNetwork()
        network.addNode("A", lsrID: "1.1.1.1") { $0.md5Passwords = [v4("2.2.2.2"): passwordA] }
        network.addNode("B", lsrID: "2.2.2.2") { $0.md5Passwords = [v4("1.1.1.1"): passwordB] }
        network.connect("A", "B", subnet: 12)
        network.startAll()
        return network
    }

    func operationalPair(configure: (inout EngineConfiguration) -> Void = { _ in }) -> InMemoryNetwork {
        var network = pair(configure: configure)
        network.run(until: .seconds(30)) { $0.isOperational("A", "B") }
        return network
    }

    func sessionConnection(_ network: InMemoryNetwork, _ node: String, to peer: String) -> ConnectionID? {
        network.node(node).engine.neighbors(at: network.now).first { $0.peer == network.node(peer).identifier }?.connection
    }

    @Test(arguments: [("1.1.1.1", "2.2.2.2"), ("3.3.3.3", "2.2.2.2")])
    func reachesOperationalInBothRoles(_ addresses: (String, String)) {
        var network = pair(addresses.0, addresses.1)
        #expect(network.run(until: .seconds(30)) { $0.isOperational("A", "B") })
        let a = network.node("A").engine.neighbors(at: network.now)
        let b = network.node("B").engine.neighbors(at: network.now)
        let aIsActive = v4(addresses.0) > v4(addresses.1)
        #expect(a.first?.role == (aIsActive ? .active : .passive))
        #expect(b.first?.role == (aIsActive ? .passive : .active))
        #expect(a.first?.keepAliveTime == 180)
        #expect(a.first?.maximumPDULength == 4096)
        #expect(a.first?.capabilities == PeerCapabilities(typedWildcardFEC: true, unrecognizedNotification: true,
                                                           dynamicAnnouncement: true))
        #expect(a.first?.gtsm == true && b.first?.gtsm == true, "both set G on a link: GTSM")
        #expect(!network.node("A").gtsmConnections.isEmpty && !network.node("B").gtsmConnections.isEmpty)
        #expect(network.node("A").events.contains { if case .sessionUp(network.node("B").identifier, _, 180, 4096) = $0 { true } else { false } })
        // Exactly one Initialization each way.
        #expect(network.messagesSent(by: "A").filter { $0.type == .initialization }.count == 1)
        #expect(network.messagesSent(by: "B").filter { $0.type == .initialization }.count == 1)
    }

    @Test func keepAlivesHoldTheSessionForHours() {
        var network = operationalPair { $0.keepAliveTime = 30 }
        let since = network.now
        network.run(for: .seconds(3 * 3600))
        #expect(network.isOperational("A", "B"))
        let neighbor = network.node("A").engine.neighbors(at: network.now).first
        #expect(neighbor?.uptime.map { $0 >= network.now - since } == true)
        // Every 10 s (a third of 30 s) for three hours: about 1080 each way.
        let received = neighbor?.messagesReceived[.keepAlive] ?? 0
        #expect((1070...1090).contains(received), "\(received)")
        #expect(!network.node("A").events.contains { if case .sessionDown = $0 { true } else { false } })
    }

    @Test func silentPeerExpiresTheKeepAliveTimer() {
        var network = operationalPair { $0.keepAliveTime = 30 }
        let start = network.now
        network.node("B").isSilentOnTCP = true
        network.run(until: .seconds(60)) { network in
            network.node("A").events.contains { if case .sessionDown = $0 { true } else { false } }
        }
        let down = network.node("A").events.compactMap { event -> String? in
            if case .sessionDown(_, _, let reason) = event { reason } else { nil }
        }
        #expect(down.first?.contains("KeepAlive timer expired") == true)
        #expect(network.now - start >= .seconds(29) && network.now - start <= .seconds(31))
        #expect(network.notificationsSent(by: "A").contains { $0.code == .keepAliveTimerExpired && $0.isFatal })
    }

    @Test func sessionComesBackAfterPeerRestart() {
        var network = operationalPair()
        network.restart("B")
        network.run(for: .milliseconds(1))
        #expect(network.sessionDowns("A").first?.contains("connection reset") == true, "A saw the connection reset")
        #expect(network.run(until: .seconds(60)) { $0.isOperational("A", "B") })
    }

    @Test func peerRestartedWhileWeRetryIsFoundWithinSeconds() {
        // A (1.1.1.1, the passive side) is killed: B's reconnection is refused while A is down.
        var network = operationalPair()
        network.crash("A")
        network.run(for: .milliseconds(500))
        #expect(network.node("B").events.contains { if case .backoff(_, let delay) = $0 { delay == .seconds(1) } else { false } })
        let restarted = network.now
        network.restart("A")
        #expect(network.run(until: .seconds(10)) { $0.isOperational("A", "B") })
        #expect(network.now - restarted <= .seconds(3), "\(network.node("B").events.suffix(25))")
        #expect(network.node("B").engine.backoffs(at: network.now).isEmpty, "a session that came up ends the backoff")
    }

    @Test func peersThatCannotConnectDoNotKeepAnsweringEachOther() {
        // MD5 keys that differ: every attempt fails, every failure owes the peer one answer.
        var network = md5Pair("one", "two")
        network.run(for: .seconds(60))
        for name in ["A", "B"] {
            let hellos = network.node(name).outputs.filter { if case .sendHello = $0.output { true } else { false } }
            let attempts = network.node(name).outputs.filter { if case .connect = $0.output { true } else { false } }
            // One every 5 s from 0 to 60, one answering the new adjacency, and at most one
            // answer per failed attempt.
            #expect(hellos.count <= 14 + attempts.count, "\(name): \(hellos.count) hellos, \(attempts.count) attempts")
        }
    }

    @Test func losingTheLastAdjacencyEndsTheSession() {
        var network = operationalPair()
        network.setLink("A-B", isUp: false)
        network.run(for: .seconds(1))
        #expect(network.sessionState("A", with: "B") == nil)
        #expect(network.sessionState("B", with: "A") == nil)
        #expect(network.node("A").events.contains { if case .adjacencyDown = $0 { true } else { false } })
        network.setLink("A-B", isUp: true)
        #expect(network.run(until: .seconds(60)) { $0.isOperational("A", "B") })
    }

    @Test func adjacencyExpiryEndsTheSessionWithHoldTimerExpired() {
        var network = operationalPair()
        // B stops sending Hellos but keeps its TCP session: A's adjacency expires.
        network.node("B").isSilentOnUDP = true
        network.run(until: .seconds(20)) { $0.sessionState("A", with: "B") == nil }
        #expect(network.sessionState("A", with: "B") == nil)
        #expect(network.notificationsSent(by: "A").contains { $0.code == .holdTimerExpired })
    }

    @Test func shutdownSendsShutdownOnEverySession() {
        var network = operationalPair()
        network.inject("A", .shutdown)
        network.run(for: .seconds(1))
        #expect(network.notificationsSent(by: "A").contains { $0.code == .shutdown && $0.isFatal })
        #expect(network.sessionState("B", with: "A") == nil)
        #expect(network.node("B").events.contains { $0 == .notificationReceived(peer: network.node("A").identifier, code: .shutdown, fatal: true) })
        // A sends nothing more: no Hellos, no sessions.
        let before = network.node("A").outputs.count
        network.run(for: .seconds(60))
        #expect(!network.node("A").outputs.dropFirst(before).contains { if case .sendHello = $0.output { true } else { false } })
    }

    @Test func clearNeighborResetsAndReestablishes() {
        var network = operationalPair()
        network.inject("B", .clearNeighbor(network.node("A").identifier))
        network.run(for: .milliseconds(1))
        #expect(network.notificationsSent(by: "B").contains { $0.code == .shutdown })
        #expect(network.run(until: .seconds(60)) { $0.isOperational("A", "B") })
        #expect(network.node("A").events.filter { if case .sessionUp = $0 { true } else { false } }.count == 2)
    }

    @Test func malformedPDUGetsItsNotification() throws {
        var network = operationalPair()
        let connection = try #require(sessionConnection(network, "A", to: "B"))
        // Advisory: an unknown message type with U=0 (§3.5.1.2.1) is reported, the session stays.
        let identifier = network.node("B").identifier
        let unknownMessage: [UInt8] = [0x3F, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x63]
        network.inject("A", .dataReceived(connection, PDUPacking.header(for: identifier, messageOctets: 8) + unknownMessage))
        network.run(for: .milliseconds(1))
        #expect(network.notificationsSent(by: "A").contains { $0.code == .unknownMessageType && !$0.isFatal && $0.messageID == 0x63 })
        #expect(network.isOperational("A", "B"))
        // Fatal: a PDU with protocol version 2.
        network.inject("A", .dataReceived(connection, [0x00, 0x02, 0x00, 0x0E] + Array(repeating: 0, count: 14)))
        network.run(for: .milliseconds(1))
        #expect(network.notificationsSent(by: "A").contains { $0.code == .badProtocolVersion && $0.isFatal })
        #expect(network.sessionDowns("A").count == 1)
        #expect(network.sessionDowns("B").first?.contains("Bad Protocol Version") == true)
    }

    @Test func pduFromAnotherLSRIsBadLDPIdentifier() throws {
        var network = operationalPair()
        let connection = try #require(sessionConnection(network, "A", to: "B"))
        let keepAlive = PDU(ldpIdentifier: ldpID("9.9.9.9:0"), messages: [Message(id: 1, body: .keepAlive)]).encoded()
        network.inject("A", .dataReceived(connection, keepAlive))
        network.run(for: .milliseconds(1))
        #expect(network.notificationsSent(by: "A").contains { $0.code == .badLDPIdentifier && $0.isFatal })
        #expect(network.sessionDowns("A").count == 1)
    }

    @Test func unknownCapabilityIsRefusedWithItsTLV() throws {
        var network = operationalPair()
        let connection = try #require(sessionConnection(network, "A", to: "B"))
        let capability = PDU(ldpIdentifier: network.node("B").identifier, messages: [
            Message(id: 77, body: .capability(CapabilityMessage(capabilities: [Capability(type: 0x0999, data: [1, 2])]))),
        ]).encoded()
        network.inject("A", .dataReceived(connection, capability))
        network.run(for: .milliseconds(1))
        let refusal = network.messagesSent(by: "A").compactMap { message -> NotificationMessage? in
            if case .notification(let note) = message.body, note.status.code == .unsupportedCapability { note } else { nil }
        }.first
        #expect(refusal?.status.messageID == 77)
        #expect(refusal?.returnedTLVs == [0x89, 0x99, 0x00, 0x03, 0x80, 1, 2])
        #expect(network.isOperational("A", "B"))
    }

    @Test func md5KeysLetOnlyMatchingPasswordsIn() {
        var network = md5Pair("secret", "secret")
        #expect(network.run(until: .seconds(30)) { $0.isOperational("A", "B") })
        #expect(network.node("A").md5Keys == [ip("2.2.2.2"): "secret"], "the passive side keys its listener")
        #expect(network.node("B").engine.neighbors(at: network.now).first?.md5 == true)

        var mismatched = md5Pair("one", "two")
        #expect(!mismatched.run(until: .seconds(60)) { $0.isOperational("A", "B") })
        #expect(mismatched.node("B").events.contains { if case .backoff = $0 { true } else { false } })
        // When the adjacency goes, so does the key.
        mismatched.setLink("A-B", isUp: false)
        mismatched.run(for: .seconds(1))
        #expect(mismatched.node("A").md5Keys.isEmpty)
    }

    @Test func messagesAreCountedByType() {
        let network = operationalPair()
        let neighbor = network.node("A").engine.neighbors(at: network.now).first
        #expect(neighbor?.messagesSent[.initialization] == 1)
        #expect(neighbor?.messagesReceived[.initialization] == 1)
        #expect((neighbor?.messagesReceived[.keepAlive] ?? 0) >= 1)
    }
}

/// One engine driven by hand through the rejection paths of §2.5.3.
@Suite struct SessionRejectionTests {
    static let configuration = EngineConfiguration(lsrID: v4("1.1.1.1"), interfaces: [InterfaceConfiguration(name: "eth0")])

    func passiveWithAdjacency() -> EngineHarness {
        var harness = EngineHarness(Self.configuration)
        harness.start(interfaces: ["eth0": "10.0.0.1"])
        harness.handle(.helloReceived(interface: "eth0", source: ip("10.0.0.2"), destination: ip("224.0.0.2"), ttl: 255,
                                      bytes: helloBytes(from: "2.2.2.2", gtsm: true, transport: "2.2.2.2")))
        return harness
    }

    func initialization(from sender: String, to receiver: String, keepAlive: UInt16 = 180) -> [UInt8] {
        PDU(ldpIdentifier: ldpID(sender), messages: [Message(id: 5, body: .initialization(InitializationMessage(
            parameters: CommonSessionParameters(keepAliveTime: keepAlive, receiverLDPIdentifier: ldpID(receiver)))))]).encoded()
    }

    func expectRejected(_ outputs: [EngineOutput], _ connection: ConnectionID, _ code: StatusCode) {
        let notes = outputs.sentMessages.compactMap { if case .notification(let note) = $0.body { note.status } else { nil } }
        #expect(notes.count == 1)
        #expect(notes.first?.code == code)
        #expect(notes.first?.isFatal == true)
        #expect(notes.first?.messageID == 5)
        #expect(notes.first?.messageType == MessageType.initialization.rawValue)
        #expect(outputs.contains(.close(connection)))
        // The close follows the Notification's send.
        let sendIndex = outputs.firstIndex { if case .send = $0 { true } else { false } }
        let closeIndex = outputs.firstIndex(of: .close(connection))
        #expect(sendIndex != nil && closeIndex != nil && sendIndex! < closeIndex!)
    }

    @Test func wrongReceiverIdentifierIsNoHello() {
        var harness = passiveWithAdjacency()
        let connection = ConnectionID.incoming(1)
        let accepted = harness.handle(.connectionAccepted(connection, local: ip("1.1.1.1"), remote: ip("2.2.2.2")))
        #expect(accepted.contains(.setGTSM(connection)))
        #expect(harness.engine.neighbors(at: harness.now).first?.state == .initialized)
        let outputs = harness.handle(.dataReceived(connection, initialization(from: "2.2.2.2:0", to: "9.9.9.9:0")))
        expectRejected(outputs, connection, .sessionRejectedNoHello)
        #expect(harness.engine.neighbors(at: harness.now).isEmpty)
    }

    @Test func connectionWithoutAdjacencyIsNoHello() {
        var harness = passiveWithAdjacency()
        let connection = ConnectionID.incoming(2)
        harness.handle(.connectionAccepted(connection, local: ip("1.1.1.1"), remote: ip("5.5.5.5")))
        #expect(harness.engine.neighbors(at: harness.now).first?.peer == nil)
        let waiting = harness.handle(.dataReceived(connection, initialization(from: "5.5.5.5:0", to: "1.1.1.1:0")))
        // The Initialization waits a moment for a Hello from 5.5.5.5; none comes.
        #expect(waiting.contains(.armTimer(.helloWait(connection), after: .seconds(2))))
        #expect(waiting.sentMessages.isEmpty)
        let outputs = harness.advance(to: 2, firing: .helloWait(connection))
        expectRejected(outputs, connection, .sessionRejectedNoHello)
    }

    @Test func initializationJustBeforeTheHelloIsAccepted() {
        // The peer heard our Hello, connected, and its own first Hello is still on its way.
        var harness = EngineHarness(Self.configuration)
        harness.start(interfaces: ["eth0": "10.0.0.1"])
        let connection = ConnectionID.incoming(4)
        harness.handle(.connectionAccepted(connection, local: ip("1.1.1.1"), remote: ip("2.2.2.2")))
        let waiting = harness.handle(.dataReceived(connection, initialization(from: "2.2.2.2:0", to: "1.1.1.1:0")))
        #expect(waiting.sentMessages.isEmpty)
        let afterHello = harness.handle(.helloReceived(interface: "eth0", source: ip("10.0.0.2"), destination: ip("224.0.0.2"),
                                                       ttl: 255, bytes: helloBytes(from: "2.2.2.2", gtsm: true, transport: "2.2.2.2")))
        #expect(afterHello.contains(.cancelTimer(.helloWait(connection))))
        #expect(afterHello.contains(.setGTSM(connection)))
        // Our Initialization and KeepAlive answer it: the session goes to OPENREC.
        let bodies = afterHello.sentMessages.map(\.body)
        #expect(bodies.contains { if case .initialization = $0 { true } else { false } })
        #expect(bodies.contains { if case .keepAlive = $0 { true } else { false } })
        #expect(harness.engine.neighbors(at: harness.now).first?.peer == ldpID("2.2.2.2:0"))
        #expect(harness.engine.neighbors(at: harness.now).first?.state == .openReceived)
        // A late hello-wait timer does nothing.
        #expect(harness.advance(to: 2, firing: .helloWait(connection)).sentMessages.isEmpty)
    }

    @Test func helloBetweenTheConnectionAndItsInitializationIsEnough() {
        // The peer connected as soon as our listener was up, its Hello came next, then its
        // Initialization: the connection matched no adjacency when accepted, but does now.
        var harness = EngineHarness(Self.configuration)
        harness.start(interfaces: ["eth0": "10.0.0.1"])
        let connection = ConnectionID.incoming(6)
        harness.handle(.connectionAccepted(connection, local: ip("1.1.1.1"), remote: ip("2.2.2.2")))
        harness.handle(.helloReceived(interface: "eth0", source: ip("10.0.0.2"), destination: ip("224.0.0.2"),
                                      ttl: 255, bytes: helloBytes(from: "2.2.2.2", gtsm: true, transport: "2.2.2.2")))
        let answered = harness.handle(.dataReceived(connection, initialization(from: "2.2.2.2:0", to: "1.1.1.1:0")))
        #expect(answered.sentMessages.map(\.type) == [.initialization, .keepAlive], "answered at once, not refused after a wait")
        #expect(answered.contains(.cancelTimer(.helloWait(connection))))
        #expect(harness.engine.neighbors(at: harness.now).first?.peer == ldpID("2.2.2.2:0"))
        #expect(harness.engine.neighbors(at: harness.now).first?.state == .openReceived)
        #expect(harness.advance(to: 2, firing: .helloWait(connection)).sentMessages.isEmpty)
    }

    @Test func zeroKeepAliveIsRejected() {
        var harness = passiveWithAdjacency()
        let connection = ConnectionID.incoming(3)
        harness.handle(.connectionAccepted(connection, local: ip("1.1.1.1"), remote: ip("2.2.2.2")))
        let outputs = harness.handle(.dataReceived(connection, initialization(from: "2.2.2.2:0", to: "1.1.1.1:0", keepAlive: 0)))
        expectRejected(outputs, connection, .sessionRejectedBadKeepAliveTime)
    }

    @Test func acceptableInitializationIsAnsweredWithInitAndKeepAlive() {
        var harness = passiveWithAdjacency()
        let connection = ConnectionID.incoming(4)
        harness.handle(.connectionAccepted(connection, local: ip("1.1.1.1"), remote: ip("2.2.2.2")))
        // Cut the stream anywhere: the framer reassembles.
        let bytes = initialization(from: "2.2.2.2:0", to: "1.1.1.1:0", keepAlive: 90)
        #expect(harness.handle(.dataReceived(connection, Array(bytes.prefix(7)))).sentMessages.isEmpty)
        let outputs = harness.handle(.dataReceived(connection, Array(bytes.dropFirst(7))))
        #expect(outputs.sentMessages.map(\.type) == [.initialization, .keepAlive])
        #expect(harness.engine.neighbors(at: harness.now).first?.state == .openReceived)
        let keepAlive = PDU(ldpIdentifier: ldpID("2.2.2.2:0"), messages: [Message(id: 6, body: .keepAlive)]).encoded()
        let up = harness.handle(.dataReceived(connection, keepAlive))
        #expect(harness.engine.neighbors(at: harness.now).first?.state == .operational)
        #expect(up.armed(.keepAliveSend(connection)) == .seconds(30))
        #expect(up.armed(.keepAliveExpiry(connection)) == .seconds(90))
        #expect(up.contains(.cancelTimer(.initializationTimeout(connection))))
    }

    @Test func initializationTimesOut() {
        var harness = passiveWithAdjacency()
        let connection = ConnectionID.incoming(5)
        let accepted = harness.handle(.connectionAccepted(connection, local: ip("1.1.1.1"), remote: ip("2.2.2.2")))
        #expect(accepted.armed(.initializationTimeout(connection)) == .seconds(15))
        let outputs = harness.advance(to: 15, firing: .initializationTimeout(connection))
        #expect(outputs.contains(.close(connection)))
        #expect(harness.engine.neighbors(at: harness.now).isEmpty)
        // A second firing of the same timer is harmless.
        #expect(harness.advance(to: 16, firing: .initializationTimeout(connection)).isEmpty)
    }

    @Test func connectionFromTheActiveSidesPeerIsRefused() {
        // We (3.3.3.3) are active towards 2.2.2.2: its connection attempt is closed.
        var harness = EngineHarness(EngineConfiguration(lsrID: v4("3.3.3.3"), interfaces: [InterfaceConfiguration(name: "eth0")]))
        harness.start(interfaces: ["eth0": "10.0.0.1"])
        harness.handle(.helloReceived(interface: "eth0", source: ip("10.0.0.2"), destination: ip("224.0.0.2"), ttl: 255,
                                      bytes: helloBytes(from: "2.2.2.2", gtsm: true, transport: "2.2.2.2")))
        let outputs = harness.handle(.connectionAccepted(.incoming(9), local: ip("3.3.3.3"), remote: ip("2.2.2.2")))
        #expect(outputs.contains(.close(.incoming(9))))
    }

    /// Drives five failed set-ups by the active side (3.3.3.3 towards 2.2.2.2), each ended by
    /// `fail`, and returns the backoff delays the engine chose and what the operator saw of the
    /// last one.
    func backoffDelays(_ schedule: SessionBackoffConfiguration = SessionBackoffConfiguration(),
                       _ fail: (inout EngineHarness, ConnectionID) -> [EngineOutput]) throws
        -> (delays: [EngineDuration], last: BackoffSnapshot?) {
        var harness = EngineHarness(EngineConfiguration(lsrID: v4("3.3.3.3"), interfaces: [InterfaceConfiguration(name: "eth0")],
                                                        sessionBackoff: schedule))
        harness.start(interfaces: ["eth0": "10.0.0.1"])
        let hello = helloBytes(from: "2.2.2.2", holdTime: 0xFFFF, gtsm: true, transport: "2.2.2.2")
        var outputs = harness.handle(.helloReceived(interface: "eth0", source: ip("10.0.0.2"), destination: ip("224.0.0.2"),
                                                    ttl: 255, bytes: hello))
        let peer = ldpID("2.2.2.2:0")
        var delays: [EngineDuration] = []
        var time: Int64 = 0
        for _ in 0..<5 {
            let connection = try #require(outputs.connects.first?.0)
            outputs = fail(&harness, connection)
            let delay = try #require(outputs.armed(.backoff(peer)))
            delays.append(delay)
            #expect(outputs.connects.isEmpty, "no new attempt before the backoff timer")
            #expect(outputs.events.contains(.backoff(peer: peer, delay: delay)))
            let shown = harness.engine.backoffs(at: harness.now)
            #expect(shown.map(\.peer) == [peer] && shown.first?.failures == delays.count)
            #expect(shown.first?.delay == delay && shown.first?.nextAttemptIn == delay)
            // Hellos during the backoff do not bypass it.
            #expect(harness.handle(.helloReceived(interface: "eth0", source: ip("10.0.0.2"), destination: ip("224.0.0.2"),
                                                  ttl: 255, bytes: hello)).connects.isEmpty)
            time += delay.wholeSeconds
            outputs = harness.advance(to: time, firing: .backoff(peer))
            #expect(harness.engine.backoffs(at: harness.now).first?.nextAttemptIn == nil, "attempting again")
        }
        return (delays, harness.engine.backoffs(at: harness.now).first)
    }

    @Test func refusedInitializationBacksOff15To120Seconds() throws {
        // §2.5.3: the connection came up, our Initialization went out, the peer NAK'd it.
        let (delays, last) = try backoffDelays { harness, connection in
            harness.handle(.connectionEstablished(connection))
            let refusal = NotificationMessage(status: Status(code: .sessionRejectedAdvertisementMode, isFatal: true))
            return harness.handle(.dataReceived(connection, PDU(ldpIdentifier: ldpID("2.2.2.2:0"), messages: [
                Message(id: 9, body: .notification(refusal)),
            ]).encoded()))
        }
        #expect(delays == [15, 30, 60, 120, 120].map { EngineDuration.seconds($0) })
        #expect(last?.refusedByPeer == true && last?.lastFailure.contains("Session Rejected") == true, "\(String(describing: last))")
    }

    @Test func configuredScheduleIsFollowed() throws {
        let schedule = SessionBackoffConfiguration(initial: 20, maximum: 200)
        let refused = try backoffDelays(schedule) { harness, connection in
            harness.handle(.connectionEstablished(connection))
            let refusal = NotificationMessage(status: Status(code: .sessionRejectedLabelRange, isFatal: true))
            return harness.handle(.dataReceived(connection, PDU(ldpIdentifier: ldpID("2.2.2.2:0"), messages: [
                Message(id: 9, body: .notification(refusal)),
            ]).encoded()))
        }
        #expect(refused.delays == [20, 40, 80, 160, 200].map { EngineDuration.seconds($0) })
        // The short schedule never waits longer than a refused set-up would.
        let silent = try backoffDelays(SessionBackoffConfiguration(initial: 15, maximum: 600)) { harness, connection in
            harness.handle(.connectionFailed(connection, reason: "timed out"))
        }
        #expect(silent.delays == [1, 2, 4, 8, 15].map { EngineDuration.seconds($0) })
    }

    @Test func setUpThePeerSaidNothingInRetriesWithinSeconds() throws {
        // Refused or unroutable: the peer refused no Initialization, so §2.5.3's 15 s do not apply.
        let refused = try backoffDelays { harness, connection in harness.handle(.connectionFailed(connection, reason: "refused")) }
        #expect(refused.delays == [1, 2, 4, 8, 15].map { EngineDuration.seconds($0) })
        #expect(refused.last?.refusedByPeer == false && refused.last?.lastFailure == "connect failed: refused")
        // A dying peer's listening socket still completes the handshake; then the connection is reset.
        let reset = try backoffDelays { harness, connection in
            harness.handle(.connectionEstablished(connection))
            return harness.handle(.connectionClosed(connection, reason: "Connection reset by peer"))
        }
        #expect(reset.delays == [1, 2, 4, 8, 15].map { EngineDuration.seconds($0) })
    }

}
