// The session initialization state machine of RFC 5036 §2.5.4, as a pure function.
//
//                          +------------+
//                          |            |
//                          |NON EXISTENT|<-------------------------+
//                          |            |                          |
//                          +------------+                          |
//             Session            |    ^                            |
//             connection         |    |  Rx any LDP msg except     |
//             established        |    |  Init msg or Timeout       |
//                                V    |  (Tx NAK msg)              |
//                          +------------+                          |
//         Rx acceptable    |            |  Tx Init msg             |
//         Init msg         | INITIALIZED|---------------+          |
//         Tx Init msg      |            |  (Active role)|          |
//         Tx KeepAlive msg +------------+               |          |
//         (Passive role)         |                      V          |
//                                |               +------------+    |
//                                |               |            |    |
//                                |               |  OPENSENT  |----+ Rx any LDP msg except
//                                |               |            |    | Init msg or Timeout
//                                |               +------------+    | (Tx NAK msg)
//                                V                      |          |
//                          +------------+  Rx acceptable Init msg  |
//                          |            |<--------------+          |
//                          |  OPENREC   |   Tx KeepAlive msg       |
//                          |            |--------------------------+ Rx any LDP msg except
//                          +------------+                          | KeepAlive msg or Timeout
//                                |   Rx KeepAlive msg              | (Tx NAK msg)
//                                V                                 |
//                          +------------+                          |
//                          |            |--------------------------+ Rx Shutdown msg or Timeout
//                          | OPERATIONAL|                            (Tx Shutdown msg)
//                          |            |
//                          +------------+
//                            All other LDP msgs
//
// Two choices the figure leaves open, made as OpenBSD ldpd and holo-ldp do:
// - The active side sends its Initialization as soon as the connection is up, so for it
//   "connection established" leads straight to OPENSENT (INITIALIZED is momentary).
// - An Initialization in OPERATIONAL is a protocol error: Shutdown, not "all other msgs".
// The figure's NAK is a fatal Notification: its status code is in the action.

import LDPCodec

public enum SessionState: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case nonExistent = "NON EXISTENT"
    case initialized = "INITIALIZED"
    case openReceived = "OPENREC"
    case openSent = "OPENSENT"
    case operational = "OPERATIONAL"

    public var description: String { rawValue }
}

/// §2.5.2: the LSR with the greater transport address opens the TCP connection.
public enum SessionRole: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case active
    case passive

    public var description: String { rawValue }
}

public enum SessionEvent: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The TCP connection is up (connect succeeded, or accept matched an adjacency).
    case connectionUp
    /// An Initialization whose parameters we accept (§2.5.3).
    case acceptableInitializationReceived
    /// An Initialization we refuse, with the Session Rejected (or other) status to send.
    case unacceptableInitializationReceived(StatusCode)
    case keepAliveReceived
    /// Any other message (Address, Label, advisory Notification, Capability...).
    case otherMessageReceived
    /// The initialization timer or the session KeepAlive timer expired.
    case timeout
    /// The peer sent a fatal Notification: it closes the session (§3.5.1.1).
    case fatalNotificationReceived
    /// We must end the session with this fatal status: a fatal decode error, Bad LDP
    /// Identifier, the last adjacency gone (Hold Timer Expired), an operator reset (Shutdown).
    case fatalErrorDetected(StatusCode)
    /// The transport connection closed or the connect attempt failed.
    case connectionClosed

    /// One representative of every kind of event, for exhaustive tests.
    public static let representatives: [SessionEvent] = [
        .connectionUp, .acceptableInitializationReceived, .unacceptableInitializationReceived(.sessionRejectedNoHello),
        .keepAliveReceived, .otherMessageReceived, .timeout, .fatalNotificationReceived,
        .fatalErrorDetected(.holdTimerExpired), .connectionClosed,
    ]

    public var description: String {
        switch self {
        case .connectionUp: "connection up"
        case .acceptableInitializationReceived: "acceptable Init received"
        case .unacceptableInitializationReceived(let code): "unacceptable Init received (\(code.name))"
        case .keepAliveReceived: "KeepAlive received"
        case .otherMessageReceived: "other message received"
        case .timeout: "timeout"
        case .fatalNotificationReceived: "fatal Notification received"
        case .fatalErrorDetected(let code): "fatal error (\(code.name))"
        case .connectionClosed: "connection closed"
        }
    }
}

public enum SessionAction: Hashable, Sendable, Codable {
    case sendInitialization
    case sendKeepAlive
    /// A fatal Notification (the figure's NAK, or Shutdown).
    case sendFatalNotification(StatusCode)
    case startInitializationTimer
    /// Start KeepAlive send and expiry timers, tell the LIB the peer is up.
    case enterOperational
    /// Close the transport connection (we end the session).
    case closeConnection
}

public struct SessionTransition: Hashable, Sendable, Codable {
    public var state: SessionState
    public var actions: [SessionAction]

    public init(_ state: SessionState, _ actions: [SessionAction] = []) {
        self.state = state
        self.actions = actions
    }
}

/// The next state and what to do, for every state, role and event.
public func sessionTransition(from state: SessionState, role: SessionRole, on event: SessionEvent) -> SessionTransition {
    // The figure's "Tx NAK": a fatal Notification, then the connection is closed.
    func nak(_ code: StatusCode) -> SessionTransition {
        SessionTransition(.nonExistent, [.sendFatalNotification(code), .closeConnection])
    }
    // Messages out of sequence during initialization. RFC 5036 names no status for this NAK;
    // Shutdown is what deployed implementations send.
    let outOfSequence = StatusCode.shutdown

    switch (state, event) {
    // NON EXISTENT: no connection yet (or an active open still in progress).
    case (.nonExistent, .connectionUp):
        return role == .active
            ? SessionTransition(.openSent, [.sendInitialization, .startInitializationTimer])
            : SessionTransition(.initialized, [.startInitializationTimer])
    case (.nonExistent, .fatalErrorDetected):
        // Abandon a connect in progress; there is nobody to notify yet.
        return SessionTransition(.nonExistent, [.closeConnection])
    case (.nonExistent, .acceptableInitializationReceived), (.nonExistent, .unacceptableInitializationReceived),
         (.nonExistent, .keepAliveReceived), (.nonExistent, .otherMessageReceived), (.nonExistent, .timeout),
         (.nonExistent, .fatalNotificationReceived), (.nonExistent, .connectionClosed):
        return SessionTransition(.nonExistent)

    // INITIALIZED: connected, waiting for the peer's Initialization (passive role).
    case (.initialized, .connectionUp):
        return SessionTransition(.initialized)
    case (.initialized, .acceptableInitializationReceived):
        return SessionTransition(.openReceived, [.sendInitialization, .sendKeepAlive])
    case (.initialized, .unacceptableInitializationReceived(let code)):
        return nak(code)
    case (.initialized, .keepAliveReceived), (.initialized, .otherMessageReceived):
        return nak(outOfSequence)
    case (.initialized, .timeout):
        return nak(.keepAliveTimerExpired)

    // OPENSENT: our Initialization is out, waiting for the peer's.
    case (.openSent, .connectionUp):
        return SessionTransition(.openSent)
    case (.openSent, .acceptableInitializationReceived):
        return SessionTransition(.openReceived, [.sendKeepAlive])
    case (.openSent, .unacceptableInitializationReceived(let code)):
        return nak(code)
    case (.openSent, .keepAliveReceived), (.openSent, .otherMessageReceived):
        return nak(outOfSequence)
    case (.openSent, .timeout):
        return nak(.keepAliveTimerExpired)

    // OPENREC: both Initializations exchanged, waiting for the peer's KeepAlive.
    case (.openReceived, .connectionUp):
        return SessionTransition(.openReceived)
    case (.openReceived, .keepAliveReceived):
        return SessionTransition(.operational, [.enterOperational])
    case (.openReceived, .acceptableInitializationReceived), (.openReceived, .otherMessageReceived):
        return nak(outOfSequence)
    case (.openReceived, .unacceptableInitializationReceived(let code)):
        return nak(code)
    case (.openReceived, .timeout):
        return nak(.keepAliveTimerExpired)

    // OPERATIONAL.
    case (.operational, .connectionUp), (.operational, .keepAliveReceived), (.operational, .otherMessageReceived):
        return SessionTransition(.operational)
    case (.operational, .acceptableInitializationReceived), (.operational, .unacceptableInitializationReceived):
        return nak(.shutdown)
    case (.operational, .timeout):
        return nak(.keepAliveTimerExpired)

    // Endings common to every connected state.
    case (.initialized, .fatalNotificationReceived), (.openSent, .fatalNotificationReceived),
         (.openReceived, .fatalNotificationReceived), (.operational, .fatalNotificationReceived):
        return SessionTransition(.nonExistent, [.closeConnection])
    case (.initialized, .fatalErrorDetected(let code)), (.openSent, .fatalErrorDetected(let code)),
         (.openReceived, .fatalErrorDetected(let code)), (.operational, .fatalErrorDetected(let code)):
        return nak(code)
    case (.initialized, .connectionClosed), (.openSent, .connectionClosed),
         (.openReceived, .connectionClosed), (.operational, .connectionClosed):
        return SessionTransition(.nonExistent)
    }
}
