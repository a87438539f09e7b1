import Testing
import LDPCodec
@testable import LDPEngine

@Suite struct SessionNegotiationTests {
    let proposal = LocalSessionProposal(ldpIdentifier: ldpID("1.1.1.1:0"), keepAliveTime: 180, maximumPDULength: 4096)

    func initialization(keepAlive: UInt16 = 60, maxPDU: UInt16 = 0, receiver: String = "1.1.1.1:0",
                        version: UInt16 = 1, capabilities: [Capability] = []) -> InitializationMessage {
        InitializationMessage(parameters: CommonSessionParameters(protocolVersion: version, keepAliveTime: keepAlive,
                                                                  maximumPDULength: maxPDU,
                                                                  receiverLDPIdentifier: ldpID(receiver)),
                              capabilities: capabilities)
    }

    @Test func keepAliveIsTheSmallerProposal() throws {
        #expect(try proposal.negotiate(with: initialization(keepAlive: 60)).get().keepAliveTime == 60)
        #expect(try proposal.negotiate(with: initialization(keepAlive: 300)).get().keepAliveTime == 180)
        #expect(try proposal.negotiate(with: initialization(keepAlive: 30)).get().keepAliveInterval == .seconds(10))
    }

    @Test(arguments: [(UInt16(0), 4096), (255, 4096), (256, 256), (1500, 1500), (9000, 4096)])
    func maximumPDULength(_ row: (proposed: UInt16, expected: Int)) throws {
        #expect(try proposal.negotiate(with: initialization(maxPDU: row.proposed)).get().maximumPDULength == row.expected)
    }

    @Test func rejections() {
        func code(_ message: InitializationMessage) -> StatusCode? {
            if case .failure(let rejection) = proposal.negotiate(with: message) { rejection.code } else { nil }
        }
        #expect(code(initialization(receiver: "9.9.9.9:0")) == .sessionRejectedNoHello)
        #expect(code(initialization(receiver: "1.1.1.1:1")) == .sessionRejectedNoHello)
        #expect(code(initialization(keepAlive: 0)) == .sessionRejectedBadKeepAliveTime)
        #expect(code(initialization(version: 2)) == .badProtocolVersion)
        #expect(code(initialization()) == nil)
    }

    @Test func downstreamOnDemandResolvesToUnsolicited() throws {
        var message = initialization()
        message.parameters.downstreamOnDemand = true
        message.parameters.loopDetection = true
        message.parameters.pathVectorLimit = 10
        let negotiated = try proposal.negotiate(with: message).get()
        #expect(negotiated.peerProposedDownstreamOnDemand)
        #expect(negotiated.peerLoopDetection)
    }

    @Test func capabilitiesAreRecordedAndUnknownOnesIgnored() throws {
        let negotiated = try proposal.negotiate(with: initialization(capabilities: [
            .typedWildcardFEC, .unrecognizedNotification, Capability(type: 0x0999),
        ]), unknownTLVs: [UnknownTLV(type: 0x0998, unknownBit: true, forwardBit: false, value: [0x80])]).get()
        #expect(negotiated.peerCapabilities == PeerCapabilities(typedWildcardFEC: true, unrecognizedNotification: true,
                                                                 dynamicAnnouncement: false))
        #expect(negotiated.ignoredTLVs == [0x0998, 0x0999])
    }

    @Test func ourInitializationAnnouncesAllThreeCapabilities() {
        let message = proposal.initialization(to: ldpID("2.2.2.2:0"))
        #expect(message.parameters.receiverLDPIdentifier == ldpID("2.2.2.2:0"))
        #expect(message.parameters.keepAliveTime == 180)
        #expect(!message.parameters.downstreamOnDemand && !message.parameters.loopDetection)
        #expect(Set(message.capabilities.map(\.type)) == [0x0506, 0x050B, 0x0603])
    }

    @Test func packingRespectsTheMaximumPDULength() throws {
        let messages = (0..<1000).map { index in
            Message(id: UInt32(index + 1), body: .address(AddressList([IPv4Address(rawValue: 0x0A00_0000 + UInt32(index))])))
        }
        for maximum in [4096, 1000, 300] {
            let stream = PDUPacking.stream(messages, from: ldpID("1.1.1.1:0"), maximumLength: maximum)
            var framer = PDUFramer(maximumLength: maximum)
            framer.append(stream)
            var decoded: [Message] = []
            var pdus = 0
            while let pdu = try framer.next() {
                #expect(pdu.count <= maximum)
                let result = try PDU.decode(pdu, maximumLength: maximum)
                #expect(result.ldpIdentifier == ldpID("1.1.1.1:0"))
                decoded += result.messages
                pdus += 1
            }
            #expect(decoded == messages)
            let perMessage = messages[0].encoded().count
            #expect(pdus == (messages.count + (maximum - 10) / perMessage - 1) / ((maximum - 10) / perMessage), "full PDUs")
        }
    }

    @Test func packedHeaderMatchesTheCodec() {
        let messages = [Message(id: 1, body: .keepAlive), Message(id: 2, body: .keepAlive)]
        let identifier = ldpID("1.2.3.4:0")
        #expect(PDUPacking.stream(messages, from: identifier, maximumLength: 4096)
                == PDU(ldpIdentifier: identifier, messages: messages).encoded())
    }
}
