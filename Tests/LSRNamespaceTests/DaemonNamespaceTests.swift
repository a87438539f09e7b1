// Real lsrd daemons in network namespaces over veth, looked at with lsrctl --json.

import Foundation
import LSRControl
import Testing
#if canImport(Glibc)
import Glibc
#endif

let line3 = Topology(
    loopbacks: ["r1": "1.1.1.1", "r2": "2.2.2.2", "r3": "3.3.3.3"],
    links: [
        .init(a: "r1", interfaceA: "eth0", b: "r2", interfaceB: "eth0", subnet: "10.0.12"),
        .init(a: "r2", interfaceA: "eth1", b: "r3", interfaceB: "eth0", subnet: "10.0.23"),
    ])

let pair = Topology(
    loopbacks: ["r1": "1.1.1.1", "r2": "2.2.2.2"],
    links: [.init(a: "r1", interfaceA: "eth0", b: "r2", interfaceB: "eth0", subnet: "10.0.12")])

@Suite(.serialized, .enabled(if: Environment.canRunNamespaces, "needs root and iproute2 to make network namespaces"))
struct DaemonNamespaceTests {
    func neighborStates(_ lab: NamespaceLab, _ node: String) throws -> [String: String] {
        let view = try lab.show(node, ["show", "ldp", "neighbor"], as: NeighborsView.self)
        return Dictionary(view.neighbors.map { ($0.peer, $0.state) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func twoNodesReachOperationalAndExchangeLabels() throws {
        let lab = try NamespaceLab(prefix: "lsrt2")
        defer { lab.tearDown() }
        try lab.build(pair)
        try lab.wait(timeout: 30, "sessions to be OPERATIONAL") {
            try neighborStates(lab, "r1") == ["2.2.2.2:0": "OPERATIONAL"] && neighborStates(lab, "r2") == ["1.1.1.1:0": "OPERATIONAL"]
        }
        try lab.waitForConvergence(pair)
        // Each side holds the other's implicit-null for its loopback, and advertised its own label.
        let bindings = try lab.show("r1", ["show", "ldp", "binding", "2.2.2.2/32"], as: BindingsView.self).bindings
        #expect(bindings.count == 1)
        #expect(bindings.first?.remote == [BindingsView.Remote(peer: "2.2.2.2", label: 3, inUse: true)])
        let neighbor = try lab.show("r1", ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors.first
        #expect(neighbor?.gtsm == true)
        #expect(neighbor?.addresses.contains("10.0.12.2") == true)
        #expect(neighbor?.capabilities.contains("typed-wildcard-fec") == true)
        // `show lfib` with a selector: r2's loopback's entries at r1, by address, FEC and label.
        let byAddress = try lab.show("r1", ["show", "lfib", "2.2.2.2"], as: LFIBView.self).entries
        #expect(!byAddress.isEmpty && byAddress.allSatisfy { $0.fec == "2.2.2.2/32" }, "\(byAddress)")
        #expect(try lab.show("r1", ["show", "lfib", "2.2.2.2/32"], as: LFIBView.self).entries == byAddress)
        let label = try #require(byAddress.compactMap(\.inLabel).first)
        #expect(try lab.show("r1", ["show", "lfib", "\(label)"], as: LFIBView.self).entries.map(\.inLabel) == [label])
        let (status, output) = try Shell.run(["ip", "netns", "exec", lab.namespace("r1"), Binaries.lsrctl, "show", "lfib", "pe9",
                                              "--socket", lab.socket("r1")])
        #expect(status == 1 && output.contains("'pe9' is not a label, a prefix or an address"), "\(output)")
    }

    @Test func lineOfThreeConvergesAndFollowsALinkDown() throws {
        let lab = try NamespaceLab(prefix: "lsrt3")
        defer { lab.tearDown() }
        try lab.build(line3)
        try lab.waitForConvergence(line3)
        // r1 pushes r2's label for r3's loopback: a real LSP across the middle.
        let push = try lab.lfib("r1").first { $0.action == "push" && $0.fec == "3.3.3.3/32" }
        #expect(push != nil)
        #expect(push?.nexthops.first?.outLabels.first.map { $0 >= 16 } == true)

        // The r2-r3 link goes down: routes through it vanish, and so do the LFIB entries.
        try lab.exec("r2", ["ip", "link", "set", "eth1", "down"])
        var broken = line3
        broken.downLinks = ["10.0.23.0/24"]
        // Static routes via the dead link stay in r1's kernel (they are not r1's to know about):
        // remove them as an IGP would, then compare.
        for prefix in ["3.3.3.3/32", "10.0.23.0/24"] { try lab.exec("r1", ["ip", "route", "del", prefix]) }
        try lab.waitForConvergence(broken)
        #expect(try lab.lfib("r1").allSatisfy { $0.fec != "3.3.3.3/32" })
        #expect(try lab.lfib("r2").allSatisfy { $0.fec != "3.3.3.3/32" })
    }

    @Test func killedDaemonIsNoticedAndItsLabelsWithdrawn() throws {
        let lab = try NamespaceLab(prefix: "lsrtk")
        defer { lab.tearDown() }
        try lab.build(line3)
        try lab.waitForConvergence(line3)
        lab.stopDaemon("r3", signal: SIGKILL)
        // The TCP close or, at the latest, the Hello hold time (3 s) ends the session; r2's
        // entries that used r3's labels go.
        try lab.wait(timeout: 20, "r2 to drop r3") { try neighborStates(lab, "r2")["3.3.3.3:0"] == nil }
        try lab.wait(timeout: 10, "r3's labels to leave r2's LFIB") {
            try lab.lfib("r2").allSatisfy { entry in !entry.nexthops.contains { $0.interface == "eth1" } }
        }
        try lab.wait(timeout: 10, "r1's push for r3 to lose its label") {
            try lab.lfib("r1").allSatisfy { $0.fec != "3.3.3.3/32" || $0.action != "push" }
                || lab.lfib("r1").contains { $0.fec == "3.3.3.3/32" }
        }
        #expect(lab.log("r2").contains("session down: 3.3.3.3:0"))
    }

    @Test func backoffShowsTheRetriesToAPeerThatDied() throws {
        let lab = try NamespaceLab(prefix: "lsrtb")
        defer { lab.tearDown() }
        try lab.build(pair)
        try lab.waitForConvergence(pair)
        #expect(try lab.show("r2", ["show", "ldp", "backoff"], as: BackoffView.self).peers.isEmpty)
        // r2 (2.2.2.2) is the active side: it reconnects at once, and r1 is gone.
        lab.stopDaemon("r1", signal: SIGKILL)
        var shown: BackoffView.Peer?
        try lab.wait(timeout: 10, "r2 to back off from r1") {
            shown = try lab.show("r2", ["show", "ldp", "backoff"], as: BackoffView.self).peers.first { $0.peer == "1.1.1.1:0" }
            return shown != nil
        }
        // Nothing answered: the short schedule, not §2.5.3's 15 s.
        #expect(shown?.refusedByPeer == false && (shown?.delaySeconds ?? 0) <= 2, "\(String(describing: shown))")
        #expect(shown.map { $0.lastFailure.contains("refused") || $0.lastFailure.contains("reset") } == true,
                "\(String(describing: shown))")
        // The next attempt is refused at once: GTSM's minimum TTL, set only once a connection is
        // up, does not drop the RST r1's kernel sends with TTL 64.
        try lab.wait(timeout: 5, "r2's second attempt to be refused") {
            shown = try lab.show("r2", ["show", "ldp", "backoff"], as: BackoffView.self).peers.first { $0.peer == "1.1.1.1:0" }
            return (shown?.failures ?? 0) >= 2
        }
        #expect(shown?.lastFailure.contains("refused") == true && shown?.delaySeconds == 2, "\(String(describing: shown))")
        let text = try lab.exec("r2", [Binaries.lsrctl, "show", "ldp", "backoff", "--socket", lab.socket("r2")])
        #expect(text.contains("1.1.1.1:0") && text.contains("Last Failure"), "\(text)")
        // r1's Hellos stop: after the hold time (3 s) the adjacency goes, and the backoff with it.
        try lab.wait(timeout: 15, "the backoff to end with the adjacency") {
            try lab.show("r2", ["show", "ldp", "backoff"], as: BackoffView.self).peers.isEmpty
        }
    }

    @Test func md5KeysMustMatch() throws {
        let lab = try NamespaceLab(prefix: "lsrtm")
        defer { lab.tearDown() }
        try lab.build(pair, extraConfiguration: [
            "r1": "neighbors:\n  - { lsr-id: 2.2.2.2, password: right }",
            "r2": "neighbors:\n  - { lsr-id: 1.1.1.1, password: wrong }",
        ])
        // Adjacencies form (UDP is not signed), sessions never do.
        try lab.wait(timeout: 10, "adjacencies") {
            try !lab.show("r1", ["show", "ldp", "discovery"], as: DiscoveryView.self).adjacencies.isEmpty
        }
        sleep(6)
        #expect(try neighborStates(lab, "r1")["2.2.2.2:0"] != "OPERATIONAL")
        #expect(try neighborStates(lab, "r2")["1.1.1.1:0"] != "OPERATIONAL")

        // With the same key on both sides the session comes up, signed.
        lab.stopDaemon("r2")
        try lab.startDaemon("r2", configuration: """
            router-id: 2.2.2.2
            interfaces:
              - { name: eth0, hello-interval: 1, hold-time: 3 }
            neighbors:
              - { lsr-id: 1.1.1.1, password: right }
            """)
        try lab.wait(timeout: 40, "the signed session") { try neighborStates(lab, "r1")["2.2.2.2:0"] == "OPERATIONAL" }
        let neighbor = try lab.show("r1", ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors.first
        #expect(neighbor?.md5 == true)
    }

    @Test func secondDaemonOnTheSameControlSocketIsRefused() throws {
        let lab = try NamespaceLab(prefix: "lsrtd")
        defer { lab.tearDown() }
        try lab.addNode("r1", loopback: "1.1.1.1")
        try lab.startDaemon("r1", configuration: "router-id: 1.1.1.1")
        try lab.wait(timeout: 10, "the control socket") { FileManager.default.fileExists(atPath: lab.socket("r1")) }
        let (status, output) = try Shell.run(["ip", "netns", "exec", lab.namespace("r1"), Binaries.lsrd,
                                              "--router-id", "1.1.1.1", "--control-socket", lab.socket("r1")])
        #expect(status != 0)
        #expect(output.contains("another lsrd is already running on control socket \(lab.socket("r1"))"))
    }

    @Test func lsrctlWithoutADaemonSaysSoInOneLine() throws {
        let (status, output) = try Shell.run([Binaries.lsrctl, "show", "lfib", "--socket", "/tmp/lsrt-nobody-here.sock"])
        #expect(status == 1)
        #expect(output.hasPrefix("lsrctl: lsrd is not running"))
        #expect(output.split(separator: "\n").count == 1)
    }

    @Test func badConfigurationFilesStopTheDaemon() throws {
        let directory = NSTemporaryDirectory() + "lsrt-config-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, String)] = [
            ("router-id: [\n", "not valid YAML"),
            ("router-id: 1.1.1.1\nbogus: 1\n", ":2: key 'bogus': unknown key"),
            ("router-id: 1.1.1.1\ntransport-address: 10.0.0.256\n", "key 'transport-address': '10.0.0.256' is not an IPv4 address"),
            ("router-id: 1.1.1.1\nlabel-range: 500-100\n", "key 'label-range': inverted"),
        ]
        for (index, (text, expected)) in cases.enumerated() {
            let path = "\(directory)/bad\(index).yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let (status, output) = try Shell.run([Binaries.lsrd, "--config", path])
            #expect(status == 2, "\(path): \(output)")
            #expect(output.contains(path) && output.contains(expected), "\(output)")
        }
    }

    @Test func interfaceThatDoesNotExistStopsTheDaemon() throws {
        let lab = try NamespaceLab(prefix: "lsrti")
        defer { lab.tearDown() }
        try lab.addNode("r1", loopback: "1.1.1.1")
        let (status, output) = try Shell.run(["ip", "netns", "exec", lab.namespace("r1"), Binaries.lsrd,
                                              "--router-id", "1.1.1.1", "--interface", "eth9",
                                              "--control-socket", lab.socket("r1")])
        #expect(status == 1)
        #expect(output.contains("interface 'eth9' in the configuration does not exist"))
    }
}

@Suite(.serialized, .enabled(if: Environment.canRunNamespaces, "needs root and iproute2 to make network namespaces"))
struct DaemonReloadAndRejectionTests {
    @Test func reloadWithoutSessionResetKeepsTheSession() throws {
        let lab = try NamespaceLab(prefix: "lsrth")
        defer { lab.tearDown() }
        try lab.build(pair)
        try lab.waitForConvergence(pair)
        let before = try lab.show("r1", ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors.first
        // A new hello interval and a label filter: neither needs a new session.
        try """
            router-id: 1.1.1.1
            interfaces:
              - { name: eth0, hello-interval: 2, hold-time: 6 }
            labels-for: host-routes
            control-socket: \(lab.socket("r1"))
            """.write(toFile: "\(lab.directory)/r1.yaml", atomically: true, encoding: .utf8)
        kill(lab.daemons["r1"]!.processIdentifier, SIGHUP)
        try lab.wait(timeout: 10, "the reload") { lab.log("r1").contains("configuration reloaded") }
        try lab.wait(timeout: 10, "the connected /24 to lose its label") {
            try lab.show("r1", ["show", "ldp", "binding"], as: BindingsView.self).bindings
                .allSatisfy { $0.fec != "10.0.12.0/24" || $0.localLabel == nil }
        }
        let after = try lab.show("r1", ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors.first
        #expect(after?.state == "OPERATIONAL")
        #expect((after?.uptimeSeconds ?? 0) >= (before?.uptimeSeconds ?? 0))
        #expect(!lab.log("r1").contains("session down: 2.2.2.2"))
        let interface = try lab.show("r1", ["show", "ldp", "interface"], as: InterfacesView.self).interfaces.first
        #expect(interface?.helloIntervalSeconds == 2)
    }

    @Test func clearNeighborResetsTheSessionAndItComesBack() throws {
        let lab = try NamespaceLab(prefix: "lsrtc")
        defer { lab.tearDown() }
        try lab.build(pair)
        try lab.waitForConvergence(pair)
        let output = try lab.exec("r1", [Binaries.lsrctl, "clear", "ldp", "neighbor", "2.2.2.2", "--socket", lab.socket("r1")])
        #expect(output.contains("session with 2.2.2.2 cleared"))
        try lab.wait(timeout: 30, "the session to come back") {
            try lab.log("r1").contains("session down: 2.2.2.2") &&
                (try lab.show("r1", ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors.first?.state == "OPERATIONAL")
        }
        try lab.waitForConvergence(pair)
        let unknown = try Shell.run(["ip", "netns", "exec", lab.namespace("r1"), Binaries.lsrctl, "clear", "ldp", "neighbor",
                                     "9.9.9.9", "--socket", lab.socket("r1")])
        #expect(unknown.status == 1 && unknown.output.contains("no session with 9.9.9.9"))
    }

    @Test func peerWithoutAdjacencyGetsNoSession() throws {
        let lab = try NamespaceLab(prefix: "lsrtn")
        defer { lab.tearDown() }
        try lab.addNode("r1", loopback: "1.1.1.1")
        try lab.addNode("x", loopback: "9.9.9.9")
        try lab.addLink("r1", "eth0", "x", "eth0", subnet: "10.0.19")
        try lab.exec("r1", ["ip", "route", "add", "9.9.9.9/32", "via", "10.0.19.2"])
        try lab.exec("x", ["ip", "route", "add", "1.1.1.1/32", "via", "10.0.19.1"])
        try lab.startDaemon("r1", configuration: "router-id: 1.1.1.1\ninterfaces:\n  - eth0")
        try lab.wait(timeout: 10, "the control socket") { FileManager.default.fileExists(atPath: lab.socket("r1")) }
        // x sends no Hello: it connects and sends an Initialization from 9.9.9.9:0 to 1.1.1.1:0.
        let script = """
            import socket, struct
            s = socket.create_connection(("1.1.1.1", 646), timeout=10, source_address=("9.9.9.9", 0))
            params = struct.pack("!HHBBH", 1, 180, 0, 0, 4096) + bytes([1,1,1,1,0,0])
            tlv = struct.pack("!HH", 0x0500, len(params)) + params
            msg = struct.pack("!HHI", 0x0200, 4 + len(tlv), 1) + tlv
            pdu = struct.pack("!HH", 1, 6 + len(msg)) + bytes([9,9,9,9,0,0]) + msg
            s.sendall(pdu)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk: break
                data += chunk
            # Find the Notification's status code.
            i = 10
            while i + 8 <= len(data):
                mtype, mlen = struct.unpack("!HH", data[i:i+4])
                if mtype & 0x7fff == 0x0001:
                    print("status 0x%08x" % struct.unpack("!I", data[i+12:i+16])[0])
                i += 4 + mlen
            print("closed")
            """
        let output = try lab.exec("x", ["python3", "-c", script])
        #expect(output.contains("status 0x80000010"), "\(output)")
        #expect(output.contains("closed"))
        #expect(try lab.show("r1", ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors.allSatisfy { $0.state != "OPERATIONAL" })
    }
}

@Suite(.serialized, .enabled(if: Environment.canRunNamespaces, "needs root and iproute2 to make network namespaces"))
struct DaemonDefaultsAndTargetedTests {
    @Test func defaultControlSocketIsPerNamespace() throws {
        let lab = try NamespaceLab(prefix: "lsrtp")
        defer { lab.tearDown() }
        try lab.addNode("r1", loopback: "1.1.1.1")
        let expected = "/run/lsrd/\(lab.namespace("r1")).sock"
        let process = try lab.startProcess("r1", [Binaries.lsrd, "--router-id", "1.1.1.1"])
        defer { lab.stop(process) }
        try lab.wait(timeout: 10, "the per-namespace control socket") { FileManager.default.fileExists(atPath: expected) }
        let attributes = try FileManager.default.attributesOfItem(atPath: expected)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // lsrctl run in the namespace finds it with no flags.
        let output = try lab.exec("r1", [Binaries.lsrctl, "show", "ldp", "interface", "--json"])
        #expect(output.contains("\"interfaces\""))
    }

    @Test func busyLDPPortIsReportedWithTheAddress() throws {
        let lab = try NamespaceLab(prefix: "lsrtb")
        defer { lab.tearDown() }
        try lab.addNode("r1", loopback: "1.1.1.1")
        try lab.startDaemon("r1", configuration: "router-id: 1.1.1.1")
        try lab.wait(timeout: 10, "the first daemon") { FileManager.default.fileExists(atPath: lab.socket("r1")) }
        let (status, output) = try Shell.run(["ip", "netns", "exec", lab.namespace("r1"), Binaries.lsrd,
                                              "--router-id", "1.1.1.1", "--control-socket", lab.socket("r1") + ".second"])
        #expect(status == 1)
        #expect(output.contains("646"), "\(output)")
        #expect(output.contains("Address already in use") || output.contains("in use"), "\(output)")
    }

    @Test func targetedNeighborsFormASessionAcrossARouter() throws {
        // r1 - r2 - r3, no LDP on any link: a targeted session between r1 and r3 over two hops.
        let lab = try NamespaceLab(prefix: "lsrtt")
        defer { lab.tearDown() }
        try lab.addNode("r1", loopback: "1.1.1.1")
        try lab.addNode("r2", loopback: "2.2.2.2")
        try lab.addNode("r3", loopback: "3.3.3.3")
        try lab.addLink("r1", "eth0", "r2", "eth0", subnet: "10.0.12")
        try lab.addLink("r2", "eth1", "r3", "eth0", subnet: "10.0.23")
        try lab.exec("r1", ["ip", "route", "add", "3.3.3.3/32", "via", "10.0.12.2"])
        try lab.exec("r3", ["ip", "route", "add", "1.1.1.1/32", "via", "10.0.23.1"])
        try lab.exec("r2", ["ip", "route", "add", "1.1.1.1/32", "via", "10.0.12.1"])
        try lab.exec("r2", ["ip", "route", "add", "3.3.3.3/32", "via", "10.0.23.2"])
        for (node, peer) in [("r1", "3.3.3.3"), ("r3", "1.1.1.1")] {
            try lab.startDaemon(node, configuration: """
                router-id: \(node == "r1" ? "1.1.1.1" : "3.3.3.3")
                targeted-neighbors:
                  - { address: \(peer), hello-interval: 1, hold-time: 5 }
                """)
        }
        try lab.wait(timeout: 40, "the targeted session") {
            try lab.show("r1", ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors
                .contains { $0.peer == "3.3.3.3:0" && $0.state == "OPERATIONAL" }
        }
        let adjacencies = try lab.show("r1", ["show", "ldp", "discovery"], as: DiscoveryView.self).adjacencies
        #expect(adjacencies.contains { $0.source == "targeted" && $0.peer == "3.3.3.3:0" })
        // GTSM is for single-hop link adjacencies only (RFC 6720).
        #expect(try lab.show("r1", ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors.first?.gtsm == false)
    }
}
