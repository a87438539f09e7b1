// What the kernel installer asks of netlink, as a plain value: one LFIB change becomes one
// route request (family, destination, next hops, labels, table, protocol, type, scope, flags).
// Pure, so the translation is tested without a kernel; `NetlinkRouteWriter` carries it out.
//
// Label switching (swap, pop) goes to the AF_MPLS table; FTN (push) entries become IPv4 routes
// with an MPLS lightweight-tunnel encapsulation in a table of lsrd's own, which a policy rule
// consults before `main`. The IGP's route stays untouched in `main`: the kernel prefers the
// lowest metric and static routes already have metric 0, so a labelled route in `main` could only
// win by replacing the IGP's, and would take it away when lsrd stops.

import LDPCodec
import MPLSTables

/// The netlink constants a request carries, named (values from <linux/rtnetlink.h>,
/// <linux/socket.h>, <linux/netlink.h>).
public enum KernelRouteConstants {
    public static let familyIPv4: UInt8 = 2 // AF_INET
    public static let familyMPLS: UInt8 = 28 // AF_MPLS
    public static let mainTable: UInt32 = 254 // RT_TABLE_MAIN: the only table AF_MPLS accepts
    public static let scopeUniverse: UInt8 = 0 // RT_SCOPE_UNIVERSE
    public static let scopeLink: UInt8 = 253 // RT_SCOPE_LINK: a next hop without a gateway
    public static let scopeNowhere: UInt8 = 255 // RT_SCOPE_NOWHERE: an IPv4 delete matching any scope
    public static let typeUnicast: UInt8 = 1 // RTN_UNICAST
    public static let createFlag: Int32 = 0x400 // NLM_F_CREATE
    public static let replaceFlag: Int32 = 0x100 // NLM_F_REPLACE
    /// AF_MPLS destinations are one label: rtm_dst_len must be 20.
    public static let mplsDestinationLength: UInt8 = 20
}

/// Where lsrd's kernel routes go and how they are marked.
public struct KernelRoutePlacement: Hashable, Sendable {
    /// The routing protocol number on every route lsrd installs (`Daemon.routeProtocol`).
    public var protocolNumber: UInt8
    /// The IPv4 table for FTN (push) routes, consulted before `main` through a policy rule.
    public var ftnTable: UInt32
    /// The policy rule's priority: below `main`'s 32766, so labelled routes win.
    public var ftnRulePriority: UInt32

    public init(protocolNumber: UInt8 = Daemon.routeProtocol, ftnTable: UInt32 = 193, ftnRulePriority: UInt32 = 1000) {
        self.protocolNumber = protocolNumber
        self.ftnTable = ftnTable
        self.ftnRulePriority = ftnRulePriority
    }
}

public struct KernelRouteRequest: Hashable, Sendable, CustomStringConvertible {
    /// The request that deletes this route as a dump reported it: no next hops, and for IPv4 any scope.
    public var deletion: KernelRouteRequest {
        var request = self
        request.operation = .delete
        request.nextHops = []
        if request.family == KernelRouteConstants.familyIPv4 { request.scope = KernelRouteConstants.scopeNowhere }
        return request
    }

    public enum Operation: Hashable, Sendable { case replace, delete }

    public struct NextHop: Hashable, Sendable {
        /// The IPv4 next hop: RTA_VIA for AF_MPLS, RTA_GATEWAY for IPv4; nil for a point-to-point link.
        public var gateway: IPv4Address?
        public var interfaceIndex: Int32
        /// Label stack entries (big-endian, BoS on the last) for RTA_NEWDST: the swapped-in
        /// stack of an MPLS route. Empty for pop/PHP.
        public var newDestination: [UInt8]
        /// Label stack entries for an MPLS lwtunnel encapsulation of an IPv4 route (push). Empty
        /// when nothing is pushed (implicit-null: the FEC's egress is the next hop).
        public var encapsulation: [UInt8]

        public init(gateway: IPv4Address?, interfaceIndex: Int32, newDestination: [UInt8] = [], encapsulation: [UInt8] = []) {
            self.gateway = gateway
            self.interfaceIndex = interfaceIndex
            self.newDestination = newDestination
            self.encapsulation = encapsulation
        }
    }

    public var operation: Operation
    public var family: UInt8
    /// A label stack entry (AF_MPLS) or the prefix's network address (IPv4).
    public var destination: [UInt8]
    public var destinationLength: UInt8
    public var table: UInt32
    public var protocolNumber: UInt8
    public var type: UInt8
    public var scope: UInt8
    /// NLM_F_* flags: always create-or-replace the whole route (AF_MPLS refuses append).
    public var flags: Int32
    /// Empty for a delete.
    public var nextHops: [NextHop]

    public var description: String { KernelRouteSummary(self).text }
}

public struct KernelRouteError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension KernelRouteRequest {
    /// The netlink route that realizes `change`. `interfaceIndex` resolves a next hop's interface
    /// name (the daemon's namespace). Throws when the kernel could not express the entry.
    public static func make(for change: LFIBChange, placement: KernelRoutePlacement = KernelRoutePlacement(),
                            interfaceIndex: (String) -> Int32?) throws(KernelRouteError) -> KernelRouteRequest {
        switch change {
        case .remove(let key):
            var request = try skeleton(for: key, placement: placement)
            request.operation = .delete
            request.flags = 0
            if request.family == KernelRouteConstants.familyIPv4 { request.scope = KernelRouteConstants.scopeNowhere }
            return request
        case .replace(let entry):
            var request = try skeleton(for: entry.key, placement: placement)
            guard !entry.nextHops.isEmpty else { throw KernelRouteError("\(entry.key) has no next hop") }
            for hop in entry.nextHops {
                request.nextHops.append(try nextHop(hop, key: entry.key, interfaceIndex: interfaceIndex))
            }
            request.scope = request.nextHops.allSatisfy({ $0.gateway == nil }) && request.family == KernelRouteConstants.familyIPv4
                ? KernelRouteConstants.scopeLink : KernelRouteConstants.scopeUniverse
            return request
        }
    }

    /// Everything but the next hops: what identifies the route in its table.
    static func skeleton(for key: LFIBKey, placement: KernelRoutePlacement) throws(KernelRouteError) -> KernelRouteRequest {
        let constants = KernelRouteConstants.self
        switch key {
        case .label(let label):
            // 0-15 are reserved (RFC 3032); the kernel owns 0 and 2 itself.
            guard label >= ReservedLabel.firstUnreserved, label <= ReservedLabel.maximum else {
                throw KernelRouteError("incoming label \(label) is reserved or out of range")
            }
            return KernelRouteRequest(
                operation: .replace, family: constants.familyMPLS, destination: labelStack([label]),
                destinationLength: constants.mplsDestinationLength, table: constants.mainTable,
                protocolNumber: placement.protocolNumber, type: constants.typeUnicast, scope: constants.scopeUniverse,
                flags: constants.createFlag | constants.replaceFlag, nextHops: [])
        case .prefix(let prefix):
            guard case .v4(let network) = prefix.address else {
                throw KernelRouteError("\(key): only IPv4 FECs are installed in the kernel")
            }
            return KernelRouteRequest(
                operation: .replace, family: constants.familyIPv4, destination: network.octets,
                destinationLength: prefix.length, table: placement.ftnTable,
                protocolNumber: placement.protocolNumber, type: constants.typeUnicast, scope: constants.scopeUniverse,
                flags: constants.createFlag | constants.replaceFlag, nextHops: [])
        }
    }

    static func nextHop(_ hop: LFIBNextHop, key: LFIBKey, interfaceIndex: (String) -> Int32?) throws(KernelRouteError) -> NextHop {
        guard let index = interfaceIndex(hop.interface) else {
            throw KernelRouteError("\(key): interface '\(hop.interface)' does not exist")
        }
        var gateway: IPv4Address?
        switch hop.address {
        case .v4(let address): gateway = address
        case .v6: throw KernelRouteError("\(key): IPv6 next hop \(hop.address!) is not supported")
        case nil: gateway = nil
        }
        // Implicit-null never appears on the wire (RFC 3032 §2.1): it means "push nothing".
        let labels = hop.outLabels.filter { $0 != ReservedLabel.implicitNull }
        guard labels.allSatisfy({ $0 <= ReservedLabel.maximum }) else {
            throw KernelRouteError("\(key): out label above \(ReservedLabel.maximum)")
        }
        let stack = labelStack(labels)
        switch key {
        case .label: return NextHop(gateway: gateway, interfaceIndex: index, newDestination: stack)
        case .prefix: return NextHop(gateway: gateway, interfaceIndex: index, encapsulation: stack)
        }
    }

    /// RFC 3032 label stack entries: label in the top 20 bits, TC and TTL zero (the kernel
    /// refuses others), bottom-of-stack on the last.
    public static func labelStack(_ labels: [UInt32]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(labels.count * 4)
        for (position, label) in labels.enumerated() {
            let entry = label << 12 | (position == labels.count - 1 ? 0x100 : 0)
            bytes += [UInt8(entry >> 24), UInt8(entry >> 16 & 0xFF), UInt8(entry >> 8 & 0xFF), UInt8(entry & 0xFF)]
        }
        return bytes
    }

    /// The labels of a stack written by `labelStack`.
    public static func labels(inStack bytes: [UInt8]) -> [UInt32] {
        stride(from: 0, to: bytes.count - bytes.count % 4, by: 4).map { start in
            (UInt32(bytes[start]) << 24 | UInt32(bytes[start + 1]) << 16 | UInt32(bytes[start + 2]) << 8 | UInt32(bytes[start + 3])) >> 12
        }
    }
}

extension IPv4Address {
    var octets: [UInt8] { [UInt8(rawValue >> 24), UInt8(rawValue >> 16 & 0xFF), UInt8(rawValue >> 8 & 0xFF), UInt8(rawValue & 0xFF)] }
}

/// A route in words, the same for an intended request and a dumped kernel route, so the two can
/// be compared (drift) and shown: "mpls 100 via 10.0.0.2 dev 3 newdst 200/300".
public struct KernelRouteSummary: Hashable, Sendable, Comparable {
    /// "mpls 100" or "ipv4 10.0.0.0/24 table 193": what identifies the route.
    public var destination: String
    /// Sorted next hops in words.
    public var nextHops: [String]

    public init(destination: String, nextHops: [String]) {
        self.destination = destination
        self.nextHops = nextHops.sorted()
    }

    public init(_ request: KernelRouteRequest) {
        let destination: String
        if request.family == KernelRouteConstants.familyMPLS {
            destination = "mpls \(KernelRouteRequest.labels(inStack: request.destination).map(String.init).joined(separator: "/"))"
        } else {
            let octets = request.destination + [0, 0, 0, 0]
            destination = "ipv4 \(IPv4Address(octets[0], octets[1], octets[2], octets[3]))/\(request.destinationLength) table \(request.table)"
        }
        self.init(destination: destination, nextHops: request.nextHops.map { hop in
            Self.nextHopText(gateway: hop.gateway, interfaceIndex: hop.interfaceIndex,
                             newDestination: KernelRouteRequest.labels(inStack: hop.newDestination),
                             encapsulation: KernelRouteRequest.labels(inStack: hop.encapsulation))
        })
    }

    static func nextHopText(gateway: IPv4Address?, interfaceIndex: Int32, newDestination: [UInt32], encapsulation: [UInt32]) -> String {
        var text = gateway.map { "via \($0) " } ?? ""
        text += "dev \(interfaceIndex)"
        if !newDestination.isEmpty { text += " newdst \(newDestination.map(String.init).joined(separator: "/"))" }
        if !encapsulation.isEmpty { text += " encap mpls \(encapsulation.map(String.init).joined(separator: "/"))" }
        return text
    }

    public var text: String { "\(destination): \(nextHops.joined(separator: ", "))" }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.text < rhs.text }
}
