// The kernel dataplane: the LFIB as AF_MPLS routes (swap, pop) and labelled IPv4 routes (FTN,
// push), through netlink; static routes (customer prefixes behind a remote LER's loopback) come
// as FTN entries with the loopback's labels (LayeredLFIB). Errors stay with their entry, are
// reported, retried with the next update, and never fatal.

import Foundation
import Glibc
import LSRControl
import Logging
import MPLSForwarding
import MPLSTables

public final class KernelInstaller: LFIBInstaller, @unchecked Sendable {
    public let name = "kernel"
    private let writer: NetlinkRouteWriter
    private let options: KernelDataplaneOptions
    private let placement: KernelRoutePlacement
    private let logger: Logger
    private let lock = NSLock()
    // Guarded by `lock`.
    /// What the kernel is to hold: the LFIB as the control plane gave it.
    private var wanted = LFIB()
    private var statuses: [LFIBKey: InstallStatus] = [:]
    /// The keys whose last install failed: retried with the next update.
    private var failedKeys: Set<LFIBKey> = []
    private var staleRemoved = 0
    private var setupProblems: [String] = []

    /// Prepares the kernel (sysctls, policy rule) and removes routes an earlier lsrd left behind.
    /// Throws only when netlink itself is unusable.
    /// `labelRange` sizes net.mpls.platform_labels when the options leave it open and the kernel
    /// has it at 0 (a new namespace), where no incoming label could be installed.
    /// `interfaces` get net.mpls.conf.<if>.input=1 (when the options ask for it): the kernel
    /// forwards the labelled frames arriving there.
    public init(options: KernelDataplaneOptions, interfaces: [String], labelRange: ClosedRange<UInt32>? = nil,
                logger: Logger) throws {
        self.options = options
        placement = KernelRoutePlacement(protocolNumber: Daemon.routeProtocol, ftnTable: options.ftnTable,
                                         ftnRulePriority: options.ftnRulePriority)
        self.logger = logger
        writer = try NetlinkRouteWriter()
        prepareSysctls(interfaces: interfaces, labelRange: labelRange)
        if let problem = writer.addRule(table: placement.ftnTable, priority: placement.ftnRulePriority,
                                        protocolNumber: placement.protocolNumber) {
            setupProblems.append(problem.description)
            logger.error("kernel dataplane: \(problem); labelled IPv4 routes will not be used")
        }
        reconcile()
    }

    // MARK: Start-up

    private func prepareSysctls(interfaces: [String], labelRange: ClosedRange<UInt32>?) {
        let labelsPath = "/proc/sys/net/mpls/platform_labels"
        let current = KernelSysctl.read(labelsPath).flatMap { UInt32($0) } ?? 0
        var wanted = options.platformLabels
        if wanted == nil, current == 0, let labelRange {
            // The kernel refuses more than 2^20 - 1 (EINVAL), so the default range (16-1048575)
            // gets 1048575: every label but the last one can be installed.
            wanted = min(labelRange.upperBound + 1, KernelDataplaneOptions.maximumPlatformLabels)
        }
        if let wanted, wanted != current {
            note(KernelSysctl.write(labelsPath, "\(wanted)"))
            logger.info("kernel dataplane: net.mpls.platform_labels set to \(wanted)")
        }
        guard options.enableMPLSInput else { return }
        for interface in interfaces {
            // Without input=1 the kernel drops labelled frames arriving on the interface.
            note(KernelSysctl.write("/proc/sys/net/mpls/conf/\(interface)/input", "1"))
        }
    }

    private func note(_ problem: String?) {
        guard let problem else { return }
        setupProblems.append(problem)
        logger.warning("kernel dataplane: \(problem)")
    }

    /// Deletes every lsrd-marked route the LFIB does not hold (all of them at start).
    public func reconcile() {
        lock.lock()
        let wanted = Set(self.wanted.entries.keys.compactMap { key in
            (try? KernelRouteRequest.make(for: .remove(key), placement: placement) { _ in 0 })
                .map { KernelRouteSummary($0).destination }
        })
        lock.unlock()
        let stale = ownRoutes().filter { !wanted.contains(KernelRouteSummary($0).destination) }.map(\.deletion)
        for (route, problem) in zip(stale, writer.perform(stale)) {
            if let problem {
                logger.warning("kernel dataplane: cannot remove a stale route: \(problem)")
            } else {
                lock.lock()
                staleRemoved += 1
                lock.unlock()
                logger.info("kernel dataplane: removed stale route \(KernelRouteSummary(route).destination)")
            }
        }
    }

    /// lsrd's routes in the kernel now: AF_MPLS ones, and the IPv4 ones of its FTN table.
    private func ownRoutes() -> [KernelRouteRequest] {
        var routes: [KernelRouteRequest] = []
        do {
            routes += try writer.routes(family: KernelRouteConstants.familyMPLS, protocolNumber: placement.protocolNumber)
            routes += try writer.routes(family: KernelRouteConstants.familyIPv4, protocolNumber: placement.protocolNumber)
                .filter { $0.table == placement.ftnTable }
        } catch {
            logger.warning("kernel dataplane: cannot dump routes: \(error)")
        }
        return routes
    }

    // MARK: LFIBInstaller

    public func apply(_ changes: [LFIBChange]) {
        lock.lock()
        defer { lock.unlock() }
        let kernelChanges = Self.kernelChanges(for: changes, wanted: &wanted, retrying: failedKeys)
        // One lookup per interface and batch: if_nametoindex costs a socket and an ioctl.
        var indexes: [String: Int32?] = [:]
        let interfaceIndex = { (name: String) -> Int32? in
            if let known = indexes[name] { return known }
            let index = Self.interfaceIndex(name)
            indexes[name] = index
            return index
        }
        var results = [KernelRouteError?](repeating: nil, count: kernelChanges.count)
        var requests: [KernelRouteRequest] = []
        var requestPositions: [Int] = []
        requests.reserveCapacity(kernelChanges.count)
        for (position, change) in kernelChanges.enumerated() {
            do {
                requests.append(try KernelRouteRequest.make(for: change, placement: placement, interfaceIndex: interfaceIndex))
                requestPositions.append(position)
            } catch {
                results[position] = error
            }
        }
        for (position, result) in zip(requestPositions, writer.perform(requests)) { results[position] = result }
        for (change, result) in zip(kernelChanges, results) {
            let status: InstallStatus
            switch (change, result) {
            case (.remove, nil): status = .absent
            case (.replace, nil): status = .installed
            case (.remove, let error?):
                // A route that cannot be removed is still there.
                status = .failed("remove: \(error)")
            case (.replace, let error?): status = .failed(error.description)
            }
            let previous = statuses[change.key]
            if case .failed(let reason) = status, previous != status {
                logger.error("kernel dataplane: \(change.key): \(reason)")
            }
            statuses[change.key] = status == .absent ? nil : status
            if case .failed = status { failedKeys.insert(change.key) } else { failedKeys.remove(change.key) }
        }
    }

    /// Most failed entries retried with one update: one netlink batch's worth.
    static let retriesPerUpdate = 128

    /// The changes to the kernel's routes for `changes`: those, then (up to
    /// `retriesPerUpdate`) the entries that failed before and did not change now, as `wanted`
    /// has them. A failure that lasted (an interface gone, a next hop not yet reachable) heals
    /// with the next update. Updates `wanted`.
    static func kernelChanges(for changes: [LFIBChange], wanted: inout LFIB, retrying failed: Set<LFIBKey> = []) -> [LFIBChange] {
        wanted.apply(changes)
        guard !failed.isEmpty else { return changes }
        let changed = Set(changes.map(\.key))
        let retries = failed.subtracting(changed).sorted().prefix(retriesPerUpdate).map { key in
            wanted.entries[key].map(LFIBChange.replace) ?? .remove(key)
        }
        return changes + retries
    }

    public func status(of key: LFIBKey) -> InstallStatus {
        lock.lock()
        defer { lock.unlock() }
        return statuses[key] ?? .absent
    }

    /// The kernel keeps no per-route MPLS counters (only per interface).
    public func counters(of key: LFIBKey) -> (packets: UInt64, bytes: UInt64)? { nil }

    public func view() -> DataplaneView.Backend {
        lock.lock()
        let entries = wanted.entries.count
        let failed = statuses.values.filter { if case .failed = $0 { true } else { false } }.count
        let intended = wanted.sortedEntries
        let problems = setupProblems
        let stale = staleRemoved
        lock.unlock()
        let drift = Self.drift(intended: intended, kernel: ownRoutes(), placement: placement, interfaceIndex: Self.interfaceIndex)
        var state = "kernel MPLS: \(entries - failed) of \(entries) entries installed"
        if !problems.isEmpty { state += "; set-up problems: \(problems.joined(separator: "; "))" }
        return DataplaneView.Backend(name: name, state: state, entries: entries,
                                     detail: ["failed": UInt64(failed), "stale-removed": UInt64(stale)], drift: drift)
    }

    public func shutdown() {
        guard !options.keepRoutes else {
            logger.info("kernel dataplane: keeping the installed routes (keep-routes)")
            return
        }
        lock.lock()
        let keys = Array(wanted.entries.keys)
        lock.unlock()
        apply(keys.map { .remove($0) })
        reconcile()
        _ = writer.deleteRule(table: placement.ftnTable, priority: placement.ftnRulePriority, protocolNumber: placement.protocolNumber)
    }

    // MARK: Pure helpers

    static func interfaceIndex(_ name: String) -> Int32? {
        let index = if_nametoindex(name)
        return index == 0 ? nil : Int32(index)
    }

    /// Differences between the routes the LFIB asks for and lsrd's routes in the kernel, in words.
    public static func drift(intended: [LFIBEntry], kernel: [KernelRouteRequest], placement: KernelRoutePlacement,
                             interfaceIndex: (String) -> Int32?) -> [String] {
        var wanted: [String: KernelRouteSummary] = [:]
        for entry in intended {
            guard let request = try? KernelRouteRequest.make(for: .replace(entry), placement: placement, interfaceIndex: interfaceIndex)
            else { continue } // failed entries are reported by their status
            let summary = KernelRouteSummary(request)
            wanted[summary.destination] = summary
        }
        var present: [String: KernelRouteSummary] = [:]
        for route in kernel {
            let summary = KernelRouteSummary(route)
            present[summary.destination] = summary
        }
        var drift: [String] = []
        for (destination, summary) in wanted.sorted(by: { $0.key < $1.key }) {
            guard let actual = present[destination] else {
                drift.append("missing in the kernel: \(summary.text)")
                continue
            }
            if actual.nextHops != summary.nextHops {
                drift.append("differs: wanted \(summary.text); kernel has \(actual.text)")
            }
        }
        for (destination, summary) in present.sorted(by: { $0.key < $1.key }) where wanted[destination] == nil {
            drift.append("not in the LFIB: \(summary.text)")
        }
        return drift
    }
}

/// Reading and writing /proc/sys files; errors in words.
enum KernelSysctl {
    static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Nil when written, else why not.
    static func write(_ path: String, _ value: String) -> String? {
        let descriptor = open(path, O_WRONLY)
        guard descriptor >= 0 else { return "cannot open \(path): \(String(cString: strerror(errno)))" }
        defer { close(descriptor) }
        let bytes = Array((value + "\n").utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        return written == bytes.count ? nil : "cannot write \(value) to \(path): \(String(cString: strerror(errno)))"
    }
}
