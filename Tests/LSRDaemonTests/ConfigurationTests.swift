import Testing
import LDPCodec
import MPLSForwarding
@testable import LSRDaemon

@Suite struct ConfigurationTests {
    @Test func fullFileParses() throws {
        let text = """
        router-id: 1.1.1.1
        transport-address: 10.255.0.1
        interfaces:
          - eth0
          - { name: eth1, hello-interval: 1, hold-time: 3 }
        targeted-neighbors:
          - { address: 3.3.3.3, hello-interval: 10, hold-time: 30 }
        accept-targeted-hellos: true
        neighbors:
          - { lsr-id: 2.2.2.2, password: s3cret }
        keepalive: 60
        session-backoff: { initial: 20, maximum: 300 }
        gtsm: false
        label-range: 1000-1999
        explicit-null: true
        label-control: ordered
        labels-for: [10.0.0.0/8, 192.168.1.0/24]
        dataplane: userspace
        control-socket: /run/lsrd/test.sock
        log-level: debug
        """
        let configuration = try DaemonConfiguration.parse(text, file: "r1.yaml")
        #expect(configuration.routerID == IPv4Address("1.1.1.1"))
        #expect(configuration.effectiveTransportAddress == IPv4Address("10.255.0.1"))
        #expect(configuration.interfaces == [.init(name: "eth0"), .init(name: "eth1", helloInterval: 1, holdTime: 3)])
        #expect(configuration.targetedNeighbors == [.init(address: IPv4Address("3.3.3.3")!, helloInterval: 10, holdTime: 30)])
        #expect(configuration.acceptTargetedHellos)
        #expect(configuration.password(for: IPv4Address("2.2.2.2")!) == "s3cret")
        #expect(configuration.keepAlive == 60)
        #expect(configuration.sessionBackoff == .init(initial: 20, maximum: 300))
        #expect(configuration.engineConfiguration.sessionBackoff == .init(initial: 20, maximum: 300))
        #expect(!configuration.gtsm)
        #expect(configuration.labelRange == 1000...1999)
        #expect(configuration.explicitNull)
        #expect(configuration.labelControl == .ordered)
        #expect(configuration.labelsFor == .prefixes([IPPrefix("10.0.0.0/8")!, IPPrefix("192.168.1.0/24")!]))
        #expect(configuration.dataplane == .userspace)
        #expect(configuration.controlSocket == "/run/lsrd/test.sock")
        #expect(configuration.logLevel == .debug)
    }

    @Test func defaults() throws {
        let configuration = try DaemonConfiguration.parse("router-id: 2.2.2.2\n", file: "r2.yaml")
        #expect(configuration.effectiveTransportAddress == IPv4Address("2.2.2.2"))
        #expect(configuration.labelRange == 16...1_048_575)
        #expect(configuration.labelControl == .independent)
        #expect(configuration.dataplane == .auto)
        #expect(configuration.gtsm)
        #expect(configuration.keepAlive == 180)
        #expect(configuration.sessionBackoff == .init(initial: 15, maximum: 120))
    }

    @Test func staticRoutesParse() throws {
        let text = """
        router-id: 10.255.0.1
        static-routes:
          - { prefix: 192.168.2.0/24, via: 10.255.0.3 }
          - prefix: 192.168.3.0/24
            via: 10.255.0.4
        """
        let configuration = try DaemonConfiguration.parse(text, file: "pe1.yaml")
        #expect(configuration.staticRoutes == [
            StaticRoute(prefix: IPPrefix("192.168.2.0/24")!, via: IPv4Address("10.255.0.3")!),
            StaticRoute(prefix: IPPrefix("192.168.3.0/24")!, via: IPv4Address("10.255.0.4")!),
        ])
        #expect(try DaemonConfiguration.parse("router-id: 1.1.1.1\n", file: "x.yaml").staticRoutes.isEmpty)
    }

    @Test func staticRoutesWhoseLoopbackGetsNoLocalLabelAreNamed() throws {
        let routes = """
        static-routes:
          - { prefix: 192.168.2.0/24, via: 10.255.0.3 }
          - { prefix: 192.168.3.0/24, via: 10.255.0.4 }
        """
        let narrow = try DaemonConfiguration.parse("router-id: 10.255.0.1\nlabels-for: [10.255.0.1/32, 10.255.0.3/32]\n" + routes, file: "pe1.yaml")
        #expect(narrow.staticRoutesWithoutLocalLabel == [StaticRoute(prefix: IPPrefix("192.168.3.0/24")!, via: IPv4Address("10.255.0.4")!)])
        for labelsFor in ["all", "host-routes"] {
            let text = "router-id: 10.255.0.1\nlabels-for: \(labelsFor)\n" + routes
            #expect(try DaemonConfiguration.parse(text, file: "pe1.yaml").staticRoutesWithoutLocalLabel.isEmpty, "\(labelsFor)")
        }
    }

    @Test func userspaceOptionsParse() throws {
        let text = """
        router-id: 10.255.0.1
        userspace:
          polling: low-latency
          threads: 2
          cpus: [0]
          ring-frames: 4096
          ttl-model: pipe
          customer-interfaces: [ce0, ce1]
        """
        let options = try DaemonConfiguration.parse(text, file: "pe1.yaml").userspace
        #expect(options.customerInterfaces == ["ce0", "ce1"])
        #expect(options.polling == .lowLatency)
        #expect(options.threads == 2)
        #expect(options.cpus == [0])
        #expect(options.ringFrames == 4096)
        #expect(options.ttlModel == .pipe)
        let defaults = try DaemonConfiguration.parse("router-id: 1.1.1.1\n", file: "x.yaml").userspace
        #expect(defaults == UserspaceDataplaneOptions())
        #expect(defaults.polling == .adaptive && defaults.threads == 1 && defaults.ttlModel == .uniform)
    }

    struct BadFile: Sendable, CustomTestStringConvertible {
        var text: String
        var expected: String
        var testDescription: String { expected }
    }

    static let badFiles: [BadFile] = [
        .init(text: "router-id: [1.1.1.1\n", expected: "bad.yaml:2: not valid YAML"),
        .init(text: "router-id: 1.1.1.1\nfoo: 1\n", expected: "bad.yaml:2: key 'foo': unknown key"),
        .init(text: "router-id: 1.1.1.300\n", expected: "bad.yaml:1: key 'router-id': '1.1.1.300' is not an IPv4 address"),
        .init(text: "transport-address: 1.1.1.1\n", expected: "key 'router-id': missing"),
        .init(text: "", expected: "bad.yaml: the file is empty"),
        .init(text: "router-id: 1.1.1.1\nlabel-range: 2000-1000\n", expected: "bad.yaml:2: key 'label-range': inverted: 2000 is above 1000"),
        .init(text: "router-id: 1.1.1.1\nlabel-range: 3-100\n", expected: "bad.yaml:2: key 'label-range': labels below 16 are reserved"),
        .init(text: "router-id: 1.1.1.1\nlabel-range: 16-2000000\n", expected: "key 'label-range': labels are 20 bits"),
        .init(text: "router-id: 1.1.1.1\nlabel-range: lots\n", expected: "key 'label-range': 'lots' is not a range"),
        .init(text: "router-id: 1.1.1.1\ninterfaces:\n  - eth0\n  - eth0\n", expected: "bad.yaml:4: key 'interfaces': interface 'eth0' is listed twice"),
        .init(text: "router-id: 1.1.1.1\ninterfaces:\n  - { name: eth0, hello: 5 }\n", expected: "bad.yaml:3: key 'interfaces.hello': unknown key"),
        .init(text: "router-id: 1.1.1.1\ninterfaces:\n  - { name: eth0, hello-interval: 5, hold-time: 5 }\n", expected: "key 'interfaces.hold-time': hold time 5 s must exceed"),
        .init(text: "router-id: 1.1.1.1\ninterfaces:\n  - this/is/bad\n", expected: "key 'interfaces.name': 'this/is/bad' is not a valid interface name"),
        .init(text: "router-id: 1.1.1.1\ndataplane: fast\n", expected: "bad.yaml:2: key 'dataplane': 'fast' is not one of kernel, userspace, both, auto"),
        .init(text: "router-id: 1.1.1.1\nlabel-control: eager\n", expected: "key 'label-control': 'eager' is not one of independent, ordered"),
        .init(text: "router-id: 1.1.1.1\ngtsm: maybe\n", expected: "key 'gtsm': 'maybe' is not true or false"),
        .init(text: "router-id: 1.1.1.1\nkeepalive: 5\n", expected: "key 'keepalive': '5' is not a whole number of seconds in 15...65535"),
        .init(text: "router-id: 1.1.1.1\nsession-backoff: { initial: 5 }\n",
              expected: "key 'session-backoff.initial': '5' is not a whole number of seconds in 15...65535"),
        .init(text: "router-id: 1.1.1.1\nsession-backoff: { maximum: 60 }\n",
              expected: "key 'session-backoff.maximum': '60' is not a whole number of seconds in 120...65535"),
        .init(text: "router-id: 1.1.1.1\nsession-backoff: { initial: 600, maximum: 300 }\n",
              expected: "bad.yaml:2: key 'session-backoff': the maximum (300 s) is below the initial delay (600 s)"),
        .init(text: "router-id: 1.1.1.1\nsession-backoff: { first: 20 }\n", expected: "key 'session-backoff.first': unknown key"),
        .init(text: "router-id: 1.1.1.1\nlabels-for: [10.0.0.0/33]\n", expected: "key 'labels-for': '10.0.0.0/33' is not a prefix"),
        .init(text: "router-id: 1.1.1.1\nneighbors:\n  - { lsr-id: 2.2.2.2, password: \"\" }\n", expected: "key 'neighbors.password': must be 1 to 80 characters"),
        .init(text: "router-id: 1.1.1.1\ntargeted-neighbors:\n  - { hello-interval: 5 }\n", expected: "key 'targeted-neighbors.address': missing"),
        .init(text: "router-id: 1.1.1.1\ncontrol-socket: relative.sock\n", expected: "key 'control-socket': must be an absolute path"),
        .init(text: "router-id: 1.1.1.1\nrouter-id: 2.2.2.2\n", expected: "bad.yaml:2: key 'router-id': given twice"),
        .init(text: "- just\n- a list\n", expected: "bad.yaml:1: expected a mapping of keys"),
        .init(text: "router-id: 1.1.1.1\nstatic-routes:\n  - { prefix: 192.168.2.0/24 }\n", expected: "bad.yaml:3: key 'static-routes.via': missing"),
        .init(text: "router-id: 1.1.1.1\nstatic-routes:\n  - { via: 3.3.3.3 }\n", expected: "bad.yaml:3: key 'static-routes.prefix': missing"),
        .init(text: "router-id: 1.1.1.1\nstatic-routes:\n  - { prefix: 192.168.2.0/24, via: 3.3.3.3, metric: 5 }\n",
              expected: "bad.yaml:3: key 'static-routes.metric': unknown key"),
        .init(text: "router-id: 1.1.1.1\nstatic-routes:\n  - { prefix: 192.168.2.0, via: 3.3.3.3 }\n",
              expected: "bad.yaml:3: key 'static-routes.prefix': '192.168.2.0' is not an IPv4 prefix"),
        .init(text: "router-id: 1.1.1.1\nstatic-routes:\n  - { prefix: '2001:db8::/32', via: 3.3.3.3 }\n",
              expected: "key 'static-routes.prefix': '2001:db8::/32' is not an IPv4 prefix"),
        .init(text: "router-id: 1.1.1.1\nstatic-routes:\n  - { prefix: 192.168.2.1/24, via: 3.3.3.3 }\n",
              expected: "bad.yaml:3: key 'static-routes.prefix': '192.168.2.1/24' has host bits set (the prefix is 192.168.2.0/24)"),
        .init(text: "router-id: 1.1.1.1\nstatic-routes:\n  - { prefix: 192.168.2.0/24, via: 3.3.3 }\n",
              expected: "bad.yaml:3: key 'static-routes.via': '3.3.3' is not an IPv4 address"),
        .init(text: "router-id: 1.1.1.1\nstatic-routes:\n  - { prefix: 192.168.2.0/24, via: 1.1.1.1 }\n",
              expected: "key 'static-routes.via': 1.1.1.1 is this router's own id"),
        .init(text: "router-id: 1.1.1.1\nstatic-routes:\n  - { prefix: 192.168.2.0/24, via: 3.3.3.3 }\n  - { prefix: 192.168.2.0/24, via: 4.4.4.4 }\n",
              expected: "bad.yaml:4: key 'static-routes.prefix': 192.168.2.0/24 is listed twice"),
        .init(text: "router-id: 1.1.1.1\nstatic-routes: 192.168.2.0/24\n", expected: "bad.yaml:2: key 'static-routes': expected a list"),
        .init(text: "router-id: 1.1.1.1\nuserspace:\n  polling: fast\n",
              expected: "bad.yaml:3: key 'userspace.polling': 'fast' is not one of throughput, adaptive, low-latency"),
        .init(text: "router-id: 1.1.1.1\nuserspace:\n  threads: 0\n", expected: "bad.yaml:3: key 'userspace.threads': '0' is not a thread count in 1...64"),
        .init(text: "router-id: 1.1.1.1\nuserspace:\n  cpus: [4096]\n", expected: "bad.yaml:3: key 'userspace.cpus': '4096' is not a CPU of this machine"),
        .init(text: "router-id: 1.1.1.1\nuserspace:\n  ring-frames: 8\n", expected: "key 'userspace.ring-frames': '8' is not a slot count in 64...65536"),
        .init(text: "router-id: 1.1.1.1\nuserspace:\n  ttl-model: short\n", expected: "key 'userspace.ttl-model': 'short' is not one of uniform, pipe"),
        .init(text: "router-id: 1.1.1.1\ninterfaces: [eth1]\nuserspace:\n  customer-interfaces: [eth1]\n",
              expected: "bad.yaml:4: key 'userspace.customer-interfaces': 'eth1' is an LDP interface: customer interfaces carry IP, not labels"),
        .init(text: "router-id: 1.1.1.1\ndataplane: both\nuserspace:\n  customer-interfaces: [ce0]\n",
              expected: "bad.yaml:4: key 'userspace.customer-interfaces': 'ce0': only with 'dataplane: userspace' or 'auto' (with 'both' the kernel pushes)"),
        .init(text: "router-id: 1.1.1.1\nuserspace:\n  customer-interfaces: [ce0, ce0]\n",
              expected: "bad.yaml:3: key 'userspace.customer-interfaces': 'ce0' is listed twice"),
        .init(text: "router-id: 1.1.1.1\nuserspace:\n  customer-interfaces: [a/b]\n",
              expected: "bad.yaml:3: key 'userspace.customer-interfaces': 'a/b' is not a valid interface name"),
        .init(text: "router-id: 1.1.1.1\nuserspace:\n  batch: 5\n", expected: "bad.yaml:3: key 'userspace.batch': unknown key"),
    ]

    @Test(arguments: badFiles)
    func badFileIsRefusedWithItsLineAndKey(_ bad: BadFile) {
        #expect {
            _ = try DaemonConfiguration.parse(bad.text, file: "bad.yaml")
        } throws: { error in
            let message = (error as? ConfigurationError)?.description ?? "\(error)"
            let matches = message.contains(bad.expected)
            if !matches { print("got: \(message)\nwanted: \(bad.expected)") }
            return matches
        }
    }
}
