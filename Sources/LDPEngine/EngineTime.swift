// Time as the caller supplies it. The engine never reads a clock: the daemon passes a monotonic
// instant with every input, and tests drive a virtual clock, so a recorded run replays exactly.

/// A span of time, in nanoseconds.
public struct EngineDuration: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func seconds(_ seconds: Int64) -> EngineDuration { EngineDuration(nanoseconds: seconds * 1_000_000_000) }
    public static func milliseconds(_ milliseconds: Int64) -> EngineDuration { EngineDuration(nanoseconds: milliseconds * 1_000_000) }
    public static let zero = EngineDuration(nanoseconds: 0)

    /// Whole seconds, rounded down.
    public var wholeSeconds: Int64 { nanoseconds / 1_000_000_000 }
    /// Seconds with their fraction, for display.
    public var inSeconds: Double { Double(nanoseconds) / 1e9 }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    public static func + (lhs: Self, rhs: Self) -> Self { EngineDuration(nanoseconds: lhs.nanoseconds + rhs.nanoseconds) }
    public static func - (lhs: Self, rhs: Self) -> Self { EngineDuration(nanoseconds: lhs.nanoseconds - rhs.nanoseconds) }
    public static func * (lhs: Self, rhs: Int64) -> Self { EngineDuration(nanoseconds: lhs.nanoseconds * rhs) }
    public static func / (lhs: Self, rhs: Int64) -> Self { EngineDuration(nanoseconds: lhs.nanoseconds / rhs) }

    public var description: String {
        let milliseconds = nanoseconds / 1_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}

/// A monotonic instant: nanoseconds since an origin the caller chooses (its start, usually).
public struct EngineTime: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = EngineTime(nanoseconds: 0)
    public static func seconds(_ seconds: Int64) -> EngineTime { EngineTime(nanoseconds: seconds * 1_000_000_000) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    public static func + (lhs: Self, rhs: EngineDuration) -> Self { EngineTime(nanoseconds: lhs.nanoseconds + rhs.nanoseconds) }
    public static func - (lhs: Self, rhs: Self) -> EngineDuration { EngineDuration(nanoseconds: lhs.nanoseconds - rhs.nanoseconds) }

    public var description: String { "t+\(EngineDuration(nanoseconds: nanoseconds))" }
}
