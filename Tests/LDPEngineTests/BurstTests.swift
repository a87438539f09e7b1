import Testing
import LDPCodec
@testable import LDPEngine

@Suite struct BurstTests {
    /// A full table's worth of Label Mappings arriving in one read is framed, decoded and
    /// counted; the keepalive timer is satisfied by it.
    @Test func hundredThousandMappingsInOneRead() throws {
        var network = InMemoryNetwork()
        network.addNode("A", lsrID: "1.1.1.1")
        network.addNode("B", lsrID: "2.2.2.2")
        network.connect("A", "B", subnet: 12)
        network.startAll()
        #expect(network.run(until: .seconds(30)) { $0.isOperational("A", "B") })
        let connection = try #require(network.node("A").engine.neighbors(at: network.now).first?.connection)
        let count = 100_000
        func mapping(_ index: Int) -> Message {
            let prefix = IPPrefix(IPv4Address(rawValue: 0x0B00_0000 + UInt32(index)), length: 32)
            let body = LabelMappingMessage(fec: [.prefix(prefix)], label: .generic(UInt32(16 + index)))
            return Message(id: UInt32(index + 1000), body: .labelMapping(body))
        }
        let messages = (0..<count).map(mapping)
        let stream = PDUPacking.stream(messages, from: network.node("B").identifier, maximumLength: 4096)
        let clock = ContinuousClock()
        let start = clock.now
        network.inject("A", .dataReceived(connection, stream))
        network.run(for: .milliseconds(1))
        let elapsed = clock.now - start
        let neighbor = network.node("A").engine.neighbors(at: network.now).first
        #expect(neighbor?.messagesReceived[.labelMapping] == UInt64(count))
        #expect(network.isOperational("A", "B"))
        #expect(elapsed < .seconds(60), "\(elapsed)")
    }
}

@Suite struct AdvertisementPackingTests {
    /// 100,000 FECs go out packed: every PDU but the last of a burst is nearly full.
    @Test func hundredThousandFECsLeaveInFullPDUs() throws {
        var network = InMemoryNetwork()
        network.addNode("A", lsrID: "1.1.1.1")
        network.addNode("B", lsrID: "2.2.2.2")
        network.connect("A", "B", subnet: 12)
        let count = 100_000
        for index in 0..<count {
            let prefix = IPPrefix(IPv4Address(rawValue: 0x0B00_0000 + UInt32(index)), length: 32)
            network.addRoute("A", Route(prefix: prefix, nextHops: [.init(address: nil, interface: "lo")], isLocal: true))
        }
        network.startAll()
        let clock = ContinuousClock()
        let start = clock.now
        #expect(network.run(until: .seconds(30)) { $0.isOperational("A", "B") })
        network.run(for: .seconds(1))
        let elapsed = clock.now - start
        let received = network.node("B").engine.neighbors(at: network.now).first?.messagesReceived[.labelMapping]
        #expect(received == UInt64(count))
        #expect(network.node("B").engine.labelBindings.filter { !$0.remoteBindings.isEmpty }.count >= count)
        // Count the PDUs A sent and how full they were.
        var sizes: [Int] = []
        for entry in network.wire where entry.from.node == "A" {
            var framer = PDUFramer()
            framer.append(entry.bytes)
            while let pdu = try framer.next() { sizes.append(pdu.count) }
        }
        let full = sizes.filter { $0 > 4096 - 40 }.count
        #expect(sizes.allSatisfy { $0 <= 4096 })
        #expect(full >= sizes.reduce(0, +) / 4096 - 2, "\(sizes.count) PDUs, \(full) nearly full")
        #expect(elapsed < .seconds(120), "\(elapsed)")
    }
}
