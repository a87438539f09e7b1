// Packing messages into PDUs (RFC 5036 §3.1): as many whole messages per PDU as the session's
// maximum PDU length allows, so that a full label exchange takes few PDUs and few writes.

import LDPCodec

enum PDUPacking {
    /// The PDU header for `messageOctets` octets of messages: Version, PDU Length (which
    /// counts the LDP Identifier and the messages), LDP Identifier.
    static func header(for identifier: LDPIdentifier, messageOctets: Int) -> [UInt8] {
        let length = 6 + messageOctets
        return [UInt8(PDU.version >> 8), UInt8(PDU.version & 0xFF), UInt8(length >> 8), UInt8(length & 0xFF)]
            + identifier.lsrID.octets + [UInt8(identifier.labelSpace >> 8), UInt8(identifier.labelSpace & 0xFF)]
    }

    /// Encodes `messages` into consecutive PDUs of at most `maximumLength` octets each (whole
    /// PDU, header included: the stricter reading of §3.5.3), returned as one stream.
    /// A message too long for any PDU still goes alone in its own PDU.
    static func stream(_ messages: [Message], from identifier: LDPIdentifier, maximumLength: Int) -> [UInt8] {
        var stream: [UInt8] = []
        var pending: [UInt8] = []
        let room = maximumLength - PDU.headerLength
        func flush() {
            guard !pending.isEmpty else { return }
            stream += header(for: identifier, messageOctets: pending.count)
            stream += pending
            pending.removeAll(keepingCapacity: true)
        }
        for message in messages {
            let octets = message.encoded()
            if !pending.isEmpty && pending.count + octets.count > room { flush() }
            pending += octets
        }
        flush()
        return stream
    }
}
