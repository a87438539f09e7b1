// Which forwarding backends a dataplane mode gets on this host, and which plane receives the
// labelled frames of each interface.
//
// Forwarding is never doubled. A labelled frame arriving on an interface is seen by both planes
// (the kernel's MPLS input and an AF_PACKET ring), so exactly one of them may take it:
// - `kernel`, and `auto` with kernel MPLS: the kernel forwards; net.mpls.conf.<if>.input=1 on the
//   LDP interfaces, and no userspace engine runs.
// - `userspace`, and `auto` without kernel MPLS: the userspace engine forwards on every Ethernet
//   interface; where the kernel has MPLS, net.mpls.conf.<if>.input=0 on the LDP interfaces, so the
//   kernel drops what the engine forwards instead of forwarding a second copy.
// - `both`: the kernel's tables are programmed in full (swap, pop and the FTN push routes), and
//   each interface is owned by one plane (`forwarding:` per interface, default kernel).
//   Kernel-owned interfaces get input=1 and no ring; userspace-owned ones get input=0 and a ring.
//   The kernel alone pushes (ingress IP is routed by destination, not by interface, and two
//   planes' routes for one prefix in one table would replace each other), so the userspace
//   engine is given only the label entries (swap, pop) and no static routes.
//   What leaves a plane may leave by any interface: sending needs no ownership.

import Foundation
import Logging
import LSRControl
import MPLSForwarding
import MPLSTables

public struct DataplaneUnavailable: Error, CustomStringConvertible {
    public var description: String
}

/// The LDP interfaces split by the plane that receives their labelled frames.
public struct InterfaceOwnership: Equatable, Sendable {
    /// net.mpls.conf.<if>.input=1 (when `kernel.mpls-input` allows).
    public var kernel: [String] = []
    /// net.mpls.conf.<if>.input=0 where the kernel has MPLS; the userspace engine's rings.
    public var userspace: [String] = []
}

public enum DataplaneSelection {
    /// Why the kernel cannot forward MPLS here, or nil when it can (`mpls_router` loaded:
    /// /proc/sys/net/mpls/platform_labels exists).
    public static func kernelMPLSUnavailableReason() -> String? {
        let path = "/proc/sys/net/mpls/platform_labels"
        guard FileManager.default.fileExists(atPath: path) else {
            return "\(path) is missing (no mpls_router module)"
        }
        return nil
    }

    public static func installers(for mode: DataplaneMode, logger: Logger) throws -> [any LFIBInstaller] {
        try installers(for: mode, kernel: KernelDataplaneOptions(), interfaces: [], logger: logger)
    }

    /// The backends for `configuration`'s dataplane mode and options.
    public static func installers(for configuration: DaemonConfiguration, logger: Logger) throws -> [any LFIBInstaller] {
        try installers(for: configuration.dataplane, kernel: configuration.kernel, userspace: configuration.userspace,
                       interfaces: configuration.interfaces, labelRange: configuration.labelRange, logger: logger)
    }

    /// Who receives labelled frames on each interface (see the top of this file). Pure.
    public static func ownership(mode: DataplaneMode, interfaces: [DaemonConfiguration.Interface],
                                 kernelAvailable: Bool) -> InterfaceOwnership {
        var ownership = InterfaceOwnership()
        for interface in interfaces {
            let plane: ForwardingPlane = switch mode {
            case .kernel: .kernel
            case .userspace: .userspace
            case .auto: kernelAvailable ? .kernel : .userspace
            case .both: interface.forwarding ?? .kernel
            }
            switch plane {
            case .kernel: ownership.kernel.append(interface.name)
            case .userspace: ownership.userspace.append(interface.name)
            }
        }
        return ownership
    }

    public static func installers(for mode: DataplaneMode, kernel options: KernelDataplaneOptions,
                                  userspace: UserspaceDataplaneOptions = .init(), interfaces: [DaemonConfiguration.Interface], labelRange: ClosedRange<UInt32>? = nil,
                                  logger: Logger,
                                  kernelReason: String? = kernelMPLSUnavailableReason()) throws -> [any LFIBInstaller] {
        switch mode {
        case .kernel, .both:
            if let kernelReason {
                throw DataplaneUnavailable(description: "kernel MPLS forwarding unavailable: \(kernelReason); dataplane '\(mode.rawValue)' cannot run here")
            }
        case .auto:
            if let kernelReason {
                logger.notice("kernel MPLS forwarding unavailable: \(kernelReason); using the userspace dataplane")
            }
        case .userspace:
            break
        }
        let kernelAvailable = kernelReason == nil
        let ownership = ownership(mode: mode, interfaces: interfaces, kernelAvailable: kernelAvailable)
        if kernelAvailable { keepKernelOff(ownership.userspace, logger: logger) }
        // Only the userspace plane runs: what a kernel-mode lsrd left in the kernel would forward
        // beside it (the kernel installer reconciles its own routes when it runs).
        if kernelAvailable, mode == .userspace { removeKernelPlaneRoutes(ftnTable: options.ftnTable, logger: logger) }
        // Labelled frames are taken only from the interfaces this plane owns: a customer-facing
        // interface never injects labels (without an interface list, as in tests, every one does).
        func userspaceInstaller(_ names: [String]) -> UserspaceInstaller {
            UserspaceInstaller(engine: userspace, receiveInterfaces: interfaces.isEmpty ? nil : Set(names))
        }
        let kernelPlane = {
            do {
                return try KernelInstaller(options: options, interfaces: ownership.kernel, labelRange: labelRange, logger: logger)
            } catch {
                throw DataplaneUnavailable(description: "kernel dataplane: \(error)")
            }
        }
        switch mode {
        case .kernel:
            return [try kernelPlane()]
        case .auto:
            // The kernel forwards where it can; the userspace engine where it cannot.
            if kernelAvailable, !userspace.customerInterfaces.isEmpty {
                logger.notice("userspace.customer-interfaces unused: the kernel dataplane forwards here")
            }
            return kernelAvailable ? [try kernelPlane()] : [userspaceInstaller(ownership.userspace)]
        case .userspace:
            // AF_PACKET rings and the MPLSForwarding engine (see UserspaceInstaller).
            return [userspaceInstaller(ownership.userspace)]
        case .both:
            logger.info("dataplane 'both': the kernel forwards labelled frames from \(listed(ownership.kernel)) and pushes; the userspace engine forwards labelled frames from \(listed(ownership.userspace))")
            return [try kernelPlane(), LabelSwitchingOnly(userspaceInstaller(ownership.userspace))]
        }
    }

    private static func listed(_ names: [String]) -> String {
        names.isEmpty ? "no interface" : names.joined(separator: ", ")
    }

    /// Deletes lsrd's AF_MPLS routes and its labelled (encap mpls) IPv4 routes in the FTN table:
    /// the kernel plane's, from an earlier run in another mode. The userspace plane's own routes
    /// into its TUN device carry no encapsulation and are left to it.
    static func removeKernelPlaneRoutes(ftnTable: UInt32, logger: Logger) {
        do {
            let writer = try NetlinkRouteWriter()
            var stale = try writer.routes(family: KernelRouteConstants.familyMPLS, protocolNumber: Daemon.routeProtocol)
            stale += try writer.routes(family: KernelRouteConstants.familyIPv4, protocolNumber: Daemon.routeProtocol).filter { route in
                route.table == ftnTable && route.nextHops.contains { !$0.encapsulation.isEmpty }
            }
            stale = stale.map(\.deletion)
            let problems = writer.perform(stale).compactMap { $0 }
            if stale.count > problems.count {
                logger.notice("userspace dataplane: removed \(stale.count - problems.count) route(s) the kernel dataplane of an earlier run left")
            }
            for problem in problems { logger.warning("userspace dataplane: cannot remove a kernel-plane route: \(problem)") }
        } catch {
            logger.warning("userspace dataplane: cannot look for kernel-plane routes left by an earlier run: \(error)")
        }
    }

    /// net.mpls.conf.<if>.input=0 on the interfaces the userspace engine forwards for: the kernel
    /// then drops their labelled frames instead of forwarding them a second time.
    static func keepKernelOff(_ interfaces: [String], logger: Logger) {
        for interface in interfaces {
            let path = "/proc/sys/net/mpls/conf/\(interface)/input"
            if let problem = KernelSysctl.write(path, "0") {
                logger.warning("userspace dataplane: \(problem); the kernel may forward \(interface)'s labelled frames too")
            } else {
                logger.info("userspace dataplane: net.mpls.conf.\(interface).input set to 0 (the userspace engine forwards \(interface)'s labelled frames)")
            }
        }
    }
}

/// Hands an installer only the label (swap, pop) entries: in `both` mode the kernel alone
/// pushes, so the userspace engine must not route FTN prefixes into its TUN device.
final class LabelSwitchingOnly: LFIBInstaller, @unchecked Sendable {
    let inner: any LFIBInstaller

    init(_ inner: any LFIBInstaller) { self.inner = inner }

    var name: String { inner.name }

    func apply(_ changes: [LFIBChange]) {
        let labelled = changes.filter { if case .label = $0.key { true } else { false } }
        if !labelled.isEmpty { inner.apply(labelled) }
    }

    func status(of key: LFIBKey) -> InstallStatus {
        if case .label = key { inner.status(of: key) } else { .absent }
    }

    func counters(of key: LFIBKey) -> (packets: UInt64, bytes: UInt64)? {
        if case .label = key { inner.counters(of: key) } else { nil }
    }

    func view() -> DataplaneView.Backend {
        var view = inner.view()
        view.state += "; label switching only (the kernel pushes)"
        return view
    }

    func shutdown() { inner.shutdown() }

    func kernelStateChanged(links: [KernelLink], addresses: [KernelAddress], neighbors: [KernelNeighbor]) {
        inner.kernelStateChanged(links: links, addresses: addresses, neighbors: neighbors)
    }
}
