// TEMPORARY: the public codec entry points, declared so that the engine compiles while the
// codec is written. The codec work replaces this file with Encoding.swift, Decoding.swift
// and Framing.swift keeping exactly these signatures.

extension PDU {
    /// The PDU's wire bytes (header, then each message).
    public func encoded() -> [UInt8] { fatalError("codec not written yet") }

    /// Decodes one whole PDU (as cut by `PDUFramer`, or a UDP datagram).
    /// PDU-level errors (header, version, length) throw; each is fatal.
    /// Per-message errors come back in `DecodedPDU.items` so the caller can notify and go on.
    /// - Parameter maximumLength: the negotiated maximum PDU length (§3.5.3).
    public static func decode(_ bytes: [UInt8], maximumLength: Int = PDU.defaultMaximumLength) throws(LDPDecodingError) -> DecodedPDU {
        fatalError("codec not written yet")
    }
}

extension Message {
    /// One message's wire bytes (for Returned Message and for tests).
    public func encoded() -> [UInt8] { fatalError("codec not written yet") }
}

/// Cuts a TCP byte stream into whole PDUs (RFC 5036 §3.1), without decoding messages.
public struct PDUFramer: Sendable {
    public var maximumLength: Int
    public init(maximumLength: Int = PDU.defaultMaximumLength) { self.maximumLength = maximumLength }
    /// Appends received octets.
    public mutating func append(_ bytes: some Sequence<UInt8>) { fatalError("codec not written yet") }
    /// The next whole PDU, nil when more octets are needed; throws on a bad header
    /// (bad version, length below the minimum or above `maximumLength`): the stream is then unusable.
    public mutating func next() throws(LDPDecodingError) -> [UInt8]? { fatalError("codec not written yet") }
}
