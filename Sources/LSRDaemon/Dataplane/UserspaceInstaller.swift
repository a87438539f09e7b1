// The userspace MPLS dataplane: AF_PACKET TPACKET_V2 rings on the LDP interfaces, forwarding
// threads running MPLSForwarding's decision on frames in place in the ring, batched sendmmsg,
// and RCU-like snapshot replacement. The control plane (the daemon's event loop, with the
// snapshot builds on a queue of their own) builds immutable plans; the threads read them. As a label edge router it owns a TUN device: the
// kernel routes FTN prefixes into it (see TunnelRoutes), a thread pushes labels onto what it
// reads there, and writes packets popped for this node back into it for the kernel to deliver
// or forward. On customer-facing interfaces named in `userspace.customer-interfaces` it takes
// IPv4 off the wire before the kernel routes it (an ingress ring and a tcx drop, see
// lsr_ingress_ring_open): the kernel's IP forwarding leaves the push path, and what the engine
// does not push goes to the kernel through the TUN device.

import CLinuxShims
import Foundation
import Glibc
import LDPCodec
import LSRControl
import MPLSForwarding
import MPLSTables
import Synchronization

/// What the forwarding threads work from: a snapshot and the sockets, indexed by snapshot slot.
final class ForwardingPlan: @unchecked Sendable {
    let snapshot: ForwardingSnapshot
    /// Socket per snapshot interface slot (nil: none there), to transmit.
    let socketBySlot: [OpaquePointer?]
    /// Per thread: the receive rings it polls, with the snapshot slot of their interface, and
    /// whether they are ingress rings (IPv4 from customers) rather than labelled frames.
    let inputsByThread: [[ForwardingInput]]
    /// The TUN device's fd, or -1 without one; read by thread 0 when there is no `tunnelRing`.
    let tunnel: Int32
    /// The ring of what the kernel routes into the TUN device, read by thread 0.
    let tunnelRing: OpaquePointer?

    init(snapshot: ForwardingSnapshot, sockets: [Int32: OpaquePointer], receiving: Set<Int32>, ingress: Set<Int32>, threads: Int,
         tunnel: Int32, tunnelRing: OpaquePointer?) {
        self.snapshot = snapshot
        self.tunnel = tunnel
        self.tunnelRing = tunnelRing
        socketBySlot = snapshot.interfaceIndices.map { sockets[$0] }
        var inputs = [[ForwardingInput]](repeating: [], count: threads)
        // Interfaces are dealt to threads in index order: one interface is always one thread's.
        for (position, index) in receiving.union(ingress).sorted().enumerated() {
            guard let ring = sockets[index], let slot = snapshot.interfaceSlot(ofIndex: index) else { continue }
            inputs[position % threads].append(ForwardingInput(ring: ring, slot: slot, isIngress: ingress.contains(index)))
        }
        inputsByThread = inputs
    }
}

/// A receive ring as a forwarding thread polls it.
struct ForwardingInput {
    let ring: OpaquePointer
    let slot: Int32
    /// IPv4 taken off a customer-facing interface (FTN push), not labelled frames.
    let isIngress: Bool
}

/// One forwarding thread's handle, shared between it and the control plane.
final class ForwardingThread: @unchecked Sendable {
    let lane: Int
    /// The newest plan generation this thread has picked up: older plans are free.
    let acknowledged = Atomic<Int>(-1)
    let forwarded = Atomic<UInt64>(0)
    /// Frames the kernel would not take on transmission (full queue, too big).
    let transmitFailures = Atomic<UInt64>(0)
    var thread: Thread?

    init(lane: Int) { self.lane = lane }
}

public final class UserspaceInstaller: LFIBInstaller, @unchecked Sendable {
    public let name = "userspace"
    let options: ForwardingOptions
    let engine: UserspaceDataplaneOptions
    let tunnelName: String
    /// Interfaces whose labelled frames this plane receives (nil: every Ethernet interface).
    let receiveInterfaces: Set<String>?
    /// Customer-facing interfaces whose IPv4 this plane takes before the kernel routes it.
    let ingressInterfaces: Set<String>
    // Control-plane state, touched under `lock` (the daemon's loop and lsrctl's reads).
    let lock = NSLock()
    var lfib = LFIB()
    var links: [Int32: KernelLink] = [:]
    var addresses: [KernelAddress] = []
    var neighbors: [KernelNeighbor] = []
    /// A socket on every up Ethernet interface; those in `receiving` have a receive ring for
    /// labelled frames, those in `ingress` one for customers' IPv4.
    var sockets: [Int32: OpaquePointer] = [:]
    var receiving: Set<Int32> = []
    var ingress: Set<Int32> = []
    var socketErrors: [String: String] = [:]
    /// Ring statistics of sockets already closed, so totals survive a link going down.
    var carriedRingStatistics: (truncated: UInt64, overflows: UInt64) = (0, 0)
    var retired: [(plan: ForwardingPlan, generation: Int, sockets: [OpaquePointer])] = []
    var current: ForwardingPlan?
    /// Counters of entries from snapshots already replaced, so totals survive replacement.
    var carriedCounters: [LFIBKey: (packets: UInt64, bytes: UInt64)] = [:]
    var carriedDrops: [DropReason: UInt64] = [:]
    var carriedICMP: UInt64 = 0
    /// The TUN device (opened with the first kernel state) and the kernel routes into it.
    var tunnel: (descriptor: Int32, index: Int32)?
    /// Where thread 0 reads the TUN's packets without a read(2) each (nil: it reads the fd).
    var tunnelRing: OpaquePointer?
    var tunnelError: String?
    var tunnelRoutes: TunnelRoutes?

    // Shared with the threads.
    let published = Atomic<UInt>(0)
    let generation = Atomic<Int>(0)
    let running = Atomic<Bool>(true)
    let threads: [ForwardingThread]
    var started = false
    /// Snapshot builds run here, off the daemon's loop and outside `lock`: a build costs
    /// O(LFIB) (ldp-bench: about 1 ms per 1,000 entries), and the batches that arrive meanwhile
    /// fold into the next build instead of costing one build each.
    let builder = DispatchQueue(label: "lsrd.userspace.snapshot")
    /// Under `lock`: a build is queued that has not read the LFIB yet; builds not yet published.
    var buildQueued = false
    var buildsInFlight = 0

    public init(options: ForwardingOptions = ForwardingOptions(localAddress: .any), engine: UserspaceDataplaneOptions = .init(),
                tunnelName: String = "lsr0", receiveInterfaces: Set<String>? = nil) {
        var options = options
        options.localInterfaces.insert(tunnelName)
        options.ttlModel = engine.ttlModel
        self.options = options
        self.engine = engine
        self.tunnelName = tunnelName
        self.receiveInterfaces = receiveInterfaces
        ingressInterfaces = Set(engine.customerInterfaces)
        threads = (0..<max(engine.threads, 1)).map(ForwardingThread.init(lane:))
    }

    // MARK: LFIBInstaller

    public func apply(_ changes: [LFIBChange]) {
        lock.withLock {
            lfib.apply(changes)
            scheduleRebuild()
        }
    }

    public func kernelStateChanged(links: [KernelLink], addresses: [KernelAddress], neighbors: [KernelNeighbor]) {
        lock.withLock {
            self.links = Dictionary(uniqueKeysWithValues: links.map { ($0.index, $0) })
            self.addresses = addresses
            self.neighbors = neighbors
            openTunnel()
            openSockets()
            scheduleRebuild()
        }
    }

    public func status(of key: LFIBKey) -> InstallStatus {
        lock.withLock {
            guard lfib.entries[key] != nil else { return .absent }
            if current?.snapshot.counters(of: key) != nil { return .installed }
            // A snapshot with it is being built: not installed yet, and nothing wrong.
            return buildsInFlight > 0 ? .absent : .failed("not in the forwarding snapshot")
        }
    }

    public func counters(of key: LFIBKey) -> (packets: UInt64, bytes: UInt64)? {
        lock.withLock {
            guard lfib.entries[key] != nil else { return nil }
            // Retired plans may still be counting (a thread has not let go yet): add them in.
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
            let ringStatistics = (Array(sockets.values) + (tunnelRing.map { [$0] } ?? [])).reduce(carriedRingStatistics) {
                ($0.truncated + lsr_ring_truncated($1), $0.overflows + lsr_ring_overflows($1))
            }
            var detail: [String: UInt64] = [
                "rings": UInt64(receiving.count), "ingress-rings": UInt64(ingress.count), "threads": UInt64(threads.count),
                "forwarded": threads.reduce(0) { $0 + $1.forwarded.load(ordering: .relaxed) },
                "tunnel-routes": UInt64(tunnelRoutes?.installed.count ?? 0),
                "icmp-generated": carriedICMP + liveSnapshots.reduce(0) { $0 + $1.icmpGenerated },
                "drop-ring-full": ringStatistics.overflows, "drop-frame-too-long": ringStatistics.truncated,
                "drop-transmit-failed": threads.reduce(0) { $0 + $1.transmitFailures.load(ordering: .relaxed) },
            ]
            for reason in DropReason.allCases {
                detail["drop-\(reason)"] = (carriedDrops[reason] ?? 0) + liveSnapshots.reduce(0) { $0 + $1.drops(reason) }
            }
            let state = started
                ? "forwarding on \(receiving.count) interface(s)\(ingress.isEmpty ? "" : " and \(ingress.count) customer interface(s)"), "
                    + "\(threads.count) thread(s), \(engine.polling.rawValue) polling"
                : "idle (no interface yet)"
            var drift = socketErrors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
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
        // No snapshot build may run into the teardown.
        builder.sync {}
        for handle in threads {
            while let thread = handle.thread, !thread.isFinished { usleep(1000) }
        }
        lock.withLock {
            for socket in sockets.values { lsr_ring_close(socket) }
            sockets = [:]
            receiving = []
            ingress = []
            // The IGP's routes take over again; closing the fd removes the device.
            tunnelRoutes?.removeAll()
            tunnelRoutes = nil
            if let tunnelRing { lsr_ring_close(tunnelRing) }
            tunnelRing = nil
            if let tunnel { close(tunnel.descriptor) }
            tunnel = nil
            if published.load(ordering: .acquiring) != 0 {
                Unmanaged<ForwardingPlan>.fromOpaque(UnsafeRawPointer(bitPattern: published.load(ordering: .acquiring))!).release()
            }
            published.store(0, ordering: .releasing)
            for entry in retired { entry.sockets.forEach { lsr_ring_close($0) } }
            retired = []
        }
    }

    // MARK: Control plane (under lock)

    /// Whether labelled frames arriving on `link` are this plane's to forward.
    func receives(on link: KernelLink) -> Bool {
        receiveInterfaces.map { $0.contains(link.name) } ?? true
    }

    /// A socket on every up Ethernet interface, with a receive ring where this plane receives;
    /// closed (after the threads let go) when the interface goes.
    func openSockets() {
        for link in links.values where link.isUp && !link.isLoopback && link.hardwareAddress.count == 6 && sockets[link.index] == nil {
            let receive = receives(on: link)
            // A slot holds the frame, the ring's reserve for pushed labels, and room for an ICMP error.
            let frameSize = UInt32(max(2048, Int(link.mtu) + 14 + 512))
            // One thread sends through a transmit ring; several share each socket, so they use sendmmsg.
            let transmitFrames: UInt32 = threads.count == 1 ? 256 : 0
            // Only with the TUN device: what the engine does not push must have a way to the kernel.
            if ingressInterfaces.contains(link.name), let tunnel, !receive {
                if let socket = lsr_ingress_ring_open(link.index, frameSize, UInt32(engine.ringFrames), transmitFrames) {
                    socketErrors[link.name] = nil
                    sockets[link.index] = socket
                    ingress.insert(link.index)
                    continue
                }
                // Older kernels (tcx came in Linux 6.6): the kernel keeps routing into the TUN.
                socketErrors[link.name] = "cannot take IPv4 off this customer interface (\(String(cString: strerror(errno))); "
                    + "needs Linux 6.6 tcx): the kernel routes it into \(tunnelName) (ifindex \(tunnel.index))"
            }
            guard let socket = lsr_ring_open(link.index, frameSize, receive ? UInt32(engine.ringFrames) : 0, transmitFrames) else {
                socketErrors[link.name] = "cannot open an AF_PACKET \(receive ? "ring" : "socket"): \(String(cString: strerror(errno)))"
                continue
            }
            if !ingressInterfaces.contains(link.name) { socketErrors[link.name] = nil }
            sockets[link.index] = socket
            if receive { receiving.insert(link.index) }
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
        tunnelRing = lsr_tun_ring_open(descriptor, index, 4096, UInt32(engine.ringFrames))
        tunnelRoutes = TunnelRoutes(interfaceIndex: index)
        if tunnelRoutes == nil { tunnelError = "cannot open rtnetlink to route prefixes into the TUN device" }
    }

    /// Queues a snapshot build unless one is queued that will see the current state. Under `lock`.
    func scheduleRebuild() {
        guard !buildQueued, running.load(ordering: .acquiring) else { return }
        buildQueued = true
        buildsInFlight += 1
        builder.async { [self] in rebuild() }
    }

    /// What a snapshot build reads, taken under `lock`.
    struct BuildInputs {
        var lfib: LFIB
        var interfaces: [ForwardingInterface]
        var neighbors: [ForwardingNeighbor]
        var options: ForwardingOptions
        var sockets: [Int32: OpaquePointer]
        var receiving: Set<Int32>
        var ingress: Set<Int32>
        /// Sockets of interfaces gone down: closed once no thread can use them.
        var stale: [OpaquePointer]
    }

    /// On `builder`: reads the state under `lock`, builds the snapshot without it, publishes
    /// under it. Builds run one at a time, so plans are published in order.
    func rebuild() {
        guard let inputs = lock.withLock({ buildInputs() }) else { return }
        let snapshot = ForwardingSnapshot(lfib: inputs.lfib, interfaces: inputs.interfaces, neighbors: inputs.neighbors,
                                          options: inputs.options, lanes: threads.count)
        let prefixes = inputs.lfib.tunnelPrefixes
        lock.withLock {
            buildsInFlight -= 1
            tunnelRoutes?.withdraw(except: prefixes)
            let plan = ForwardingPlan(snapshot: snapshot, sockets: inputs.sockets, receiving: inputs.receiving, ingress: inputs.ingress,
                                      threads: threads.count, tunnel: tunnel?.descriptor ?? -1, tunnelRing: tunnelRing)
            publish(plan, closing: inputs.stale)
            // After the snapshot that can push for them is published: no packet reaches the TUN early.
            tunnelRoutes?.synchronize(prefixes)
            if !started, !inputs.receiving.isEmpty || !inputs.ingress.isEmpty || tunnel != nil { startThreads() }
        }
    }

    /// Under `lock`: the inputs of the next build (nil once shutting down).
    func buildInputs() -> BuildInputs? {
        buildQueued = false
        guard running.load(ordering: .acquiring) else {
            buildsInFlight -= 1
            return nil
        }
        var stale: [OpaquePointer] = []
        for (index, socket) in sockets where links[index].map({ !$0.isUp }) ?? true {
            stale.append(socket)
            sockets[index] = nil
            receiving.remove(index)
            ingress.remove(index)
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
        return BuildInputs(lfib: lfib, interfaces: interfaces, neighbors: resolved, options: options, sockets: sockets,
                           receiving: receiving, ingress: ingress, stale: stale)
    }

    /// RCU-like: the new plan goes in with one atomic store; the old one is kept until every
    /// thread acknowledged a generation at least as new, then freed here.
    func publish(_ plan: ForwardingPlan, closing stale: [OpaquePointer]) {
        let pointer = UInt(bitPattern: Unmanaged.passRetained(plan).toOpaque())
        let old = published.exchange(pointer, ordering: .acquiringAndReleasing)
        let next = generation.add(1, ordering: .acquiringAndReleasing).newValue
        if old != 0 {
            let oldPlan = Unmanaged<ForwardingPlan>.fromOpaque(UnsafeRawPointer(bitPattern: old)!).takeRetainedValue()
            // Its counters are carried when it is reaped: until the threads acknowledged the new
            // generation they may still count packets there.
            retired.append((oldPlan, next, stale))
        } else {
            closeSockets(stale)
        }
        current = plan
        reap()
    }

    func reap() {
        // With no thread running nothing can hold an old plan.
        let seen = started ? threads.map { $0.acknowledged.load(ordering: .acquiring) }.min() ?? Int.max : Int.max
        retired.removeAll { entry in
            guard entry.generation <= seen else { return false }
            carry(entry.plan.snapshot)
            closeSockets(entry.sockets)
            return true
        }
    }

    func closeSockets(_ closing: [OpaquePointer]) {
        for socket in closing {
            carriedRingStatistics.truncated += lsr_ring_truncated(socket)
            carriedRingStatistics.overflows += lsr_ring_overflows(socket)
            lsr_ring_close(socket)
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

    // MARK: The forwarding threads

    func startThreads() {
        started = true
        for handle in threads {
            let cpu = engine.cpus.isEmpty ? nil : engine.cpus[handle.lane % engine.cpus.count]
            let thread = Thread { [self] in
                _ = lsr_name_thread("lsrd-fwd-\(handle.lane)")
                if let cpu, lsr_pin_thread(Int32(cpu)) != 0 {
                    FileHandle.standardError.write(Data("lsrd: cannot pin forwarding thread \(handle.lane) to CPU \(cpu)\n".utf8))
                }
                ForwardingLoop(installer: self, handle: handle).run()
            }
            handle.thread = thread
            thread.start()
        }
    }
}

/// One forwarding thread's loop and its preallocated state: frames are rewritten in the ring
/// slot they arrived in, queued per egress interface, and sent with one sendmmsg per interface
/// per round; then the slots go back to the kernel. Nothing here allocates per packet.
struct ForwardingLoop {
    static let batch = Int(LSR_RING_BATCH)
    /// Frames taken from one ring (or the TUN) per round: at most one batch.
    static let budget = Int(LSR_RING_BATCH)
    /// TUN reads need their own slots: headroom for the Ethernet header and pushed labels.
    static let tunnelSlotSize = 4096
    static let tunnelHeadroom = 256
    /// `adaptive` polling keeps spinning this long after the last packet before it sleeps.
    static let spinNanoseconds: Int = 200_000

    let installer: UserspaceInstaller
    let handle: ForwardingThread
    let workspace: ForwardingWorkspace
    let resolver = NeighborResolver()
    let tunnelSlots: UnsafeMutableRawPointer

    init(installer: UserspaceInstaller, handle: ForwardingThread) {
        self.installer = installer
        self.handle = handle
        workspace = ForwardingWorkspace(lane: handle.lane)
        tunnelSlots = .allocate(byteCount: Self.tunnelSlotSize * Self.budget, alignment: 64)
    }

    func run() {
        defer { tunnelSlots.deallocate() }
        var queues = TransmitQueues()
        defer { queues.deallocate() }
        var seen = -1
        var plan: ForwardingPlan?
        var descriptors: [pollfd] = []
        var lastPacket = monotonicNanoseconds()
        let polling = installer.engine.polling
        while installer.running.load(ordering: .acquiring) {
            // Between rounds: pick up a newer plan, then say the old one is free.
            let latest = installer.generation.load(ordering: .acquiring)
            if latest != seen {
                let bits = installer.published.load(ordering: .acquiring)
                plan = bits == 0 ? nil : Unmanaged<ForwardingPlan>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
                seen = latest
                handle.acknowledged.store(latest, ordering: .releasing)
                descriptors = plan?.inputsByThread[handle.lane].map { pollfd(fd: lsr_ring_fd($0.ring), events: Int16(POLLIN), revents: 0) } ?? []
                if let plan, plan.tunnel >= 0, handle.lane == 0 {
                    let descriptor = plan.tunnelRing.map(lsr_ring_fd) ?? plan.tunnel
                    descriptors.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0))
                }
                queues.resize(slots: plan?.socketBySlot.count ?? 0)
            }
            guard let plan, !descriptors.isEmpty else {
                usleep(10_000)
                continue
            }
            let moved = round(plan, &queues)
            if moved > 0 {
                handle.forwarded.add(UInt64(moved), ordering: .relaxed)
                if polling != .throughput { lastPacket = monotonicNanoseconds() }
                continue
            }
            switch polling {
            case .lowLatency:
                continue
            case .adaptive where monotonicNanoseconds() - lastPacket < Self.spinNanoseconds:
                continue
            default:
                // The timeout bounds how long a new plan or a shutdown waits.
                _ = poll(&descriptors, nfds_t(descriptors.count), 50)
            }
        }
    }

    /// One pass over this thread's rings and (thread 0) the TUN. Returns the frames it moved.
    func round(_ plan: ForwardingPlan, _ queues: inout TransmitQueues) -> Int {
        let snapshot = plan.snapshot
        var moved = 0
        for input in plan.inputsByThread[handle.lane] {
            var slot: UnsafeMutablePointer<UInt8>?
            var capacity: UInt32 = 0
            var start: UInt32 = 0
            var length: UInt32 = 0
            var budget = Self.budget
            while budget > 0, lsr_ring_next(input.ring, &slot, &capacity, &start, &length) == 1, let slot {
                budget -= 1
                moved += 1
                var frame = Frame(base: UnsafeMutableRawPointer(slot), capacity: Int(capacity), start: Int(start), length: Int(length))
                let verdict = input.isIngress ? snapshot.forwardIngressFrame(&frame, workspace: workspace)
                    : snapshot.forwardLabelled(&frame, ingressSlot: input.slot, workspace: workspace)
                switch verdict {
                case .transmit(let out):
                    queue(frame, out: out, plan, &queues)
                case .deliver:
                    // Popped for this node, or a customer's packet not pushed: the kernel
                    // delivers it or routes it on.
                    if plan.tunnel >= 0 { _ = write(plan.tunnel, frame.base + frame.start, frame.length) }
                case .drop:
                    if workspace.unresolvedInterfaceSlot >= 0 { resolver.resolve(workspace.unresolvedAddress) }
                }
            }
        }
        // IP packets the kernel routed into the TUN: FTN push by longest-prefix match.
        if let ring = plan.tunnelRing, handle.lane == 0 {
            var slot: UnsafeMutablePointer<UInt8>?
            var capacity: UInt32 = 0
            var start: UInt32 = 0
            var length: UInt32 = 0
            var budget = Self.budget
            while budget > 0, lsr_ring_next(ring, &slot, &capacity, &start, &length) == 1, let slot {
                budget -= 1
                moved += 1
                var frame = Frame(base: UnsafeMutableRawPointer(slot), capacity: Int(capacity), start: Int(start), length: Int(length))
                ip(&frame, plan, &queues)
            }
        } else if plan.tunnel >= 0, handle.lane == 0 {
            for index in 0..<Self.budget {
                let base = tunnelSlots + index * Self.tunnelSlotSize
                let size = read(plan.tunnel, base + Self.tunnelHeadroom, Self.tunnelSlotSize - Self.tunnelHeadroom)
                guard size > 0 else { break }
                moved += 1
                var frame = Frame(base: base, capacity: Self.tunnelSlotSize, start: Self.tunnelHeadroom, length: size)
                ip(&frame, plan, &queues)
            }
        }
        guard moved > 0 else { return 0 }
        flush(plan, &queues)
        // Every queued frame has been copied into the kernel: the slots can be reused.
        for input in plan.inputsByThread[handle.lane] { lsr_ring_release(input.ring) }
        if handle.lane == 0, let ring = plan.tunnelRing { lsr_ring_release(ring) }
        return moved
    }

    /// An IP packet from the TUN side: pushed onto its FTN's LSP.
    @inline(__always)
    func ip(_ frame: inout Frame, _ plan: ForwardingPlan, _ queues: inout TransmitQueues) {
        switch plan.snapshot.forwardIP(&frame, workspace: workspace) {
        case .transmit(let out):
            queue(frame, out: out, plan, &queues)
        case .deliver:
            // An ICMP error (fragmentation needed) for the local stack to route to the source.
            _ = write(plan.tunnel, frame.base + frame.start, frame.length)
        case .drop:
            if workspace.unresolvedInterfaceSlot >= 0 { resolver.resolve(workspace.unresolvedAddress) }
        }
    }

    @inline(__always)
    func queue(_ frame: Frame, out slot: Int32, _ plan: ForwardingPlan, _ queues: inout TransmitQueues) {
        if queues.append(frame.base + frame.start, length: frame.length, slot: Int(slot)) == Self.batch {
            send(slot: Int(slot), plan, &queues)
        }
    }

    func flush(_ plan: ForwardingPlan, _ queues: inout TransmitQueues) {
        for slot in 0..<queues.slots where queues.counts[slot] > 0 { send(slot: slot, plan, &queues) }
    }

    func send(slot: Int, _ plan: ForwardingPlan, _ queues: inout TransmitQueues) {
        let count = queues.counts[slot]
        queues.counts[slot] = 0
        guard let socket = plan.socketBySlot[slot] else {
            handle.transmitFailures.add(UInt64(count), ordering: .relaxed)
            return
        }
        let sent = lsr_ring_send_batch(socket, queues.frames + slot * Self.batch, queues.lengths + slot * Self.batch, UInt32(count))
        if Int(sent) < count { handle.transmitFailures.add(UInt64(count - Int(sent)), ordering: .relaxed) }
    }
}

/// Frames waiting to be sent, a batch per egress interface slot, in raw memory.
struct TransmitQueues {
    var slots = 0
    var frames = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: 1)
    var lengths = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    var counts = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    /// Between rounds only (queues empty): a plan with more interfaces needs more queues.
    mutating func resize(slots wanted: Int) {
        guard wanted > slots else { return }
        deallocate()
        slots = wanted
        frames = .allocate(capacity: wanted * ForwardingLoop.batch)
        lengths = .allocate(capacity: wanted * ForwardingLoop.batch)
        counts = .allocate(capacity: wanted)
        counts.initialize(repeating: 0, count: wanted)
    }

    /// Queues a frame; returns the queue's new length.
    @inline(__always)
    mutating func append(_ frame: UnsafeMutableRawPointer, length: Int, slot: Int) -> Int {
        let position = slot * ForwardingLoop.batch + counts[slot]
        frames[position] = frame.assumingMemoryBound(to: UInt8.self)
        lengths[position] = UInt32(length)
        counts[slot] += 1
        return counts[slot]
    }

    func deallocate() {
        frames.deallocate()
        lengths.deallocate()
        counts.deallocate()
    }
}

@inline(__always) func monotonicNanoseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
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
