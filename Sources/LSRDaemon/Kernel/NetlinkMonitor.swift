// Follows the kernel's links, addresses, routes and neighbours through libnl-route-3's cache
// manager, turning each change into a plain `KernelEvent`. The only code that reads netlink.

import CNetlink
import Glibc
import LDPCodec

public struct KernelNeighbor: Hashable, Sendable {
    public var interfaceIndex: Int32
    public var address: IPAddress
    public var hardwareAddress: [UInt8]
    /// NUD_REACHABLE, NUD_STALE, ... (usable when not INCOMPLETE or FAILED).
    public var state: UInt16

    public var isUsable: Bool {
        // NUD_INCOMPLETE 0x01, NUD_FAILED 0x20, NUD_NOARP 0x40 (no MAC to use on Ethernet).
        hardwareAddress.count == 6 && state & (0x01 | 0x20) == 0
    }
}

public enum KernelEvent: Sendable {
    case linkChanged(KernelLink)
    case linkRemoved(index: Int32)
    case addressAdded(KernelAddress)
    case addressRemoved(KernelAddress)
    case routeAdded(KernelRoute)
    case routeRemoved(KernelRoute)
    case neighborChanged(KernelNeighbor)
    case neighborRemoved(KernelNeighbor)
}

public struct NetlinkError: Error, CustomStringConvertible {
    public var operation: String
    public var code: Int32
    public var description: String { "\(operation): \(String(cString: nl_geterror(code)))" }
}

/// Owns a netlink socket and a cache manager on a thread of its own; events go to `handler`
/// in the order the kernel reported them, starting with a dump of the current state.
public final class NetlinkMonitor: @unchecked Sendable {
    private var socket: OpaquePointer?
    private var manager: OpaquePointer?
    private var handler: (@Sendable (KernelEvent) -> Void)?
    private var caches: [OpaquePointer] = []
    private var thread: pthread_t?
    private let stopFlag = UnsafeMutablePointer<Int32>.allocate(capacity: 1)

    public init() {
        stopFlag.initialize(to: 0)
    }

    deinit {
        stop()
        if let manager { nl_cache_mngr_free(manager) }
        if let socket { nl_socket_free(socket) }
        stopFlag.deallocate()
    }

    /// Dumps the current state into `handler`, then follows changes until `stop()`.
    public func start(handler: @escaping @Sendable (KernelEvent) -> Void) throws {
        self.handler = handler
        guard let socket = nl_socket_alloc() else { throw NetlinkError(operation: "nl_socket_alloc", code: -NLE_NOMEM) }
        self.socket = socket
        var manager: OpaquePointer?
        var status = nl_cache_mngr_alloc(socket, NETLINK_ROUTE, NL_AUTO_PROVIDE, &manager)
        guard status == 0, let manager else { throw NetlinkError(operation: "nl_cache_mngr_alloc", code: status) }
        self.manager = manager

        let context = Unmanaged.passUnretained(self).toOpaque()
        let onChange: change_func_t = { _, object, action, data in
            guard let object, let data else { return }
            Unmanaged<NetlinkMonitor>.fromOpaque(data).takeUnretainedValue().dispatch(object, action: action)
        }
        // Links before addresses before routes, so that each event can be resolved when it arrives.
        for name in ["route/link", "route/addr", "route/route", "route/neigh"] {
            var cache: OpaquePointer?
            status = nl_cache_mngr_add(manager, name, onChange, context, &cache)
            guard status == 0, let cache else { throw NetlinkError(operation: "nl_cache_mngr_add \(name)", code: status) }
            caches.append(cache)
            nl_cache_foreach(cache, { object, data in
                guard let object, let data else { return }
                Unmanaged<NetlinkMonitor>.fromOpaque(data).takeUnretainedValue().dispatch(object, action: Int32(NL_ACT_NEW))
            }, context)
        }

        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        status = pthread_create(&thread, nil, { argument in
            let monitor = Unmanaged<NetlinkMonitor>.fromOpaque(argument!).takeRetainedValue()
            monitor.run()
            return nil
        }, box.toOpaque())
        guard status == 0 else {
            box.release()
            throw NetlinkError(operation: "pthread_create", code: -NLE_FAILURE)
        }
        self.thread = thread
    }

    public func stop() {
        stopFlag.pointee = 1
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
    }

    private func run() {
        while stopFlag.pointee == 0 {
            let status = nl_cache_mngr_poll(manager, 200)
            // Lost messages (buffer overrun) mean the caches may be stale: libnl resyncs itself.
            if status < 0 && status != -NLE_INTR && status != -NLE_AGAIN {
                usleep(100_000)
            }
        }
    }

    private func dispatch(_ object: OpaquePointer, action: Int32) {
        guard let handler else { return }
        let removed = action == NL_ACT_DEL
        let type = String(cString: nl_object_get_type(object))
        switch type {
        case "route/link":
            if removed {
                handler(.linkRemoved(index: rtnl_link_get_ifindex(object)))
            } else if let link = Self.link(object) {
                handler(.linkChanged(link))
            }
        case "route/addr":
            guard let address = Self.address(object) else { return }
            handler(removed ? .addressRemoved(address) : .addressAdded(address))
        case "route/route":
            guard let route = Self.route(object) else { return }
            handler(removed ? .routeRemoved(route) : .routeAdded(route))
        case "route/neigh":
            guard let neighbor = Self.neighbor(object) else { return }
            handler(removed ? .neighborRemoved(neighbor) : .neighborChanged(neighbor))
        default:
            break
        }
    }

    // MARK: libnl objects to values

    static func ipAddress(_ address: OpaquePointer?) -> IPAddress? {
        guard let address, let bytes = nl_addr_get_binary_addr(address) else { return nil }
        let length = Int(nl_addr_get_len(address))
        let buffer = UnsafeRawBufferPointer(start: bytes, count: length)
        switch (nl_addr_get_family(address), length) {
        case (AF_INET, 4):
            return .v4(IPv4Address(buffer[0], buffer[1], buffer[2], buffer[3]))
        case (AF_INET6, 16):
            return .v6(IPv6Address(octets: buffer))
        default:
            return nil
        }
    }

    static func link(_ object: OpaquePointer) -> KernelLink? {
        guard let namePointer = rtnl_link_get_name(object) else { return nil }
        let flags = rtnl_link_get_flags(object)
        let isUp = flags & UInt32(IFF_UP) != 0 && flags & UInt32(IFF_RUNNING) != 0
        var hardware: [UInt8] = []
        if let address = rtnl_link_get_addr(object), let bytes = nl_addr_get_binary_addr(address) {
            hardware = Array(UnsafeRawBufferPointer(start: bytes, count: Int(nl_addr_get_len(address))))
        }
        return KernelLink(index: rtnl_link_get_ifindex(object), name: String(cString: namePointer), isUp: isUp,
                          isLoopback: flags & UInt32(IFF_LOOPBACK) != 0, mtu: rtnl_link_get_mtu(object),
                          hardwareAddress: hardware)
    }

    static func address(_ object: OpaquePointer) -> KernelAddress? {
        guard let local = ipAddress(rtnl_addr_get_local(object)) else { return nil }
        return KernelAddress(interfaceIndex: rtnl_addr_get_ifindex(object), address: local,
                             prefixLength: UInt8(clamping: rtnl_addr_get_prefixlen(object)))
    }

    static func route(_ object: OpaquePointer) -> KernelRoute? {
        let family = Int32(rtnl_route_get_family(object))
        guard family == AF_INET || family == AF_INET6, let destination = rtnl_route_get_dst(object) else { return nil }
        let length = UInt8(clamping: nl_addr_get_prefixlen(destination))
        let address: IPAddress
        if let parsed = ipAddress(destination) {
            address = parsed
        } else if nl_addr_get_len(destination) == 0 {
            // The default route has an empty destination.
            address = family == AF_INET ? .v4(.any) : .v6(IPv6Address(high: 0, low: 0))
        } else {
            return nil
        }
        guard let prefix = IPPrefix(address: address, length: length) else { return nil }
        var hops: [KernelRoute.NextHop] = []
        let count = rtnl_route_get_nnexthops(object)
        for index in 0..<max(count, 0) {
            guard let hop = rtnl_route_nexthop_n(object, index) else { continue }
            let flags = rtnl_route_nh_get_flags(hop)
            // RTNH_F_DEAD (1) and RTNH_F_LINKDOWN (16).
            hops.append(KernelRoute.NextHop(gateway: ipAddress(rtnl_route_nh_get_gateway(hop)),
                                            interfaceIndex: Int32(rtnl_route_nh_get_ifindex(hop)),
                                            isDown: flags & (1 | 16) != 0))
        }
        return KernelRoute(prefix: prefix, table: rtnl_route_get_table(object), type: rtnl_route_get_type(object),
                           protocolNumber: rtnl_route_get_protocol(object), priority: rtnl_route_get_priority(object),
                           nextHops: hops)
    }

    static func neighbor(_ object: OpaquePointer) -> KernelNeighbor? {
        guard let destination = ipAddress(rtnl_neigh_get_dst(object)) else { return nil }
        var hardware: [UInt8] = []
        if let address = rtnl_neigh_get_lladdr(object), let bytes = nl_addr_get_binary_addr(address) {
            hardware = Array(UnsafeRawBufferPointer(start: bytes, count: Int(nl_addr_get_len(address))))
        }
        return KernelNeighbor(interfaceIndex: rtnl_neigh_get_ifindex(object), address: destination,
                              hardwareAddress: hardware, state: UInt16(truncatingIfNeeded: rtnl_neigh_get_state(object)))
    }
}
