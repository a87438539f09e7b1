// The kernel routes that hand IPv4 packets to the userspace plane's TUN device, one per FTN
// prefix (LFIB.tunnelPrefixes). They live in a table of their own (193) with lsrd's protocol
// number (`Daemon.routeProtocol`), and one `ip rule` looks that table up before main: the IGP's routes stay
// where they are and take over again when an LSP goes, or when lsrd stops and removes the rule.

import CNetlink
import Glibc
import LDPCodec

final class TunnelRoutes {
    static let table: UInt32 = 193
    /// Below main's 32766 and default's 32767; above local's 0, so local addresses stay local.
    static let rulePriority: UInt32 = 1000
    static let protocolNumber = Daemon.routeProtocol

    let interfaceIndex: Int32
    private let socket: OpaquePointer
    private(set) var installed: Set<IPPrefix> = []
    /// The last error per prefix (never fatal: the packet then follows the IGP route).
    private(set) var errors: [IPPrefix: String] = [:]
    private(set) var ruleError: String?

    /// Connects to rtnetlink and installs the rule; nil when netlink itself is unavailable.
    init?(interfaceIndex: Int32) {
        guard let socket = nl_socket_alloc() else { return nil }
        guard nl_connect(socket, NETLINK_ROUTE) == 0 else {
            nl_socket_free(socket)
            return nil
        }
        self.socket = socket
        self.interfaceIndex = interfaceIndex
        // A crashed earlier run may have left its rule: remove it so there is exactly one.
        _ = changeRule(add: false)
        let status = changeRule(add: true)
        ruleError = status == 0 ? nil : "ip rule (table \(Self.table)): \(String(cString: nl_geterror(status)))"
    }

    deinit { nl_socket_free(socket) }

    /// Makes the table hold exactly `prefixes`; returns nothing, errors stay per prefix.
    func synchronize(_ prefixes: Set<IPPrefix>) {
        withdraw(except: prefixes)
        for prefix in errors.keys where !prefixes.contains(prefix) { errors[prefix] = nil }
        // Retry earlier failures too: the device or a route may have come back.
        for prefix in prefixes.subtracting(installed) {
            let status = change(prefix, add: true)
            if status == 0 {
                installed.insert(prefix)
                errors[prefix] = nil
            } else {
                errors[prefix] = String(cString: nl_geterror(status))
            }
        }
    }

    /// Removes the routes of prefixes no longer in `prefixes`, before the snapshot that cannot
    /// push for them is published: the IGP's route takes those packets instead of a drop.
    func withdraw(except prefixes: Set<IPPrefix>) {
        for prefix in installed.subtracting(prefixes) {
            _ = change(prefix, add: false)
            installed.remove(prefix)
        }
    }

    /// Removes every route and the rule (shutdown).
    func removeAll() {
        synchronize([])
        _ = changeRule(add: false)
    }

    private func change(_ prefix: IPPrefix, add: Bool) -> Int32 {
        guard case .v4(let address) = prefix.address, let route = rtnl_route_alloc() else { return -NLE_NOMEM }
        defer { rtnl_route_put(route) }
        var octets = address.octets
        guard let destination = nl_addr_build(AF_INET, &octets, 4) else { return -NLE_NOMEM }
        defer { nl_addr_put(destination) }
        nl_addr_set_prefixlen(destination, Int32(prefix.length))
        rtnl_route_set_family(route, UInt8(AF_INET))
        _ = rtnl_route_set_dst(route, destination)
        rtnl_route_set_table(route, Self.table)
        rtnl_route_set_protocol(route, Self.protocolNumber)
        rtnl_route_set_scope(route, UInt8(RT_SCOPE_LINK.rawValue))
        rtnl_route_set_type(route, UInt8(RTN_UNICAST))
        guard let hop = rtnl_route_nh_alloc() else { return -NLE_NOMEM }
        rtnl_route_nh_set_ifindex(hop, interfaceIndex)
        rtnl_route_add_nexthop(route, hop)
        if add { return rtnl_route_add(socket, route, Int32(NLM_F_CREATE | NLM_F_REPLACE)) }
        return rtnl_route_delete(socket, route, 0)
    }

    private func changeRule(add: Bool) -> Int32 {
        guard let rule = rtnl_rule_alloc() else { return -NLE_NOMEM }
        defer { rtnl_rule_put(rule) }
        rtnl_rule_set_family(rule, AF_INET)
        rtnl_rule_set_prio(rule, Self.rulePriority)
        rtnl_rule_set_table(rule, Self.table)
        rtnl_rule_set_action(rule, 1) // FR_ACT_TO_TBL
        _ = rtnl_rule_set_protocol(rule, Self.protocolNumber)
        return add ? rtnl_rule_add(socket, rule, Int32(NLM_F_CREATE)) : rtnl_rule_delete(socket, rule, 0)
    }
}
