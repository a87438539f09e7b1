import Testing
import LDPCodec
@testable import LDPEngine

/// The RFC 5036 §2.5.4 table, written out row by row (not derived from the implementation).
struct StateMachineRow: CustomTestStringConvertible, Sendable {
    var state: SessionState
    var roles: [SessionRole]
    var event: SessionEvent
    var next: SessionState
    var actions: [SessionAction]

    /// A row that holds for both roles.
    init(_ state: SessionState, _ event: SessionEvent, _ next: SessionState, _ actions: [SessionAction] = []) {
        self.init(state, only: SessionRole.allCases, event, next, actions)
    }

    init(_ state: SessionState, only roles: [SessionRole], _ event: SessionEvent,
         _ next: SessionState, _ actions: [SessionAction] = []) {
        self.state = state
        self.roles = roles
        self.event = event
        self.next = next
        self.actions = actions
    }

    var testDescription: String { "\(state) \(roles.map(\.rawValue)) \(event) -> \(next)" }
}

let noHello = StatusCode.sessionRejectedNoHello
let holdExpired = StatusCode.holdTimerExpired
func nak(_ code: StatusCode) -> [SessionAction] { [.sendFatalNotification(code), .closeConnection] }

let stateMachineTable: [StateMachineRow] = [
    // NON EXISTENT
    .init(.nonExistent, only: [.active], .connectionUp, .openSent, [.sendInitialization, .startInitializationTimer]),
    .init(.nonExistent, only: [.passive], .connectionUp, .initialized, [.startInitializationTimer]),
    .init(.nonExistent, .acceptableInitializationReceived, .nonExistent),
    .init(.nonExistent, .unacceptableInitializationReceived(noHello), .nonExistent),
    .init(.nonExistent, .keepAliveReceived, .nonExistent),
    .init(.nonExistent, .otherMessageReceived, .nonExistent),
    .init(.nonExistent, .timeout, .nonExistent),
    .init(.nonExistent, .fatalNotificationReceived, .nonExistent),
    .init(.nonExistent, .fatalErrorDetected(holdExpired), .nonExistent, [.closeConnection]),
    .init(.nonExistent, .connectionClosed, .nonExistent),
    // INITIALIZED
    .init(.initialized, .connectionUp, .initialized),
    .init(.initialized, .acceptableInitializationReceived, .openReceived, [.sendInitialization, .sendKeepAlive]),
    .init(.initialized, .unacceptableInitializationReceived(noHello), .nonExistent, nak(noHello)),
    .init(.initialized, .keepAliveReceived, .nonExistent, nak(.shutdown)),
    .init(.initialized, .otherMessageReceived, .nonExistent, nak(.shutdown)),
    .init(.initialized, .timeout, .nonExistent, nak(.keepAliveTimerExpired)),
    .init(.initialized, .fatalNotificationReceived, .nonExistent, [.closeConnection]),
    .init(.initialized, .fatalErrorDetected(holdExpired), .nonExistent, nak(holdExpired)),
    .init(.initialized, .connectionClosed, .nonExistent),
    // OPENSENT
    .init(.openSent, .connectionUp, .openSent),
    .init(.openSent, .acceptableInitializationReceived, .openReceived, [.sendKeepAlive]),
    .init(.openSent, .unacceptableInitializationReceived(noHello), .nonExistent, nak(noHello)),
    .init(.openSent, .keepAliveReceived, .nonExistent, nak(.shutdown)),
    .init(.openSent, .otherMessageReceived, .nonExistent, nak(.shutdown)),
    .init(.openSent, .timeout, .nonExistent, nak(.keepAliveTimerExpired)),
    .init(.openSent, .fatalNotificationReceived, .nonExistent, [.closeConnection]),
    .init(.openSent, .fatalErrorDetected(holdExpired), .nonExistent, nak(holdExpired)),
    .init(.openSent, .connectionClosed, .nonExistent),
    // OPENREC
    .init(.openReceived, .connectionUp, .openReceived),
    .init(.openReceived, .acceptableInitializationReceived, .nonExistent, nak(.shutdown)),
    .init(.openReceived, .unacceptableInitializationReceived(noHello), .nonExistent, nak(noHello)),
    .init(.openReceived, .keepAliveReceived, .operational, [.enterOperational]),
    .init(.openReceived, .otherMessageReceived, .nonExistent, nak(.shutdown)),
    .init(.openReceived, .timeout, .nonExistent, nak(.keepAliveTimerExpired)),
    .init(.openReceived, .fatalNotificationReceived, .nonExistent, [.closeConnection]),
    .init(.openReceived, .fatalErrorDetected(holdExpired), .nonExistent, nak(holdExpired)),
    .init(.openReceived, .connectionClosed, .nonExistent),
    // OPERATIONAL
    .init(.operational, .connectionUp, .operational),
    .init(.operational, .acceptableInitializationReceived, .nonExistent, nak(.shutdown)),
    .init(.operational, .unacceptableInitializationReceived(noHello), .nonExistent, nak(.shutdown)),
    .init(.operational, .keepAliveReceived, .operational),
    .init(.operational, .otherMessageReceived, .operational),
    .init(.operational, .timeout, .nonExistent, nak(.keepAliveTimerExpired)),
    .init(.operational, .fatalNotificationReceived, .nonExistent, [.closeConnection]),
    .init(.operational, .fatalErrorDetected(holdExpired), .nonExistent, nak(holdExpired)),
    .init(.operational, .connectionClosed, .nonExistent),
]

@Suite struct SessionStateMachineTests {
    @Test(arguments: stateMachineTable)
    func transition(_ row: StateMachineRow) {
        for role in row.roles {
            let result = sessionTransition(from: row.state, role: role, on: row.event)
            #expect(result.state == row.next, "\(role)")
            #expect(result.actions == row.actions, "\(role)")
        }
    }

    /// Every (state, role, event kind) appears exactly once in the table.
    @Test func tableCoversEveryPair() {
        func kind(_ event: SessionEvent) -> String {
            switch event {
            case .unacceptableInitializationReceived: "unacceptableInit"
            case .fatalErrorDetected: "fatalError"
            default: "\(event)"
            }
        }
        var seen: [String: Int] = [:]
        for row in stateMachineTable {
            for role in row.roles { seen["\(row.state)/\(role)/\(kind(row.event))", default: 0] += 1 }
        }
        for state in SessionState.allCases {
            for role in SessionRole.allCases {
                for event in SessionEvent.representatives {
                    #expect(seen["\(state)/\(role)/\(kind(event))"] == 1, "\(state) \(role) \(event)")
                }
            }
        }
        #expect(seen.count == SessionState.allCases.count * SessionRole.allCases.count * SessionEvent.representatives.count)
    }

    /// The status a NAK carries follows the event: the rejection's own code, or the fatal error's.
    @Test func nakCarriesTheEventsStatus() {
        let badKeepAlive = sessionTransition(from: .openSent, role: .active,
                                             on: .unacceptableInitializationReceived(.sessionRejectedBadKeepAliveTime))
        #expect(badKeepAlive.actions == nak(.sessionRejectedBadKeepAliveTime))
        let badIdentifier = sessionTransition(from: .operational, role: .passive, on: .fatalErrorDetected(.badLDPIdentifier))
        #expect(badIdentifier.actions == nak(.badLDPIdentifier))
    }
}
