// A blocking client for the control socket: connect, send one request line, read one
// response line. lsrctl and the tests use it; the daemon side is in LSRDaemon.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct ControlClientError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public struct ControlClient {
    public var socketPath: String
    /// Seconds to wait for the daemon's answer.
    public var timeout: Int

    public init(socketPath: String, timeout: Int = 10) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    /// Sends `request` and returns the raw JSON of the response line.
    public func exchange(_ request: ControlRequest) throws -> Data {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ControlClientError("socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ControlClientError("control socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: pathBytes)
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            throw ControlClientError("lsrd is not running (cannot connect to \(socketPath): \(reason))")
        }
        var time = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))

        var line = try JSONEncoder().encode(request)
        line.append(UInt8(ascii: "\n"))
        try line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw ControlClientError("send: \(String(cString: strerror(errno)))") }
                offset += written
            }
        }

        var response = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !response.contains(UInt8(ascii: "\n")) {
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw ControlClientError("lsrd did not answer within \(timeout) s")
            }
            guard count > 0 else { break }
            response.append(contentsOf: chunk[..<count])
        }
        if let newline = response.firstIndex(of: UInt8(ascii: "\n")) { response = response[..<newline] }
        guard !response.isEmpty else { throw ControlClientError("lsrd closed the control connection without an answer") }
        return response
    }

    /// Sends `request` and decodes the result, turning a daemon error into a thrown error.
    public func call<Result: Codable & Sendable>(_ request: ControlRequest, as type: Result.Type) throws -> (Result, Data) {
        let raw = try exchange(request)
        let response = try JSONDecoder().decode(ControlResponse<Result>.self, from: raw)
        if let error = response.error { throw ControlClientError(error) }
        guard let result = response.result else { throw ControlClientError("lsrd sent an empty answer") }
        guard response.version == ControlProtocol.version else {
            throw ControlClientError("lsrd speaks control protocol version \(response.version), lsrctl \(ControlProtocol.version)")
        }
        return (result, raw)
    }
}
