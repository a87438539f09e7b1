import Testing
import LDPCodec
@testable import LDPEngine

@Suite struct DiscoveryTests {
    static let configuration = EngineConfiguration(
        lsrID: v4("2.2.2.2"), interfaces: [InterfaceConfiguration(name: "eth0")],
        targetedNeighbors: [TargetedNeighborConfiguration(address: v4("9.9.9.9"))])

    func started(_ configuration: EngineConfiguration = DiscoveryTests.configuration) -> EngineHarness {
        var harness = EngineHarness(configuration)
        harness.start(interfaces: ["eth0": "10.0.0.2"])
        return harness
    }

    func linkHello(_ harness: inout EngineHarness, from peer: String = "1.1.1.1", source: String = "10.0.0.1",
                   ttl: UInt8 = 255, bytes: [UInt8]? = nil) -> [EngineOutput] {
        harness.handle(.helloReceived(interface: "eth0", source: ip(source), destination: ip("224.0.0.2"), ttl: ttl,
                                      bytes: bytes ?? helloBytes(from: peer, gtsm: true)))
    }

    @Test(arguments: [
        (local: UInt16(15), received: UInt16(15), targeted: false, expected: UInt16(15)),
        (15, 10, false, 10),
        (10, 30, false, 10),
        (15, 0, false, 15),     // 0: the default, 15 s for Link Hellos
        (30, 0, false, 15),
        (0, 0, true, 45),       // 45 s for Targeted Hellos
        (60, 0, true, 45),
        (15, 0xFFFF, false, 15), // infinite only when both say so
        (0xFFFF, 0xFFFF, true, 0xFFFF),
        (0xFFFF, 0, true, 45),
    ])
    func holdTimeNegotiation(_ row: (local: UInt16, received: UInt16, targeted: Bool, expected: UInt16)) {
        #expect(HelloHoldTime.negotiated(local: row.local, received: row.received, targeted: row.targeted) == row.expected)
    }

    @Test func infiniteHoldTimeNeverExpires() {
        #expect(HelloHoldTime.lifetime(0xFFFF) == nil)
        #expect(HelloHoldTime.lifetime(15) == .seconds(15))
        var harness = started(EngineConfiguration(lsrID: v4("2.2.2.2"), interfaces: [InterfaceConfiguration(name: "eth0", holdTime: 0xFFFF)],
                                                  targetedHelloPolicy: .any))
        let outputs = linkHello(&harness, bytes: helloBytes(from: "1.1.1.1", holdTime: 0xFFFF, gtsm: true))
        #expect(outputs.events.contains(.adjacencyUp(peer: ldpID("1.1.1.1:0"), via: .link(interface: "eth0"), holdTime: 0xFFFF)))
        #expect(!outputs.contains { if case .armTimer(.adjacencyExpiry, _) = $0 { true } else { false } })
        #expect(harness.engine.adjacencies(at: .seconds(10_000)).first?.timeLeft == nil)
    }

    @Test func startSendsLinkAndTargetedHellos() {
        let harness = started()
        let hellos = harness.log.sentHellos
        let link = hellos.first { $0.interface == "eth0" }
        #expect(link?.destination == ip("224.0.0.2"))
        #expect(link?.ttl == 255, "GTSM on: TTL 255 (RFC 6720)")
        #expect(link?.hello.parameters.gtsm == true)
        #expect(link?.hello.parameters.targeted == false)
        #expect(link?.hello.ipv4TransportAddress == v4("2.2.2.2"))
        #expect(link?.hello.configurationSequenceNumber != nil)
        let targeted = hellos.first { $0.destination == ip("9.9.9.9") }
        #expect(targeted?.hello.parameters.targeted == true)
        #expect(targeted?.hello.parameters.requestTargeted == true)
        #expect(targeted?.hello.parameters.gtsm == false)
        #expect(targeted?.hello.parameters.holdTime == 45)
        #expect(harness.log.armed(.helloSend(.interface("eth0"))) == .seconds(5))
        #expect(harness.log.armed(.helloSend(.targeted(v4("9.9.9.9")))) == .seconds(15))
    }

    @Test func withoutGTSMLinkHellosUseTTL1() {
        var configuration = DiscoveryTests.configuration
        configuration.gtsm = false
        let harness = started(configuration)
        let link = harness.log.sentHellos.first { $0.interface == "eth0" }
        #expect(link?.ttl == 1)
        #expect(link?.hello.parameters.gtsm == false)
    }

    @Test func helloTimerResendsAndStopsWhenInterfaceGoesDown() {
        var harness = started()
        let resent = harness.advance(to: 5, firing: .helloSend(.interface("eth0")))
        #expect(resent.sentHellos.count == 1)
        #expect(resent.armed(.helloSend(.interface("eth0"))) == .seconds(5))
        let down = harness.handle(.interfaceChanged(name: "eth0", isUp: false, addresses: [ip("10.0.0.2")]))
        #expect(down.contains(.cancelTimer(.helloSend(.interface("eth0")))))
        let late = harness.advance(to: 10, firing: .helloSend(.interface("eth0")))
        #expect(late.sentHellos.isEmpty, "a cancelled timer firing late does nothing")
    }

    @Test func adjacencyExpiresAfterHoldTimeUnlessRefreshed() {
        var harness = started()
        let up = linkHello(&harness)
        let key = AdjacencyKey.link(interface: "eth0", peer: ldpID("1.1.1.1:0"))
        #expect(up.events.contains(.adjacencyUp(peer: ldpID("1.1.1.1:0"), via: .link(interface: "eth0"), holdTime: 15)))
        #expect(up.armed(.adjacencyExpiry(key)) == .seconds(15))

        harness.now = .seconds(10)
        _ = linkHello(&harness)      // refreshed: now expires at 25
        let early = harness.advance(to: 15, firing: .adjacencyExpiry(key))
        #expect(early.armed(.adjacencyExpiry(key)) == .seconds(10))
        #expect(harness.engine.adjacencies(at: harness.now).count == 1)

        let expired = harness.advance(to: 25, firing: .adjacencyExpiry(key))
        #expect(expired.events.contains { if case .adjacencyDown(ldpID("1.1.1.1:0"), _, _) = $0 { true } else { false } })
        #expect(harness.engine.adjacencies(at: harness.now).isEmpty)
    }

    @Test func ipv4LinkHellosAreAcceptedWithAnyTTLAndGTSMFollowsBothGBits() {
        var harness = started()
        // FRR sends IPv4 Link Hellos with TTL 1 and G set; 224.0.0.2 is never forwarded, so the
        // TTL proves nothing there: GTSM's check belongs to the session (RFC 6720 §3).
        let fromFRR = linkHello(&harness, ttl: 1)
        #expect(fromFRR.helloRejections.isEmpty)
        #expect(harness.engine.adjacencies(at: harness.now).first?.gtsm == true)
        // A peer without G does not get GTSM.
        let noG = linkHello(&harness, ttl: 1, bytes: helloBytes(from: "1.1.1.1", gtsm: false))
        #expect(noG.helloRejections.isEmpty)
        #expect(harness.engine.adjacencies(at: harness.now).first?.gtsm == false)
        _ = linkHello(&harness, ttl: 255)
        #expect(harness.engine.adjacencies(at: harness.now).first?.gtsm == true)
    }

    @Test func aNewLinkNeighborIsAnsweredAtOnce() {
        var harness = started()
        let first = linkHello(&harness, ttl: 1)
        let hellos = first.compactMap { output -> String? in
            if case .sendHello(let interface, _, _, _, _) = output { interface } else { nil }
        }
        #expect(hellos == ["eth0"], "a triggered Hello on the new adjacency's interface")
        let again = linkHello(&harness, ttl: 1)
        #expect(!again.contains { if case .sendHello = $0 { true } else { false } }, "only for a new neighbor")
    }

    @Test func badHellosAreDropped() {
        var harness = started()
        let cases: [([UInt8], String, String)] = [
            (helloBytes(from: "1.1.1.1", gtsm: true, labelSpace: 1), "10.0.0.1", "label space"),
            (helloBytes(from: "0.0.0.0", gtsm: true), "10.0.0.1", "0.0.0.0"),
            (helloBytes(from: "2.2.2.2", gtsm: true), "10.0.0.1", "own"),
            (helloBytes(from: "1.1.1.1", gtsm: true, transport: "127.0.0.1"), "10.0.0.1", "transport"),
            (helloBytes(from: "1.1.1.1", gtsm: true, transport: "224.0.0.5"), "10.0.0.1", "transport"),
            (helloBytes(from: "1.1.1.1", targeted: true), "10.0.0.1", "Targeted Hello sent to"),
            ([0, 1, 2], "10.0.0.1", "undecodable"),
        ]
        for (bytes, source, reason) in cases {
            let outputs = linkHello(&harness, source: source, bytes: bytes)
            #expect(outputs.helloRejections.contains { $0.contains(reason) }, "\(reason): \(outputs.helloRejections)")
        }
        #expect(harness.engine.adjacencies(at: harness.now).isEmpty)
        let elsewhere = harness.handle(.helloReceived(interface: "eth9", source: ip("10.9.0.1"), destination: ip("224.0.0.2"),
                                                      ttl: 255, bytes: helloBytes(from: "1.1.1.1", gtsm: true)))
        #expect(elsewhere.helloRejections.contains { $0.contains("without LDP") })
    }

    @Test func configurationSequenceChangeIsRecordedWithoutReset() {
        var harness = started()
        _ = linkHello(&harness, bytes: helloBytes(from: "1.1.1.1", gtsm: true, sequence: 1))
        let changed = linkHello(&harness, bytes: helloBytes(from: "1.1.1.1", gtsm: true, sequence: 2))
        #expect(changed.events == [.configurationSequenceChanged(peer: ldpID("1.1.1.1:0"), sequenceNumber: 2)])
        #expect(harness.engine.adjacencies(at: harness.now).first?.configurationSequenceNumber == 2)
    }

    func targetedHello(_ harness: inout EngineHarness, from source: String, requestTargeted: Bool = true) -> [EngineOutput] {
        harness.handle(.helloReceived(interface: nil, source: ip(source), destination: ip("2.2.2.2"), ttl: 60,
                                      bytes: helloBytes(from: source, holdTime: 0, targeted: true, requestTargeted: requestTargeted)))
    }

    @Test func targetedHellosFollowThePolicy() {
        var harness = started()
        // Configured neighbor: accepted, default hold 45.
        let configured = targetedHello(&harness, from: "9.9.9.9")
        #expect(configured.events.contains(.adjacencyUp(peer: ldpID("9.9.9.9:0"), via: .targeted(source: v4("9.9.9.9")), holdTime: 45)))
        // Unconfigured source: rejected by the default policy.
        let stranger = targetedHello(&harness, from: "7.7.7.7")
        #expect(stranger.helloRejections.contains { $0.contains("refused by policy") })

        var open = DiscoveryTests.configuration
        open.targetedHelloPolicy = .from([IPPrefix("7.7.0.0/16")!])
        var permissive = started(open)
        let allowed = targetedHello(&permissive, from: "7.7.7.7")
        #expect(allowed.events.contains { if case .adjacencyUp(ldpID("7.7.7.7:0"), _, _) = $0 { true } else { false } })
        // R=1: we answer with Targeted Hellos while the adjacency lives.
        let answer = allowed.sentHellos.first { $0.destination == ip("7.7.7.7") }
        #expect(answer?.hello.parameters.targeted == true)
        #expect(answer?.hello.parameters.requestTargeted == false)
        #expect(permissive.engine.targetedNeighbors.contains { $0.address == v4("7.7.7.7") && !$0.isConfigured && $0.sendingHellos })
        let outside = targetedHello(&permissive, from: "8.8.8.8")
        #expect(outside.helloRejections.count == 1)

        let expiry = permissive.advance(to: 45, firing: .adjacencyExpiry(.targeted(source: v4("7.7.7.7"))))
        #expect(expiry.contains(.cancelTimer(.helloSend(.targeted(v4("7.7.7.7"))))))
    }

    @Test(arguments: [
        (peerTransport: "1.1.1.1", expectActive: true),
        (peerTransport: "3.3.3.3", expectActive: false),
    ])
    func roleFollowsTransportAddress(_ row: (peerTransport: String, expectActive: Bool)) {
        var harness = started()
        let outputs = linkHello(&harness, bytes: helloBytes(from: "5.5.5.5", gtsm: true, transport: row.peerTransport))
        if row.expectActive {
            #expect(outputs.connects.count == 1)
            #expect(outputs.connects.first?.1 == ip("2.2.2.2"))
            #expect(outputs.connects.first?.2 == ip(row.peerTransport))
        } else {
            #expect(outputs.connects.isEmpty)
        }
        // Further Hellos do not open more connections.
        #expect(linkHello(&harness, bytes: helloBytes(from: "5.5.5.5", gtsm: true, transport: row.peerTransport)).connects.isEmpty)
    }

    @Test func transportAddressDefaultsToHelloSource() {
        var harness = started()
        _ = linkHello(&harness, source: "10.0.0.1", bytes: helloBytes(from: "1.1.1.1", gtsm: true, transport: nil))
        #expect(harness.engine.adjacencies(at: harness.now).first?.transportAddress == v4("10.0.0.1"))
    }
}
