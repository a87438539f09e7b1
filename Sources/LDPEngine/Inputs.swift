// What the world tells the engine. Every input carries plain values so a run can be recorded
// as JSON and replayed.

import LDPCodec

/// A TCP connection on port 646. The engine numbers the connections it opens (`outgoing`); the
/// daemon numbers the ones it accepts (`incoming`). Numbers are never reused, so a late event
/// for an old connection cannot touch a newer one.
public enum ConnectionID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    case outgoing(UInt64)
    case incoming(UInt64)

    public var description: String {
        switch self {
        case .outgoing(let number): "out#\(number)"
        case .incoming(let number): "in#\(number)"
        }
    }
}

public enum EngineInput: Hashable, Sendable, Codable {
    /// Begin: send Hellos on up interfaces and to targeted neighbors.
    case start
    /// A UDP datagram on port 646. `destination` is 224.0.0.2 for a Link Hello, a unicast
    /// address of ours for a Targeted Hello; `interface` is where it arrived.
    case helloReceived(interface: String?, source: IPAddress, destination: IPAddress, ttl: UInt8, bytes: [UInt8])
    /// The daemon accepted a TCP connection on port 646 (passive side, §2.5.3).
    case connectionAccepted(ConnectionID, local: IPAddress, remote: IPAddress)
    /// An active open we asked for with `EngineOutput.connect` succeeded.
    case connectionEstablished(ConnectionID)
    /// An active open failed.
    case connectionFailed(ConnectionID, reason: String)
    /// The connection closed (by the peer, or on an error).
    case connectionClosed(ConnectionID, reason: String)
    /// Octets from the TCP stream, cut anywhere.
    case dataReceived(ConnectionID, [UInt8])
    case timerFired(TimerID)
    case routeChanged(Route)
    case routeRemoved(IPPrefix)
    /// An interface's state and addresses. Drives Link Hellos and the addresses we advertise.
    case interfaceChanged(name: String, isUp: Bool, addresses: [IPAddress])
    case configurationChanged(EngineConfiguration)
    /// Operator: reset the session with this peer.
    case clearNeighbor(LDPIdentifier)
    /// Send Shutdown on every session and close them; send no more Hellos.
    case shutdown
}
