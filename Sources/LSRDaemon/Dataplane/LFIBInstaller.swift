// The one place the LFIB's deltas leave the control plane: each forwarding backend (kernel,
// userspace, or only a record) sits behind this protocol.

import LSRControl
import MPLSTables

public enum InstallStatus: Hashable, Sendable {
    case installed
    case failed(String)
    case absent
}

public protocol LFIBInstaller: AnyObject, Sendable {
    /// "kernel", "userspace", "record".
    var name: String { get }
    /// Applies deltas in order. Errors are kept per entry (`status(of:)`), never thrown.
    func apply(_ changes: [LFIBChange])
    func status(of key: LFIBKey) -> InstallStatus
    /// Packets and bytes forwarded by the entry, where the backend counts them.
    func counters(of key: LFIBKey) -> (packets: UInt64, bytes: UInt64)?
    /// State for `lsrctl show dataplane`.
    func view() -> DataplaneView.Backend
    /// Clean shutdown: remove what it installed (unless configured to keep it).
    func shutdown()
    /// The kernel's links, addresses and neighbours after a change (the userspace dataplane
    /// needs MACs and MTUs). Called on the daemon's loop.
    func kernelStateChanged(links: [KernelLink], addresses: [KernelAddress], neighbors: [KernelNeighbor])
}

extension LFIBInstaller {
    public func kernelStateChanged(links: [KernelLink], addresses: [KernelAddress], neighbors: [KernelNeighbor]) {}
}

/// Keeps the LFIB it is given and forwards nothing: for a control-plane-only lsrd, and the
/// baseline the real backends are compared with.
public final class RecordingInstaller: LFIBInstaller, @unchecked Sendable {
    public let name = "record"
    private var lfib = LFIB()

    public init() {}

    public func apply(_ changes: [LFIBChange]) { lfib.apply(changes) }
    public func status(of key: LFIBKey) -> InstallStatus { lfib.entries[key] == nil ? .absent : .installed }
    public func counters(of key: LFIBKey) -> (packets: UInt64, bytes: UInt64)? { nil }
    public func view() -> DataplaneView.Backend {
        DataplaneView.Backend(name: name, state: "recording only (no forwarding)", entries: lfib.entries.count)
    }
    public func shutdown() {}
}
