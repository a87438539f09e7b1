// lsrd against FRRouting's ldpd, an independent implementation: both session roles, MD5,
// GTSM, and the labels each side learns from the other.

import Foundation
import LabKit
import LSRControl
import Testing

@Suite(.serialized, .enabled(if: Environment.canRunNamespaces && FRR.isInstalled, "needs root, iproute2 and Debian's frr"))
struct FRRInteropTests {
    /// One lsrd node and one FRR node on a link; the one with the larger LSR ID is active (§2.5.2).
    func run(lsrdID: String, frrID: String, password: String? = nil, frrPassword: String? = nil,
             expectSession: Bool = true, prefix: String) throws {
        let lab = try NamespaceLab(prefix: prefix)
        defer { lab.tearDown() }
        try lab.addNode("lsr", loopback: lsrdID)
        try lab.addNode("frr", loopback: frrID)
        try lab.addLink("lsr", "eth0", "frr", "eth0", subnet: "10.0.12")
        try lab.exec("lsr", ["ip", "route", "add", "\(frrID)/32", "via", "10.0.12.2"])
        let passwords = password.map { "neighbors:\n  - { lsr-id: \(frrID), password: \($0) }" } ?? ""
        try lab.startDaemon("lsr", configuration: """
            router-id: \(lsrdID)
            interfaces:
              - { name: eth0, hello-interval: 1, hold-time: 3 }
            \(passwords)
            """)
        try lab.startFRR("frr", routerID: frrID, interfaces: ["eth0"], staticRoutes: [("\(lsrdID)/32", "10.0.12.1")],
                         neighborPasswords: frrPassword.map { [lsrdID: $0] } ?? [:])

        func lsrdState() throws -> String? {
            try lab.show("lsr", ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors.first { $0.peer == "\(frrID):0" }?.state
        }
        guard expectSession else {
            try lab.wait(timeout: 15, "an adjacency with FRR") {
                try lab.show("lsr", ["show", "ldp", "discovery"], as: DiscoveryView.self).adjacencies.contains { $0.peer == "\(frrID):0" }
            }
            sleep(8)
            #expect(try lsrdState() != "OPERATIONAL")
            #expect(!(try lab.vtysh("frr", "show mpls ldp neighbor")).contains("OPERATIONAL"))
            return
        }
        try lab.wait(timeout: 45, "the session with FRR") {
            try lsrdState() == "OPERATIONAL" && lab.vtysh("frr", "show mpls ldp neighbor").contains("OPERATIONAL")
        }
        // FRR learned lsrd's labels: implicit-null for lsrd's loopback, a real label for FRR's own
        // loopback as seen from lsrd; and lsrd learned FRR's.
        let lsrdBindings = try lab.show("lsr", ["show", "ldp", "binding"], as: BindingsView.self).bindings
        let lsrdLocal = Dictionary(uniqueKeysWithValues: lsrdBindings.compactMap { binding in binding.localLabel.map { (binding.fec, $0) } })
        try lab.wait(timeout: 15, "FRR to hold lsrd's labels") {
            let frrBindings = try FRRBinding.parse(lab.vtysh("frr", "show mpls ldp binding json"))
            return frrBindings.contains { $0.prefix == "\(lsrdID)/32" && $0.neighbor == lsrdID && $0.remoteLabel == "imp-null" }
                && frrBindings.contains { $0.prefix == "\(frrID)/32" && $0.neighbor == lsrdID && $0.remoteLabel == String(lsrdLocal["\(frrID)/32"] ?? 0) }
        }
        let frrBindings = try FRRBinding.parse(lab.vtysh("frr", "show mpls ldp binding json"))
        let frrLocalForLsrd = frrBindings.first { $0.prefix == "\(lsrdID)/32" }?.localLabel
        try lab.wait(timeout: 10, "lsrd to hold FRR's labels") {
            let bindings = try lab.show("lsr", ["show", "ldp", "binding"], as: BindingsView.self).bindings
            let own = bindings.first { $0.fec == "\(frrID)/32" }?.remote.first { $0.peer == frrID }
            let theirs = bindings.first { $0.fec == "\(lsrdID)/32" }?.remote.first { $0.peer == frrID }
            return own?.label == 3 && own?.inUse == true && theirs.map { String($0.label) } == frrLocalForLsrd
        }
        // The LFIB pops toward FRR for FRR's loopback (PHP).
        let entries = try lab.show("lsr", ["show", "lfib"], as: LFIBView.self).entries
        #expect(entries.contains { $0.fec == "\(frrID)/32" && $0.action == "pop" && $0.nexthops.first?.address == "10.0.12.2" })
        let neighbor = try lab.show("lsr", ["show", "ldp", "neighbor"], as: NeighborsView.self).neighbors.first
        #expect(neighbor?.gtsm == true)
        #expect(neighbor?.md5 == (password != nil))
        // Nothing FRR logged is an error about us.
        let frrLog = lab.frrLog("frr")
        #expect(!frrLog.contains("received notification"), "\(frrLog.split(separator: "\n").filter { $0.contains("notification") })")
    }

    @Test func lsrdActiveWithGTSM() throws {
        try run(lsrdID: "2.2.2.2", frrID: "1.1.1.1", prefix: "lsrfa")
    }

    @Test func lsrdPassiveWithGTSM() throws {
        try run(lsrdID: "1.1.1.1", frrID: "2.2.2.2", prefix: "lsrfp")
    }

    @Test func lsrdActiveWithMD5() throws {
        try run(lsrdID: "2.2.2.2", frrID: "1.1.1.1", password: "s3cret", frrPassword: "s3cret", prefix: "lsrfam")
    }

    @Test func lsrdPassiveWithMD5() throws {
        try run(lsrdID: "1.1.1.1", frrID: "2.2.2.2", password: "s3cret", frrPassword: "s3cret", prefix: "lsrfpm")
    }

    @Test func mismatchedMD5KeysNeverMakeASession() throws {
        try run(lsrdID: "1.1.1.1", frrID: "2.2.2.2", password: "one", frrPassword: "two", expectSession: false, prefix: "lsrfx")
    }
}

/// One row of FRR's `show mpls ldp binding json`.
struct FRRBinding {
    var prefix: String
    var neighbor: String
    var localLabel: String
    var remoteLabel: String

    static func parse(_ json: String) throws -> [FRRBinding] {
        try Lab.frrBindingRows(json).compactMap { row in
            guard let prefix = row["prefix"] as? String else { return nil }
            func text(_ key: String) -> String {
                if let value = row[key] as? String { return value }
                if let value = row[key] as? Int { return String(value) }
                return ""
            }
            return FRRBinding(prefix: prefix, neighbor: text("neighborId"), localLabel: text("localLabel"),
                              remoteLabel: text("remoteLabel"))
        }
    }
}
