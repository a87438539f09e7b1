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
        let kernelReason = kernelMPLSUnavailableReason()
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
        switch mode {
        case .userspace, .auto:
            // AF_PACKET rings and the MPLSForwarding engine (see UserspaceInstaller).
            return [UserspaceInstaller(staticRoutes: staticRoutes)]
        case .kernel, .both:
            // The kernel netlink installer comes with its own work; until then the LFIB is recorded.
            logger.warning("this build records the LFIB but does not program the kernel yet (dataplane '\(mode.rawValue)')")
            return [RecordingInstaller()]
        }
    }
}
