// Framing of a TCP byte stream into PDUs (RFC 5036 §3.1), apart from decoding: the
// framer only reads each PDU header's Version and PDU Length.

/// Cuts a TCP byte stream into whole PDUs (RFC 5036 §3.1), without decoding messages.
public struct PDUFramer: Sendable {
    public var maximumLength: Int
    private var buffer: [UInt8] = []
    /// Where the next PDU starts in `buffer`; consumed octets are dropped in batches.
    private var start = 0
    /// Once the stream is broken it stays broken: the PDU boundaries are lost.
    private var failure: LDPDecodingError?

    public init(maximumLength: Int = PDU.defaultMaximumLength) { self.maximumLength = maximumLength }

    /// Appends received octets.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole PDU, nil when more octets are needed; throws on a bad header
    /// (bad version, length below the minimum or above `maximumLength`): the stream is then unusable.
    public mutating func next() throws(LDPDecodingError) -> [UInt8]? {
        if let failure { throw failure }
        let available = buffer.count - start
        guard available >= 2 else { return nil }
        // | Version (16) | PDU Length (16) | LDP Identifier (48) |
        let version = UInt16(buffer[start]) << 8 | UInt16(buffer[start + 1])
        guard version == PDU.version else {
            return try fail(.badProtocolVersion(version))
        }
        guard available >= 4 else { return nil }
        let pduLength = Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
        // The PDU Length covers at least the LDP Identifier (6 octets).
        guard pduLength >= PDU.headerLength - 4, pduLength <= maximumLength else {
            return try fail(.badPDULength(pduLength))
        }
        guard available >= 4 + pduLength else { return nil }
        let pdu = Array(buffer[start..<(start + 4 + pduLength)])
        start += 4 + pduLength
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        return pdu
    }

    /// Octets received but not yet returned as a PDU.
    public var bufferedCount: Int { buffer.count - start }

    private mutating func fail(_ reason: DecodingFailure) throws(LDPDecodingError) -> [UInt8]? {
        let header = Array(buffer[start..<min(buffer.count, start + PDU.headerLength)])
        let error = LDPDecodingError(reason, bytes: header)
        failure = error
        throw error
    }
}
