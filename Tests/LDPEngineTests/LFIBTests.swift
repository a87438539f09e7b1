import Testing
import LDPCodec
@testable import MPLSTables

@Suite struct LFIBTests {
    @Test func actionsFollowKeyAndLabels() {
        let fec = IPPrefix("10.0.0.1/32")!
        let hop = { (labels: [UInt32]) in LFIBNextHop(address: IPAddress("10.0.12.2"), interface: "eth0", outLabels: labels) }
        #expect(LFIBEntry(key: .label(16), fec: fec, nextHops: [hop([3])]).action == .pop)
        #expect(LFIBEntry(key: .label(16), fec: fec, nextHops: [hop([17])]).action == .swap)
        #expect(LFIBEntry(key: .prefix(fec), fec: fec, nextHops: [hop([17])]).action == .push)
        var lfib = LFIB()
        lfib.apply([.replace(LFIBEntry(key: .label(16), fec: fec, nextHops: [hop([3])])), .remove(.label(16))])
        #expect(lfib.entries.isEmpty)
    }

    @Test func selectorsPickWhatTheOperatorNames() {
        let hop = { (labels: [UInt32]) in LFIBNextHop(address: IPAddress("10.0.12.2"), interface: "eth0", outLabels: labels) }
        let loopback = IPPrefix("10.255.0.3/32")!, customers = IPPrefix("192.168.2.0/24")!, wide = IPPrefix("10.0.0.0/8")!
        let lfib = LFIB([
            LFIBEntry(key: .prefix(loopback), fec: loopback, nextHops: [hop([17])]),
            LFIBEntry(key: .label(17), fec: loopback, nextHops: [hop([3])]),
            LFIBEntry(key: .prefix(customers), fec: customers, nextHops: [hop([17])]),
            LFIBEntry(key: .label(18), fec: wide, nextHops: [hop([20])]),
        ])
        func keys(_ text: String) -> [LFIBKey]? { LFIBSelector(text).map { lfib.entries(selectedBy: $0).map(\.key) } }
        #expect(keys("17") == [.label(17)])
        #expect(keys("99") == [])
        #expect(keys("10.255.0.3/32") == [.prefix(loopback), .label(17)])
        #expect(keys("10.255.0.0/24") == [])
        // An address: the entries of the longest FEC that holds it, whatever their key.
        #expect(keys("10.255.0.3") == [.prefix(loopback), .label(17)])
        #expect(keys("10.255.0.4") == [.label(18)])
        #expect(keys("192.168.2.1") == [.prefix(customers)])
        #expect(keys("8.8.8.8") == [])
        #expect(keys("2000000") == nil, "above 20 bits, and not an address")
        #expect(keys("pe2") == nil)
        #expect(keys("10.0.0.0/33") == nil)
    }
}
