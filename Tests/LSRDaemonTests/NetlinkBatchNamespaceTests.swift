// The batched netlink writer against a real kernel: plain IPv4 routes (what an implicit-null FTN
// becomes) work on this host even without MPLS, in a namespace made for the test.

import CLinuxShims
import Foundation
import Glibc
import LabKit
import LDPCodec
import MPLSTables
import Testing
@testable import LSRDaemon

@Suite(.serialized, .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip"),
                             "needs root and iproute2 to make a network namespace"))
struct NetlinkBatchNamespaceTests {
    final class Made: @unchecked Sendable {
        var result: Result<(NetlinkRouteWriter, Int32), Error> = .failure(LabError("the thread did not run"))
    }

    /// A writer whose socket lives in namespace `name` (a socket keeps the namespace it was made
    /// in), made on a thread of its own: setns changes only the calling thread.
    func writer(in name: String) throws -> (NetlinkRouteWriter, interfaceIndex: Int32) {
        let made = Made()
        let done = DispatchSemaphore(value: 0)
        Thread {
            defer { done.signal() }
            guard lsr_enter_namespace("/run/netns/\(name)") == 0 else {
                made.result = .failure(LabError("setns \(name): \(String(cString: strerror(errno)))"))
                return
            }
            made.result = Result { (try NetlinkRouteWriter(), Int32(if_nametoindex("d0"))) }
        }.start()
        done.wait()
        let (writer, index) = try made.result.get()
        return (writer, index)
    }

    @Test func eachFailureStaysWithItsRouteAcrossBatches() throws {
        let name = "kwt-batch-\(getpid())"
        try Command.run(["ip", "netns", "add", name])
        defer { _ = try? Command.run(["ip", "netns", "del", name], allowFailure: true) }
        // No dummy module here: a veth pair, both ends up (or d0 has no carrier).
        try Command.run(["ip", "-n", name, "link", "add", "d0", "type", "veth", "peer", "name", "d1"])
        try Command.run(["ip", "-n", name, "link", "set", "d1", "up"])
        try Command.run(["ip", "-n", name, "link", "set", "d0", "up"])
        try Command.run(["ip", "-n", name, "addr", "add", "10.77.0.1/24", "dev", "d0"])
        let (writer, index) = try writer(in: name)
        #expect(index > 0)

        // 300 routes: three batches (128 per datagram). Failing ones first, last, on both sides
        // of a batch boundary and alone in the last batch's middle: a gateway off every subnet.
        let failing: Set<Int> = [0, 127, 128, 150, 255, 256, 299]
        let requests = try (0..<300).map { position in
            let prefix = IPPrefix(IPv4Address(10, 200, UInt8(position >> 8), UInt8(position & 0xFF)), length: 32)
            let gateway = failing.contains(position) ? "10.99.0.2" : "10.77.0.2"
            let entry = LFIBEntry(key: .prefix(prefix), fec: prefix, nextHops: [
                LFIBNextHop(address: .v4(IPv4Address(gateway)!), interface: "d0", outLabels: [ReservedLabel.implicitNull]),
            ])
            return try KernelRouteRequest.make(for: .replace(entry), interfaceIndex: { _ in index })
        }
        let results = writer.perform(requests)
        #expect(results.count == 300)
        #expect(Set(results.indices.filter { results[$0] != nil }) == failing)
        #expect(results[128]?.description.hasPrefix("add ipv4 10.200.0.128/32 table 193: Network is unreachable") == true,
                "\(String(describing: results[128]))")

        let table = try Command.run(["ip", "-n", name, "route", "show", "table", "193", "proto", "\(Daemon.routeProtocol)"])
        let installed = Set(table.split(separator: "\n").map { String($0.split(separator: " ")[0]) })
        #expect(installed.count == 300 - failing.count)
        #expect(!installed.contains("10.200.0.128") && installed.contains("10.200.0.129"))

        // Deleting all 300: the never-installed ones are already gone, which is no error.
        let removals = try requests.map { request in
            let octets = request.destination
            let prefix = IPPrefix(IPv4Address(octets[0], octets[1], octets[2], octets[3]), length: 32)
            return try KernelRouteRequest.make(for: .remove(.prefix(prefix)), interfaceIndex: { _ in index })
        }
        #expect(writer.perform(removals).allSatisfy { $0 == nil })
        #expect(try Command.run(["ip", "-n", name, "route", "show", "table", "193"]).isEmpty)

        // Installed again from the writer's view: what the kernel holds reads back the same.
        let good = requests.enumerated().filter { !failing.contains($0.offset) }.map(\.element)
        #expect(writer.perform(good).allSatisfy { $0 == nil })
        let dumped = try writer.routes(family: KernelRouteConstants.familyIPv4, protocolNumber: Daemon.routeProtocol)
        #expect(Set(dumped.map { KernelRouteSummary($0) }) == Set(good.map { KernelRouteSummary($0) }))
    }

    /// FRR's zebra, started beside lsrd (an IGP's zebra restarting, say), takes the routes of the
    /// protocol numbers FRR owns (186-198; 193 is its "ldp") for routes of its own from before
    /// its restart, and installs copies of them, which outlive the originals. lsrd's protocol
    /// number is outside that range: zebra files its routes as another program's ("kernel") and
    /// leaves them alone. zebra's own debug log says how it filed each route it read, so the test
    /// does not depend on when (under load) zebra gets round to reinstalling the planted route.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/lib/frr/zebra"), "needs FRR's zebra"))
    func zebraStartingBesideLeavesLsrdsRoutesAlone() throws {
        let name = "kwt-zebra-\(getpid())"
        let directory = "/tmp/\(name)", sockets = "/var/run/frr/\(name)"
        try Command.run(["ip", "netns", "add", name])
        var zebra: pid_t?
        defer {
            if let zebra { kill(zebra, SIGTERM); for _ in 0..<50 where kill(zebra, 0) == 0 { usleep(100_000) } }
            _ = try? Command.run(["ip", "netns", "del", name], allowFailure: true)
            _ = try? Command.run(["rm", "-rf", directory, sockets], allowFailure: true)
        }
        try Command.run(["ip", "-n", name, "link", "add", "d0", "type", "veth", "peer", "name", "d1"])
        try Command.run(["ip", "-n", name, "link", "set", "d1", "up"])
        try Command.run(["ip", "-n", name, "link", "set", "d0", "up"])
        try Command.run(["ip", "-n", name, "addr", "add", "10.77.0.1/24", "dev", "d0"])
        let (writer, index) = try writer(in: name)
        let requests = try (1...3).map { position in
            let prefix = IPPrefix(IPv4Address(10, 201, 0, UInt8(position)), length: 32)
            let entry = LFIBEntry(key: .prefix(prefix), fec: prefix, nextHops: [
                LFIBNextHop(address: .v4(IPv4Address(10, 77, 0, 2)), interface: "d0", outLabels: [ReservedLabel.implicitNull]),
            ])
            return try KernelRouteRequest.make(for: .replace(entry), interfaceIndex: { _ in index })
        }
        #expect(writer.perform(requests).allSatisfy { $0 == nil })
        try Command.run(["ip", "-n", name, "route", "add", "10.202.0.1/32", "via", "10.77.0.2", "table", "193", "proto", "193"])

        try Command.run(["mkdir", "-p", directory, sockets])
        try "hostname z\nlog file \(directory)/zebra.log debugging\ndebug zebra rib detailed\n"
            .write(toFile: "\(directory)/frr.conf", atomically: true, encoding: .utf8)
        try Command.run(["chown", "-R", "frr:frr", directory, sockets])
        try Command.spawnDetached(["ip", "netns", "exec", name, "/usr/lib/frr/zebra", "-d", "-N", name, "-f", "\(directory)/frr.conf",
                                   "-i", "\(directory)/zebra.pid"], log: "\(directory)/zebra.out", wait: true)
        zebra = (try? String(contentsOfFile: "\(directory)/zebra.pid", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }

        // "process_subq_early_route_add: (0:?):10.202.0.1/32: Inserting route rn …, re … (ldp) …"
        func filing() -> [String: String] {
            let log = (try? String(contentsOfFile: "\(directory)/zebra.log", encoding: .utf8)) ?? ""
            var owners: [String: String] = [:]
            for match in log.matches(of: /\(0:\?\):(\S+): Inserting route .* \((\w+)\) existing/) {
                owners[String(match.1)] = String(match.2)
            }
            return owners
        }
        let read = ["10.201.0.1/32", "10.201.0.2/32", "10.201.0.3/32", "10.202.0.1/32"]
        let deadline = Date().addingTimeInterval(60)
        while !read.allSatisfy({ filing()[$0] != nil }) && Date() < deadline { usleep(200_000) }
        let owners = filing()
        #expect(owners["10.202.0.1/32"] == "ldp", "zebra takes FRR's own protocol's route for its own: \(owners)")
        #expect(read.dropLast().allSatisfy { owners[$0] == "kernel" }, "zebra files lsrd's routes as another program's: \(owners)")

        // Whatever zebra does with its own route, lsrd's stay as lsrd installed them.
        usleep(500_000)
        let routes = try Command.run(["ip", "-N", "-n", name, "route", "show", "table", "193"]).split(separator: "\n").map(String.init)
        let lsrd = routes.filter { $0.hasPrefix("10.201.") }
        #expect(lsrd.count == 3 && lsrd.allSatisfy { $0.contains("proto \(Daemon.routeProtocol)") && !$0.contains("nhid") }, "\(routes)")
    }
}
