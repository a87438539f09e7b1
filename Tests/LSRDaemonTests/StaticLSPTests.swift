import Testing
import LDPCodec
import MPLSTables
@testable import LSRDaemon

@Suite struct StaticLSPTests {
    static let eth1 = "eth1"

    static func lsp(_ key: LFIBKey, _ via: String, _ labels: [UInt32], interface: String = eth1) -> StaticLSP {
        let fec: IPPrefix = if case .prefix(let prefix) = key { prefix } else { IPPrefix(IPv4Address.any, length: 0) }
        return StaticLSP(key: key, fec: fec, nextHop: LFIBNextHop(address: .v4(IPv4Address(via)!), interface: interface, outLabels: labels))
    }

    static func ldpEntry(_ label: UInt32, out: UInt32) -> LFIBEntry {
        LFIBEntry(key: .label(label), fec: IPPrefix("10.255.0.3/32")!,
                  nextHops: [LFIBNextHop(address: .v4(IPv4Address("10.0.2.2")!), interface: "eth0", outLabels: [out])])
    }

    @Test func configurationParsesSwapPopPushAndECMP() throws {
        let text = """
        router-id: 10.255.0.1
        label-range: 1000-1999
        static-lsps:
          - { in-label: 100, via: 10.0.2.2, interface: eth1, out-labels: [200] }
          - { in-label: 100, via: 10.0.3.2, interface: eth2, out-labels: [201] }
          - { in-label: 101, via: 10.0.2.2, interface: eth1, out-labels: [implicit-null], fec: 10.9.0.0/16 }
          - { prefix: 10.9.0.0/16, via: 10.0.2.2, interface: eth1, out-labels: [300, explicit-null] }
        """
        let configuration = try DaemonConfiguration.parse(text, file: "pe1.yaml")
        let entries = LayeredLFIB.entries(configuration.staticLSPs)
        #expect(entries[.label(100)]?.nextHops.map(\.outLabels) == [[200], [201]])
        #expect(entries[.label(100)]?.action == .swap)
        #expect(entries[.label(101)]?.action == .pop)
        #expect(entries[.label(101)]?.fec == IPPrefix("10.9.0.0/16"))
        #expect(entries[.prefix(IPPrefix("10.9.0.0/16")!)]?.nextHops.first?.outLabels == [300, 0])
        #expect(entries[.prefix(IPPrefix("10.9.0.0/16")!)]?.action == .push)
    }

    @Test(arguments: [
        ("static-lsps:\n  - { in-label: 1500, via: 10.0.2.2, interface: eth1, out-labels: [200] }\n",
         "key 'static-lsps.in-label': 1500 is inside label-range 1000-1999"),
        ("static-lsps:\n  - { in-label: 3, via: 10.0.2.2, interface: eth1, out-labels: [200] }\n",
         "key 'static-lsps.in-label': '3' is not a label in 16...1048575"),
        ("static-lsps:\n  - { via: 10.0.2.2, interface: eth1, out-labels: [200] }\n", "key 'static-lsps.in-label': missing"),
        ("static-lsps:\n  - { in-label: 100, prefix: 10.9.0.0/16, via: 10.0.2.2, interface: eth1, out-labels: [200] }\n",
         "give in-label or prefix, not both"),
        ("static-lsps:\n  - { in-label: 100, interface: eth1, out-labels: [200] }\n", "key 'static-lsps.via': missing"),
        ("static-lsps:\n  - { in-label: 100, via: 10.0.2.2, out-labels: [200] }\n", "key 'static-lsps.interface': missing"),
        ("static-lsps:\n  - { in-label: 100, via: 10.0.2.2, interface: eth1, out-labels: [] }\n", "[implicit-null] alone to pop"),
        ("static-lsps:\n  - { in-label: 100, via: 10.0.2.2, interface: eth1, out-labels: [5, implicit-null] }\n",
         "5 is a special-purpose label"),
        ("static-lsps:\n  - { in-label: 100, via: 10.0.2.2, interface: eth1, out-labels: [200, implicit-null] }\n",
         "[implicit-null] alone to pop"),
        ("static-lsps:\n  - { prefix: 10.9.0.0/16, via: 10.0.2.2, interface: eth1, out-labels: [implicit-null] }\n",
         "a prefix LSP must push a label"),
        ("static-lsps:\n  - { prefix: 10.9.0.1/16, via: 10.0.2.2, interface: eth1, out-labels: [300] }\n", "has host bits set"),
        ("static-lsps:\n  - { in-label: 100, via: 10.0.2.2, interface: eth1, out-labels: [2000000] }\n", "'2000000' is not a label"),
        ("static-lsps:\n  - { in-label: 100, via: 10.0.2.2, interface: eth1, out-labels: [200] }\n  - { in-label: 100, via: 10.0.2.2, interface: eth1, out-labels: [201] }\n",
         "bad.yaml:5: key 'static-lsps': label 100 via 10.0.2.2 on eth1 is listed twice"),
        ("static-lsps:\n  - { in-label: 100, via: 10.0.2.2, interface: eth1, out-labels: [200], ttl: 5 }\n", "key 'static-lsps.ttl': unknown key"),
    ])
    func badStaticLSPsAreRefused(_ body: String, _ expected: String) {
        let text = "router-id: 1.1.1.1\nlabel-range: 1000-1999\n" + body
        #expect {
            _ = try DaemonConfiguration.parse(text, file: "bad.yaml")
        } throws: { error in
            let message = (error as? ConfigurationError)?.description ?? "\(error)"
            if !message.contains(expected) { print("got: \(message)\nwanted: \(expected)") }
            return message.contains(expected)
        }
    }

    @Test func staticEntriesWinAndLDPComesBack() {
        var layers = LayeredLFIB()
        let ldp = Self.ldpEntry(100, out: 500)
        #expect(layers.applyLDP([.replace(ldp), .replace(Self.ldpEntry(101, out: 501))]).count == 2)
        // A static LSP on label 100 replaces LDP's entry; LDP's later changes to it are held back.
        let fixed = Self.lsp(.label(100), "10.0.2.9", [900])
        let changes = layers.setStatic([fixed])
        #expect(changes == [.replace(LayeredLFIB.entries([fixed])[.label(100)]!)])
        #expect(layers.applyLDP([.replace(Self.ldpEntry(100, out: 600))]).isEmpty)
        #expect(layers.effective.entries[.label(100)]?.nextHops.first?.outLabels == [900])
        #expect(layers.applyLDP([.remove(.label(101))]) == [.remove(.label(101))])
        // Removing the static LSP brings back LDP's newest entry for the key.
        #expect(layers.setStatic([]) == [.replace(Self.ldpEntry(100, out: 600))])
        #expect(layers.effective == layers.ldp)
    }

    @Test func reloadChangesOnlyWhatDiffers() {
        var layers = LayeredLFIB()
        let swap = Self.lsp(.label(100), "10.0.2.2", [200])
        let push = Self.lsp(.prefix(IPPrefix("10.9.0.0/16")!), "10.0.2.2", [300])
        #expect(layers.setStatic([swap, push]).count == 2)
        #expect(layers.setStatic([swap, push]).isEmpty)
        let moved = Self.lsp(.prefix(IPPrefix("10.9.0.0/16")!), "10.0.2.2", [301])
        #expect(layers.setStatic([swap, moved]) == [.replace(LayeredLFIB.entries([moved])[moved.key]!)])
        #expect(layers.setStatic([moved]) == [.remove(.label(100))])
        #expect(layers.effective.entries.count == 1)
    }
}
