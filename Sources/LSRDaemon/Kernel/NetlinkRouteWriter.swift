// Carries out `KernelRouteRequest`s with libnl-route-3 and reads lsrd's own routes back.
// The only code that writes routes to the kernel.

import CLinuxShims
import CNetlink
import Foundation
import Glibc
import LDPCodec

public final class NetlinkRouteWriter: @unchecked Sendable {
    private let socket: OpaquePointer
    /// One exchange at a time on the socket: a dump (lsrctl's drift view, on another thread)
    /// interleaved with a batch would take each other's replies.
    private let lock = NSLock()

    public init() throws(NetlinkError) {
        guard let socket = nl_socket_alloc() else { throw NetlinkError(operation: "nl_socket_alloc", code: -NLE_NOMEM) }
        let status = nl_connect(socket, NETLINK_ROUTE)
        guard status == 0 else {
            nl_socket_free(socket)
            throw NetlinkError(operation: "nl_connect", code: status)
        }
        self.socket = socket
        // Room for a batch's error replies; with NETLINK_CAP_ACK they omit the request's payload.
        _ = nl_socket_set_buffer_size(socket, 1 << 20, 1 << 20)
        var capAcknowledgements: Int32 = 1
        _ = setsockopt(nl_socket_get_fd(socket), Self.solNetlink, Self.netlinkCapAck, &capAcknowledgements,
                       socklen_t(MemoryLayout<Int32>.size))
        // The kernel's reason in words with each error (NETLINK_EXT_ACK).
        _ = setsockopt(nl_socket_get_fd(socket), Self.solNetlink, Self.netlinkExtAck, &capAcknowledgements,
                       socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: Self.replyTimeout, tv_usec: 0)
        _ = setsockopt(nl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    // <linux/netlink.h>; Glibc does not import them.
    private static let solNetlink: Int32 = 270
    private static let netlinkCapAck: Int32 = 10
    private static let netlinkExtAck: Int32 = 11

    deinit { nl_socket_free(socket) }

    /// Installs, replaces or deletes one route; why not, in words, on failure.
    public func perform(_ request: KernelRouteRequest) -> KernelRouteError? {
        perform([request])[0]
    }

    /// Carries out `requests` in order, many netlink messages per `sendto`: the kernel handles a
    /// datagram's messages one after the other and answers only the failed ones, plus an
    /// acknowledgement of the last, so a batch costs two system calls instead of two per route.
    /// One result per request: nil when done, else why not.
    public func perform(_ requests: [KernelRouteRequest]) -> [KernelRouteError?] {
        lock.lock()
        defer { lock.unlock() }
        var results: [KernelRouteError?] = []
        results.reserveCapacity(requests.count)
        var start = 0
        while start < requests.count {
            let end = min(start + Self.batchLimit, requests.count)
            results += performBatch(requests[start..<end])
            start = end
        }
        return results
    }

    /// Messages per datagram: their error replies must fit the receive buffer, or they are lost
    /// (then the batch is redone one message at a time).
    static let batchLimit = 128

    private func performBatch(_ requests: ArraySlice<KernelRouteRequest>) -> [KernelRouteError?] {
        var results = [KernelRouteError?](repeating: nil, count: requests.count)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(requests.count * 128)
        // Our own sequence numbers (libnl's stay untouched for its dumps and rules): the index
        // in the batch, offset so that replies of another batch can never match.
        batchSequence &+= 1
        let base = batchSequence << 16
        var sequences: [UInt32: Int] = [:]
        var last: (sequence: UInt32, offset: Int)?
        for (offset, request) in requests.enumerated() {
            let sequence = base | UInt32(offset)
            switch message(for: request, sequence: sequence) {
            case .success(let bytes):
                last = (sequence, buffer.count)
                buffer += bytes
                sequences[sequence] = offset
            case .failure(let error):
                results[offset] = error
            }
        }
        guard let last else { return results }
        // Only the last message is acknowledged: its reply ends the batch's replies.
        buffer[last.offset + 6] |= UInt8(NLM_F_ACK) // nlmsg_flags, host (little) endian
        let sent = buffer.withUnsafeMutableBytes { nl_sendto(socket, $0.baseAddress, $0.count) }
        guard sent >= 0 else {
            let error = KernelRouteError("netlink send: \(String(cString: nl_geterror(sent)))")
            for offset in sequences.values { results[offset] = error }
            return results
        }
        switch collectReplies(until: last.sequence) {
        case .success(let failures):
            for failure in failures {
                guard let offset = sequences[failure.sequence] else { continue }
                let request = requests[requests.startIndex + offset]
                // Already gone is what a delete wants.
                if request.operation == .delete, failure.code == ESRCH || failure.code == ENOENT { continue }
                var text = "\(request.operation == .delete ? "delete" : "add") \(KernelRouteSummary(request).destination): "
                text += String(cString: strerror(failure.code))
                if let explanation = failure.explanation { text += " (\(explanation))" }
                results[offset] = KernelRouteError(text)
            }
            return results
        case .failure(.silent):
            let error = KernelRouteError("no reply from the kernel within \(Self.replyTimeout) s")
            for offset in sequences.values { results[offset] = error }
            return results
        case .failure(.lost):
            // Replies were lost (receive buffer overrun): nothing says which messages failed.
            // Every request is idempotent (replace, delete), so redo them one by one.
            guard requests.count > 1 else {
                return [KernelRouteError("netlink replies lost for \(KernelRouteSummary(requests[requests.startIndex]).destination)")]
            }
            return requests.map { performBatch([$0][...])[0] }
        }
    }

    /// Guarded by `lock`.
    private var batchSequence: UInt32 = 0

    /// The netlink message for `request`, built by libnl, with our sequence number and flags.
    private func message(for request: KernelRouteRequest, sequence: UInt32) -> Result<[UInt8], KernelRouteError> {
        let route: OpaquePointer
        switch makeRoute(request) {
        case .success(let made): route = made
        case .failure(let error): return .failure(error)
        }
        defer { rtnl_route_put(route) }
        var message: OpaquePointer?
        let status = switch request.operation {
        case .replace: rtnl_route_build_add_request(route, request.flags, &message)
        case .delete: rtnl_route_build_del_request(route, 0, &message)
        }
        guard status == 0, let message else {
            return .failure(Self.error(request.operation == .delete ? "delete" : "add", status, request))
        }
        defer { nlmsg_free(message) }
        let header = nlmsg_hdr(message)!
        header.pointee.nlmsg_seq = sequence
        header.pointee.nlmsg_pid = nl_socket_get_local_port(socket)
        // No NLM_F_ACK: the kernel then answers only failures.
        header.pointee.nlmsg_flags = header.pointee.nlmsg_flags & ~UInt16(NLM_F_ACK) | UInt16(NLM_F_REQUEST)
        let length = Int(header.pointee.nlmsg_len)
        // NLMSG_ALIGN: the next message starts on a 4-byte boundary.
        var bytes = Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(header), count: length))
        bytes += [UInt8](repeating: 0, count: (4 - length % 4) % 4)
        return .success(bytes)
    }

    private enum ReplyFailure: Error {
        /// The receive buffer overflowed: some replies were dropped.
        case lost
        /// Nothing came within `replyTimeout`.
        case silent
    }

    /// Seconds to wait for a batch's last reply (the kernel answers while it handles the send,
    /// so this only bounds a kernel that skipped a message it found malformed).
    static let replyTimeout = 10

    private struct Failure {
        var sequence: UInt32
        var code: Int32
        /// The kernel's extended acknowledgement text, e.g. "Invalid label".
        var explanation: String?
    }

    /// Reads replies until the one for `last`: every failed message's errno and explanation.
    private func collectReplies(until last: UInt32) -> Result<[Failure], ReplyFailure> {
        let descriptor = nl_socket_get_fd(socket)
        var failures: [Failure] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                // ENOBUFS: the receive buffer overflowed and replies were dropped. Take what is
                // still queued so that it cannot be read as the next batch's replies.
                drain(descriptor)
                return .failure(code == EAGAIN || code == EWOULDBLOCK ? .silent : .lost)
            }
            var offset = 0
            while offset + 16 <= count {
                let length = Int(Self.uint32(buffer, offset))
                guard length >= 16, offset + length <= count else { break }
                let type = Self.uint16(buffer, offset + 4)
                let sequence = Self.uint32(buffer, offset + 8)
                if type == UInt16(NLMSG_ERROR), length >= 20 {
                    let code = -Int32(bitPattern: Self.uint32(buffer, offset + 16))
                    if code != 0 {
                        failures.append(Failure(sequence: sequence, code: code,
                                                explanation: Self.explanation(buffer, offset: offset, length: length)))
                    }
                    if sequence == last { return .success(failures) }
                }
                offset += (length + 3) & ~3
            }
        }
    }

    /// NLMSGERR_ATTR_MSG of an error reply: with NETLINK_CAP_ACK the attributes follow the
    /// header (16), the error (4) and the request's header (16); NLM_F_ACK_TLVS says they are there.
    private static func explanation(_ bytes: [UInt8], offset: Int, length: Int) -> String? {
        guard uint16(bytes, offset + 6) & 0x200 != 0 else { return nil }
        var attribute = offset + 36
        while attribute + 4 <= offset + length {
            let size = Int(uint16(bytes, attribute))
            guard size >= 4, attribute + size <= offset + length else { return nil }
            if uint16(bytes, attribute + 2) == 1 { // NLMSGERR_ATTR_MSG
                let text = bytes[(attribute + 4)..<(attribute + size)].prefix { $0 != 0 }
                return text.isEmpty ? nil : String(decoding: text, as: UTF8.self)
            }
            attribute += (size + 3) & ~3
        }
        return nil
    }

    private func drain(_ descriptor: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while buffer.withUnsafeMutableBytes({ recv(descriptor, $0.baseAddress, $0.count, lsr_msg_dontwait()) }) > 0 {}
    }

    /// Host byte order, as netlink headers are.
    private static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }

    private static func uint16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self) }
    }

    /// The libnl route object for `request` (the caller puts it).
    private func makeRoute(_ request: KernelRouteRequest) -> Result<OpaquePointer, KernelRouteError> {
        guard let route = rtnl_route_alloc() else { return .failure(KernelRouteError("rtnl_route_alloc: out of memory")) }
        if let error = describe(route, request) {
            rtnl_route_put(route)
            return .failure(error)
        }
        return .success(route)
    }

    private func describe(_ route: OpaquePointer, _ request: KernelRouteRequest) -> KernelRouteError? {
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
        return nil
    }

    /// The routes of `family` marked with `protocolNumber`, as requests that would recreate them.
    /// Filters by family itself: a kernel without AF_MPLS answers an MPLS dump with IPv4 routes.
    public func routes(family: UInt8, protocolNumber: UInt8) throws(NetlinkError) -> [KernelRouteRequest] {
        lock.lock()
        defer { lock.unlock() }
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
        lock.lock()
        defer { lock.unlock() }
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
