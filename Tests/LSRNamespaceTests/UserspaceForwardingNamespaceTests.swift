// lsrd's userspace dataplane forwarding real frames: r1 - r2 - r3, labelled frames injected at r1
// (scapy over AF_PACKET in r1's namespace), swapped/popped by lsrd in r2, received by r3's kernel.

import Foundation
import LSRControl
import Testing

@Suite(.serialized, .enabled(if: Environment.canRunNamespaces && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"),
                             "needs root, iproute2 and python3-scapy"))
struct UserspaceForwardingNamespaceTests {
    /// One ICMP counter of a node's kernel (/proc/net/snmp, per namespace).
    func icmpCounter(_ lab: NamespaceLab, _ node: String, _ name: String) throws -> Int {
        let lines = try lab.exec(node, ["cat", "/proc/net/snmp"]).split(separator: "\n").filter { $0.hasPrefix("Icmp:") }
        guard lines.count >= 2 else { return -1 }
        let names = lines[0].split(separator: " ")
        let values = lines[1].split(separator: " ")
        guard let index = names.firstIndex(where: { $0 == name }) else { return -1 }
        return Int(values[index]) ?? -1
    }

    func send(_ lab: NamespaceLab, from node: String, interface: String, mac: String, label: UInt32, ttl: Int, count: Int) throws {
        let script = """
        from scapy.all import Ether, IP, ICMP, sendp
        from scapy.contrib.mpls import MPLS
        frame = Ether(dst='\(mac)')/MPLS(label=\(label), s=1, ttl=\(ttl))/IP(src='1.1.1.1', dst='3.3.3.3')/ICMP(id=7)
        sendp(frame, iface='\(interface)', count=\(count), inter=0.05, verbose=False)
        """
        try lab.exec(node, ["/usr/bin/python3", "-c", script])
    }

    func entry(_ lab: NamespaceLab, _ node: String, label: UInt32) throws -> LFIBView.Entry? {
        try lab.show(node, ["show", "lfib"], as: LFIBView.self).entries.first { $0.inLabel == label }
    }

    @Test func coreLSRPopsAndSendsTTLExpiryAlongTheLSP() throws {
        let lab = try NamespaceLab(prefix: "lsru3")
        defer { lab.tearDown() }
        try lab.build(line3)
        try lab.waitForConvergence(line3)
        let push = try #require(try lab.lfib("r1").first { $0.action == "push" && $0.fec == "3.3.3.3/32" })
        let label = try #require(push.nexthops.first?.outLabels.first)
        let mac = try lab.exec("r2", ["cat", "/sys/class/net/eth0/address"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let r2Entry = try #require(try entry(lab, "r2", label: label))
        #expect(r2Entry.action == "pop")
        #expect(r2Entry.installed.userspace)

        // Five echo requests: r2 pops (PHP), r3's kernel answers over plain IP routing.
        let echoesBefore = try icmpCounter(lab, "r3", "InEchos")
        try send(lab, from: "r1", interface: "eth0", mac: mac, label: label, ttl: 64, count: 5)
        try lab.wait(timeout: 10, "r3 to receive the popped echo requests") {
            try icmpCounter(lab, "r3", "InEchos") - echoesBefore >= 5
        }
        #expect(try icmpCounter(lab, "r3", "InEchos") - echoesBefore == 5)
        #expect(try entry(lab, "r2", label: label)?.packets == 5)

        // TTL 1: r2 sends Time Exceeded on toward r3 (RFC 3032 §2.3.2), which routes it back to r1.
        // It comes back through r2's kernel as plain IP with r2's own address as source: let it in.
        for interface in ["all", "eth1"] { try lab.exec("r2", ["sysctl", "-qw", "net.ipv4.conf.\(interface).accept_local=1"]) }
        let exceededBefore = try icmpCounter(lab, "r1", "InTimeExcds")
        try send(lab, from: "r1", interface: "eth0", mac: mac, label: label, ttl: 1, count: 2)
        let arrived = (try? lab.wait(timeout: 10, "r1 to receive Time Exceeded") {
            try icmpCounter(lab, "r1", "InTimeExcds") - exceededBefore >= 2
        }) != nil
        let dataplane = try lab.show("r2", ["show", "dataplane"], as: DataplaneView.self)
        let userspace = try #require(dataplane.backends.first { $0.name == "userspace" })
        #expect(userspace.detail["drop-ttl-expired"] == 2)
        #expect(userspace.detail["icmp-generated"] == 2)
        let r3 = (try? lab.exec("r3", ["cat", "/proc/net/snmp"])) ?? ""
        #expect(arrived, "r2: \(userspace.detail), r3 snmp: \(r3)")
    }
}
