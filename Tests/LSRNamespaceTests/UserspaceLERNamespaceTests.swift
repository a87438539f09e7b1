// lsrd as a label edge router on its userspace plane: ce1 - pe1 - p1 - p2 - pe2 - ce2, lsrd in
// `userspace` mode on the four routers. The LSRs have ip_forward=0 and no route to the customer
// subnets, so a CE-to-CE ping only works when the PEs push labels (through lsrd's TUN device and
// the static routes over the LSP to the far PE) and the LSRs swap and pop them.

import Foundation
import LSRControl
import Testing

@Suite(.serialized, .enabled(if: Environment.canRunNamespaces && FileManager.default.isExecutableFile(atPath: "/usr/bin/ping")
                                 && FileManager.default.isExecutableFile(atPath: "/usr/bin/tcpdump")
                                 && FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark"),
                             "needs root, iproute2, iputils-ping, tcpdump and tshark"))
struct UserspaceLERNamespaceTests {
    static let loopbacks = ["pe1": "10.255.0.1", "p1": "10.255.0.2", "p2": "10.255.0.3", "pe2": "10.255.0.4"]
    static let routers = ["pe1", "p1", "p2", "pe2"]

    /// Nodes, links, IGP-like static routes (none to customer subnets on the LSRs), offloads off.
    /// With `customerRings` the PEs take their CEs' IPv4 off eth1 before the kernel routes it.
    func build(_ lab: NamespaceLab, customerRings: Bool) throws {
        try lab.addNode("ce1", loopback: "172.16.0.1")
        try lab.addNode("ce2", loopback: "172.16.0.2")
        for router in Self.routers { try lab.addNode(router, loopback: Self.loopbacks[router]!) }
        // a gets .1, b gets .2.
        let links = [("ce1", "eth0", "pe1", "eth1", "192.168.1"), ("pe1", "eth0", "p1", "eth0", "10.0.1"),
                     ("p1", "eth1", "p2", "eth0", "10.0.2"), ("p2", "eth1", "pe2", "eth0", "10.0.3"),
                     ("ce2", "eth0", "pe2", "eth1", "192.168.2")]
        for (a, interfaceA, b, interfaceB, subnet) in links {
            try lab.addLink(a, interfaceA, b, interfaceB, subnet: subnet)
            // Offloads off: veth would hand the rings partial checksums and 64 KB frames.
            for (node, interface) in [(a, interfaceA), (b, interfaceB)] {
                try lab.exec(node, ["ethtool", "-K", interface, "tx", "off", "tso", "off", "gso", "off", "gro", "off"])
            }
        }
        for lsr in ["p1", "p2"] { try lab.exec(lsr, ["sysctl", "-qw", "net.ipv4.ip_forward=0"]) }
        let routes: [String: [(String, String, String)]] = [
            "ce1": [("default", "192.168.1.2", "eth0")],
            "ce2": [("default", "192.168.2.2", "eth0")],
            "pe1": ["10.255.0.2/32", "10.0.2.0/24", "10.255.0.3/32", "10.0.3.0/24", "10.255.0.4/32", "192.168.2.0/24"]
                .map { ($0, "10.0.1.2", "eth0") },
            "p1": [("10.255.0.1/32", "10.0.1.1", "eth0")]
                + ["10.255.0.3/32", "10.0.3.0/24", "10.255.0.4/32"].map { ($0, "10.0.2.2", "eth1") },
            "p2": [("10.255.0.4/32", "10.0.3.2", "eth1")]
                + ["10.255.0.2/32", "10.0.1.0/24", "10.255.0.1/32"].map { ($0, "10.0.2.1", "eth0") },
            "pe2": ["10.255.0.3/32", "10.0.2.0/24", "10.255.0.2/32", "10.0.1.0/24", "10.255.0.1/32", "192.168.1.0/24"]
                .map { ($0, "10.0.3.1", "eth0") },
        ]
        for (node, list) in routes {
            for (prefix, gateway, interface) in list { try lab.exec(node, ["ip", "route", "replace", prefix, "via", gateway, "dev", interface]) }
        }
        let interfaces = ["pe1": ["eth0"], "p1": ["eth0", "eth1"], "p2": ["eth0", "eth1"], "pe2": ["eth0"]]
        let staticRoutes = ["pe1": "static-routes:\n  - { prefix: 192.168.2.0/24, via: 10.255.0.4 }",
                            "pe2": "static-routes:\n  - { prefix: 192.168.1.0/24, via: 10.255.0.1 }"]
        for router in Self.routers {
            let lines = interfaces[router]!.map { "  - { name: \($0), hello-interval: 1, hold-time: 3 }" }
            try lab.startDaemon(router, configuration: """
                router-id: \(Self.loopbacks[router]!)
                dataplane: userspace
                interfaces:
                \(lines.joined(separator: "\n"))
                \(staticRoutes[router] ?? "")
                \(customerRings && staticRoutes[router] != nil ? "userspace:\n  customer-interfaces: [eth1]" : "")
                """)
        }
    }

    func entries(_ lab: NamespaceLab, _ node: String) throws -> [LFIBView.Entry] {
        try lab.show(node, ["show", "lfib"], as: LFIBView.self).entries
    }

    func entry(_ lab: NamespaceLab, _ node: String, fec: String, action: String) throws -> LFIBView.Entry? {
        try entries(lab, node).first { $0.fec == fec && $0.action == action }
    }

    /// The ping's output, and whether all of `count` echoes came back.
    func ping(_ lab: NamespaceLab, from node: String, to address: String, count: Int) throws -> (ok: Bool, output: String) {
        let (status, output) = try Shell.run(["ip", "netns", "exec", lab.namespace(node), "ping", "-n", "-c", "\(count)",
                                              "-i", "0.2", "-W", "2", address])
        return (status == 0 && output.contains("\(count) received"), output)
    }

    /// Without customer rings the kernel routes the CEs' packets into lsr0; with them the engine
    /// takes them off eth1 and the kernel's IP forwarding leaves the push path.
    @Test(arguments: [false, true])
    func customersPingEachOtherOverTheLSPs(customerRings: Bool) throws {
        let lab = try NamespaceLab(prefix: customerRings ? "lsri" : "lsrl")
        defer { lab.tearDown() }
        try build(lab, customerRings: customerRings)

        // The LSPs between the PE loopbacks: p1 swaps toward pe2 and pops toward pe1 (PHP).
        var towardPE2: LFIBView.Entry?, towardPE1: LFIBView.Entry?
        try lab.wait(timeout: 40, "the LSPs between the PEs") {
            towardPE2 = try entry(lab, "p1", fec: "10.255.0.4/32", action: "swap")
            towardPE1 = try entry(lab, "p2", fec: "10.255.0.1/32", action: "swap")
            let pushes = try entry(lab, "pe1", fec: "10.255.0.4/32", action: "push") != nil
                && entry(lab, "pe2", fec: "10.255.0.1/32", action: "push") != nil
            return towardPE2 != nil && towardPE1 != nil && pushes
        }
        // The labels the LFIBs predict on the p1-p2 link: requests carry p1's out label toward
        // pe2, replies p2's out label toward pe1.
        let requestLabel = try #require(towardPE2?.nexthops.first?.outLabels.first)
        let replyLabel = try #require(towardPE1?.nexthops.first?.outLabels.first)
        #expect(try entry(lab, "p2", fec: "10.255.0.4/32", action: "pop")?.inLabel == requestLabel)
        #expect(try entry(lab, "p1", fec: "10.255.0.1/32", action: "pop")?.inLabel == replyLabel)

        // pe1's kernel hands the far customer subnet to lsrd's TUN device, in table 193 with a rule.
        let routed = (try? lab.wait(timeout: 10, "pe1's route into the TUN device") {
            try lab.exec("pe1", ["ip", "-N", "route", "show", "table", "193"]).contains("192.168.2.0/24 dev lsr0 proto 205")
        }) != nil
        let pe1View = (try? lab.show("pe1", ["show", "dataplane"], as: DataplaneView.self)).map { "\($0)" } ?? "-"
        try #require(routed, "pe1 table 193: \((try? lab.exec("pe1", ["ip", "-N", "route", "show", "table", "193"])) ?? "-")\n\(pe1View)")
        #expect(try lab.exec("pe1", ["ip", "-N", "rule", "show"]).contains("1000:\tfrom all lookup 193"))
        #expect(try lab.exec("pe1", ["ip", "route", "show", "192.168.2.0/24"]).contains("via 10.0.1.2"),
                "the IGP's route stays in the main table")

        // First contact resolves the neighbours' MACs; then the counted run.
        try lab.wait(timeout: 20, "a first CE-to-CE echo") { try ping(lab, from: "ce1", to: "192.168.2.1", count: 1).ok }
        let p1Before = try (entry(lab, "p1", fec: "10.255.0.4/32", action: "swap")?.packets ?? 0,
                            entry(lab, "p1", fec: "10.255.0.1/32", action: "pop")?.packets ?? 0)
        let p2Before = try (entry(lab, "p2", fec: "10.255.0.4/32", action: "pop")?.packets ?? 0,
                            entry(lab, "p2", fec: "10.255.0.1/32", action: "swap")?.packets ?? 0)

        func pe1Detail(_ name: String) throws -> UInt64? {
            try lab.show("pe1", ["show", "dataplane"], as: DataplaneView.self).backends.first { $0.name == "userspace" }?.detail[name]
        }
        let unroutedBefore = try #require(try pe1Detail("drop-no-entry"))
        #expect(try pe1Detail("tunnel-routes") ?? 0 >= 1)
        #expect(try pe1Detail("ingress-rings") == (customerRings ? 1 : 0))
        // What the kernel routes into lsr0 it transmits there; the device's eBPF filter then
        // drops it from the queue (the engine read it from its ring), counted as tx_dropped.
        func routedIntoTunnel() throws -> Int {
            try ["tx_packets", "tx_dropped"].reduce(0) { total, counter in
                let text = try lab.exec("pe1", ["cat", "/sys/class/net/lsr0/statistics/\(counter)"])
                return total + (Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1_000_000)
            }
        }
        let routedBefore = try routedIntoTunnel()

        let capture = "\(lab.directory)/p1-p2.pcap"
        let tcpdumpLog = "\(lab.directory)/tcpdump.log"
        // Immediate mode: a frame waiting in libpcap's ring block when tcpdump stops would be lost.
        let tcpdump = try lab.spawn("p2", ["tcpdump", "-i", "eth0", "--immediate-mode", "-U", "-n", "-w", capture, "mpls"], log: tcpdumpLog)
        var capturing = true
        defer { if capturing { lab.stop(tcpdump) } }
        try lab.wait(timeout: 10, "tcpdump to start") {
            ((try? String(contentsOfFile: tcpdumpLog, encoding: .utf8)) ?? "").contains("listening on eth0")
        }
        let count = 10
        let forward = try ping(lab, from: "ce1", to: "192.168.2.1", count: count)
        let backward = try ping(lab, from: "ce2", to: "192.168.1.1", count: count)
        usleep(500_000)
        lab.stop(tcpdump)
        capturing = false
        let pe1Dataplane = (try? lab.show("pe1", ["show", "dataplane"], as: DataplaneView.self)).map { "\($0)" } ?? "-"
        #expect(forward.ok, "ce1 -> ce2: \(forward.output)\npe1: \(pe1Dataplane)")
        #expect(backward.ok, "ce2 -> ce1: \(backward.output)")
        // Exactly one plane forwarded each packet.
        #expect(!forward.output.contains("DUP!") && !backward.output.contains("DUP!"))
        let intoTunnel = try routedIntoTunnel() - routedBefore
        if customerRings {
            #expect(intoTunnel < count, "the kernel routed \(intoTunnel) of ce1's echoes into lsr0 itself")
        } else {
            #expect(intoTunnel >= count, "the kernel routes ce1's echoes into lsr0: \(intoTunnel)")
        }
        // Nothing the kernel routed into lsr0 went without an FTN (IPv6 chatter is kept out too).
        #expect(try pe1Detail("drop-no-entry") == unroutedBefore)

        // Every echo crossed p1 and p2 as a labelled frame: request and reply each way.
        let p1After = try (entry(lab, "p1", fec: "10.255.0.4/32", action: "swap")?.packets ?? 0,
                           entry(lab, "p1", fec: "10.255.0.1/32", action: "pop")?.packets ?? 0)
        let p2After = try (entry(lab, "p2", fec: "10.255.0.4/32", action: "pop")?.packets ?? 0,
                           entry(lab, "p2", fec: "10.255.0.1/32", action: "swap")?.packets ?? 0)
        #expect(p1After.0 - p1Before.0 >= UInt64(2 * count), "p1 swaps requests of ce1 and replies of ce1's echoes")
        #expect(p1After.1 - p1Before.1 >= UInt64(2 * count), "p1 pops toward pe1")
        #expect(p2After.0 - p2Before.0 >= UInt64(2 * count), "p2 pops toward pe2")
        #expect(p2After.1 - p2Before.1 >= UInt64(2 * count), "p2 swaps toward pe1")

        // The capture on the p1-p2 link: labelled frames with exactly the predicted labels.
        let fields = try Shell.check(["tshark", "-r", capture, "-T", "fields", "-e", "mpls.label"])
        // One line per frame ("17", or "17,18" for a deeper stack); stderr (tshark's warning about
        // running as root) is mixed into the output, so keep only lines of label numbers.
        let labels = fields.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { line in !line.isEmpty && line.allSatisfy { $0.isNumber || $0 == "," } }
        #expect(labels.count >= 4 * count, "four labelled frames per echo pair crossing both ways: \(labels.count)")
        #expect(Set(labels) == [String(requestLabel), String(replyLabel)], "labels seen: \(Set(labels))")
        #expect(labels.filter { $0 == String(requestLabel) }.count >= 2 * count)
        #expect(labels.filter { $0 == String(replyLabel) }.count >= 2 * count)

        // What the engine does not push reaches the kernel: pe1 answers for its own address.
        #expect(try ping(lab, from: "ce1", to: "192.168.1.2", count: 3).ok)
        if customerRings {
            // The kernel's drop of ce1's IPv4 lives only as long as lsrd: killed, it is gone.
            lab.stopDaemon("pe1", signal: SIGKILL)
            #expect(try ping(lab, from: "ce1", to: "192.168.1.2", count: 3).ok, "pe1's kernel answers ce1 again")
            return
        }
        // SIGHUP with the static route gone: its entry and its route into lsr0 go, the LSP stays.
        let path = "\(lab.directory)/pe1.yaml"
        let reloaded = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "static-routes:\n  - { prefix: 192.168.2.0/24, via: 10.255.0.4 }", with: "")
        try #require(!reloaded.contains("static-routes"))
        try reloaded.write(toFile: path, atomically: true, encoding: .utf8)
        kill(lab.daemons["pe1"]!.processIdentifier, SIGHUP)
        try lab.wait(timeout: 10, "the customer prefix to leave pe1's LFIB and table 193") {
            try entries(lab, "pe1").allSatisfy { $0.fec != "192.168.2.0/24" }
                && !lab.exec("pe1", ["ip", "-N", "route", "show", "table", "193"]).contains("192.168.2.0/24")
        }
        #expect(try entry(lab, "pe1", fec: "10.255.0.4/32", action: "push") != nil)

        // A clean stop hands the customer prefixes back to the IGP's routes.
        lab.stopDaemon("pe1")
        #expect(try !lab.exec("pe1", ["ip", "-N", "rule", "show"]).contains("lookup 193"))
        #expect(try lab.exec("pe1", ["ip", "route", "show", "table", "all"]).contains("lsr0") == false)
    }

    /// Two LERs on one link, each with its CE: ce1 - pe1 - pe2 - ce2. Each PE advertises
    /// implicit-null for its loopback, so the other has only a pop entry for it and no FTN, and
    /// neither kernel has a route to the far customer subnet: the static routes must resolve
    /// over the pop entry and forward plain IP to the neighbour.
    func buildAdjacent(_ lab: NamespaceLab, customerRings: Bool) throws {
        let loopbacks = ["pe1": "10.255.0.1", "pe2": "10.255.0.2"]
        try lab.addNode("ce1", loopback: "172.16.0.1")
        try lab.addNode("ce2", loopback: "172.16.0.2")
        for router in ["pe1", "pe2"] { try lab.addNode(router, loopback: loopbacks[router]!) }
        let links = [("ce1", "eth0", "pe1", "eth1", "192.168.1"), ("pe1", "eth0", "pe2", "eth0", "10.0.1"),
                     ("ce2", "eth0", "pe2", "eth1", "192.168.2")]
        for (a, interfaceA, b, interfaceB, subnet) in links {
            try lab.addLink(a, interfaceA, b, interfaceB, subnet: subnet)
            for (node, interface) in [(a, interfaceA), (b, interfaceB)] {
                try lab.exec(node, ["ethtool", "-K", interface, "tx", "off", "tso", "off", "gso", "off", "gro", "off"])
            }
        }
        try lab.exec("ce1", ["ip", "route", "replace", "default", "via", "192.168.1.2", "dev", "eth0"])
        try lab.exec("ce2", ["ip", "route", "replace", "default", "via", "192.168.2.2", "dev", "eth0"])
        // Only the far loopback (the LDP session's transport address): no route to the far CE.
        try lab.exec("pe1", ["ip", "route", "replace", "10.255.0.2/32", "via", "10.0.1.2", "dev", "eth0"])
        try lab.exec("pe2", ["ip", "route", "replace", "10.255.0.1/32", "via", "10.0.1.1", "dev", "eth0"])
        let farCustomer = ["pe1": ("192.168.2.0/24", "10.255.0.2"), "pe2": ("192.168.1.0/24", "10.255.0.1")]
        for router in ["pe1", "pe2"] {
            try lab.startDaemon(router, configuration: """
                router-id: \(loopbacks[router]!)
                dataplane: userspace
                interfaces:
                  - { name: eth0, hello-interval: 1, hold-time: 3 }
                static-routes:
                  - { prefix: \(farCustomer[router]!.0), via: \(farCustomer[router]!.1) }
                \(customerRings ? "userspace:\n  customer-interfaces: [eth1]" : "")
                """)
        }
    }

    @Test(arguments: [false, true])
    func customersOfAdjacentLERsPingEachOther(customerRings: Bool) throws {
        let lab = try NamespaceLab(prefix: customerRings ? "adji" : "adjl")
        defer { lab.tearDown() }
        try buildAdjacent(lab, customerRings: customerRings)

        // Each PE pops its label for the other's loopback (implicit-null from it) and pushes
        // nothing for it: no FTN. The customer prefix gets the pop entry's next hop.
        var routes: [String: LFIBView.Entry] = [:]
        let far = ["pe1": ("192.168.2.0/24", "10.255.0.2", "10.0.1.2"), "pe2": ("192.168.1.0/24", "10.255.0.1", "10.0.1.1")]
        try lab.wait(timeout: 40, "the static routes over the pop entries") {
            for (pe, (customer, _, _)) in far { routes[pe] = try entry(lab, pe, fec: customer, action: "push") }
            return routes.count == 2
        }
        for (pe, (_, loopback, neighbour)) in far {
            let route = try #require(routes[pe])
            #expect(route.nexthops.map(\.outLabels) == [[3]], "\(pe): implicit-null, shown as such")
            #expect(route.nexthops.first?.address == neighbour && route.nexthops.first?.interface == "eth0")
            let lfib = try entries(lab, pe)
            #expect(lfib.contains { $0.fec == "\(loopback)/32" && $0.action == "pop" }, "\(pe): \(lfib)")
            #expect(!lfib.contains { $0.fec == "\(loopback)/32" && $0.action == "push" }, "\(pe): no FTN for an adjacent LER")
            #expect(try lab.exec(pe, ["ip", "route", "show", far[pe]!.0]).isEmpty, "\(pe): no route of the kernel's own")
            try lab.wait(timeout: 10, "\(pe)'s route into the TUN device") {
                try lab.exec(pe, ["ip", "-N", "route", "show", "table", "193"]).contains("\(far[pe]!.0) dev lsr0 proto 205")
            }
        }

        try lab.wait(timeout: 20, "a first CE-to-CE echo") { try ping(lab, from: "ce1", to: "192.168.2.1", count: 1).ok }
        let before = try far.keys.sorted().map { try entry(lab, $0, fec: far[$0]!.0, action: "push")?.packets ?? 0 }
        let count = 10
        let forward = try ping(lab, from: "ce1", to: "192.168.2.1", count: count)
        let backward = try ping(lab, from: "ce2", to: "192.168.1.1", count: count)
        #expect(forward.ok, "ce1 -> ce2: \(forward.output)")
        #expect(backward.ok, "ce2 -> ce1: \(backward.output)")
        #expect(!forward.output.contains("DUP!") && !backward.output.contains("DUP!"))
        // The engines forwarded them: each PE's entry counts a request and a reply per echo.
        let after = try far.keys.sorted().map { try entry(lab, $0, fec: far[$0]!.0, action: "push")?.packets ?? 0 }
        for (index, pe) in far.keys.sorted().enumerated() {
            #expect(after[index] - before[index] >= UInt64(2 * count), "\(pe): \(before[index]) -> \(after[index])")
        }

        // The link goes: the route to the far loopback and with it the pop entry go, and the
        // static route leaves the LFIB and table 193.
        try lab.exec("pe1", ["ip", "link", "set", "eth0", "down"])
        try lab.wait(timeout: 10, "pe1's static route to leave with the pop entry") {
            // A table the kernel never had is an error to show: it holds no route either.
            let table = (try? lab.exec("pe1", ["ip", "-N", "route", "show", "table", "193"])) ?? ""
            return try entries(lab, "pe1").allSatisfy { $0.fec != "192.168.2.0/24" && $0.fec != "10.255.0.2/32" }
                && !table.contains("192.168.2.0/24")
        }
    }
}
