// LDP discovery over UDP 646 (RFC 5036 §2.4): one socket for link and targeted Hellos.
// A thread of its own reads it with recvmsg, because the engine needs each Hello's arrival
// interface and IP TTL (GTSM, RFC 6720), which SwiftNIO's datagram channel does not report.

import CLinuxShims
import Glibc
import LDPCodec

public struct ReceivedDatagram: Sendable {
    public var bytes: [UInt8]
    public var source: IPv4Address
    public var sourcePort: UInt16
    public var destination: IPv4Address
    public var interfaceIndex: Int32
    public var ttl: UInt8
}

public struct SocketError: Error, CustomStringConvertible {
    public var description: String
    public init(_ operation: String, errno code: Int32 = errno) {
        description = "\(operation): \(String(cString: strerror(code)))"
    }
}

public final class HelloSocket: @unchecked Sendable {
    public static let ldpPort: UInt16 = 646
    public static let allRouters = IPv4Address(224, 0, 0, 2)

    private let descriptor: Int32
    private var thread: pthread_t?
    private var handler: (@Sendable (ReceivedDatagram) -> Void)?
    private let stopping = UnsafeMutablePointer<Int32>.allocate(capacity: 1)

    public init(port: UInt16 = HelloSocket.ldpPort) throws {
        stopping.initialize(to: 0)
        descriptor = lsr_udp_socket(port)
        guard descriptor >= 0 else {
            throw SocketError("cannot bind UDP 0.0.0.0:\(port) for LDP discovery")
        }
        // Wake up now and then to notice `stop()`.
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        stop()
        close(descriptor)
        stopping.deallocate()
    }

    public func join(interfaceIndex: Int32) throws {
        guard lsr_multicast_membership(descriptor, Self.allRouters.rawValue, interfaceIndex, 1) == 0 || errno == EADDRINUSE else {
            throw SocketError("joining 224.0.0.2 on interface \(interfaceIndex)")
        }
    }

    public func leave(interfaceIndex: Int32) {
        _ = lsr_multicast_membership(descriptor, Self.allRouters.rawValue, interfaceIndex, 0)
    }

    /// Sends one Hello; errors (an interface gone down) are returned, not thrown: discovery retries.
    @discardableResult
    public func send(_ bytes: [UInt8], to destination: IPv4Address, from source: IPv4Address?, interfaceIndex: Int32,
                     ttl: UInt8) -> SocketError? {
        let sent = bytes.withUnsafeBufferPointer { buffer in
            lsr_send_datagram(descriptor, buffer.baseAddress, buffer.count, destination.rawValue, Self.ldpPort,
                              source?.rawValue ?? 0, interfaceIndex, Int32(ttl))
        }
        return sent < 0 ? SocketError("sending a Hello to \(destination)") : nil
    }

    public func start(handler: @escaping @Sendable (ReceivedDatagram) -> Void) throws {
        self.handler = handler
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        guard pthread_create(&thread, nil, { argument in
            Unmanaged<HelloSocket>.fromOpaque(argument!).takeRetainedValue().receiveLoop()
            return nil
        }, box.toOpaque()) == 0 else {
            box.release()
            throw SocketError("starting the discovery thread")
        }
        self.thread = thread
    }

    public func stop() {
        stopping.pointee = 1
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
    }

    private func receiveLoop() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while stopping.pointee == 0 {
            var source: UInt32 = 0, destination: UInt32 = 0
            var sourcePort: UInt16 = 0
            var interfaceIndex: Int32 = 0, ttl: Int32 = 0
            let length = buffer.withUnsafeMutableBufferPointer { pointer in
                lsr_recv_datagram(descriptor, pointer.baseAddress, pointer.count, &source, &sourcePort, &destination,
                                  &interfaceIndex, &ttl)
            }
            guard length >= 0 else { continue }
            handler?(ReceivedDatagram(bytes: Array(buffer[..<length]), source: IPv4Address(rawValue: source),
                                      sourcePort: sourcePort, destination: IPv4Address(rawValue: destination),
                                      interfaceIndex: interfaceIndex, ttl: UInt8(clamping: max(ttl, 0))))
        }
    }
}
