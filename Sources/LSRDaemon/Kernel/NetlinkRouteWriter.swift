// Carries out `KernelRouteRequest`s with libnl-route-3 and reads lsrd's own routes back.
// The only code that writes routes to the kernel.

import CNetlink
import Glibc
import LDPCodec

public final class NetlinkRouteWriter: @unchecked Sendable {
    private let socket: OpaquePointer

    public init() throws(NetlinkError) {
        guard let socket = nl_socket_alloc() else { throw NetlinkError(operation: "nl_socket_alloc", code: -NLE_NOMEM) }
        let status = nl_connect(socket, NETLINK_ROUTE)
        guard status == 0 else {
            nl_socket_free(socket)
            throw NetlinkError(operation: "nl_connect", code: status)
        }
        self.socket = socket
    }

    deinit { nl_socket_free(socket) }

    /// Installs, replaces or deletes one route; the libnl error text on failure.
    public func perform(_ request: KernelRouteRequest) -> KernelRouteError? {
        guard let route = rtnl_route_alloc() else { return KernelRouteError("rtnl_route_alloc: out of memory") }
        defer { rtnl_route_put(route) }
        rtnl_route_set_family(route, request.family)
        rtnl_route_set_table(route, request.table)
        rtnl_route_set_protocol(route, request.protocolNumber)
        rtnl_route_set_scope(route, request.scope)
        _ = rtnl_route_set_type(route, request.type)
        guard let destination = Self.address(family: request.family, bytes: request.destination) else {
            return KernelRouteError("nl_addr_build: out of memory")
        }
        nl_addr_set_prefixlen(destination, Int32(request.destinationLength))
        var status = rtnl_route_set_dst(route, destination)
        nl_addr_put(destination)
        guard status == 0 else { return Self.error("rtnl_route_set_dst", status, request) }

        for hop in request.nextHops {
            guard let nexthop = rtnl_route_nh_alloc() else { return KernelRouteError("rtnl_route_nh_alloc: out of memory") }
            // The route owns the next hop from here on, and frees it with itself.
            rtnl_route_add_nexthop(route, nexthop)
            rtnl_route_nh_set_ifindex(nexthop, hop.interfaceIndex)
            if let gateway = hop.gateway, let address = Self.address(family: UInt8(AF_INET), bytes: gateway.octets) {
                // AF_MPLS names its IPv4 next hop with RTA_VIA; IPv4 routes with RTA_GATEWAY.
                if request.family == KernelRouteConstants.familyMPLS {
                    status = rtnl_route_nh_set_via(nexthop, address)
                } else {
                    rtnl_route_nh_set_gateway(nexthop, address)
                    status = 0
                }
                nl_addr_put(address)
                guard status == 0 else { return Self.error("rtnl_route_nh_set_via", status, request) }
            }
            if !hop.newDestination.isEmpty, let stack = Self.address(family: KernelRouteConstants.familyMPLS, bytes: hop.newDestination) {
                status = rtnl_route_nh_set_newdst(nexthop, stack)
                nl_addr_put(stack)
                guard status == 0 else { return Self.error("rtnl_route_nh_set_newdst", status, request) }
            }
            if !hop.encapsulation.isEmpty, let stack = Self.address(family: KernelRouteConstants.familyMPLS, bytes: hop.encapsulation) {
                // TTL 0: the kernel copies the IP TTL into the pushed labels.
                status = rtnl_route_nh_encap_mpls(nexthop, stack, 0)
                nl_addr_put(stack)
                guard status == 0 else { return Self.error("rtnl_route_nh_encap_mpls", status, request) }
            }
        }
        switch request.operation {
        case .replace:
            status = rtnl_route_add(socket, route, request.flags)
            return status == 0 ? nil : Self.error("add", status, request)
        case .delete:
            status = rtnl_route_delete(socket, route, 0)
            // Already gone is what a delete wants.
            return status == 0 || status == -NLE_OBJ_NOTFOUND ? nil : Self.error("delete", status, request)
        }
    }

    /// The routes of `family` marked with `protocolNumber`, as requests that would recreate them.
    /// Filters by family itself: a kernel without AF_MPLS answers an MPLS dump with IPv4 routes.
    public func routes(family: UInt8, protocolNumber: UInt8) throws(NetlinkError) -> [KernelRouteRequest] {
        var cache: OpaquePointer?
        let status = rtnl_route_alloc_cache(socket, Int32(family), 0, &cache)
        guard status == 0, let cache else { throw NetlinkError(operation: "route dump", code: status) }
        defer { nl_cache_free(cache) }
        var found: [KernelRouteRequest] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            object = nl_cache_get_next(current)
            guard rtnl_route_get_family(current) == family, rtnl_route_get_protocol(current) == protocolNumber else { continue }
            found.append(Self.request(from: current))
        }
        return found
    }

    /// A policy rule sending IPv4 lookups to `table` before `main`. Idempotent.
    public func addRule(table: UInt32, priority: UInt32, protocolNumber: UInt8) -> KernelRouteError? {
        withRule(table: table, priority: priority, protocolNumber: protocolNumber) { rule in
            let status = rtnl_rule_add(socket, rule, NLM_F_CREATE | NLM_F_EXCL)
            return status == 0 || status == -NLE_EXIST ? nil : KernelRouteError("ip rule priority \(priority) table \(table): \(String(cString: nl_geterror(status)))")
        }
    }

    public func deleteRule(table: UInt32, priority: UInt32, protocolNumber: UInt8) -> KernelRouteError? {
        withRule(table: table, priority: priority, protocolNumber: protocolNumber) { rule in
            let status = rtnl_rule_delete(socket, rule, 0)
            return status == 0 || status == -NLE_OBJ_NOTFOUND ? nil : KernelRouteError("delete ip rule priority \(priority): \(String(cString: nl_geterror(status)))")
        }
    }

    private func withRule(table: UInt32, priority: UInt32, protocolNumber: UInt8,
                          _ body: (OpaquePointer) -> KernelRouteError?) -> KernelRouteError? {
        guard let rule = rtnl_rule_alloc() else { return KernelRouteError("rtnl_rule_alloc: out of memory") }
        defer { rtnl_rule_put(rule) }
        rtnl_rule_set_family(rule, AF_INET)
        rtnl_rule_set_prio(rule, priority)
        rtnl_rule_set_table(rule, table)
        rtnl_rule_set_action(rule, 1) // FR_ACT_TO_TBL
        _ = rtnl_rule_set_protocol(rule, protocolNumber)
        return body(rule)
    }

    // MARK: Between values and libnl objects

    private static func address(family: UInt8, bytes: [UInt8]) -> OpaquePointer? {
        bytes.withUnsafeBytes { nl_addr_build(Int32(family), $0.baseAddress, $0.count) }
    }

    private static func bytes(_ address: OpaquePointer?) -> [UInt8] {
        guard let address, let start = nl_addr_get_binary_addr(address) else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: Int(nl_addr_get_len(address))))
    }

    private static func ipv4(_ address: OpaquePointer?) -> IPv4Address? {
        guard let address, nl_addr_get_family(address) == AF_INET else { return nil }
        let octets = bytes(address)
        return octets.count == 4 ? IPv4Address(octets[0], octets[1], octets[2], octets[3]) : nil
    }

    static func request(from route: OpaquePointer) -> KernelRouteRequest {
        let family = rtnl_route_get_family(route)
        let destination = rtnl_route_get_dst(route)
        var hops: [KernelRouteRequest.NextHop] = []
        for index in 0..<max(rtnl_route_get_nnexthops(route), 0) {
            guard let hop = rtnl_route_nexthop_n(route, index) else { continue }
            let gateway = family == KernelRouteConstants.familyMPLS ? ipv4(rtnl_route_nh_get_via(hop)) : ipv4(rtnl_route_nh_get_gateway(hop))
            hops.append(KernelRouteRequest.NextHop(
                gateway: gateway, interfaceIndex: Int32(rtnl_route_nh_get_ifindex(hop)),
                newDestination: bytes(rtnl_route_nh_get_newdst(hop)),
                encapsulation: bytes(rtnl_route_nh_get_encap_mpls_dst(hop))))
        }
        return KernelRouteRequest(
            operation: .replace, family: family, destination: bytes(destination),
            destinationLength: destination.map { UInt8(clamping: nl_addr_get_prefixlen($0)) } ?? 0,
            table: rtnl_route_get_table(route), protocolNumber: rtnl_route_get_protocol(route),
            type: rtnl_route_get_type(route), scope: rtnl_route_get_scope(route),
            flags: KernelRouteConstants.createFlag | KernelRouteConstants.replaceFlag, nextHops: hops)
    }

    private static func error(_ operation: String, _ status: Int32, _ request: KernelRouteRequest) -> KernelRouteError {
        KernelRouteError("\(operation) \(KernelRouteSummary(request).destination): \(String(cString: nl_geterror(status)))")
    }
}
