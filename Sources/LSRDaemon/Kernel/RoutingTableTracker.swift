// What lsrd knows of the kernel's routing state, as plain values, and how it turns into the
// engine's view: FEC routes with their usable next hops, interface states and addresses.
// Pure: the netlink adapter feeds it kernel objects; tests feed it by hand.

import LDPCodec
import LDPEngine

/// A route as the kernel reports it (RTM_NEWROUTE), reduced to what lsrd uses.
public struct KernelRoute: Hashable, Sendable {
    public struct NextHop: Hashable, Sendable {
        public var gateway: IPAddress?
        public var interfaceIndex: Int32
        /// RTNH_F_DEAD or RTNH_F_LINKDOWN: the kernel keeps it, but it forwards nothing.
        public var isDown: Bool
        public init(gateway: IPAddress?, interfaceIndex: Int32, isDown: Bool = false) {
            self.gateway = gateway
            self.interfaceIndex = interfaceIndex
            self.isDown = isDown
        }
    }
    public var prefix: IPPrefix
    public var table: UInt32
    /// RTN_UNICAST, RTN_LOCAL, ...
    public var type: UInt8
    public var protocolNumber: UInt8
    public var priority: UInt32
    public var nextHops: [NextHop]

    public init(prefix: IPPrefix, table: UInt32, type: UInt8, protocolNumber: UInt8, priority: UInt32 = 0, nextHops: [NextHop]) {
        self.prefix = prefix
        self.table = table
        self.type = type
        self.protocolNumber = protocolNumber
        self.priority = priority
        self.nextHops = nextHops
    }

    public struct Key: Hashable, Sendable {
        public var prefix: IPPrefix
        public var table: UInt32
        public var priority: UInt32
    }

    public var key: Key { Key(prefix: prefix, table: table, priority: priority) }

    public static let mainTable: UInt32 = 254
    public static let unicastType: UInt8 = 1
}

public struct KernelLink: Hashable, Sendable {
    public var index: Int32
    public var name: String
    /// IFF_UP and carrier (IFF_RUNNING / oper up).
    public var isUp: Bool
    public var isLoopback: Bool
    public var mtu: UInt32
    public var hardwareAddress: [UInt8]

    public init(index: Int32, name: String, isUp: Bool, isLoopback: Bool = false, mtu: UInt32 = 1500, hardwareAddress: [UInt8] = []) {
        self.index = index
        self.name = name
        self.isUp = isUp
        self.isLoopback = isLoopback
        self.mtu = mtu
        self.hardwareAddress = hardwareAddress
    }
}

public struct KernelAddress: Hashable, Sendable {
    public var interfaceIndex: Int32
    public var address: IPAddress
    public var prefixLength: UInt8
    public init(interfaceIndex: Int32, address: IPAddress, prefixLength: UInt8) {
        self.interfaceIndex = interfaceIndex
        self.address = address
        self.prefixLength = prefixLength
    }
}

/// What changed for the engine after a kernel event.
public enum RoutingChange: Hashable, Sendable {
    case routeChanged(Route)
    case routeRemoved(IPPrefix)
    case interfaceChanged(name: String, isUp: Bool, addresses: [IPAddress])
}

/// Folds kernel routes, links and addresses into the engine's routes, emitting only deltas.
///
/// A FEC's route is the main-table unicast route with the lowest metric whose next hops are up
/// (routes lsrd installed itself, by `ownProtocol`, are left out: they are its output, not its
/// input). Each interface address also gives a route: its subnet as connected, or, for a /32
/// (a loopback), a local FEC that this LSR is the egress for.
public struct RoutingTableTracker: Sendable {
    public let ownProtocol: UInt8
    public private(set) var links: [Int32: KernelLink] = [:]
    public private(set) var addresses: Set<KernelAddress> = []
    private var kernelRoutes: [KernelRoute.Key: KernelRoute] = [:]
    private var keysByPrefix: [IPPrefix: Set<KernelRoute.Key>] = [:]
    /// What the engine was last told, per prefix.
    public private(set) var routes: [IPPrefix: Route] = [:]
    private var announcedInterfaces: [String: (isUp: Bool, addresses: [IPAddress])] = [:]

    public init(ownProtocol: UInt8) { self.ownProtocol = ownProtocol }

    public func interfaceName(_ index: Int32) -> String? { links[index]?.name }

    public func interfaceIndex(_ name: String) -> Int32? { links.values.first { $0.name == name }?.index }

    // MARK: Inputs

    public mutating func linkChanged(_ link: KernelLink) -> [RoutingChange] {
        let previous = links[link.index]
        links[link.index] = link
        if link.isUp && previous?.isUp != true { clearDownFlags(interface: link.index) }
        var changes = interfaceChanges(for: link.index)
        if previous?.isUp != link.isUp || previous?.name != link.name {
            changes += recompute(prefixes: prefixesUsing(interface: link.index))
        }
        return changes
    }

    public mutating func linkRemoved(index: Int32) -> [RoutingChange] {
        guard let link = links.removeValue(forKey: index) else { return [] }
        let gone = addresses.filter { $0.interfaceIndex == index }
        addresses.subtract(gone)
        var changes: [RoutingChange] = []
        if announcedInterfaces.removeValue(forKey: link.name) != nil {
            changes.append(.interfaceChanged(name: link.name, isUp: false, addresses: []))
        }
        return changes + recompute(prefixes: prefixesUsing(interface: index).union(gone.map(Self.connectedPrefix)))
    }

    public mutating func addressAdded(_ address: KernelAddress) -> [RoutingChange] {
        guard addresses.insert(address).inserted else { return [] }
        return interfaceChanges(for: address.interfaceIndex) + recompute(prefixes: [Self.connectedPrefix(address)])
    }

    public mutating func addressRemoved(_ address: KernelAddress) -> [RoutingChange] {
        guard addresses.remove(address) != nil else { return [] }
        return interfaceChanges(for: address.interfaceIndex) + recompute(prefixes: [Self.connectedPrefix(address)])
    }

    public mutating func routeAdded(_ route: KernelRoute) -> [RoutingChange] {
        guard route.table == KernelRoute.mainTable, route.type == KernelRoute.unicastType,
              route.protocolNumber != ownProtocol else { return [] }
        kernelRoutes[route.key] = route
        keysByPrefix[route.prefix, default: []].insert(route.key)
        return recompute(prefixes: [route.prefix])
    }

    public mutating func routeRemoved(_ route: KernelRoute) -> [RoutingChange] {
        guard kernelRoutes.removeValue(forKey: route.key) != nil else { return [] }
        keysByPrefix[route.prefix]?.remove(route.key)
        if keysByPrefix[route.prefix]?.isEmpty == true { keysByPrefix[route.prefix] = nil }
        return recompute(prefixes: [route.prefix])
    }

    /// When a link comes up (or gets its carrier back) the kernel clears RTNH_F_DEAD and
    /// RTNH_F_LINKDOWN on the next hops through it (fib_sync_up) without a route notification, so
    /// a route added while the link had no carrier would otherwise stay unusable here for good.
    private mutating func clearDownFlags(interface index: Int32) {
        for (key, route) in kernelRoutes where route.nextHops.contains(where: { $0.interfaceIndex == index && $0.isDown }) {
            var cleared = route
            for hop in cleared.nextHops.indices where cleared.nextHops[hop].interfaceIndex == index {
                cleared.nextHops[hop].isDown = false
            }
            kernelRoutes[key] = cleared
        }
    }

    // MARK: Derivation

    static func connectedPrefix(_ address: KernelAddress) -> IPPrefix {
        IPPrefix(address: address.address, length: address.prefixLength)
            ?? IPPrefix(address: address.address, length: address.address.family.maximumPrefixLength)!
    }

    private func prefixesUsing(interface index: Int32) -> Set<IPPrefix> {
        var prefixes = Set<IPPrefix>()
        for route in kernelRoutes.values where route.nextHops.contains(where: { $0.interfaceIndex == index }) {
            prefixes.insert(route.prefix)
        }
        for address in addresses where address.interfaceIndex == index {
            prefixes.insert(Self.connectedPrefix(address))
        }
        return prefixes
    }

    private mutating func interfaceChanges(for index: Int32) -> [RoutingChange] {
        guard let link = links[index] else { return [] }
        // The addresses LDP advertises (RFC 5036 §3.5.5): IPv4, without loopback-net ones.
        let own = addresses.filter { $0.interfaceIndex == index && Self.isAdvertisable($0.address) }.map(\.address).sorted()
        if let previous = announcedInterfaces[link.name], previous.isUp == link.isUp, previous.addresses == own {
            return []
        }
        announcedInterfaces[link.name] = (link.isUp, own)
        return [.interfaceChanged(name: link.name, isUp: link.isUp, addresses: own)]
    }

    /// The engine's route for `prefix` from what is known now, or nil when there is none.
    func derive(_ prefix: IPPrefix) -> Route? {
        // Own addresses first: a /32 on any up interface (usually lo) is a local FEC; an
        // address's subnet on an up interface is connected.
        var local = false
        var connected: [Route.NextHop] = []
        for address in addresses where Self.connectedPrefix(address) == prefix {
            guard let link = links[address.interfaceIndex], link.isUp || link.isLoopback else { continue }
            if prefix.isHostRoute || link.isLoopback {
                local = true
            } else {
                connected.append(Route.NextHop(address: nil, interface: link.name))
            }
        }
        if local { return Route(prefix: prefix, nextHops: [], isLocal: true) }
        if !connected.isEmpty { return Route(prefix: prefix, nextHops: connected.sorted()) }

        let candidates = (keysByPrefix[prefix] ?? []).compactMap { kernelRoutes[$0] }.sorted { $0.priority < $1.priority }
        for candidate in candidates {
            let hops = candidate.nextHops.compactMap { hop -> Route.NextHop? in
                guard !hop.isDown, let link = links[hop.interfaceIndex], link.isUp, !link.isLoopback else { return nil }
                return Route.NextHop(address: hop.gateway, interface: link.name)
            }
            if !hops.isEmpty { return Route(prefix: prefix, nextHops: Array(Set(hops)).sorted()) }
        }
        return nil
    }

    /// LDP here distributes labels for IPv4 unicast FECs; loopback-net (127/8), link-local
    /// (169.254/16) and multicast prefixes never get one.
    static func isLabelCandidate(_ prefix: IPPrefix) -> Bool {
        guard case .v4(let address) = prefix.address else { return false }
        let first = address.rawValue >> 24
        if first == 127 || first >= 224 { return false }
        if address.rawValue >> 16 == 0xA9FE { return false }
        return true
    }

    static func isAdvertisable(_ address: IPAddress) -> Bool {
        guard case .v4(let v4) = address else { return false }
        return v4.rawValue >> 24 != 127
    }

    private mutating func recompute(prefixes: Set<IPPrefix>) -> [RoutingChange] {
        var changes: [RoutingChange] = []
        for prefix in prefixes.sorted() where Self.isLabelCandidate(prefix) {
            let route = derive(prefix)
            guard route != routes[prefix] else { continue }
            routes[prefix] = route
            changes.append(route.map(RoutingChange.routeChanged) ?? .routeRemoved(prefix))
        }
        return changes
    }
}
