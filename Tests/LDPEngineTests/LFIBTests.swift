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
}
