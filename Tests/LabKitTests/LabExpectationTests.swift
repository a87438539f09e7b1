// LabKit's expectation of a lab and the checks `lsrlab verify` runs, on snapshots written out by
// hand (no namespaces needed): a correct lab passes, and each kind of fault is reported.

import Foundation
import LSRControl
import Testing
@testable import LabKit

/// The expectation itself, against LFIBs written out by hand (no namespaces needed).
@Suite struct LabExpectationTests {
    func topology(_ name: String) throws -> LabTopology {
        try LabTopology.load(path: FileManager.default.currentDirectoryPath + "/topologies/\(name).yaml")
    }

    @Test func line3() throws {
        let expectation = LabExpectation(try topology("line3"))
        #expect(expectation.lfib(of: "pe1") == [
            "* 10.0.2.0/24 pop 10.0.1.2%eth0=imp-null",
            "* 10.255.0.2/32 pop 10.0.1.2%eth0=imp-null",
            "* 10.255.0.3/32 swap 10.0.1.2%eth0=*",
            "- 10.255.0.3/32 push 10.0.1.2%eth0=*",
            // The static route to ce2's subnet, over the LSP to pe2's loopback.
            "- 192.168.2.0/24 push 10.0.1.2%eth0=*",
        ])
        // p1 is on every core subnet and carries no customer routes: two PHP pops.
        #expect(expectation.lfib(of: "p1") == [
            "* 10.255.0.1/32 pop 10.0.1.1%eth0=imp-null",
            "* 10.255.0.3/32 pop 10.0.2.2%eth1=imp-null",
        ])
    }

    @Test func ring4WithAndWithoutALink() throws {
        let ring = try topology("ring4")
        #expect(LabExpectation(ring).lfib(of: "pe1").contains("- 10.255.0.4/32 push 10.0.1.2%eth0=*,10.0.4.1%eth1=*"))
        let broken = LabExpectation(ring, down: [try ring.link(named: "pe1-p1").identifier])
        #expect(broken.lfib(of: "pe1") == [
            "* 10.0.2.0/24 swap 10.0.4.1%eth1=*",
            "* 10.0.3.0/24 pop 10.0.4.1%eth1=imp-null",
            "* 10.255.0.2/32 swap 10.0.4.1%eth1=*",
            "* 10.255.0.3/32 pop 10.0.4.1%eth1=imp-null",
            "* 10.255.0.4/32 swap 10.0.4.1%eth1=*",
            "- 10.0.2.0/24 push 10.0.4.1%eth1=*",
            "- 10.255.0.2/32 push 10.0.4.1%eth1=*",
            "- 10.255.0.4/32 push 10.0.4.1%eth1=*",
            "- 192.168.2.0/24 push 10.0.4.1%eth1=*",
        ])
    }

    @Test func adjacentLERsReachEachOthersCustomersThroughThePopEntry() throws {
        let adjacent = try LabTopology.parse("""
            name: adjacent
            nodes:
              ce1: { role: ce }
              pe1: { role: ler, loopback: 10.255.0.1 }
              pe2: { role: ler, loopback: 10.255.0.2 }
              ce2: { role: ce }
            links:
              - { a: ce1:eth0, b: pe1:eth1, subnet: 192.168.1.0/24 }
              - { a: pe1:eth0, b: pe2:eth0, subnet: 10.0.1.0/24 }
              - { a: ce2:eth0, b: pe2:eth1, subnet: 192.168.2.0/24 }
            """, file: "adjacent.yaml")
        // pe1 routes ce2's subnet (the lab's IGP gives LERs those routes) and pops for it; no FTN
        // of its own, so the static route adds the push, with the pop entry's next hop.
        #expect(LabExpectation(adjacent).lfib(of: "pe1") == [
            "* 10.255.0.2/32 pop 10.0.1.2%eth0=imp-null",
            "* 192.168.2.0/24 pop 10.0.1.2%eth0=imp-null",
            "- 192.168.2.0/24 push 10.0.1.2%eth0=imp-null",
        ])
    }

    @Test func core6ParallelLinksAreTwoNextHops() throws {
        let core = try topology("core6")
        #expect(LabExpectation(core).lfib(of: "p1").contains("* 10.255.0.3/32 pop 10.0.3.2%eth1=imp-null,10.0.4.2%eth2=imp-null"))
        let one = LabExpectation(core, down: [try core.link(named: "p1:eth1").identifier])
        #expect(one.lfib(of: "p1").contains("* 10.255.0.3/32 pop 10.0.4.2%eth2=imp-null"))
        #expect(throws: LabError.self) { try core.link(named: "p1-p2") }
    }
}

/// `LabSnapshot`'s checks on line3 as its routers would report it, labels chosen by hand.
@Suite struct LabSnapshotTests {
    typealias Entry = LFIBView.Entry

    func topology(frrCore: Bool = false) throws -> LabTopology {
        var text = try String(contentsOfFile: FileManager.default.currentDirectoryPath + "/topologies/line3.yaml", encoding: .utf8)
        if frrCore { text = text.replacingOccurrences(of: "loopback: 10.255.0.2 }", with: "loopback: 10.255.0.2, software: frr }") }
        return try LabTopology.parse(text, file: "line3.yaml")
    }

    func entry(_ inLabel: UInt32?, _ fec: String, _ action: String, _ address: String, _ interface: String, _ out: UInt32,
               kernel: Bool = true) -> Entry {
        Entry(inLabel: inLabel, fec: fec, action: action, nexthops: [.init(address: address, interface: interface, outLabels: [out])],
              packets: 0, bytes: 0, installed: .init(kernel: kernel, userspace: false))
    }

    /// pe1 - p1 - pe2: what each advertises, each LFIB, the sessions; installed in the kernel.
    func snapshot(frrCore: Bool = false) -> LabSnapshot {
        let pe1: [String: UInt32] = ["10.255.0.1/32": 3, "10.0.1.0/24": 3, "192.168.1.0/24": 3,
                                     "10.0.2.0/24": 100, "10.255.0.2/32": 101, "10.255.0.3/32": 102, "192.168.2.0/24": 103]
        let p1: [String: UInt32] = ["10.255.0.2/32": 3, "10.0.1.0/24": 3, "10.0.2.0/24": 3, "10.255.0.1/32": 200, "10.255.0.3/32": 201]
        let pe2: [String: UInt32] = ["10.255.0.3/32": 3, "10.0.2.0/24": 3, "192.168.2.0/24": 3,
                                     "10.0.1.0/24": 300, "10.255.0.2/32": 301, "10.255.0.1/32": 302, "192.168.1.0/24": 303]
        let routers = [
            LabSnapshot.Router(name: "pe1", software: .lsrd, operationalPeers: ["10.255.0.2"], localLabels: pe1,
                               remoteLabels: ["10.255.0.2": p1], lfib: [
                                   entry(100, "10.0.2.0/24", "pop", "10.0.1.2", "eth0", 3),
                                   entry(101, "10.255.0.2/32", "pop", "10.0.1.2", "eth0", 3),
                                   entry(102, "10.255.0.3/32", "swap", "10.0.1.2", "eth0", 201),
                                   entry(nil, "10.255.0.3/32", "push", "10.0.1.2", "eth0", 201),
                                   entry(nil, "192.168.2.0/24", "push", "10.0.1.2", "eth0", 201),
                               ], errors: []),
            LabSnapshot.Router(name: "p1", software: frrCore ? .frr : .lsrd, operationalPeers: ["10.255.0.1", "10.255.0.3"],
                               localLabels: p1, remoteLabels: ["10.255.0.1": pe1, "10.255.0.3": pe2], lfib: frrCore ? nil : [
                                   entry(200, "10.255.0.1/32", "pop", "10.0.1.1", "eth0", 3),
                                   entry(201, "10.255.0.3/32", "pop", "10.0.2.2", "eth1", 3),
                               ], errors: []),
            LabSnapshot.Router(name: "pe2", software: .lsrd, operationalPeers: ["10.255.0.2"], localLabels: pe2,
                               remoteLabels: ["10.255.0.2": p1], lfib: [
                                   entry(300, "10.0.1.0/24", "pop", "10.0.2.1", "eth0", 3),
                                   entry(301, "10.255.0.2/32", "pop", "10.0.2.1", "eth0", 3),
                                   entry(302, "10.255.0.1/32", "swap", "10.0.2.1", "eth0", 200),
                                   entry(nil, "10.255.0.1/32", "push", "10.0.2.1", "eth0", 200),
                                   entry(nil, "192.168.1.0/24", "push", "10.0.2.1", "eth0", 200),
                               ], errors: []),
        ]
        return LabSnapshot(lab: "t", topology: "line3", dataplane: "kernel", downLinks: [], routers: routers)
    }

    @Test func aLabAsPredictedHasNoProblems() throws {
        #expect(snapshot().problems(LabExpectation(try topology())) == [])
        #expect(snapshot(frrCore: true).problems(LabExpectation(try topology(frrCore: true))) == [])
    }

    @Test func aStaleOutgoingLabelIsReported() throws {
        var lab = snapshot()
        lab.routers[0].lfib![2].nexthops[0].outLabels = [999]
        let problems = lab.lfibProblems(LabExpectation(try topology()))
        #expect(problems == ["pe1: 10.255.0.3/32 out [999] via p1, whose label is 201"])
    }

    @Test func aMissingOrExtraEntryIsReported() throws {
        var lab = snapshot()
        lab.routers[2].lfib!.removeLast()
        lab.routers[1].lfib!.append(entry(202, "10.0.9.0/24", "pop", "10.0.2.2", "eth1", 3))
        let problems = lab.lfibProblems(LabExpectation(try topology()))
        #expect(problems.count == 4)
        #expect(problems.contains("p1: 10.0.9.0/24 out [3] via pe2, whose label is none"))
        #expect(problems.contains { $0.hasPrefix("pe2: LFIB differs") && $0.contains("- 192.168.1.0/24 push 10.0.2.1%eth0=*") })
        #expect(problems.contains { $0.hasPrefix("p1: LFIB differs") && $0.contains("* 10.0.9.0/24 pop") })
        #expect(problems.contains("p1: in-label 202 for 10.0.9.0/24, but its binding is none"))
    }

    @Test func aSessionMissingOrTooManyIsReported() throws {
        var lab = snapshot()
        lab.routers[1].operationalPeers = ["10.255.0.1", "10.255.0.9"]
        #expect(lab.sessionProblems(LabExpectation(try topology())) == [
            "p1: sessions OPERATIONAL with [\"10.255.0.1\", \"10.255.0.9\"], expected [\"10.255.0.1\", \"10.255.0.3\"]",
        ])
        // With p1-pe2 down, pe2 should have no session at all, and p1 only the one with pe1.
        let topology = try topology()
        let down = LabExpectation(topology, down: [try topology.link(named: "p1-pe2").identifier])
        #expect(snapshot().sessionProblems(down).count == 2)
    }

    @Test func anEntryMissingFromTheLabsDataplaneIsReported() throws {
        var lab = snapshot()
        lab.routers[1].lfib![0].installed = .init(kernel: false, userspace: true)
        lab.routers[2].lfib![0].error = "kernel: No such device"
        let expectation = LabExpectation(try topology())
        #expect(lab.lfibProblems(expectation) == [
            "p1: * 10.255.0.1/32 pop 10.0.1.1%eth0=imp-null not installed in the kernel",
            "pe2: * 10.0.1.0/24 pop 10.0.2.1%eth0=imp-null failed: kernel: No such device",
        ])
        lab.dataplane = "userspace"
        #expect(lab.lfibProblems(expectation).count == 11, "userspace: of the 12 entries only p1's first is installed there")
        lab.dataplane = nil
        #expect(lab.lfibProblems(expectation) == ["pe2: * 10.0.1.0/24 pop 10.0.2.1%eth0=imp-null failed: kernel: No such device"])
    }

    @Test func bindingsThatDisagreeWithAnFRRPeerAreReported() throws {
        var lab = snapshot(frrCore: true)
        lab.routers[1].remoteLabels["10.255.0.3"]?["10.255.0.1/32"] = 999
        lab.routers[0].remoteLabels["10.255.0.2"] = [:]
        let problems = lab.bindingProblems(LabExpectation(try topology(frrCore: true)))
        #expect(problems.count == 2)
        #expect(problems.contains { $0.hasPrefix("pe1 holds from p1 []") })
        #expect(problems.contains { $0.hasPrefix("p1 holds from pe2 ") && $0.contains("999") })
    }

    @Test func aLabelFRRKeepsButNoLongerAdvertisesIsNoProblem() throws {
        let topology = try topology(frrCore: true)
        let down = LabExpectation(topology, down: [try topology.link(named: "p1-pe2").identifier])
        var lab = snapshot(frrCore: true)
        // p1 withdrew 10.255.0.3/32 and 10.0.2.0/24 from pe1 but still lists their local labels.
        lab.routers[0].remoteLabels["10.255.0.2"]?["10.255.0.3/32"] = nil
        lab.routers[0].remoteLabels["10.255.0.2"]?["10.0.2.0/24"] = nil
        lab.routers[1].remoteLabels["10.255.0.3"] = nil
        // And pe1 withdrew what it routed through pe2.
        for fec in ["10.0.2.0/24", "10.255.0.3/32", "192.168.2.0/24"] { lab.routers[1].remoteLabels["10.255.0.1"]?[fec] = nil }
        #expect(lab.bindingProblems(down) == [])
        // A label pe1 still holds for a FEC p1 no longer routes is stale.
        lab.routers[0].remoteLabels["10.255.0.2"]?["10.255.0.3/32"] = 201
        #expect(lab.bindingProblems(down).count == 1)
    }

    @Test func driftAPlaneReportsIsAProblem() throws {
        var lab = snapshot()
        lab.routers[0].dataplane = DataplaneView(mode: "kernel", backends: [
            .init(name: "kernel", state: "kernel MPLS: 5 of 5 entries installed", entries: 5,
                  drift: ["missing in the kernel: mpls 102"]),
        ])
        lab.routers[1].dataplane = DataplaneView(mode: "kernel", backends: [.init(name: "kernel", state: "ok", entries: 2)])
        #expect(lab.lfibProblems(LabExpectation(try topology())) == ["pe1: kernel dataplane: missing in the kernel: mpls 102"])
    }

    @Test func whatCouldNotBeReadIsReported() {
        var lab = snapshot()
        lab.routers[2].errors = ["show-lfib: lsrd did not answer within 5 s"]
        #expect(lab.readProblems() == ["pe2: show-lfib: lsrd did not answer within 5 s"])
    }

    @Test func frrLabelTextAndRows() throws {
        #expect(Lab.frrLabel("imp-null") == 3)
        #expect(Lab.frrLabel("exp-null") == 0)
        #expect(Lab.frrLabel("17") == 17)
        #expect(Lab.frrLabel(18) == 18)
        #expect(Lab.frrLabel("-") == nil)
        let rows = try Lab.frrBindingRows(#"{"bindings":[{"prefix":"10.255.0.1/32","neighborId":"10.255.0.2","localLabel":"imp-null","remoteLabel":"16"}]}"#)
        #expect(rows.count == 1 && rows[0]["prefix"] as? String == "10.255.0.1/32")
        #expect(Lab.lsrID("10.255.0.2:0") == "10.255.0.2")
    }
}
