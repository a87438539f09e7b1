// Install rate of the kernel dataplane against iproute2's `ip -batch`: N swap routes (AF_MPLS)
// and N push routes (IPv4 with MPLS encap), each way, in the current network namespace. Also
// lsrd's writer one route per send (how it worked before batching), for comparison.
// Run it only inside a namespace (or VM) made for it:
//   lsr-kernel-bench INTERFACE GATEWAY [COUNT] [IP]
// INTERFACE must be up with GATEWAY on its subnet, and net.mpls.platform_labels above 16 + COUNT.

import Foundation
import Glibc
import LDPCodec
import Logging
import LSRDaemon
import MPLSTables

let arguments = CommandLine.arguments
guard arguments.count >= 3, let gateway = IPv4Address(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: lsr-kernel-bench INTERFACE GATEWAY [COUNT] [IP]\n".utf8))
    exit(2)
}
let interface = arguments[1]
let count = arguments.count > 3 ? Int(arguments[3]) ?? 10_000 : 10_000
let ipTool = arguments.count > 4 ? arguments[4] : "/usr/sbin/ip"
let firstLabel: UInt32 = 16

func ftnPrefix(_ index: Int) -> IPPrefix {
    IPPrefix(IPv4Address(10, 128 + UInt8(index >> 16 & 0x3F), UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF)), length: 32)
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

var logger = Logger(label: "bench")
logger.logLevel = .error
var options = KernelDataplaneOptions()
options.enableMPLSInput = false
let installer = try KernelInstaller(options: options, interfaces: [], logger: logger)

let swaps = (0..<count).map { index in
    LFIBChange.replace(LFIBEntry(key: .label(firstLabel + UInt32(index)), fec: ftnPrefix(index),
                                 nextHops: [LFIBNextHop(address: .v4(gateway), interface: interface, outLabels: [100_000 + UInt32(index)])]))
}
let pushes = (0..<count).map { index in
    LFIBChange.replace(LFIBEntry(key: .prefix(ftnPrefix(index)), fec: ftnPrefix(index),
                                 nextHops: [LFIBNextHop(address: .v4(gateway), interface: interface, outLabels: [200_000 + UInt32(index)])]))
}
let lsrdSeconds = seconds { installer.apply(swaps + pushes) }
let failed = (swaps + pushes).filter { if case .failed = installer.status(of: $0.key) { true } else { false } }
if let first = failed.first {
    print("BENCH lsrd: \(failed.count) routes failed, first: \(installer.status(of: first.key))")
    exit(1)
}
installer.shutdown()

// The same routes one per netlink send and reply.
let writer = try NetlinkRouteWriter()
let index = Int32(if_nametoindex(interface))
let requests = try (swaps + pushes).map { try KernelRouteRequest.make(for: $0, interfaceIndex: { _ in index }) }
var singleFailures = 0
let singleSeconds = seconds {
    for request in requests where writer.perform(request) != nil { singleFailures += 1 }
}
if singleFailures > 0 {
    print("BENCH one route per send: \(singleFailures) routes failed")
    exit(1)
}
let removals = try (swaps + pushes).map { try KernelRouteRequest.make(for: .remove($0.key), interfaceIndex: { _ in index }) }
_ = writer.perform(removals)

// The same routes through `ip -batch`, one file per family.
let directory = NSTemporaryDirectory()
var mplsBatch = "", ipv4Batch = ""
for index in 0..<count {
    mplsBatch += "route add \(firstLabel + UInt32(index)) as \(100_000 + index) via inet \(gateway) dev \(interface) proto \(Daemon.routeProtocol)\n"
    ipv4Batch += "route add \(ftnPrefix(index).address) encap mpls \(200_000 + index) via \(gateway) dev \(interface) table 193 proto \(Daemon.routeProtocol)\n"
}
try mplsBatch.write(toFile: directory + "/mpls.batch", atomically: true, encoding: .utf8)
try ipv4Batch.write(toFile: directory + "/ipv4.batch", atomically: true, encoding: .utf8)
/// Runs `ip` with posix_spawn: Foundation's Process needs a run loop the test VM cannot give it.
func ip(_ arguments: [String]) throws {
    let argv = ([ipTool] + arguments).map { strdup($0) } + [nil]
    defer { for argument in argv { free(argument) } }
    var child: pid_t = 0
    guard posix_spawn(&child, ipTool, nil, nil, argv, environ) == 0 else { throw KernelRouteError("cannot run \(ipTool)") }
    var status: Int32 = 0
    waitpid(child, &status, 0)
    guard status == 0 else { throw KernelRouteError("ip \(arguments.joined(separator: " ")) failed (status \(status))") }
}
let ipSeconds = try seconds {
    try ip(["-f", "mpls", "-batch", directory + "/mpls.batch"])
    try ip(["-batch", directory + "/ipv4.batch"])
}
try ip(["-f", "mpls", "route", "flush", "proto", "\(Daemon.routeProtocol)"])
try ip(["route", "flush", "table", "193"])

let routes = Double(2 * count)
print(String(format: "BENCH %d routes: lsrd %.2f s (%.0f routes/s), ip -batch %.2f s (%.0f routes/s), lsrd/ip rate ratio %.2f",
             2 * count, lsrdSeconds, routes / lsrdSeconds, ipSeconds, routes / ipSeconds, ipSeconds / lsrdSeconds))
print(String(format: "BENCH %d routes one per send: %.2f s (%.0f routes/s), ratio to ip -batch %.2f",
             2 * count, singleSeconds, routes / singleSeconds, ipSeconds / singleSeconds))
