// The daemon's side of the control socket: a Unix stream socket, mode 0600, one JSON request
// line in, one JSON response line out.

import Foundation
import Glibc
import LSRControl
import NIOCore
import NIOPosix

public struct ControlServerError: Error, CustomStringConvertible {
    public var description: String
}

public final class ControlServer: Sendable {
    public typealias Responder = @Sendable (ControlRequest) -> EventLoopFuture<ByteBuffer>

    private let channel: any Channel
    public let path: String

    private init(channel: any Channel, path: String) {
        self.channel = channel
        self.path = path
    }

    /// Binds `path`, refusing when another daemon answers there; a stale socket file is replaced.
    public static func start(path: String, group: any EventLoopGroup, responder: @escaping Responder) throws -> ControlServer {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        if FileManager.default.fileExists(atPath: path) {
            if (try? ControlClient(socketPath: path, timeout: 2).exchange(ControlRequest(command: .showInterfaces))) != nil {
                throw ControlServerError(description: "another lsrd is already running on control socket \(path)")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ControlConnectionHandler(responder: responder))
                }
            }
        // Created 0600 from the start: the socket lets anyone who can open it reset sessions.
        let previousMask = umask(0o077)
        defer { umask(previousMask) }
        let channel: any Channel
        do {
            channel = try bootstrap.bind(unixDomainSocketPath: path).wait()
        } catch {
            throw ControlServerError(description: "cannot listen on control socket \(path): \(error)")
        }
        chmod(path, 0o600)
        return ControlServer(channel: channel, path: path)
    }

    public func stop() {
        try? channel.close().wait()
        unlink(path)
    }
}

/// Reads one line, answers it, closes.
final class ControlConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let responder: ControlServer.Responder
    private var pending = ByteBuffer()
    private var answered = false
    /// A request line longer than this is refused: the protocol's requests are tiny.
    private static let maximumRequestLength = 64 * 1024

    init(responder: @escaping ControlServer.Responder) { self.responder = responder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending.writeBuffer(&buffer)
        guard !answered else { return }
        guard let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if pending.readableBytes > Self.maximumRequestLength { reply(context, error: "request too long") }
            return
        }
        let line = pending.readableBytesView[pending.readerIndex..<newline]
        answered = true
        let request: ControlRequest
        do {
            request = try JSONDecoder().decode(ControlRequest.self, from: Data(line))
        } catch {
            reply(context, error: "malformed request: \(error)")
            return
        }
        guard request.version == ControlProtocol.version else {
            reply(context, error: "unsupported control protocol version \(request.version) (lsrd speaks \(ControlProtocol.version))")
            return
        }
        let channel = context.channel
        responder(request).whenComplete { result in
            var output: ByteBuffer
            switch result {
            case .success(let buffer): output = buffer
            case .failure(let error):
                output = channel.allocator.buffer(bytes: (try? JSONEncoder().encode(ControlResponse<Acknowledgement>(error: "\(error)"))) ?? Data())
            }
            output.writeInteger(UInt8(ascii: "\n"))
            channel.writeAndFlush(output).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func reply(_ context: ChannelHandlerContext, error: String) {
        answered = true
        var output = context.channel.allocator.buffer(bytes: (try? JSONEncoder().encode(ControlResponse<Acknowledgement>(error: error))) ?? Data())
        output.writeInteger(UInt8(ascii: "\n"))
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(output)).whenComplete { _ in channel.close(promise: nil) }
    }
}
