// Whatever a peer sends on an OPERATIONAL session, the engine must not trap: it answers what it
// cannot take with a Notification, ends the session when the error is fatal, and goes on.

import Testing
import LDPCodec
import LDPTestSupport
@testable import LDPEngine

@Suite struct EngineFuzzTests {
    /// 5,000 random PDUs of every message type from the peer, three in four of them damaged.
    @Test func damagedAndRandomPDUsOnASessionNeverTrap() {
        var harness = EngineHarness(EngineConfiguration(lsrID: v4("1.1.1.1"), interfaces: [InterfaceConfiguration(name: "eth0")]))
        harness.start(interfaces: ["eth0": "10.0.0.1"])
        harness.handle(.routeChanged(Route(prefix: IPPrefix("10.9.0.0/16")!, nextHops: [.init(address: ip("10.0.0.2"), interface: "eth0")])))
        harness.handle(.helloReceived(interface: "eth0", source: ip("10.0.0.2"), destination: ip("224.0.0.2"), ttl: 255,
                                      bytes: helloBytes(from: "2.2.2.2", holdTime: 0xFFFF, gtsm: true, transport: "2.2.2.2")))
        let peer = ldpID("2.2.2.2:0")
        var nextConnection: UInt64 = 1
        func isOperational(_ connection: ConnectionID) -> Bool {
            harness.engine.neighbors(at: harness.now).contains { $0.connection == connection && $0.state == .operational }
        }
        /// The peer (passive side is us) connects, initializes and confirms.
        func openSession() -> ConnectionID {
            let connection = ConnectionID.incoming(nextConnection)
            nextConnection += 1
            harness.handle(.connectionAccepted(connection, local: ip("1.1.1.1"), remote: ip("2.2.2.2")))
            let parameters = CommonSessionParameters(keepAliveTime: 180, receiverLDPIdentifier: ldpID("1.1.1.1:0"))
            harness.handle(.dataReceived(connection, PDU(ldpIdentifier: peer, messages: [
                Message(id: 1, body: .initialization(InitializationMessage(parameters: parameters))),
                Message(id: 2, body: .keepAlive),
            ]).encoded()))
            return connection
        }

        var connection = openSession()
        #expect(isOperational(connection))
        var generator = MessageGenerator(seed: 0xE6)
        var rng = SplitMix64(seed: 0x5E55)
        var sessionsEnded = 0, notifications = 0, operationalRounds = 0
        for round in 0..<5_000 {
            let random = generator.pdu(messages: 1...4)
            // Mostly from the right LSR, so that what survives reaches the session and the LIB.
            var bytes = PDU(ldpIdentifier: round % 20 == 0 ? random.ldpIdentifier : peer, messages: random.messages).encoded()
            if round % 4 != 0 { mutate(&bytes, using: &rng) }
            let outputs = harness.handle(.dataReceived(connection, bytes))
            let sent = outputs.sentMessages
            notifications += sent.filter { if case .notification = $0.body { true } else { false } }.count
            if isOperational(connection) { operationalRounds += 1 }
            if !isOperational(connection) {
                // A fatal error: the engine said why (or the peer's own Shutdown came in) and closed.
                #expect(outputs.contains(.close(connection)), "round \(round)")
                sessionsEnded += 1
                harness.handle(.connectionClosed(connection, reason: "closed"))
                connection = openSession()
                #expect(isOperational(connection), "round \(round): a new session after the old one ended")
            }
        }
        // The damage reached both fatal and non-fatal handling, and valid messages got through.
        #expect(sessionsEnded > 100, "\(sessionsEnded) sessions ended")
        #expect(notifications > sessionsEnded, "\(notifications) notifications")
        #expect(operationalRounds > 1_000, "\(operationalRounds) PDUs left the session up")
        #expect(harness.engine.neighbors(at: harness.now).count == 1)
    }

    /// 5,000 connections, each opened with one random PDU (damaged or not) instead of an
    /// Initialization: none traps, none reaches OPERATIONAL, and a real peer still gets a session.
    @Test func randomFirstPDUsNeverTrap() {
        var harness = EngineHarness(EngineConfiguration(lsrID: v4("1.1.1.1"), interfaces: [InterfaceConfiguration(name: "eth0")]))
        harness.start(interfaces: ["eth0": "10.0.0.1"])
        harness.handle(.helloReceived(interface: "eth0", source: ip("10.0.0.2"), destination: ip("224.0.0.2"), ttl: 255,
                                      bytes: helloBytes(from: "2.2.2.2", holdTime: 0xFFFF, gtsm: true, transport: "2.2.2.2")))
        var generator = MessageGenerator(seed: 0xF1)
        var rng = SplitMix64(seed: 0x0F1)
        var refused = 0
        for round in 0..<5_000 {
            let connection = ConnectionID.incoming(UInt64(round + 1))
            // From the adjacency's peer, or from an address no adjacency names.
            let remote = round % 3 == 0 ? ip("10.9.9.9") : ip("2.2.2.2")
            harness.handle(.connectionAccepted(connection, local: ip("1.1.1.1"), remote: remote))
            let random = generator.pdu(messages: 1...3)
            var bytes = PDU(ldpIdentifier: round % 2 == 0 ? ldpID("2.2.2.2:0") : random.ldpIdentifier, messages: random.messages).encoded()
            if round % 4 != 0 { mutate(&bytes, using: &rng) }
            let outputs = harness.handle(.dataReceived(connection, bytes))
            if outputs.contains(.close(connection)) { refused += 1 }
            #expect(!harness.engine.neighbors(at: harness.now).contains { $0.state == .operational }, "round \(round)")
            // Whatever is left of it goes, as when the peer gives up.
            harness.handle(.connectionClosed(connection, reason: "closed"))
        }
        #expect(refused > 2_500, "\(refused) refused at once")
        #expect(harness.engine.neighbors(at: harness.now).isEmpty)
    }
}
