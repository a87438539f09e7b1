// The control protocol between lsrd and lsrctl: one JSON object per line over a Unix socket.
//
//   request:  {"version":1,"command":"show-lfib","argument":"10.0.0.0/24"}
//   response: {"version":1,"result":{...}}  or  {"version":1,"error":"..."}
//
// The views below are the protocol's own types, so the JSON that scripts read stays stable
// when the engine's internals change.

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LDPCodec

public enum ControlProtocol {
    public static let version = 1

    /// The control socket path when none is given: one per network namespace, so that
    /// `ip netns exec r1 lsrctl ...` finds r1's daemon with no flags.
    public static func defaultSocketPath(namespace: String? = currentNamespaceName()) -> String {
        "/run/lsrd/\(namespace ?? "default").sock"
    }

    /// The name under /run/netns of the namespace this process runs in, as `ip netns identify`
    /// finds it: the entry whose namespace (device and inode, following the links) is ours.
    public static func currentNamespaceName() -> String? {
        func identity(_ path: String) -> (UInt64, UInt64)? {
            var status = stat()
            guard stat(path, &status) == 0 else { return nil }
            return (UInt64(status.st_dev), UInt64(status.st_ino))
        }
        guard let own = identity("/proc/self/ns/net"),
              let names = try? FileManager.default.contentsOfDirectory(atPath: "/run/netns") else { return nil }
        for name in names.sorted() where identity("/run/netns/\(name)").map({ $0 == own }) == true {
            return name
        }
        return nil
    }
}

public enum ControlCommand: String, Codable, Sendable, CaseIterable {
    case showLFIB = "show-lfib"
    case showNeighbors = "show-neighbors"
    case showDiscovery = "show-discovery"
    case showBackoff = "show-backoff"
    case showInterfaces = "show-interfaces"
    case showBindings = "show-bindings"
    case showRoutes = "show-routes"
    case showDataplane = "show-dataplane"
    case clearNeighbor = "clear-neighbor"
}

public struct ControlRequest: Codable, Sendable, Equatable {
    public var version: Int
    public var command: ControlCommand
    public var argument: String?

    public init(command: ControlCommand, argument: String? = nil) {
        self.version = ControlProtocol.version
        self.command = command
        self.argument = argument
    }
}

/// A response: exactly one of `result` (the command's view, as JSON) and `error`.
public struct ControlResponse<Result: Codable & Sendable>: Codable, Sendable {
    public var version: Int
    public var result: Result?
    public var error: String?

    public init(result: Result) {
        self.version = ControlProtocol.version
        self.result = result
        self.error = nil
    }

    public init(error: String) {
        self.version = ControlProtocol.version
        self.result = nil
        self.error = error
    }
}

/// An empty result, for commands that only act.
public struct Acknowledgement: Codable, Sendable, Equatable {
    public var message: String
    public init(message: String) { self.message = message }
}

// MARK: - Views

public struct LFIBView: Codable, Sendable, Equatable {
    public struct NextHop: Codable, Sendable, Equatable {
        public var address: String?
        public var interface: String
        public var outLabels: [UInt32]
        public init(address: String?, interface: String, outLabels: [UInt32]) {
            self.address = address
            self.interface = interface
            self.outLabels = outLabels
        }
    }
    public struct Installed: Codable, Sendable, Equatable {
        public var kernel: Bool
        public var userspace: Bool
        public init(kernel: Bool, userspace: Bool) {
            self.kernel = kernel
            self.userspace = userspace
        }
    }
    public struct Entry: Codable, Sendable, Equatable {
        /// Nil for an ingress (FTN) push entry.
        public var inLabel: UInt32?
        public var fec: String
        /// "push", "swap" or "pop".
        public var action: String
        public var nexthops: [NextHop]
        public var packets: UInt64
        public var bytes: UInt64
        public var installed: Installed
        /// Why a backend refused the entry, when one did.
        public var error: String?
        public init(inLabel: UInt32?, fec: String, action: String, nexthops: [NextHop], packets: UInt64,
                    bytes: UInt64, installed: Installed, error: String? = nil) {
            self.inLabel = inLabel
            self.fec = fec
            self.action = action
            self.nexthops = nexthops
            self.packets = packets
            self.bytes = bytes
            self.installed = installed
            self.error = error
        }
    }
    public var entries: [Entry]
    public init(entries: [Entry]) { self.entries = entries }
}

public struct NeighborView: Codable, Sendable, Equatable {
    public var peer: String
    public var state: String
    public var role: String?
    public var localTransport: String?
    public var remoteTransport: String?
    public var localPort: UInt16?
    public var remotePort: UInt16?
    public var uptimeSeconds: Double?
    public var keepAliveSeconds: UInt16?
    public var holdSeconds: UInt16?
    public var messagesSent: UInt64
    public var messagesReceived: UInt64
    public var md5: Bool
    public var gtsm: Bool
    public var capabilities: [String]
    public var addresses: [String]

    public init(peer: String, state: String, role: String? = nil, localTransport: String? = nil,
                remoteTransport: String? = nil, localPort: UInt16? = nil, remotePort: UInt16? = nil,
                uptimeSeconds: Double? = nil, keepAliveSeconds: UInt16? = nil, holdSeconds: UInt16? = nil,
                messagesSent: UInt64 = 0, messagesReceived: UInt64 = 0, md5: Bool = false, gtsm: Bool = false,
                capabilities: [String] = [], addresses: [String] = []) {
        self.peer = peer
        self.state = state
        self.role = role
        self.localTransport = localTransport
        self.remoteTransport = remoteTransport
        self.localPort = localPort
        self.remotePort = remotePort
        self.uptimeSeconds = uptimeSeconds
        self.keepAliveSeconds = keepAliveSeconds
        self.holdSeconds = holdSeconds
        self.messagesSent = messagesSent
        self.messagesReceived = messagesReceived
        self.md5 = md5
        self.gtsm = gtsm
        self.capabilities = capabilities
        self.addresses = addresses
    }
}

public struct NeighborsView: Codable, Sendable, Equatable {
    public var neighbors: [NeighborView]
    public init(neighbors: [NeighborView]) { self.neighbors = neighbors }
}

public struct DiscoveryView: Codable, Sendable, Equatable {
    public struct Adjacency: Codable, Sendable, Equatable {
        public var peer: String
        /// An interface name, or "targeted".
        public var source: String
        public var address: String
        public var holdSeconds: UInt16
        public var expiresInSeconds: Double?
        public init(peer: String, source: String, address: String, holdSeconds: UInt16, expiresInSeconds: Double?) {
            self.peer = peer
            self.source = source
            self.address = address
            self.holdSeconds = holdSeconds
            self.expiresInSeconds = expiresInSeconds
        }
    }
    public var adjacencies: [Adjacency]
    public init(adjacencies: [Adjacency]) { self.adjacencies = adjacencies }
}

/// Peers the active side failed to open a session with, and when it tries again.
public struct BackoffView: Codable, Sendable, Equatable {
    public struct Peer: Codable, Sendable, Equatable {
        public var peer: String
        public var failures: Int
        public var lastFailure: String
        /// The peer refused the last set-up (RFC 5036 §2.5.3: 15 s doubling to 2 minutes);
        /// false: it said nothing, as a refused or reset connection (1 s doubling to 15 s).
        public var refusedByPeer: Bool
        public var delaySeconds: Double
        /// Nil while an attempt is under way.
        public var nextAttemptInSeconds: Double?
        public init(peer: String, failures: Int, lastFailure: String, refusedByPeer: Bool, delaySeconds: Double,
                    nextAttemptInSeconds: Double?) {
            self.peer = peer
            self.failures = failures
            self.lastFailure = lastFailure
            self.refusedByPeer = refusedByPeer
            self.delaySeconds = delaySeconds
            self.nextAttemptInSeconds = nextAttemptInSeconds
        }
    }
    public var peers: [Peer]
    public init(peers: [Peer]) { self.peers = peers }
}

public struct InterfacesView: Codable, Sendable, Equatable {
    public struct Interface: Codable, Sendable, Equatable {
        public var name: String
        public var isUp: Bool
        public var addresses: [String]
        public var helloIntervalSeconds: UInt16
        public var holdSeconds: UInt16
        public var adjacencies: Int
        public init(name: String, isUp: Bool, addresses: [String], helloIntervalSeconds: UInt16,
                    holdSeconds: UInt16, adjacencies: Int) {
            self.name = name
            self.isUp = isUp
            self.addresses = addresses
            self.helloIntervalSeconds = helloIntervalSeconds
            self.holdSeconds = holdSeconds
            self.adjacencies = adjacencies
        }
    }
    public var interfaces: [Interface]
    public init(interfaces: [Interface]) { self.interfaces = interfaces }
}

public struct BindingsView: Codable, Sendable, Equatable {
    public struct Remote: Codable, Sendable, Equatable {
        public var peer: String
        public var label: UInt32
        public var inUse: Bool
        public init(peer: String, label: UInt32, inUse: Bool) {
            self.peer = peer
            self.label = label
            self.inUse = inUse
        }
    }
    public struct Binding: Codable, Sendable, Equatable {
        public var fec: String
        public var localLabel: UInt32?
        public var remote: [Remote]
        public init(fec: String, localLabel: UInt32?, remote: [Remote]) {
            self.fec = fec
            self.localLabel = localLabel
            self.remote = remote
        }
    }
    public var bindings: [Binding]
    public init(bindings: [Binding]) { self.bindings = bindings }
}

public struct RoutesView: Codable, Sendable, Equatable {
    public struct Route: Codable, Sendable, Equatable {
        public struct NextHop: Codable, Sendable, Equatable {
            public var address: String?
            public var interface: String
            public init(address: String?, interface: String) {
                self.address = address
                self.interface = interface
            }
        }
        public var prefix: String
        public var nextHops: [NextHop]
        public var isLocal: Bool
        public init(prefix: String, nextHops: [NextHop], isLocal: Bool) {
            self.prefix = prefix
            self.nextHops = nextHops
            self.isLocal = isLocal
        }
    }
    public var routes: [Route]
    public init(routes: [Route]) { self.routes = routes }
}

public struct DataplaneView: Codable, Sendable, Equatable {
    public struct Backend: Codable, Sendable, Equatable {
        public var name: String
        public var state: String
        public var entries: Int
        public var detail: [String: UInt64]
        public var drift: [String]
        public init(name: String, state: String, entries: Int, detail: [String: UInt64] = [:], drift: [String] = []) {
            self.name = name
            self.state = state
            self.entries = entries
            self.detail = detail
            self.drift = drift
        }
    }
    public var mode: String
    public var backends: [Backend]
    public init(mode: String, backends: [Backend]) {
        self.mode = mode
        self.backends = backends
    }
}
