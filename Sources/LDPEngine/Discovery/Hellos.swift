// Building and checking Hello messages (RFC 5036 §2.4, §3.5.2; RFC 6720 §3).

import LDPCodec

public enum HelloAddresses {
    /// "All routers on this subnet" (§2.4.1).
    public static let allRouters = IPv4Address(224, 0, 0, 2)
    /// The IP TTL of Link Hellos: 1, or 255 when we offer GTSM (RFC 6720 §3).
    public static func linkTTL(gtsm: Bool) -> UInt8 { gtsm ? 255 : 1 }
    /// Targeted Hellos cross routers; GTSM is for single-hop sessions only (RFC 6720 §3).
    public static let targetedTTL: UInt8 = 64

    /// Whether a peer can use this as its transport address: a unicast address that is neither
    /// unspecified, loopback, multicast nor broadcast.
    public static func isUsableTransportAddress(_ address: IPv4Address) -> Bool {
        let first = address.rawValue >> 24
        return address != .any && first != 127 && first < 224 && address.rawValue != 0xFFFF_FFFF
    }
}

/// A Hello that passed the checks of §2.4 and RFC 6720, with what the adjacency needs.
public struct AcceptedHello: Hashable, Sendable {
    public var peer: LDPIdentifier
    public var hello: HelloMessage
    public var transportAddress: IPv4Address
    public var isTargeted: Bool
}

public struct HelloRejection: Error, Hashable, Sendable {
    public var reason: String
}

/// Decodes a Hello datagram and checks what does not depend on the engine's tables.
/// - Parameters:
///   - ourIdentifier: our LDP identifier, to drop our own Hellos looped back.
///   - gtsmEnabled: whether we set G ourselves; if both do, the TTL must be 255 (RFC 6720 §3).
public func validateHello(bytes: [UInt8], source: IPAddress, destination: IPAddress, ttl: UInt8,
                          ourIdentifier: LDPIdentifier, gtsmEnabled: Bool) -> Result<AcceptedHello, HelloRejection> {
    func reject(_ reason: String) -> Result<AcceptedHello, HelloRejection> { .failure(HelloRejection(reason: reason)) }
    let decoded: DecodedPDU
    do {
        decoded = try PDU.decode(bytes)
    } catch {
        return reject("undecodable PDU: \(error)")
    }
    guard let hello = decoded.messages.lazy.compactMap({ message -> HelloMessage? in
        if case .hello(let hello) = message.body { hello } else { nil }
    }).first else {
        if let error = decoded.errors.first { return reject("bad Hello: \(error)") }
        return reject("no Hello message in the PDU")
    }
    let peer = decoded.ldpIdentifier
    // §2.5.2 uses the platform-wide label space only; LSR ID 0 identifies nobody.
    guard peer.labelSpace == 0 else { return reject("label space \(peer.labelSpace) of \(peer) is not platform-wide") }
    guard peer.lsrID != .any else { return reject("LSR ID 0.0.0.0") }
    guard peer.lsrID != ourIdentifier.lsrID else { return reject("our own LSR ID \(peer.lsrID)") }

    let toMulticast = destination == .v4(HelloAddresses.allRouters)
    if toMulticast && hello.parameters.targeted { return reject("Targeted Hello sent to \(HelloAddresses.allRouters)") }
    if !toMulticast && !hello.parameters.targeted { return reject("Link Hello sent to unicast \(destination)") }

    // GTSM's TTL check covers the session (RFC 6720 §3). IPv4 Link Hellos go to 224.0.0.2,
    // which no router forwards, and peers send them with TTL 1 (FRR does, with G set) or 255:
    // both are accepted. Only IPv6 Link Hellos must arrive with Hop Limit 255 (RFC 7552 §9).
    if !hello.parameters.targeted && hello.parameters.gtsm && gtsmEnabled, case .v6 = source, ttl != 255 {
        return reject("GTSM: hop limit \(ttl) is not 255")
    }

    // §3.5.2: without the Transport Address TLV, the source address is the transport address.
    let transport: IPv4Address
    if let address = hello.ipv4TransportAddress {
        transport = address
    } else if case .v4(let address) = source {
        transport = address
    } else {
        return reject("no IPv4 transport address (IPv6 sessions are not supported yet)")
    }
    guard HelloAddresses.isUsableTransportAddress(transport) else {
        return reject("unusable transport address \(transport)")
    }
    return .success(AcceptedHello(peer: peer, hello: hello, transportAddress: transport,
                                  isTargeted: hello.parameters.targeted))
}
