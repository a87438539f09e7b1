// lsrd's runtime: the sans-I/O engine on one SwiftNIO event loop, with the world around it.
// Every input reaches the engine on that loop, in order; every output is carried out here.

import CLinuxShims
import Foundation
import Glibc
import LDPCodec
import LDPEngine
import Logging
import LSRControl
import MPLSTables
import NIOCore
import NIOPosix

public final class Daemon: @unchecked Sendable {
    /// The routing protocol number lsrd marks its own kernel routes with (see README). Outside
    /// FRR's numbers (186-198, 193 being its "ldp"): a zebra starting beside lsrd takes routes
    /// of those for its own from before its restart, and installs copies that outlive lsrd's.
    public static let routeProtocol: UInt8 = 205

    public private(set) var configuration: DaemonConfiguration
    let configurationPath: String?
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let loop: any EventLoop
    let origin = NIODeadline.now()

    // Everything below is touched on `loop` only.
    var engine: LDPEngine
    var tracker = RoutingTableTracker(ownProtocol: Daemon.routeProtocol)
    var neighbors: [Int32: [IPAddress: KernelNeighbor]] = [:]
    var timers: [TimerID: Scheduled<Void>] = [:]
    var connections: [ConnectionID: any Channel] = [:]
    var connectionEndpoints: [ConnectionID: (local: SocketAddress?, remote: SocketAddress?)] = [:]
    var gtsmConnections: Set<ConnectionID> = []
    var md5Connections: Set<ConnectionID> = []
    var listenerMD5Keys: [IPv4Address: String] = [:]
    var nextIncomingConnection: UInt64 = 1
    var joinedInterfaces: Set<Int32> = []
    /// LDP's LFIB with the configured static LSPs laid over it: what the installers hold.
    var layers = LayeredLFIB()
    public var lfib: LFIB { layers.effective }
    let installers: [any LFIBInstaller]
    var shuttingDown = false

    var helloSocket: HelloSocket?
    var netlink: NetlinkMonitor?
    var listener: (any Channel)?
    var controlServer: ControlServer?

    public init(configuration: DaemonConfiguration, configurationPath: String?, logger: Logger,
                installers: [any LFIBInstaller]) {
        self.configuration = configuration
        self.configurationPath = configurationPath
        self.logger = logger
        self.installers = installers
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        engine = LDPEngine(configuration: configuration.engineConfiguration)
    }

    public var controlSocketPath: String { configuration.controlSocket ?? ControlProtocol.defaultSocketPath() }

    var now: EngineTime { EngineTime(nanoseconds: (NIODeadline.now() - origin).nanoseconds) }

    // MARK: Start and stop

    /// Binds every socket, checks the interfaces, learns the kernel's state, then starts LDP.
    /// Throws with a message for the operator when anything needed is unavailable.
    public func start() throws {
        controlServer = try ControlServer.start(path: controlSocketPath, group: group) { [self] request in
            loop.submit { try self.respond(to: request) }
        }
        do {
            try startSockets()
            try startKernelMonitor()
        } catch {
            controlServer?.stop()
            throw error
        }
        try loop.submit {
            try self.checkInterfacesExist()
            self.install(self.layers.setStatic(self.configuration.staticLSPs))
            self.install(self.layers.setStaticRoutes(self.configuration.staticRoutes))
            self.warnAboutStaticRoutes()
            self.process(.start)
        }.wait()
        logger.info("lsrd started", metadata: [
            "router-id": "\(configuration.routerID)", "transport": "\(configuration.effectiveTransportAddress)",
            "control-socket": "\(controlSocketPath)", "dataplane": "\(installers.map(\.name).joined(separator: ","))",
        ])
    }

    func startSockets() throws {
        let hello = try HelloSocket()
        helloSocket = hello
        try hello.start { [self] datagram in
            loop.execute { self.helloArrived(datagram) }
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let identifier = ConnectionID.incoming(self.nextIncomingConnection)
                    self.nextIncomingConnection += 1
                    try channel.pipeline.syncOperations.addHandler(SessionChannelHandler(daemon: self, connection: identifier))
                }
            }
        let address = try SocketAddress(ipAddress: "0.0.0.0", port: Int(HelloSocket.ldpPort))
        do {
            listener = try bootstrap.bind(to: address).wait()
        } catch {
            throw SocketError(description: "cannot listen on TCP 0.0.0.0:646 for LDP sessions: \(error)")
        }
        if configuration.gtsm, let provider = listener as? SocketOptionProvider {
            // RFC 6720 §3: a GTSM peer's active side drops our SYN-ACK unless it leaves with TTL 255.
            try provider.unsafeSetSocketOption(level: .init(IPPROTO_IP), name: .init(IP_TTL), value: Int32(255)).wait()
        }
    }

    /// RFC 5036 §2.9: the passive side needs each peer's key on the listening socket before the
    /// peer's SYN arrives; the engine says which (`setMD5Key`), as adjacencies come and go.
    func setListenerMD5Key(remote: IPAddress, password: String?) {
        guard case .v4(let address) = remote, let provider = listener as? SocketOptionProvider else { return }
        let bytes = Array((password ?? "").utf8)
        let value = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { lsr_make_md5sig(address.rawValue, $0.baseAddress, Int32($0.count)) }
        }
        provider.unsafeSetSocketOption(level: .init(IPPROTO_TCP), name: .init(lsr_tcp_md5sig_option()), value: value)
            .whenFailure { [logger] error in
                // Removing a key that was never set fails harmlessly (ENOENT).
                if password != nil { logger.error("cannot set the TCP MD5 key for \(address): \(error)") }
            }
        listenerMD5Keys[address] = password
    }

    func startKernelMonitor() throws {
        let monitor = NetlinkMonitor()
        netlink = monitor
        do {
            try monitor.start { [self] event in
                loop.execute { self.kernelChanged(event) }
            }
        } catch {
            throw SocketError(description: "cannot read the kernel's routing table over netlink: \(error)")
        }
    }

    func checkInterfacesExist() throws {
        for interface in configuration.interfaces where tracker.interfaceIndex(interface.name) == nil {
            throw SocketError(description: "interface '\(interface.name)' in the configuration does not exist")
        }
    }

    /// SIGTERM: a Shutdown notification on every session, then close everything.
    public func shutdown() {
        let done = loop.submit { () -> EventLoopFuture<Void> in
            self.shuttingDown = true
            self.process(.shutdown)
            let closes = self.connections.values.map { $0.close() }
            return EventLoopFuture.andAllComplete(closes, on: self.loop)
        }.flatMap { $0 }
        _ = try? done.wait()
        for timer in timers.values { timer.cancel() }
        helloSocket?.stop()
        netlink?.stop()
        try? listener?.close().wait()
        controlServer?.stop()
        for installer in installers { installer.shutdown() }
        try? group.syncShutdownGracefully()
        logger.info("lsrd stopped")
    }

    /// SIGHUP: read the file again; the engine resets only what the change requires.
    public func reload() {
        guard let path = configurationPath else { return }
        loop.execute {
            do {
                let fresh = try DaemonConfiguration.load(path: path)
                guard fresh.controlSocket == self.configuration.controlSocket else {
                    self.logger.error("reload refused: control-socket cannot change while running", metadata: ["file": "\(path)"])
                    return
                }
                self.configuration = fresh
                self.install(self.layers.setStatic(fresh.staticLSPs))
                self.install(self.layers.setStaticRoutes(fresh.staticRoutes))
                self.warnAboutStaticRoutes()
                self.process(.configurationChanged(fresh.engineConfiguration))
                self.logger.info("configuration reloaded", metadata: ["file": "\(path)"])
            } catch {
                self.logger.error("reload failed, keeping the running configuration: \(error)")
            }
        }
    }

    /// A static route over an adjacent LER follows our pop entry for its loopback (StaticRoute).
    func warnAboutStaticRoutes() {
        for route in configuration.staticRoutesWithoutLocalLabel {
            let why = "labels-for gives \(route.via) no local label, so while that LER is a direct LDP neighbour "
                + "no pop entry carries the route and it is not installed"
            logger.warning("static route \(route): \(why)")
        }
    }

    func install(_ changes: [LFIBChange]) {
        guard !changes.isEmpty else { return }
        for installer in installers { installer.apply(changes) }
    }

    // MARK: Inputs

    func helloArrived(_ datagram: ReceivedDatagram) {
        let interface = tracker.interfaceName(datagram.interfaceIndex)
        process(.helloReceived(interface: interface, source: .v4(datagram.source), destination: .v4(datagram.destination),
                               ttl: datagram.ttl, bytes: datagram.bytes))
    }

    func kernelChanged(_ event: KernelEvent) {
        let changes: [RoutingChange]
        switch event {
        case .linkChanged(let link): changes = tracker.linkChanged(link)
        case .linkRemoved(let index): changes = tracker.linkRemoved(index: index)
        case .addressAdded(let address): changes = tracker.addressAdded(address)
        case .addressRemoved(let address): changes = tracker.addressRemoved(address)
        case .routeAdded(let route): changes = tracker.routeAdded(route)
        case .routeRemoved(let route): changes = tracker.routeRemoved(route)
        case .neighborChanged(let neighbor):
            neighbors[neighbor.interfaceIndex, default: [:]][neighbor.address] = neighbor
            changes = []
        case .neighborRemoved(let neighbor):
            neighbors[neighbor.interfaceIndex]?[neighbor.address] = nil
            changes = []
        }
        // Installers follow links, addresses and neighbours; a route event changes none of them,
        // and a dump of many routes at start-up must not rebuild the dataplane once per route.
        switch event {
        case .routeAdded, .routeRemoved:
            break
        default:
            let allNeighbors = neighbors.values.flatMap(\.values)
            for installer in installers {
                installer.kernelStateChanged(links: Array(tracker.links.values), addresses: Array(tracker.addresses),
                                             neighbors: allNeighbors)
            }
        }
        for change in changes {
            switch change {
            case .routeChanged(let route): process(.routeChanged(route))
            case .routeRemoved(let prefix): process(.routeRemoved(prefix))
            case .interfaceChanged(let name, let isUp, let addresses):
                updateMulticastMembership(name: name, isUp: isUp)
                process(.interfaceChanged(name: name, isUp: isUp, addresses: addresses))
            }
        }
    }

    func updateMulticastMembership(name: String, isUp: Bool) {
        guard let index = tracker.interfaceIndex(name), configuration.interfaces.contains(where: { $0.name == name }) else { return }
        if isUp, !joinedInterfaces.contains(index) {
            do {
                try helloSocket?.join(interfaceIndex: index)
                joinedInterfaces.insert(index)
            } catch {
                logger.warning("\(error)", metadata: ["interface": "\(name)"])
            }
        } else if !isUp, joinedInterfaces.remove(index) != nil {
            helloSocket?.leave(interfaceIndex: index)
        }
    }

    /// Feeds one input to the engine and carries out what it asks. On `loop` only.
    func process(_ input: EngineInput) {
        loop.preconditionInEventLoop()
        let outputs = engine.handle(input, at: now)
        for output in outputs { perform(output) }
    }

    // MARK: Outputs

    func perform(_ output: EngineOutput) {
        switch output {
        case .sendHello(let interface, let source, let destination, let ttl, let bytes):
            guard case .v4(let target) = destination else { return }
            var sourceV4: IPv4Address?
            if case .v4(let address) = source { sourceV4 = address }
            let index = interface.flatMap { tracker.interfaceIndex($0) } ?? 0
            if let error = helloSocket?.send(bytes, to: target, from: sourceV4, interfaceIndex: index, ttl: ttl) {
                logger.debug("\(error)", metadata: ["interface": "\(interface ?? "-")"])
            }
        case .connect(let connection, let local, let remote, let password, let gtsm):
            connect(connection, local: local, remote: remote, password: password, gtsm: gtsm)
        case .send(let connection, let bytes):
            guard let channel = connections[connection] else { return }
            channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
        case .close(let connection):
            if let channel = connections.removeValue(forKey: connection) {
                // Let queued writes (a Notification) leave before the FIN.
                channel.close(promise: nil)
            }
            connectionEndpoints[connection] = nil
            gtsmConnections.remove(connection)
            md5Connections.remove(connection)
        case .setMD5Key(let remote, let password):
            setListenerMD5Key(remote: remote, password: password)
        case .setGTSM(let connection):
            // An accepted connection: send with TTL 255. IP_MINTTL is not set on this side:
            // FRR 8.4's active side sends its segments with TTL 64 although it sets G, and would
            // never get a session (see README, "Interoperability").
            guard let channel = connections[connection] else { return }
            gtsmConnections.insert(connection)
            sendWithGTSM(channel)
        case .armTimer(let timer, let delay):
            timers[timer]?.cancel()
            timers[timer] = loop.scheduleTask(in: .nanoseconds(delay.nanoseconds)) { [self] in
                timers[timer] = nil
                process(.timerFired(timer))
            }
        case .cancelTimer(let timer):
            timers.removeValue(forKey: timer)?.cancel()
        case .lfib(let changes):
            install(layers.applyLDP(changes))
        case .event(let event):
            log(event)
        }
    }

    /// GTSM on a session we open (RFC 6720): our segments leave with TTL 255 from the SYN on.
    func sendWithGTSM(_ channel: any Channel) {
        let provider = channel as? SocketOptionProvider
        _ = provider?.unsafeSetSocketOption(level: .init(IPPROTO_IP), name: .init(IP_TTL), value: Int32(255))
    }

    /// GTSM's check on what arrives, once the connection is up. Not before: a peer whose LDP is
    /// not running answers the SYN with its kernel's RST, sent with the default TTL, which
    /// IP_MINTTL 255 would drop, so that a refused connection would look like a silent one
    /// until the connect timeout.
    func receiveWithGTSM(_ channel: any Channel) {
        let provider = channel as? SocketOptionProvider
        _ = provider?.unsafeSetSocketOption(level: .init(IPPROTO_IP), name: .init(lsr_ip_minttl_option()), value: Int32(255))
    }

    func connect(_ connection: ConnectionID, local: IPAddress, remote: IPAddress, password: String?, gtsm: Bool) {
        guard case .v4(let remoteV4) = remote, case .v4(let localV4) = local,
              let remoteAddress = try? SocketAddress(ipAddress: remoteV4.description, port: Int(HelloSocket.ldpPort)),
              let localAddress = try? SocketAddress(ipAddress: localV4.description, port: 0)
        else {
            process(.connectionFailed(connection, reason: "not an IPv4 transport address"))
            return
        }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .bind(to: localAddress)
            .channelInitializer { [self] channel in
                // TCP MD5 must be set before the SYN leaves (RFC 5036 §2.9).
                var ready = channel.eventLoop.makeSucceededVoidFuture()
                if let password, let provider = channel as? SocketOptionProvider {
                    let value = Array(password.utf8).withUnsafeBufferPointer { buffer in
                        buffer.withMemoryRebound(to: CChar.self) {
                            lsr_make_md5sig(remoteV4.rawValue, $0.baseAddress, Int32($0.count))
                        }
                    }
                    ready = provider.unsafeSetSocketOption(level: .init(IPPROTO_TCP), name: .init(lsr_tcp_md5sig_option()),
                                                           value: value)
                }
                return ready.flatMapThrowing {
                    if gtsm { self.sendWithGTSM(channel) }
                    try channel.pipeline.syncOperations.addHandler(SessionChannelHandler(daemon: self, connection: connection))
                }
            }
        if password != nil { md5Connections.insert(connection) }
        if gtsm { gtsmConnections.insert(connection) }
        bootstrap.connect(to: remoteAddress).whenComplete { [self] result in
            switch result {
            case .success(let channel):
                if gtsm { receiveWithGTSM(channel) }
                connections[connection] = channel
                connectionEndpoints[connection] = (channel.localAddress, channel.remoteAddress)
                process(.connectionEstablished(connection))
            case .failure(let error):
                md5Connections.remove(connection)
                gtsmConnections.remove(connection)
                process(.connectionFailed(connection, reason: "\(error)"))
            }
        }
    }

    // Called by SessionChannelHandler, on the loop.

    func accepted(_ connection: ConnectionID, channel: any Channel) {
        guard !shuttingDown,
              let local = channel.localAddress?.ipAddress.flatMap(IPAddress.init),
              let remote = channel.remoteAddress?.ipAddress.flatMap(IPAddress.init)
        else {
            channel.close(promise: nil)
            return
        }
        connections[connection] = channel
        connectionEndpoints[connection] = (channel.localAddress, channel.remoteAddress)
        if case .v4(let address) = remote, listenerMD5Keys[address] != nil { md5Connections.insert(connection) }
        process(.connectionAccepted(connection, local: local, remote: remote))
    }

    func received(_ connection: ConnectionID, bytes: [UInt8]) {
        guard connections[connection] != nil else { return }
        process(.dataReceived(connection, bytes))
    }

    func closed(_ connection: ConnectionID, reason: String) {
        guard connections.removeValue(forKey: connection) != nil else { return }
        connectionEndpoints[connection] = nil
        gtsmConnections.remove(connection)
        md5Connections.remove(connection)
        process(.connectionClosed(connection, reason: reason))
    }

    // MARK: Logs

    func log(_ event: EngineEvent) {
        switch event {
        case .sessionUp, .sessionDown, .adjacencyUp, .adjacencyDown, .notificationSent, .notificationReceived:
            logger.notice("\(event)", metadata: ["event": "\(event.kind)"])
        case .decodeError, .helloRejected, .connectionRejected:
            logger.warning("\(event)", metadata: ["event": "\(event.kind)"])
        case .label(let labelEvent):
            switch labelEvent {
            case .labelsExhausted, .protocolError: logger.error("\(event)", metadata: ["event": "label-error"])
            default: logger.debug("\(event)", metadata: ["event": "label"])
            }
        default:
            logger.info("\(event)", metadata: ["event": "\(event.kind)"])
        }
    }
}

extension EngineEvent {
    /// A short stable name for log filtering: `grep event=session-down`.
    var kind: String {
        switch self {
        case .adjacencyUp: "adjacency-up"
        case .adjacencyDown: "adjacency-down"
        case .helloRejected: "hello-rejected"
        case .configurationSequenceChanged: "configuration-sequence"
        case .connectionAttempt: "connection-attempt"
        case .connectionRejected: "connection-rejected"
        case .sessionStateChanged: "session-state"
        case .sessionUp: "session-up"
        case .sessionDown: "session-down"
        case .backoff: "backoff"
        case .notificationSent: "notification-sent"
        case .notificationReceived: "notification-received"
        case .decodeError: "decode-error"
        case .capabilityReceived: "capability"
        case .label: "label"
        }
    }
}

extension SocketError {
    init(description: String) {
        self.description = description
    }
}

/// Bridges one TCP connection to the daemon: bytes in, close events.
final class SessionChannelHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    let daemon: Daemon
    let connection: ConnectionID
    var closeReason = "closed by peer"

    init(daemon: Daemon, connection: ConnectionID) {
        self.daemon = daemon
        self.connection = connection
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .incoming = connection { daemon.accepted(connection, channel: context.channel) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        daemon.received(connection, bytes: Array(buffer.readableBytesView))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closeReason = "\(error)"
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        daemon.closed(connection, reason: closeReason)
        context.fireChannelInactive()
    }
}
