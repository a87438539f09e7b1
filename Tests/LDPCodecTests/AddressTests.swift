import Testing
@testable import LDPCodec

@Suite struct AddressTests {
    @Test func ipv4TextRoundTrip() {
        #expect(IPv4Address("10.0.12.1")?.description == "10.0.12.1")
        #expect(IPv4Address("10.0.12") == nil)
        #expect(IPv4Address("256.0.0.1") == nil)
        #expect(IPv4Address("01.0.0.1") == nil)
    }

    @Test func ipv6TextRoundTrip() {
        for text in ["::", "::1", "2001:db8::1", "fe80::1:2", "2001:db8:0:1:1:1:1:1", "1::"] {
            #expect(IPv6Address(text)?.description == text)
        }
        #expect(IPv6Address("1:2:3:4:5:6:7:8:9") == nil)
        #expect(IPv6Address("1::2::3") == nil)
    }

    @Test func prefixesAreMasked() {
        #expect(IPPrefix("10.1.2.3/8")?.description == "10.0.0.0/8")
        #expect(IPPrefix("10.1.2.3/33") == nil)
        #expect(IPPrefix("2001:db8::1/32")?.description == "2001:db8::/32")
        #expect(IPPrefix("10.0.0.0/8")!.contains(.v4(IPv4Address("10.9.9.9")!)))
        #expect(LDPIdentifier("1.1.1.1:0")?.description == "1.1.1.1:0")
    }
}
