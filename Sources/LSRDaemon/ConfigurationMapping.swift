// From the operator's file to the engine's configuration.

import LDPCodec
import LDPEngine
import MPLSForwarding

extension DaemonConfiguration {
    public var engineConfiguration: EngineConfiguration {
        var passwords: [IPv4Address: String] = [:]
        for neighbor in neighbors { if let password = neighbor.password { passwords[neighbor.lsrID] = password } }
        let filter: LabelDistributionConfiguration.FECFilter = switch labelsFor {
        case .all: .all
        case .hostRoutes: .hostRoutesOnly
        case .prefixes(let prefixes): .prefixes(prefixes)
        }
        let labels = LabelDistributionConfiguration(
            localLSRID: routerID, labelRange: labelRange,
            control: labelControl == .ordered ? .ordered : .independent,
            explicitNull: explicitNull, fecFilter: filter)
        return EngineConfiguration(
            lsrID: routerID, transportAddress: effectiveTransportAddress,
            interfaces: interfaces.map { InterfaceConfiguration(name: $0.name, helloInterval: $0.helloInterval, holdTime: $0.holdTime) },
            targetedNeighbors: targetedNeighbors.map {
                TargetedNeighborConfiguration(address: $0.address, helloInterval: $0.helloInterval, holdTime: $0.holdTime,
                                              md5Password: password(for: $0.address))
            },
            targetedHelloPolicy: acceptTargetedHellos ? .any : .configuredNeighborsOnly,
            keepAliveTime: keepAlive, gtsm: gtsm, md5Passwords: passwords, sessionBackoff: sessionBackoff,
            labelDistribution: labels)
    }
}

extension DaemonConfiguration {
    /// Static routes whose `via` loopback gets no local label (`labels-for` leaves it out):
    /// when that loopback's LER is a direct neighbour, only our pop entry for it says so, and
    /// without a label there is none, so the route gets no forwarding. Through a transit LSR
    /// the FTN carries the route and the local label does not matter.
    public var staticRoutesWithoutLocalLabel: [StaticRoute] {
        let filter = engineConfiguration.labelDistribution.fecFilter
        return staticRoutes.filter { !filter.admits(IPPrefix($0.via, length: 32)) }
    }
}
