// Answers lsrctl: builds the control protocol's views from the engine, the LIB, the kernel
// tracker and the installers. Runs on the daemon's loop.

import Foundation
import LDPCodec
import LDPEngine
import LSRControl
import MPLSForwarding
import MPLSTables
import NIOCore

extension Daemon {
    func respond(to request: ControlRequest) throws -> ByteBuffer {
        loop.preconditionInEventLoop()
        let data: Data
        do {
            data = try answer(request)
        } catch let refusal as ControlRefusal {
            data = try JSONEncoder().encode(ControlResponse<Acknowledgement>(error: refusal.message))
        }
        return ByteBuffer(bytes: data)
    }

    private func answer(_ request: ControlRequest) throws -> Data {
        switch request.command {
        case .showLFIB:
            let selector = try request.parsedArgument(LFIBSelector.init, "is not a label, a prefix or an address")
            return try encode(lfibView(selectedBy: selector))
        case .showNeighbors: return try encode(neighborsView())
        case .showDiscovery: return try encode(discoveryView())
        case .showBackoff: return try encode(backoffView())
        case .showInterfaces: return try encode(interfacesView())
        case .showBindings:
            let prefix = try request.parsedArgument({ IPPrefix($0) }, "is not a prefix")
            return try encode(bindingsView(prefix: prefix))
        case .showRoutes: return try encode(routesView())
        case .showDataplane: return try encode(dataplaneView())
        case .clearNeighbor:
            guard let argument = request.argument, let peer = LDPIdentifier(argument) else {
                throw ControlRefusal(message: "expected a peer LSR ID like 2.2.2.2")
            }
            guard engine.neighbors(at: now).contains(where: { $0.peer?.lsrID == peer.lsrID }) else {
                throw ControlRefusal(message: "no session with \(peer.lsrID)")
            }
            process(.clearNeighbor(peer))
            return try encode(Acknowledgement(message: "session with \(peer.lsrID) cleared"))
        }
    }

    private func encode<View: Codable & Sendable>(_ view: View) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(ControlResponse(result: view))
    }

    /// The LFIB (static routes' push entries included), each entry with every backend's status;
    /// with a selector, only the entries it picks.
    func lfibView(selectedBy selector: LFIBSelector? = nil) -> LFIBView {
        LFIBView(entries: (selector.map { lfib.entries(selectedBy: $0) } ?? lfib.sortedEntries).map { entry in
            var installed = LFIBView.Installed(kernel: false, userspace: false)
            var errors: [String] = []
            var packets: UInt64 = 0, bytes: UInt64 = 0
            for installer in installers {
                switch installer.status(of: entry.key) {
                case .installed:
                    if installer.name == "kernel" { installed.kernel = true }
                    if installer.name == "userspace" { installed.userspace = true }
                case .failed(let reason): errors.append("\(installer.name): \(reason)")
                case .absent: break
                }
                if let counters = installer.counters(of: entry.key) {
                    packets += counters.packets
                    bytes += counters.bytes
                }
            }
            return LFIBView.Entry(
                inLabel: entry.inLabel, fec: entry.fec.description, action: entry.action.rawValue,
                nexthops: entry.nextHops.map {
                    LFIBView.NextHop(address: $0.address?.description, interface: $0.interface, outLabels: $0.outLabels)
                },
                packets: packets, bytes: bytes, installed: installed,
                error: errors.isEmpty ? nil : errors.joined(separator: "; "))
        })
    }

    func neighborsView() -> NeighborsView {
        let peers = Dictionary(engine.labelInformationBase.peerBindings.map { ($0.peer, $0) }, uniquingKeysWith: { a, _ in a })
        return NeighborsView(neighbors: engine.neighbors(at: now).map { neighbor in
            var capabilities: [String] = []
            if let negotiated = neighbor.capabilities {
                if negotiated.dynamicAnnouncement { capabilities.append("dynamic-announcement") }
                if negotiated.typedWildcardFEC { capabilities.append("typed-wildcard-fec") }
                if negotiated.unrecognizedNotification { capabilities.append("unrecognized-notification") }
            }
            var addresses = neighbor.advertisedAddresses
            if addresses.isEmpty, let peer = neighbor.peer { addresses = peers[peer]?.addresses ?? [] }
            let endpoints = connectionEndpoints[neighbor.connection]
            return NeighborView(
                peer: neighbor.peer?.description ?? "?", state: neighbor.state.rawValue, role: neighbor.role.rawValue,
                localTransport: neighbor.localAddress.description, remoteTransport: neighbor.remoteAddress.description,
                localPort: endpoints?.local?.port.map(UInt16.init) ?? neighbor.localPort,
                remotePort: endpoints?.remote?.port.map(UInt16.init) ?? neighbor.remotePort,
                uptimeSeconds: neighbor.uptime.map(\.inSeconds),
                keepAliveSeconds: neighbor.keepAliveInterval.map { UInt16(clamping: $0.wholeSeconds) },
                holdSeconds: neighbor.keepAliveTime,
                messagesSent: neighbor.messagesSent.total, messagesReceived: neighbor.messagesReceived.total,
                md5: neighbor.md5 || md5Connections.contains(neighbor.connection),
                gtsm: neighbor.gtsm || gtsmConnections.contains(neighbor.connection),
                capabilities: capabilities, addresses: addresses.map(\.description))
        })
    }

    func discoveryView() -> DiscoveryView {
        DiscoveryView(adjacencies: engine.adjacencies(at: now).map { adjacency in
            let source: String = switch adjacency.kind {
            case .link(let interface): interface
            case .targeted: "targeted"
            }
            return DiscoveryView.Adjacency(peer: adjacency.peer.description, source: source,
                                           address: adjacency.source.description, holdSeconds: adjacency.holdTime,
                                           expiresInSeconds: adjacency.timeLeft.map(\.inSeconds))
        })
    }

    func backoffView() -> BackoffView {
        BackoffView(peers: engine.backoffs(at: now).map { backoff in
            BackoffView.Peer(peer: backoff.peer.description, failures: backoff.failures, lastFailure: backoff.lastFailure,
                             refusedByPeer: backoff.refusedByPeer, delaySeconds: backoff.delay.inSeconds,
                             nextAttemptInSeconds: backoff.nextAttemptIn.map(\.inSeconds))
        })
    }

    func interfacesView() -> InterfacesView {
        InterfacesView(interfaces: engine.interfaces.map {
            InterfacesView.Interface(name: $0.name, isUp: $0.isUp, addresses: $0.addresses.map(\.description),
                                     helloIntervalSeconds: $0.helloInterval, holdSeconds: $0.holdTime,
                                     adjacencies: $0.adjacencyCount)
        })
    }

    func bindingsView(prefix: IPPrefix?) -> BindingsView {
        let bindings: [FECBinding]
        if let prefix {
            bindings = engine.labelInformationBase.binding(for: prefix).map { [$0] } ?? []
        } else {
            bindings = engine.labelInformationBase.bindings
        }
        return BindingsView(bindings: bindings.map { binding in
            BindingsView.Binding(fec: binding.prefix.description, localLabel: binding.localLabel,
                                 remote: binding.remoteBindings.map {
                                     BindingsView.Remote(peer: $0.peer.lsrID.description, label: $0.label, inUse: $0.inUse)
                                 })
        })
    }

    func routesView() -> RoutesView {
        RoutesView(routes: tracker.routes.values.sorted { $0.prefix < $1.prefix }.map { route in
            RoutesView.Route(prefix: route.prefix.description,
                             nextHops: route.nextHops.map { RoutesView.Route.NextHop(address: $0.address?.description, interface: $0.interface) },
                             isLocal: route.isLocal)
        })
    }

    func dataplaneView() -> DataplaneView {
        DataplaneView(mode: configuration.dataplane.rawValue, backends: installers.map { $0.view() })
    }
}

/// Why lsrctl's request cannot be answered; sent back as the response's error.
struct ControlRefusal: Error {
    let message: String
}

extension ControlRequest {
    /// The optional argument, parsed; a refusal ("'x' <complaint>") when it is there and does not parse.
    func parsedArgument<Value>(_ parse: (String) -> Value?, _ complaint: String) throws(ControlRefusal) -> Value? {
        guard let argument else { return nil }
        guard let value = parse(argument) else { throw ControlRefusal(message: "'\(argument)' \(complaint)") }
        return value
    }
}

