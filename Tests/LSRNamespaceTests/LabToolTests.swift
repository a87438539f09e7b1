// scripts/lab's engine, lsrlab, bringing whole topologies up and down.

import Foundation
import LSRControl
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized, .enabled(if: Environment.canRunNamespaces, "needs root and iproute2 to make network namespaces"))
struct LabToolTests {
    func lsrlab(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Shell.run([Binaries.directory + "/lsrlab"] + arguments + ["--binaries", Binaries.directory])
    }

    func topology(_ name: String) -> String { FileManager.default.currentDirectoryPath + "/topologies/\(name).yaml" }

    func namespaces(prefix: String) throws -> [String] {
        try Shell.run(["ip", "netns", "list"]).output.split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.hasPrefix("\(prefix)-") }
    }

    @Test func line3ComesUpConvergesAndGoesAwayCompletely() throws {
        _ = try lsrlab(["down", "--prefix", "labt"])
        defer { _ = try? lsrlab(["down", "--prefix", "labt"]) }
        let up = try lsrlab(["up", topology("line3"), "--prefix", "labt"])
        #expect(up.status == 0, "\(up.output)")
        #expect(up.output.contains("LDP converged."), "\(up.output)")
        #expect(up.output.contains("lab 'labt' (line3, links down: none): 3 routers, 4 session ends OPERATIONAL, "), "\(up.output)")
        let verified = try lsrlab(["verify", "--prefix", "labt"])
        #expect(verified.status == 0 && verified.output.contains("installed as predicted, labels agreed"), "\(verified.output)")
        // pe1 pushes p1's label toward pe2's loopback; p1 pops it (PHP).
        let pe1 = try JSONDecoder().decode(LFIBView.self, from: Data(Shell.check([
            "ip", "netns", "exec", "labt-pe1", Binaries.lsrctl, "show", "lfib", "--json", "--socket", "/run/lsrlab/labt/pe1.sock",
        ]).utf8))
        let push = pe1.entries.first { $0.inLabel == nil && $0.fec == "10.255.0.3/32" }
        #expect(push?.action == "push")
        let p1 = try JSONDecoder().decode(LFIBView.self, from: Data(Shell.check([
            "ip", "netns", "exec", "labt-p1", Binaries.lsrctl, "show", "lfib", "--json", "--socket", "/run/lsrlab/labt/p1.sock",
        ]).utf8))
        let pop = p1.entries.first { $0.inLabel == push?.nexthops.first?.outLabels.first }
        #expect(pop?.action == "pop" && pop?.fec == "10.255.0.3/32")
        // The LSR does not route IP.
        #expect(try Shell.check(["ip", "netns", "exec", "labt-p1", "sysctl", "-n", "net.ipv4.ip_forward"]).hasPrefix("0"))

        // Taken down behind the lab's back, a link makes verify fail and say what differs.
        try Shell.check(["ip", "-n", "labt-p1", "link", "set", "eth1", "down"])
        let broken = try lsrlab(["verify", "--prefix", "labt", "--timeout", "5"])
        #expect(broken.status == 1 && broken.output.contains("is not as its topology predicts"), "\(broken.output)")
        #expect(broken.output.contains("p1: sessions OPERATIONAL with [\"10.255.0.1\"], expected [\"10.255.0.1\", \"10.255.0.3\"]"),
                "\(broken.output)")

        let pids = try Shell.run(["ip", "netns", "pids", "labt-p1"]).output.split(separator: "\n").compactMap { Int32($0) }
        #expect(!pids.isEmpty)
        let down = try lsrlab(["down", "--prefix", "labt"])
        #expect(down.status == 0)
        #expect(try namespaces(prefix: "labt").isEmpty)
        for pid in pids { #expect(kill(pid, 0) != 0, "process \(pid) survived 'down'") }
        #expect(!FileManager.default.fileExists(atPath: "/run/lsrlab/labt"))
    }

    @Test(.enabled(if: FRR.isInstalled, "needs Debian's frr"))
    func frrMixSessionsComeUpAndBindingsAgree() throws {
        _ = try lsrlab(["down", "--prefix", "labf"])
        defer { _ = try? lsrlab(["down", "--prefix", "labf"]) }
        let up = try lsrlab(["up", topology("frr-mix"), "--prefix", "labf", "--timeout", "60"])
        #expect(up.status == 0, "\(up.output)")
        #expect(up.output.contains("LDP converged."), "\(up.output)")
        // p2 (lsrd) and p1 (FRR): what p2 holds as p1's label for pe1's loopback is p1's local label.
        let bindings = try JSONDecoder().decode(BindingsView.self, from: Data(Shell.check([
            "ip", "netns", "exec", "labf-p2", Binaries.lsrctl, "show", "ldp", "binding", "10.255.0.1/32", "--json",
            "--socket", "/run/lsrlab/labf/p2.sock",
        ]).utf8))
        let fromFRR = bindings.bindings.first?.remote.first { $0.peer == "10.255.0.2" }
        let frr = try FRRBinding.parse(Shell.check(["vtysh", "--vty_socket", "/var/run/frr/labf-p1", "-c",
                                                    "show mpls ldp binding json"]))
        let local = frr.first { $0.prefix == "10.255.0.1/32" }?.localLabel
        #expect(fromFRR.map { String($0.label) } == local, "lsrd holds \(String(describing: fromFRR)), FRR's local is \(local ?? "-")")
        // And FRR holds p2's local label for pe2's loopback... from lsrd's side: p2's own label.
        let ours = try JSONDecoder().decode(BindingsView.self, from: Data(Shell.check([
            "ip", "netns", "exec", "labf-p2", Binaries.lsrctl, "show", "ldp", "binding", "10.255.0.4/32", "--json",
            "--socket", "/run/lsrlab/labf/p2.sock",
        ]).utf8)).bindings.first?.localLabel
        let frrRemote = frr.first { $0.prefix == "10.255.0.4/32" && $0.neighbor == "10.255.0.3" }?.remoteLabel
        #expect(ours.map { $0 == 3 ? "imp-null" : String($0) } == frrRemote)
        _ = try lsrlab(["down", "--prefix", "labf"])
        #expect(try namespaces(prefix: "labf").isEmpty)
        #expect(try Shell.run(["pgrep", "-f", "labf-"]).output.isEmpty)
    }
}
