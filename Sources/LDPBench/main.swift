// ldp-bench: how fast the LDP core is. Run it in release mode:
//
//   swift run -c release ldp-bench [--fecs 10000,100000] [--seconds 1]
//
// It reports (1) Label Mapping PDUs encoded and decoded per second, and (2) for two engines
// wired back to back in memory, the CPU time and heap memory to converge on N FECs: one
// engine has N routes it is the egress for, the other N routes through it, and convergence
// is when the second holds an FTN and a swap entry for every FEC.

import CLinuxShims
import Glibc
import LDPCodec
import LDPEngine
import MPLSForwarding
import MPLSTables

// MARK: - Measurement helpers

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func heapInUse() -> Int { Int(lsr_heap_in_use()) }

func peakResidentKiB() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss
}


extension String {
    /// Two decimals of `value`: Foundation-free formatting.
    func replacingDecimal(_ value: Double) -> String {
        let scaled = Int((value * 100).rounded())
        return "\(scaled / 100).\(scaled % 100 < 10 ? "0" : "")\(scaled % 100)"
    }
}

func twoDecimals(_ value: Double) -> String { "".replacingDecimal(value) }

// MARK: - Arguments

var fecCounts = [10_000, 100_000]
var seconds = 1.0
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--fecs": fecCounts = (arguments.next() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--seconds": seconds = Double(arguments.next() ?? "") ?? seconds
    default:
        print("usage: ldp-bench [--fecs 10000,100000] [--seconds 1]")
        exit(2)
    }
}

// MARK: - Codec

func prefix(_ index: Int) -> IPPrefix {
    IPPrefix(IPv4Address(rawValue: 0x0A00_0000 | UInt32(index + 1)), length: 32)
}

/// As many Label Mappings for /32 FECs as fit in one 4096-octet PDU.
func mappingPDU() -> PDU {
    var messages: [Message] = []
    var size = PDU.headerLength
    var index = 0
    while true {
        let message = Message(id: UInt32(index + 1), body: .labelMapping(LabelMappingMessage(
            fec: [.prefix(prefix(index))], label: .generic(UInt32(16 + index)))))
        let length = message.encoded().count
        if size + length > PDU.defaultMaximumLength { break }
        size += length
        messages.append(message)
        index += 1
    }
    return PDU(ldpIdentifier: LDPIdentifier(lsrID: IPv4Address(1, 1, 1, 1)), messages: messages)
}

func benchmarkCodec(seconds: Double) {
    let pdu = mappingPDU()
    let perPDU = pdu.messages.count
    var buffer: [UInt8] = []
    buffer.reserveCapacity(PDU.defaultMaximumLength)
    var encoded = 0
    var start = cpuSeconds()
    while cpuSeconds() - start < seconds {
        for _ in 0..<100 {
            buffer.removeAll(keepingCapacity: true)
            pdu.encode(into: &buffer)
            encoded += 1
        }
    }
    let encodeTime = cpuSeconds() - start
    let bytes = pdu.encoded()
    var decoded = 0
    var messages = 0
    start = cpuSeconds()
    while cpuSeconds() - start < seconds {
        for _ in 0..<100 {
            if let result = try? PDU.decode(bytes) { messages += result.items.count }
            decoded += 1
        }
    }
    let decodeTime = cpuSeconds() - start
    precondition(messages == decoded * perPDU, "decode lost messages")
    print("codec: Label Mapping PDUs of \(perPDU) mappings (\(bytes.count) octets)")
    print("  encode: \(Int(Double(encoded) / encodeTime)) PDUs/s = \(Int(Double(encoded * perPDU) / encodeTime)) mappings/s")
    print("  decode: \(Int(Double(decoded) / decodeTime)) PDUs/s = \(Int(Double(decoded * perPDU) / decodeTime)) mappings/s")
}

// MARK: - Two engines in memory

/// Two engines on one link, with a queue of inputs delivered in order, as two daemons'
/// event loops would see them. Timers are recorded, not fired: convergence needs none.
struct Pair {
    var engines: [LDPEngine]
    var queue: [(index: Int, input: EngineInput)] = []
    var connectionPeer: [Int: [ConnectionID: ConnectionID]] = [0: [:], 1: [:]]
    var nextIncoming: UInt64 = 1
    var lfib = [LFIB(), LFIB()]
    var lfibBatches = [0, 0]
    let linkAddresses = [IPv4Address(10, 0, 0, 1), IPv4Address(10, 0, 0, 2)]
    let loopbacks = [IPv4Address(1, 1, 1, 1), IPv4Address(2, 2, 2, 2)]
    var outputsHandled = 0

    init(fecs: Int) {
        engines = (0..<2).map { index in
            var configuration = EngineConfiguration(lsrID: [IPv4Address(1, 1, 1, 1), IPv4Address(2, 2, 2, 2)][index])
            configuration.interfaces = [InterfaceConfiguration(name: "eth0", helloInterval: 1, holdTime: 3)]
            return LDPEngine(configuration: configuration)
        }
        let connected = IPPrefix(IPv4Address(10, 0, 0, 0), length: 24)
        for index in 0..<2 {
            queue.append((index, .interfaceChanged(name: "eth0", isUp: true, addresses: [.v4(linkAddresses[index])])))
            queue.append((index, .routeChanged(Route(prefix: connected, nextHops: [.init(address: nil, interface: "eth0")]))))
            queue.append((index, .routeChanged(Route(prefix: IPPrefix(loopbacks[index], length: 32), nextHops: [], isLocal: true))))
            let other = loopbacks[1 - index]
            queue.append((index, .routeChanged(Route(prefix: IPPrefix(other, length: 32),
                                                      nextHops: [.init(address: .v4(linkAddresses[1 - index]), interface: "eth0")]))))
        }
        // Engine 0 reaches every FEC through a router that does not speak LDP (so it allocates a
        // real label for each);
        // engine 1 reaches them all through engine 0.
        for fec in 0..<fecs {
            queue.append((0, .routeChanged(Route(prefix: prefix(fec), nextHops: [.init(address: .v4(IPv4Address(192, 168, 0, 2)), interface: "ext0")]))))
            queue.append((1, .routeChanged(Route(prefix: prefix(fec), nextHops: [.init(address: .v4(linkAddresses[0]), interface: "eth0")]))))
        }
        queue.append((0, .start))
        queue.append((1, .start))
    }

    mutating func run(until converged: (Pair) -> Bool) {
        var head = 0
        while head < queue.count {
            let (index, input) = queue[head]
            head += 1
            let outputs = engines[index].handle(input, at: .zero)
            for output in outputs { perform(output, from: index) }
            if head > 4096 {
                queue.removeFirst(head)
                head = 0
            }
            if head == queue.count && converged(self) { return }
        }
    }

    mutating func perform(_ output: EngineOutput, from index: Int) {
        outputsHandled += 1
        let other = 1 - index
        switch output {
        case .sendHello(_, _, _, let ttl, let bytes):
            queue.append((other, .helloReceived(interface: "eth0", source: .v4(linkAddresses[index]),
                                                destination: .v4(IPv4Address(224, 0, 0, 2)), ttl: ttl, bytes: bytes)))
        case .connect(let connection, let local, let remote, _, _):
            let accepted = ConnectionID.incoming(nextIncoming)
            nextIncoming += 1
            connectionPeer[index]![connection] = accepted
            connectionPeer[other]![accepted] = connection
            queue.append((index, .connectionEstablished(connection)))
            queue.append((other, .connectionAccepted(accepted, local: remote, remote: local)))
        case .send(let connection, let bytes):
            if let peer = connectionPeer[index]![connection] { queue.append((other, .dataReceived(peer, bytes))) }
        case .close(let connection):
            if let peer = connectionPeer[index]!.removeValue(forKey: connection) {
                queue.append((other, .connectionClosed(peer, reason: "closed")))
            }
        case .lfib(let changes):
            lfib[index].apply(changes)
            lfibBatches[index] += 1
        case .setGTSM, .setMD5Key, .armTimer, .cancelTimer, .event:
            break
        }
    }
}

func benchmarkConvergence(fecs: Int) {
    let heapBefore = heapInUse()
    let start = cpuSeconds()
    var pair = Pair(fecs: fecs)
    // Engine 1 converged: an FTN (push) and a swap entry for every FEC it reaches via engine 0.
    pair.run { pair in
        pair.lfib[1].entries.count >= 2 * fecs
    }
    let elapsed = cpuSeconds() - start
    let entries = pair.lfib[1].entries.count
    let pushes = pair.lfib[1].entries.values.filter { $0.action == .push }.count
    let swaps = pair.lfib[1].entries.values.filter { $0.action == .swap }.count
    print("  receiver: \(pushes) push, \(swaps) swap entries")
    benchmarkSnapshot(lfib: pair.lfib[1], batches: pair.lfibBatches[1])
    // Count only what the engines keep: drop the LFIB copies and the queue first.
    pair.lfib = [LFIB(), LFIB()]
    pair.queue = []
    let engineHeap = heapInUse() - heapBefore
    let perFEC = Double(engineHeap) / Double(fecs) / 2
    print("convergence: \(fecs) FECs, 2 engines: \(twoDecimals(elapsed)) s CPU, LFIB entries at the receiver \(entries)")
    print("  engine heap after convergence: \(engineHeap / 1024) KiB, \(Int(perFEC)) bytes per FEC per engine; peak RSS \(peakResidentKiB() / 1024) MiB")
    withExtendedLifetime(pair) {}
}

/// The userspace dataplane builds an immutable snapshot from the whole LFIB for each batch of
/// changes: what one build of the converged LFIB costs, and how many batches convergence took.
func benchmarkSnapshot(lfib: LFIB, batches: Int) {
    let interfaces = [ForwardingInterface(name: "eth0", index: 2, mac: 0x02_00_00_00_00_01, mtu: 1500)]
    let neighbors = [ForwardingNeighbor(interfaceIndex: 2, address: IPv4Address(10, 0, 0, 1), mac: 0x02_00_00_00_00_02)]
    let options = ForwardingOptions(localAddress: IPv4Address(10, 0, 0, 2))
    let rounds = 5
    let start = cpuSeconds()
    for _ in 0..<rounds {
        withExtendedLifetime(ForwardingSnapshot(lfib: lfib, interfaces: interfaces, neighbors: neighbors, options: options)) {}
    }
    let perBuild = (cpuSeconds() - start) / Double(rounds)
    print("  userspace snapshot of \(lfib.entries.count) entries: \(twoDecimals(perBuild * 1000)) ms CPU to build; "
          + "the receiver's LFIB came in \(batches) batches")

    // The push path's lookup: longest prefix match of random destinations among the FECs
    // (every 16th one outside them), as a customer packet's destination is looked up.
    let snapshot = ForwardingSnapshot(lfib: lfib, interfaces: interfaces, neighbors: neighbors, options: options)
    var generator = SystemRandomNumberGenerator()
    let fecs = UInt32(lfib.entries.count / 2)
    let destinations = (0..<1 << 20).map { index in
        IPv4Address(rawValue: index % 16 == 15 ? UInt32.random(in: 0...UInt32.max, using: &generator)
                                               : 0x0A00_0000 | UInt32.random(in: 1...fecs, using: &generator))
    }
    var found = 0
    let lookupStart = cpuSeconds()
    for destination in destinations where snapshot.ftnEntry(for: destination) != nil { found += 1 }
    let perLookup = (cpuSeconds() - lookupStart) / Double(destinations.count)
    print("  FTN longest-prefix match over it: \(twoDecimals(perLookup * 1e9)) ns per lookup "
          + "(\(found) of \(destinations.count) random destinations matched)")
}

benchmarkCodec(seconds: seconds)
for count in fecCounts { benchmarkConvergence(fecs: count) }
