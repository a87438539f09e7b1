// Helpers for driving one engine by hand.

import LDPCodec
@testable import LDPEngine

func ip(_ text: String) -> IPAddress { IPAddress(text)! }
func v4(_ text: String) -> IPv4Address { IPv4Address(text)! }
func ldpID(_ text: String) -> LDPIdentifier { LDPIdentifier(text)! }

/// A Hello PDU as a peer would send it.
func helloBytes(from peer: String, holdTime: UInt16 = 15, targeted: Bool = false, requestTargeted: Bool = false,
                gtsm: Bool = false, transport: String? = nil, sequence: UInt32? = 1, labelSpace: UInt16 = 0) -> [UInt8] {
    let hello = HelloMessage(
        parameters: CommonHelloParameters(holdTime: holdTime, targeted: targeted, requestTargeted: requestTargeted, gtsm: gtsm),
        ipv4TransportAddress: transport.map(v4), configurationSequenceNumber: sequence)
    return PDU(ldpIdentifier: LDPIdentifier(lsrID: v4(peer), labelSpace: labelSpace),
               messages: [Message(id: 7, body: .hello(hello))]).encoded()
}

/// One engine, a clock, and what it said.
struct EngineHarness {
    var engine: LDPEngine
    var now = EngineTime.zero
    var log: [EngineOutput] = []

    init(_ configuration: EngineConfiguration) {
        engine = LDPEngine(configuration: configuration)
    }

    @discardableResult
    mutating func handle(_ input: EngineInput) -> [EngineOutput] {
        let outputs = engine.handle(input, at: now)
        log += outputs
        return outputs
    }

    @discardableResult
    mutating func advance(to seconds: Int64, firing timer: TimerID) -> [EngineOutput] {
        now = .seconds(seconds)
        return handle(.timerFired(timer))
    }

    /// Start with interfaces up, each with one address.
    mutating func start(interfaces: [String: String]) {
        for (name, address) in interfaces.sorted(by: { $0.key < $1.key }) {
            handle(.interfaceChanged(name: name, isUp: true, addresses: [ip(address)]))
        }
        handle(.start)
    }
}

extension Array where Element == EngineOutput {
    var events: [EngineEvent] { compactMap { if case .event(let event) = $0 { event } else { nil } } }

    var connects: [(ConnectionID, IPAddress, IPAddress)] {
        compactMap { if case .connect(let id, let local, let remote, _, _) = $0 { (id, local, remote) } else { nil } }
    }

    var helloRejections: [String] {
        events.compactMap { if case .helloRejected(_, _, let reason) = $0 { reason } else { nil } }
    }

    func armed(_ timer: TimerID) -> EngineDuration? {
        for output in self.reversed() { if case .armTimer(timer, let after) = output { return after } }
        return nil
    }

    var sentHellos: [(interface: String?, destination: IPAddress, ttl: UInt8, hello: HelloMessage)] {
        compactMap { output in
            guard case .sendHello(let interface, _, let destination, let ttl, let bytes) = output,
                  let decoded = try? PDU.decode(bytes),
                  case .hello(let hello) = decoded.messages.first?.body else { return nil }
            return (interface, destination, ttl, hello)
        }
    }

    /// Messages in `send` outputs, decoded.
    var sentMessages: [Message] {
        flatMap { output -> [Message] in
            guard case .send(_, let bytes) = output else { return [] }
            var framer = PDUFramer()
            framer.append(bytes)
            var messages: [Message] = []
            while let pdu = try? framer.next() {
                if let decoded = try? PDU.decode(pdu) { messages += decoded.messages }
            }
            return messages
        }
    }
}
