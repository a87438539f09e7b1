import Foundation
import Testing
import LDPCodec
import MPLSTables
@testable import MPLSForwarding

/// Decodes an IPv4 packet with scapy (an independent implementation of RFC 792/4884/4950).
enum Scapy {
    static let python = "/usr/bin/python3"
    static let available: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return (try? run(["-c", "import scapy.all, scapy.contrib.icmp_extensions"]))?.status == 0
    }()

    static let script = """
    import sys, json
    from scapy.all import IP, ICMP, IPerror, UDPerror, checksum
    from scapy.contrib.icmp_extensions import ICMPExtensionHeader, ICMPExtensionMPLS
    from scapy.contrib.mpls import MPLS
    raw = bytes.fromhex(sys.argv[1])
    p = IP(raw)
    ip_ok = checksum(raw[:20]) == 0
    icmp = p[ICMP]
    icmp_raw = raw[20:]
    out = {"src": p.src, "dst": p.dst, "type": icmp.type, "code": icmp.code, "ip_checksum_ok": ip_ok,
           "icmp_checksum_ok": checksum(icmp_raw) == 0, "length": icmp.length,
           "mtu": icmp.nexthopmtu if icmp.type == 3 else 0}
    if IPerror in p:
        q = p[IPerror]
        out["quoted"] = {"src": q.src, "dst": q.dst, "id": q.id, "ttl": q.ttl}
        if UDPerror in p:
            out["quoted"]["sport"] = p[UDPerror].sport
            out["quoted"]["dport"] = p[UDPerror].dport
    if icmp.length:
        ext_raw = icmp_raw[8 + icmp.length * 4:]
        ext = ICMPExtensionHeader(ext_raw)
        out["ext_version"] = ext.version
        out["ext_checksum_ok"] = checksum(ext_raw) == 0
        obj = ext.payload
        if isinstance(obj, ICMPExtensionMPLS):
            entries = []
            for e in obj.stack:
                # scapy nests an entry without S inside the one above it.
                while isinstance(e, MPLS):
                    entries.append([e.label, e.s, e.ttl])
                    e = e.payload
            out["stack"] = entries
    print(json.dumps(out))
    """

    struct Decoded: Decodable {
        struct Quoted: Decodable { var src: String; var dst: String; var id: Int; var ttl: Int; var sport: Int?; var dport: Int? }
        var src: String
        var dst: String
        var type: Int
        var code: Int
        var ip_checksum_ok: Bool
        var icmp_checksum_ok: Bool
        var length: Int
        var mtu: Int
        var quoted: Quoted?
        var ext_version: Int?
        var ext_checksum_ok: Bool?
        var stack: [[Int]]?
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func decode(_ ip: [UInt8]) throws -> Decoded {
        let hex = ip.map { String(format: "%02x", $0) }.joined()
        let result = try run(["-c", script, hex])
        return try JSONDecoder().decode(Decoded.self, from: Data(result.output.utf8))
    }
}

@Suite struct ICMPGenerationTests {
    let snapshot = F.snapshot()

    @Test(arguments: [UInt32(1), 0])
    func ttlExpiryIsSentOnAlongTheLSP(ttl: UInt32) throws {
        let run = Run(snapshot, labelled: F.labelled([100], ttl: ttl), ingress: 0)
        #expect(run.verdict == .transmit(interfaceSlot: 1))
        #expect(run.workspace.generatedICMP)
        #expect(snapshot.drops(.ttlExpired) == 1)
        #expect(snapshot.icmpGenerated == 1)
        // RFC 3032 §2.3.2: the same outgoing label as the original would have had.
        #expect(Array(run.output[0..<18]) == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847) + F.entry(200, bottom: true, ttl: 255))
        let ip = Array(run.output[18...])
        #expect(ip.count == 20 + 8 + 128 + 8 + 4)
        #expect(ip[12..<20] == [10, 0, 1, 1, 172, 16, 1, 10])
        #expect(ip[20] == 11 && ip[21] == 0)
        try #require(Scapy.available, "python3-scapy is not installed: decoding skipped")
        let decoded = try Scapy.decode(ip)
        #expect(decoded.type == 11 && decoded.code == 0)
        #expect(decoded.src == "10.0.1.1" && decoded.dst == "172.16.1.10")
        #expect(decoded.ip_checksum_ok && decoded.icmp_checksum_ok)
        #expect(decoded.length == 32)
        #expect(decoded.quoted?.src == "172.16.1.10" && decoded.quoted?.dst == "10.9.0.5")
        #expect(decoded.quoted?.id == 0x1234 && decoded.quoted?.ttl == 64)
        #expect(decoded.quoted?.sport == 40000 && decoded.quoted?.dport == 53)
        #expect(decoded.ext_version == 2 && decoded.ext_checksum_ok == true)
        #expect(decoded.stack == [[100, 1, Int(ttl)]])
    }

    @Test func ttlExpiryUnderAStackQuotesTheWholeStack() throws {
        let frame = F.ethernet(type: 0x8847) + F.entry(100, bottom: false, ttl: 1) + F.entry(555, bottom: true, ttl: 40) + F.udp()
        let run = Run(snapshot, labelled: frame, ingress: 1)
        #expect(run.verdict == .transmit(interfaceSlot: 1))
        #expect(Array(run.output[12..<22]) == [0x88, 0x47] + F.entry(200, bottom: false, ttl: 255) + F.entry(555, bottom: true, ttl: 255))
        try #require(Scapy.available, "python3-scapy is not installed: decoding skipped")
        let decoded = try Scapy.decode(Array(run.output[22...]))
        #expect(decoded.src == "10.0.2.1")
        #expect(decoded.stack == [[100, 0, 1], [555, 1, 40]])
    }

    @Test func ttlExpiryAtThePenultimateHopLeavesAsIP() throws {
        let run = Run(snapshot, labelled: F.labelled([101], ttl: 1))
        #expect(run.verdict == .transmit(interfaceSlot: 1))
        #expect(Array(run.output[0..<14]) == F.ethernet(dst: F.peerB, src: F.macB, type: 0x0800))
        try #require(Scapy.available, "python3-scapy is not installed: decoding skipped")
        let decoded = try Scapy.decode(Array(run.output[14...]))
        #expect(decoded.type == 11)
        #expect(decoded.stack == [[101, 1, 1]])
    }

    @Test func ttlExpiryWithoutAUsableHopGoesToTheLocalStack() throws {
        let run = Run(snapshot, labelled: F.labelled([105], ttl: 1))
        #expect(run.verdict == .deliver)
        try #require(Scapy.available, "python3-scapy is not installed: decoding skipped")
        let decoded = try Scapy.decode(run.output)
        #expect(decoded.type == 11 && decoded.dst == "172.16.1.10")
    }

    @Test func noErrorAboutAnICMPError() {
        var error = F.udp()
        error[9] = 1
        error[20] = 11
        let run = Run(snapshot, labelled: F.labelled([100], ttl: 1, payload: error))
        #expect(run.verdict == .drop(.ttlExpired))
        #expect(snapshot.icmpGenerated == 0)
    }

    @Test func tooBigWithDontFragmentReportsTheMTULessTheLabels() throws {
        let run = Run(snapshot, labelled: F.labelled([104], payload: F.udp(payload: 1000 - 28, dontFragment: true)))
        #expect(run.verdict == .transmit(interfaceSlot: 2))
        #expect(Array(run.output[0..<18]) == F.ethernet(dst: F.peerC, src: F.macC, type: 0x8847) + F.entry(204, bottom: true, ttl: 255))
        #expect(snapshot.drops(.mtuExceeded) == 1)
        try #require(Scapy.available, "python3-scapy is not installed: decoding skipped")
        let decoded = try Scapy.decode(Array(run.output[18...]))
        #expect(decoded.type == 3 && decoded.code == 4)
        #expect(decoded.mtu == 996)
        #expect(decoded.icmp_checksum_ok)
        #expect(decoded.stack == [[104, 1, 64]])
    }

    @Test func tooBigAtIngressGoesBackThroughTheLocalStack() throws {
        let run = Run(snapshot, ip: F.udp(dst: [10, 7, 0, 1], payload: 1000 - 28, dontFragment: true))
        #expect(run.verdict == .deliver)
        try #require(Scapy.available, "python3-scapy is not installed: decoding skipped")
        let decoded = try Scapy.decode(run.output)
        #expect(decoded.type == 3 && decoded.code == 4 && decoded.mtu == 996)
        #expect(decoded.src == "192.0.2.99" && decoded.dst == "172.16.1.10")
        #expect(decoded.length == 0 && decoded.stack == nil)
        #expect(decoded.quoted?.dst == "10.7.0.1")
    }
}
