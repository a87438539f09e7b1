// Which forwarding backends a dataplane mode gets on this host.

import Foundation
import Logging
import MPLSForwarding

public struct DataplaneUnavailable: Error, CustomStringConvertible {
    public var description: String
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

    public static func installers(for mode: DataplaneMode, staticRoutes: [StaticRoute] = [], logger: Logger) throws -> [any LFIBInstaller] {
        try installers(for: mode, kernel: KernelDataplaneOptions(), interfaces: [], staticRoutes: staticRoutes, logger: logger)
    }

    /// The backends for `configuration`'s dataplane mode, kernel options and static routes.
    public static func installers(for configuration: DaemonConfiguration, logger: Logger) throws -> [any LFIBInstaller] {
        try installers(for: configuration.dataplane, kernel: configuration.kernel, userspace: configuration.userspace,
                       interfaces: configuration.interfaces.map(\.name), labelRange: configuration.labelRange,
                       staticRoutes: configuration.staticRoutes, logger: logger)
    }

    public static func installers(for mode: DataplaneMode, kernel options: KernelDataplaneOptions,
                                  userspace: UserspaceDataplaneOptions = .init(), interfaces: [String],
                                  labelRange: ClosedRange<UInt32>? = nil, staticRoutes: [StaticRoute] = [], logger: Logger,
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
        // Labelled frames are taken only from LDP interfaces: a customer-facing interface never
        // injects labels (without an interface list, as in tests, every interface receives).
        func userspaceInstaller() -> UserspaceInstaller {
            UserspaceInstaller(engine: userspace, staticRoutes: staticRoutes,
                               receiveInterfaces: interfaces.isEmpty ? nil : Set(interfaces))
        }
        var installers: [any LFIBInstaller] = []
        if mode == .kernel || mode == .both || (mode == .auto && kernelAvailable) {
            do {
                installers.append(try KernelInstaller(options: options, interfaces: interfaces, labelRange: labelRange, logger: logger))
            } catch {
                throw DataplaneUnavailable(description: "kernel dataplane: \(error)")
            }
        }
        switch mode {
        case .kernel:
            return installers
        case .auto:
            // The kernel forwards where it can; the userspace engine where it cannot.
            return kernelAvailable ? installers : [userspaceInstaller()]
        case .userspace:
            // AF_PACKET rings and the MPLSForwarding engine (see UserspaceInstaller).
            return [userspaceInstaller()]
        case .both:
            // The kernel's table is programmed and it forwards every interface; the userspace
            // engine would take the same frames off the same interfaces, so it only records
            // here until interfaces can be split between the planes.
            logger.warning("dataplane 'both': the kernel forwards; the userspace engine records the LFIB only")
            return installers + [RecordingInstaller()]
        }
    }
}
