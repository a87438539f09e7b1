// The userspace MPLS dataplane: AF_PACKET TPACKET_V3 rings on every Ethernet interface, one
// forwarding thread running MPLSForwarding's decision, and RCU-like snapshot replacement.
// The control plane (the daemon's event loop) builds immutable plans; the thread reads them.
// As a label edge router it owns a TUN device: the kernel routes FTN prefixes into it (see
// TunnelRoutes), the thread pushes labels onto what it reads there, and writes packets popped
// for this node back into it for the kernel to deliver or forward.

import CLinuxShims
import Foundation
import Glibc
import LDPCodec
import LSRControl
import MPLSForwarding
import MPLSTables
import Synchronization

/// What the forwarding thread works from: a snapshot and the rings, indexed by snapshot slot.
final class ForwardingPlan: @unchecked Sendable {
    let snapshot: ForwardingSnapshot
    /// Ring per snapshot interface slot (nil: no ring there).
    let ringBySlot: [OpaquePointer?]
    /// (ring, snapshot slot of its interface) to poll.
    let inputs: [(ring: OpaquePointer, slot: Int32)]
    /// The TUN device's fd, or -1 without one.
    let tunnel: Int32

    init(snapshot: ForwardingSnapshot, rings: [Int32: OpaquePointer], tunnel: Int32) {
        self.snapshot = snapshot
        self.tunnel = tunnel
        ringBySlot = snapshot.interfaceIndices.map { rings[$0] }
        inputs = rings.compactMap { index, ring in snapshot.interfaceSlot(ofIndex: index).map { (ring, $0) } }
    }
}

public final class UserspaceInstaller: LFIBInstaller, @unchecked Sendable {
    public let name = "userspace"
    let options: ForwardingOptions
    /// Customer prefixes reached through the LSP to a remote LER's loopback.
    let staticRoutes: [StaticRoute]
    let tunnelName: String
    // Control-plane state, touched under `lock` (the daemon's loop and lsrctl's reads).
    let lock = NSLock()
    var lfib = LFIB()
    var links: [Int32: KernelLink] = [:]
    var addresses: [KernelAddress] = []
    var neighbors: [KernelNeighbor] = []
    var rings: [Int32: OpaquePointer] = [:]
    var ringErrors: [String: String] = [:]
    var retired: [(plan: ForwardingPlan, generation: Int, rings: [OpaquePointer])] = []
    var current: ForwardingPlan?
    /// Counters of entries from snapshots already replaced, so totals survive replacement.
    var carriedCounters: [LFIBKey: (packets: UInt64, bytes: UInt64)] = [:]
    var carriedDrops: [DropReason: UInt64] = [:]
    var carriedICMP: UInt64 = 0
    /// The TUN device (opened with the first kernel state) and the kernel routes into it.
    var tunnel: (descriptor: Int32, index: Int32)?
    var tunnelError: String?
    var tunnelRoutes: TunnelRoutes?
    /// The LDP LFIB plus the static routes' entries: what the snapshot is built from.
    var effectiveLFIB = LFIB()

    // Shared with the thread.
    let published = Atomic<UInt>(0)
    let generation = Atomic<Int>(0)
    let acknowledged = Atomic<Int>(0)
    let running = Atomic<Bool>(true)
    let forwarded = Atomic<UInt64>(0)
    var thread: Thread?

    public init(options: ForwardingOptions = ForwardingOptions(localAddress: .any), staticRoutes: [StaticRoute] = [],
                tunnelName: String = "lsr0") {
        var options = options
        options.localInterfaces.insert(tunnelName)
        self.options = options
        self.staticRoutes = staticRoutes
        self.tunnelName = tunnelName
    }

    // MARK: LFIBInstaller

    public func apply(_ changes: [LFIBChange]) {
        lock.withLock {
            lfib.apply(changes)
            rebuild()
        }
    }

    public func kernelStateChanged(links: [KernelLink], addresses: [KernelAddress], neighbors: [KernelNeighbor]) {
        lock.withLock {
            self.links = Dictionary(uniqueKeysWithValues: links.map { ($0.index, $0) })
            self.addresses = addresses
            self.neighbors = neighbors
            openTunnel()
            openRings()
            rebuild()
        }
    }

    public func status(of key: LFIBKey) -> InstallStatus {
        lock.withLock {
            guard lfib.entries[key] != nil else { return .absent }
            return current?.snapshot.counters(of: key) != nil ? .installed : .failed("not in the forwarding snapshot")
        }
    }

    public func counters(of key: LFIBKey) -> (packets: UInt64, bytes: UInt64)? {
        lock.withLock {
            guard lfib.entries[key] != nil else { return nil }
            // Retired plans may still be counting (the thread has not let go yet): add them in.
            var total = carriedCounters[key] ?? (0, 0)
            for snapshot in liveSnapshots {
                guard let counts = snapshot.counters(of: key) else { continue }
                total = (total.packets + counts.packets, total.bytes + counts.bytes)
            }
            return total
        }
    }

    public func view() -> DataplaneView.Backend {
        lock.withLock {
            var detail: [String: UInt64] = ["rings": UInt64(rings.count), "forwarded": forwarded.load(ordering: .relaxed),
                                            "tunnel-routes": UInt64(tunnelRoutes?.installed.count ?? 0),
                                            "icmp-generated": carriedICMP + liveSnapshots.reduce(0) { $0 + $1.icmpGenerated }]
            for reason in DropReason.allCases {
                detail["drop-\(reason)"] = (carriedDrops[reason] ?? 0) + liveSnapshots.reduce(0) { $0 + $1.drops(reason) }
            }
            let state = thread == nil ? "idle (no interface yet)" : "forwarding on \(rings.count) interface(s)"
            var drift = ringErrors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            if let tunnelError { drift.append("\(tunnelName): \(tunnelError)") }
            if let ruleError = tunnelRoutes?.ruleError { drift.append(ruleError) }
            for (prefix, error) in (tunnelRoutes?.errors ?? [:]).sorted(by: { $0.key < $1.key }) {
                drift.append("route \(prefix) dev \(tunnelName) table \(TunnelRoutes.table): \(error)")
            }
            return DataplaneView.Backend(name: name, state: state, entries: lfib.entries.count, detail: detail, drift: drift)
        }
    }

    public func shutdown() {
        running.store(false, ordering: .releasing)
        while let thread, !thread.isFinished { usleep(1000) }
        lock.withLock {
            for ring in rings.values { lsr_ring_close(ring) }
            rings = [:]
            // The IGP's routes take over again; closing the fd removes the device.
            tunnelRoutes?.removeAll()
            tunnelRoutes = nil
            if let tunnel { close(tunnel.descriptor) }
            tunnel = nil
            if published.load(ordering: .acquiring) != 0 {
                Unmanaged<ForwardingPlan>.fromOpaque(UnsafeRawPointer(bitPattern: published.load(ordering: .acquiring))!).release()
            }
            published.store(0, ordering: .releasing)
            retired = []
        }
    }

    // MARK: Control plane (under lock)

    /// A ring on every up Ethernet interface; closed (after the thread let go) when it goes.
    func openRings() {
        for link in links.values where link.isUp && !link.isLoopback && link.hardwareAddress.count == 6 && rings[link.index] == nil {
            guard let ring = lsr_ring_open(link.index, 1 << 16, 16, 1) else {
                ringErrors[link.name] = "cannot open an AF_PACKET ring: \(String(cString: strerror(errno)))"
                continue
            }
            ringErrors[link.name] = nil
            rings[link.index] = ring
        }
    }

    /// The TUN device, once: without it this node forwards labelled frames but pushes nothing.
    func openTunnel() {
        guard tunnel == nil, tunnelError == nil else { return }
        var index: Int32 = 0
        let descriptor = lsr_tun_open(tunnelName, &index)
        guard descriptor >= 0 else {
            tunnelError = "cannot create the TUN device: \(String(cString: strerror(errno)))"
            return
        }
        tunnel = (descriptor, index)
        tunnelRoutes = TunnelRoutes(interfaceIndex: index)
        if tunnelRoutes == nil { tunnelError = "cannot open rtnetlink to route prefixes into the TUN device" }
    }

    func rebuild() {
        var stale: [OpaquePointer] = []
        for (index, ring) in rings where links[index].map({ !$0.isUp }) ?? true {
            stale.append(ring)
            rings[index] = nil
        }
        let interfaces = links.values.filter { $0.hardwareAddress.count == 6 && !$0.isLoopback }.sorted { $0.index < $1.index }.map { link in
            let v4 = addresses.first { $0.interfaceIndex == link.index && $0.address.family == .ipv4 }
            var address: IPv4Address?
            if case .v4(let a) = v4?.address { address = a }
            return ForwardingInterface(name: link.name, index: link.index, mac: Self.mac(link.hardwareAddress), mtu: Int(link.mtu),
                                       ipv4Address: address)
        }
        let resolved = neighbors.compactMap { neighbor -> ForwardingNeighbor? in
            guard neighbor.isUsable, case .v4(let address) = neighbor.address else { return nil }
            return ForwardingNeighbor(interfaceIndex: neighbor.interfaceIndex, address: address, mac: Self.mac(neighbor.hardwareAddress))
        }
        var options = self.options
        if options.localAddress == .any, let first = interfaces.compactMap(\.ipv4Address).first { options.localAddress = first }
        effectiveLFIB = lfib.resolvingStaticRoutes(staticRoutes)
        let prefixes = effectiveLFIB.tunnelPrefixes
        tunnelRoutes?.withdraw(except: prefixes)
        let snapshot = ForwardingSnapshot(lfib: effectiveLFIB, interfaces: interfaces, neighbors: resolved, options: options)
        let plan = ForwardingPlan(snapshot: snapshot, rings: rings, tunnel: tunnel?.descriptor ?? -1)
        publish(plan, closing: stale)
        // After the snapshot that can push for them is published: no packet reaches the TUN early.
        tunnelRoutes?.synchronize(prefixes)
        if thread == nil, !rings.isEmpty { startThread() }
    }

    /// RCU-like: the new plan goes in with one atomic store; the old one is kept until the thread
    /// acknowledged a generation at least as new, then freed here.
    func publish(_ plan: ForwardingPlan, closing stale: [OpaquePointer]) {
        let pointer = UInt(bitPattern: Unmanaged.passRetained(plan).toOpaque())
        let old = published.exchange(pointer, ordering: .acquiringAndReleasing)
        let next = generation.add(1, ordering: .acquiringAndReleasing).newValue
        if old != 0 {
            let oldPlan = Unmanaged<ForwardingPlan>.fromOpaque(UnsafeRawPointer(bitPattern: old)!).takeRetainedValue()
            // Its counters are carried when it is reaped: until the thread acknowledged the new
            // generation it may still count packets there.
            retired.append((oldPlan, next, stale))
        } else {
            for ring in stale { lsr_ring_close(ring) }
        }
        current = plan
        reap()
    }

    func reap() {
        // With no thread running nothing can hold an old plan.
        let seen = thread == nil ? Int.max : acknowledged.load(ordering: .acquiring)
        retired.removeAll { entry in
            guard entry.generation <= seen else { return false }
            carry(entry.plan.snapshot)
            for ring in entry.rings { lsr_ring_close(ring) }
            return true
        }
    }

    /// The snapshots whose counters can still change: the current one and those not yet reaped.
    var liveSnapshots: [ForwardingSnapshot] {
        retired.map(\.plan.snapshot) + (current.map { [$0.snapshot] } ?? [])
    }

    /// Adds a snapshot nobody counts in any more to the running totals.
    func carry(_ snapshot: ForwardingSnapshot) {
        for key in snapshot.keys {
            guard let counts = snapshot.counters(of: key), counts.packets > 0 else { continue }
            let before = carriedCounters[key] ?? (0, 0)
            carriedCounters[key] = (before.packets + counts.packets, before.bytes + counts.bytes)
        }
        for reason in DropReason.allCases { carriedDrops[reason, default: 0] += snapshot.drops(reason) }
        carriedICMP += snapshot.icmpGenerated
    }

    static func mac(_ bytes: [UInt8]) -> UInt64 { bytes.prefix(6).reduce(0) { $0 << 8 | UInt64($1) } }

    // MARK: The forwarding thread

    func startThread() {
        let thread = Thread { [self] in forwardingLoop() }
        thread.name = "lsrd-forwarding"
        self.thread = thread
        thread.start()
    }

    func forwardingLoop() {
        let capacity = 4096
        let headroom = 256
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        let workspace = ForwardingWorkspace()
        let resolver = NeighborResolver()
        var seen = -1
        var plan: ForwardingPlan?
        var descriptors: [pollfd] = []
        while running.load(ordering: .acquiring) {
            // Between batches: pick up a newer plan, then say the old one is free.
            let latest = generation.load(ordering: .acquiring)
            if latest != seen {
                let bits = published.load(ordering: .acquiring)
                plan = bits == 0 ? nil : Unmanaged<ForwardingPlan>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
                seen = latest
                acknowledged.store(latest, ordering: .releasing)
                descriptors = plan?.inputs.map { pollfd(fd: lsr_ring_fd($0.ring), events: Int16(POLLIN), revents: 0) } ?? []
                if let plan, plan.tunnel >= 0 { descriptors.append(pollfd(fd: plan.tunnel, events: Int16(POLLIN), revents: 0)) }
            }
            guard let plan, !descriptors.isEmpty else {
                usleep(10_000)
                continue
            }
            _ = poll(&descriptors, nfds_t(descriptors.count), 50)
            let snapshot = plan.snapshot
            var count: UInt64 = 0
            for input in plan.inputs {
                var data: UnsafeMutablePointer<UInt8>?
                var length: UInt32 = 0
                var budget = 256
                while budget > 0, lsr_ring_next(input.ring, &data, &length) == 1, let data {
                    budget -= 1
                    let size = Int(length)
                    guard size + headroom <= capacity else { continue }
                    (buffer + headroom).copyMemory(from: data, byteCount: size)
                    var frame = Frame(base: buffer, capacity: capacity, start: headroom, length: size)
                    switch snapshot.forwardLabelled(&frame, ingressSlot: input.slot, workspace: workspace) {
                    case .transmit(let slot):
                        if let ring = plan.ringBySlot[Int(slot)] {
                            _ = lsr_ring_send(ring, (buffer + frame.start).assumingMemoryBound(to: UInt8.self), frame.length)
                            count += 1
                        }
                    case .deliver:
                        // Popped for this node: the kernel delivers it or routes it on.
                        if plan.tunnel >= 0 { _ = write(plan.tunnel, buffer + frame.start, frame.length) }
                    case .drop:
                        if workspace.unresolvedInterfaceSlot >= 0 {
                            resolver.resolve(workspace.unresolvedAddress)
                        }
                    }
                }
            }
            // IP packets the kernel routed into the TUN: FTN push by longest-prefix match.
            var budget = plan.tunnel >= 0 ? 256 : 0
            while budget > 0 {
                let size = read(plan.tunnel, buffer + headroom, capacity - headroom)
                guard size > 0 else { break }
                budget -= 1
                var frame = Frame(base: buffer, capacity: capacity, start: headroom, length: size)
                switch snapshot.forwardIP(&frame, workspace: workspace) {
                case .transmit(let slot):
                    if let ring = plan.ringBySlot[Int(slot)] {
                        _ = lsr_ring_send(ring, (buffer + frame.start).assumingMemoryBound(to: UInt8.self), frame.length)
                        count += 1
                    }
                case .deliver:
                    // An ICMP error (fragmentation needed) for the local stack to route to the source.
                    _ = write(plan.tunnel, buffer + frame.start, frame.length)
                case .drop:
                    if workspace.unresolvedInterfaceSlot >= 0 {
                        resolver.resolve(workspace.unresolvedAddress)
                    }
                }
            }
            if count > 0 { forwarded.add(count, ordering: .relaxed) }
        }
    }
}

/// Makes the kernel ARP for a next hop: a datagram to the discard port over a UDP socket.
/// At most one try per address per second, from a fixed table: nothing allocated.
final class NeighborResolver {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var recent = [(address: UInt32, time: Int)](repeating: (0, 0), count: 16)
    var next = 0

    deinit { close(socket) }

    func resolve(_ address: UInt32) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        if recent.contains(where: { $0.address == address && now.tv_sec - $0.time < 1 }) { return }
        recent[next] = (address, now.tv_sec)
        next = (next + 1) % recent.count
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = UInt16(9).bigEndian
        target.sin_addr.s_addr = address.bigEndian
        var byte: UInt8 = 0
        _ = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(socket, &byte, 1, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}
