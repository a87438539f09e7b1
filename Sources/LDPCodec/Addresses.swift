// Addresses, prefixes and LDP identifiers as small value types.
// Foundation-free so the codec builds anywhere; formatting and parsing of the
// dotted/colon text forms lives here too, because operators and tests need it.

/// An IPv4 address in host byte order.
public struct IPv4Address: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text ("10.0.0.1"); nil for anything else.
    public init?(_ text: some StringProtocol) {
        var value: UInt32 = 0
        var parts = 0
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 3, let octet = UInt8(part) else { return nil }
            // "01" is ambiguous (octal in some parsers): refuse it.
            if part.count > 1 && part.first == "0" { return nil }
            value = value << 8 | UInt32(octet)
            parts += 1
        }
        guard parts == 4 else { return nil }
        rawValue = value
    }

    public var octets: [UInt8] {
        [UInt8(rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
         UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)]
    }

    public var description: String {
        "\(rawValue >> 24).\((rawValue >> 16) & 0xFF).\((rawValue >> 8) & 0xFF).\(rawValue & 0xFF)"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public static let any = IPv4Address(rawValue: 0)

    // Codable as text: configuration files, recorded runs and JSON output stay readable.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPv4Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "not an IPv4 address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An IPv6 address as two 64-bit halves in host byte order.
public struct IPv6Address: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Builds an address from 16 octets in network order.
    public init<C: Collection>(octets: C) where C.Element == UInt8 {
        precondition(octets.count == 16, "an IPv6 address has 16 octets")
        var high: UInt64 = 0, low: UInt64 = 0
        for (index, octet) in octets.enumerated() {
            if index < 8 { high = high << 8 | UInt64(octet) } else { low = low << 8 | UInt64(octet) }
        }
        self.init(high: high, low: low)
    }

    public var octets: [UInt8] {
        (0..<16).map { index in
            let half = index < 8 ? high : low
            return UInt8(truncatingIfNeeded: half >> (56 - 8 * UInt64(index % 8)))
        }
    }

    /// Parses RFC 4291 text ("2001:db8::1", "::"), without an embedded IPv4 part.
    public init?(_ text: some StringProtocol) {
        let halves = text.split(separator: "::", maxSplits: 1, omittingEmptySubsequences: false)
            .map { String($0) }
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), let value = UInt16(group, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        self.init(octets: all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
    }

    public var description: String {
        let groups = (0..<8).map { index -> UInt16 in
            let half = index < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> (48 - 16 * UInt64(index % 4)))
        }
        // RFC 5952: compress the longest run (of two or more) of zero groups.
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8 && groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength && index - runStart >= 2 {
                    bestStart = runStart
                    bestLength = index - runStart
                }
                runStart = -1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        if bestStart < 0 { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPv6Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "not an IPv6 address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Either address family, as LDP carries both (RFC 5036, RFC 7552).
public enum IPAddress: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) { self = .v4(v4) } else if let v6 = IPv6Address(text) { self = .v6(v6) } else { return nil }
    }

    public var family: AddressFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    public var octets: [UInt8] {
        switch self {
        case .v4(let address): address.octets
        case .v6(let address): address.octets
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "not an IP address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Address family numbers from the IANA "Address Family Numbers" registry, as used in
/// LDP's Address List TLV and Prefix FEC element.
public enum AddressFamily: UInt16, Hashable, Comparable, Sendable, Codable {
    case ipv4 = 1
    case ipv6 = 2

    public var maximumPrefixLength: UInt8 {
        switch self {
        case .ipv4: 32
        case .ipv6: 128
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An IP prefix. The address is always stored with its host bits cleared, so two
/// prefixes that cover the same addresses compare equal.
public struct IPPrefix: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public private(set) var address: IPAddress
    public private(set) var length: UInt8

    /// Nil when `length` exceeds the family's maximum.
    public init?(address: IPAddress, length: UInt8) {
        guard length <= address.family.maximumPrefixLength else { return nil }
        self.length = length
        self.address = IPPrefix.masked(address, length)
    }

    public init(_ address: IPv4Address, length: UInt8) {
        precondition(length <= 32)
        self.length = length
        self.address = IPPrefix.masked(.v4(address), length)
    }

    /// Parses "10.0.0.0/24" or "2001:db8::/32"; a bare address is a host prefix.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else { return nil }
        var length = address.family.maximumPrefixLength
        if parts.count == 2 {
            guard let parsed = UInt8(parts[1]) else { return nil }
            length = parsed
        }
        self.init(address: address, length: length)
    }

    public var family: AddressFamily { address.family }
    public var isHostRoute: Bool { length == family.maximumPrefixLength }

    public func contains(_ other: IPAddress) -> Bool {
        guard other.family == family else { return false }
        return IPPrefix.masked(other, length) == address
    }

    public var description: String { "\(address)/\(length)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.address, lhs.length) < (rhs.address, rhs.length)
    }

    static func masked(_ address: IPAddress, _ length: UInt8) -> IPAddress {
        switch address {
        case .v4(let v4):
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << (32 - UInt32(length))
            return .v4(IPv4Address(rawValue: v4.rawValue & mask))
        case .v6(let v6):
            let highMask: UInt64 = length == 0 ? 0 : (length >= 64 ? ~0 : ~UInt64(0) << (64 - UInt64(length)))
            let lowMask: UInt64 = length <= 64 ? 0 : (length >= 128 ? ~0 : ~UInt64(0) << (128 - UInt64(length)))
            return .v6(IPv6Address(high: v6.high & highMask, low: v6.low & lowMask))
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let prefix = IPPrefix(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "not an IP prefix: \(text)"))
        }
        self = prefix
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// RFC 5036 §2.2.2: six octets, the LSR ID and a label space id. Written "1.1.1.1:0".
public struct LDPIdentifier: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var lsrID: IPv4Address
    /// 0 for the platform-wide label space.
    public var labelSpace: UInt16

    public init(lsrID: IPv4Address, labelSpace: UInt16 = 0) {
        self.lsrID = lsrID
        self.labelSpace = labelSpace
    }

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard let address = IPv4Address(parts[0]) else { return nil }
        var space: UInt16 = 0
        if parts.count == 2 {
            guard let parsed = UInt16(parts[1]) else { return nil }
            space = parsed
        } else if parts.count > 2 {
            return nil
        }
        self.init(lsrID: address, labelSpace: space)
    }

    public var description: String { "\(lsrID):\(labelSpace)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.lsrID, lhs.labelSpace) < (rhs.lsrID, rhs.labelSpace)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let identifier = LDPIdentifier(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "not an LDP identifier: \(text)"))
        }
        self = identifier
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
