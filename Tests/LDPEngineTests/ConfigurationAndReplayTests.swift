import Foundation
import Testing
import LDPCodec
@testable import LDPEngine

@Suite struct ConfigurationTests {
    func operationalPair() -> InMemoryNetwork {
        var network = InMemoryNetwork()
        network.addNode("A", lsrID: "1.1.1.1")
        network.addNode("B", lsrID: "2.2.2.2")
        network.connect("A", "B", subnet: 12)
        network.startAll()
        network.run(until: .seconds(30)) { $0.isOperational("A", "B") }
        return network
    }

    @Test func helloTimingChangesKeepSessions() {
        var network = operationalPair()
        var configuration = network.node("A").configuration
        configuration.interfaces[0].helloInterval = 2
        configuration.interfaces[0].holdTime = 6
        configuration.keepAliveTime = 60
        network.inject("A", .configurationChanged(configuration))
        network.run(for: .seconds(30))
        #expect(network.isOperational("A", "B"))
        #expect(network.sessionDowns("A").isEmpty && network.sessionDowns("B").isEmpty)
        // New Hellos: every 2 s, hold 6, a new Configuration Sequence Number.
        #expect(network.armedDeadline("A", .helloSend(.interface("to-B"))).map { $0 - network.now <= .seconds(2) } == true)
        #expect(network.node("B").engine.adjacencies(at: network.now).first?.holdTime == 6)
        #expect(network.node("B").events.contains { if case .configurationSequenceChanged(network.node("A").identifier, 2) = $0 { true } else { false } })
    }

    @Test func identityChangeResetsSessions() {
        var network = operationalPair()
        var configuration = network.node("A").configuration
        configuration.lsrID = v4("1.1.1.9")
        configuration.transportAddress = v4("1.1.1.1")
        network.inject("A", .configurationChanged(configuration))
        network.run(for: .milliseconds(1))
        #expect(network.notificationsSent(by: "A").contains { $0.code == .shutdown })
        // B may first retry with the stale adjacency of 1.1.1.1 and be refused (No Hello).
        #expect(network.sessionDowns("B").first?.contains("Shutdown") == true)
        // B comes back up with A's new identity once it hears the new Hellos.
        #expect(network.run(until: .seconds(60)) { network in
            network.node("B").engine.neighbors(at: network.now).contains { $0.peer == ldpID("1.1.1.9:0") && $0.state == .operational }
        })
    }

    @Test func removingAnInterfaceStopsItsHellosAndAdjacencies() {
        var network = operationalPair()
        var configuration = network.node("A").configuration
        configuration.interfaces = []
        network.inject("A", .configurationChanged(configuration))
        network.run(for: .milliseconds(1))
        #expect(network.node("A").engine.adjacencies(at: network.now).isEmpty)
        #expect(!network.isArmed("A", .helloSend(.interface("to-B"))))
        #expect(network.sessionDowns("A").first?.contains("last hello adjacency lost") == true)
        #expect(network.node("A").engine.interfaces.isEmpty)
        // B's adjacency expires; its retries meanwhile are refused with No Hello; then silence.
        network.run(for: .seconds(120))
        #expect(network.node("B").engine.neighbors(at: network.now).isEmpty)
        #expect(network.notificationsSent(by: "A").filter { $0.code == .sessionRejectedNoHello }.count >= 1)
    }

    @Test func minimalConfigurationFileTakesDefaults() throws {
        let json = #"{"lsrID": "10.0.0.1", "interfaces": [{"name": "eth0", "helloInterval": 5, "holdTime": 15}]}"#
        let configuration = try JSONDecoder().decode(EngineConfiguration.self, from: Data(json.utf8))
        #expect(configuration.transportAddress == v4("10.0.0.1"))
        #expect(configuration.keepAliveTime == 180)
        #expect(configuration.gtsm)
        #expect(configuration.maximumPDULength == 4096)
        #expect(configuration.targetedHelloPolicy == .configuredNeighborsOnly)
        #expect(configuration.labelDistribution.localLSRID == v4("10.0.0.1"))
        var withPasswords = configuration
        withPasswords.md5Passwords = [v4("10.0.0.2"): "secret"]
        let encoded = try JSONEncoder().encode(withPasswords)
        #expect(String(decoding: encoded, as: UTF8.self).contains(#""md5Passwords":{"10.0.0.2":"secret"}"#))
        #expect(try JSONDecoder().decode(EngineConfiguration.self, from: encoded) == withPasswords)
    }
}

@Suite struct ReplayTests {
    /// A recorded run, written as JSON and read back, replays into the same outputs.
    @Test func recordedRunReplaysExactly() throws {
        var network = InMemoryNetwork()
        network.addNode("A", lsrID: "1.1.1.1")
        network.addNode("B", lsrID: "2.2.2.2")
        network.addNode("C", lsrID: "3.3.3.3")
        network.connect("A", "B", subnet: 1)
        network.connect("B", "C", subnet: 2)
        network.enableShortestPathRouting()
        network.startAll()
        network.run(for: .seconds(60))
        network.setLink("B-C", isUp: false)
        network.run(for: .seconds(60))
        let node = network.node("B")
        #expect(node.inputs.count > 20)

        let recording = try JSONEncoder().encode(node.inputs)
        let inputs = try JSONDecoder().decode([RecordedInput].self, from: recording)
        #expect(inputs == node.inputs)
        var replayed = LDPEngine(configuration: node.configuration)
        var outputs: [EngineOutput] = []
        for recorded in inputs { outputs += replayed.handle(recorded.input, at: recorded.time) }
        #expect(outputs == node.outputs.map(\.output))
        // Outputs are Codable too.
        let decodedOutputs = try JSONDecoder().decode([EngineOutput].self, from: JSONEncoder().encode(outputs))
        #expect(decodedOutputs == outputs)
        let snapshot = try JSONEncoder().encode(replayed.neighbors(at: network.now))
        #expect(try JSONDecoder().decode([NeighborSnapshot].self, from: snapshot) == replayed.neighbors(at: network.now))
    }
}
