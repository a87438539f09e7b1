// The immutable table the forwarding thread reads: built once per LFIB change by the control
// plane, then only read (and its counters bumped) by the one forwarding thread.

import LDPCodec
import MPLSTables

/// RFC 3443 TTL processing models.
public enum TTLModel: String, Sendable, Codable, CaseIterable {
    /// IP TTL copied into pushed labels, and the label TTL back into the IP header on pop.
    case uniform
    /// The LSP counts as one hop: pushed labels start at 255 and the IP TTL is left alone.
    case pipe
}

/// An interface the forwarder sends on.
public struct ForwardingInterface: Sendable, Hashable {
    public var name: String
    public var index: Int32
    /// 48-bit MAC in the low bits.
    public var mac: UInt64
    public var mtu: Int
    /// The source of ICMP errors about packets that arrived here.
    public var ipv4Address: IPv4Address?

    public init(name: String, index: Int32, mac: UInt64, mtu: Int, ipv4Address: IPv4Address? = nil) {
        self.name = name
        self.index = index
        self.mac = mac
        self.mtu = mtu
        self.ipv4Address = ipv4Address
    }
}

/// A resolved neighbour: what ARP gave the kernel.
public struct ForwardingNeighbor: Sendable, Hashable {
    public var interfaceIndex: Int32
    public var address: IPv4Address
    public var mac: UInt64

    public init(interfaceIndex: Int32, address: IPv4Address, mac: UInt64) {
        self.interfaceIndex = interfaceIndex
        self.address = address
        self.mac = mac
    }
}

public struct ForwardingOptions: Sendable, Hashable {
    public var ttlModel: TTLModel
    /// ICMP source when the arrival interface has no IPv4 address (the router ID).
    public var localAddress: IPv4Address
    /// Next hops on these interfaces (the TUN, "lo") hand the popped packet to the local stack.
    public var localInterfaces: Set<String>

    public init(ttlModel: TTLModel = .uniform, localAddress: IPv4Address, localInterfaces: Set<String> = []) {
        self.ttlModel = ttlModel
        self.localAddress = localAddress
        self.localInterfaces = localInterfaces
    }
}

/// Why a packet was dropped. Every drop is counted under one of these.
public enum DropReason: Int, CaseIterable, Sendable, CustomStringConvertible {
    case noEntry
    case ttlExpired
    case noNeighbor
    case mtuExceeded
    case runt
    case truncatedLabelStack
    case missingBottomOfStack
    case labelStackTooDeep
    case unsupportedPayload
    case noHeadroom
    /// An IPv4 header a router must not forward (RFC 1812 §5.2.2): bad length or checksum.
    case badIPHeader

    public var isMalformed: Bool {
        switch self {
        case .runt, .truncatedLabelStack, .missingBottomOfStack, .labelStackTooDeep, .unsupportedPayload, .badIPHeader: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .noEntry: "no-entry"
        case .ttlExpired: "ttl-expired"
        case .noNeighbor: "no-neighbor"
        case .mtuExceeded: "mtu-exceeded"
        case .runt: "malformed-runt"
        case .truncatedLabelStack: "malformed-truncated-stack"
        case .missingBottomOfStack: "malformed-no-bottom-of-stack"
        case .labelStackTooDeep: "malformed-stack-too-deep"
        case .unsupportedPayload: "malformed-payload"
        case .noHeadroom: "no-headroom"
        case .badIPHeader: "malformed-ip-header"
        }
    }
}

/// One next hop, flattened. `interfaceSlot` -1: deliver locally; -2: interface unknown.
struct NextHopRecord {
    var interfaceSlot: Int32
    var address: UInt32
    var mac: UInt64
    var hasMAC: Bool
    /// Out labels (implicit-null removed) at `labels[labelOffset ..< labelOffset + labelCount]`.
    var labelOffset: Int32
    var labelCount: Int32
}

struct EntryRecord {
    var firstNextHop: Int32
    var nextHopCount: Int32
}

struct InterfaceRecord {
    var index: Int32
    var mac: UInt64
    var mtu: Int
    var ipv4: UInt32
}

/// IPv4 longest prefix match in at most three loads: a 65,536-slot root for the first 16 bits,
/// then 256-slot chunks for the next 8 and the last 8 (a 16-8-8 multibit trie, prefixes
/// expanded to the strides), all in one array, the root first. A slot holds an entry slot
/// (>= 0), nothing (-1), or a chunk (-2 - chunk number) under which the longer prefixes go.
struct PrefixTable {
    static let rootSize = 1 << 16
    static let chunkSize = 1 << 8
    static let none: Int32 = -1

    var slots: [Int32]

    /// `prefixes` in order of increasing length, so that a longer prefix always overwrites the
    /// expansion of a shorter one and a new chunk inherits what its slot held.
    init(prefixes: [(address: UInt32, length: Int, slot: Int32)]) {
        slots = [Int32](repeating: Self.none, count: Self.rootSize)
        for prefix in prefixes {
            let length = prefix.length
            let address = Self.network(prefix.address, length)
            // The slot the prefix starts at, at the level its length ends in, and how many
            // slots of that level it covers.
            var first = Int(address >> 16), span = 1 << (16 - min(length, 16))
            if length > 16 {
                first = chunk(at: first) + Int(address >> 8 & 0xFF)
                span = 1 << (24 - min(length, 24))
            }
            if length > 24 {
                first = chunk(at: first) + Int(address & 0xFF)
                span = 1 << (32 - length)
            }
            for index in first..<first + span { slots[index] = prefix.slot }
        }
    }

    /// Where the chunk under a slot starts, made (inheriting the slot's entry) if there is none.
    private mutating func chunk(at index: Int) -> Int {
        if slots[index] > -2 {
            let number = (slots.count - Self.rootSize) / Self.chunkSize
            slots.append(contentsOf: repeatElement(slots[index], count: Self.chunkSize))
            slots[index] = -2 - Int32(number)
        }
        return Self.rootSize + Int(-2 - slots[index]) * Self.chunkSize
    }

    static func network(_ address: UInt32, _ length: Int) -> UInt32 {
        length == 0 ? 0 : address & UInt32.max << (32 - length)
    }

    static func exactKey(_ address: UInt32, _ length: Int) -> UInt64 {
        UInt64(network(address, length)) << 6 | UInt64(length)
    }
}

/// A fixed, fully built forwarding table. Its memory is raw and owned: the hot path touches no
/// reference counts and no dictionaries.
public final class ForwardingSnapshot: @unchecked Sendable {
    /// Label lookups go through a 4096-slot directory (label >> 8) into 256-slot chunks: 16 KiB
    /// plus 1 KiB per used block of 256 labels, one dependent load more than a flat 4 MiB table.
    static let directorySize = 1 << 12
    static let chunkSize = 1 << 8
    public static let maximumStackDepth = 16

    public let options: ForwardingOptions
    /// Entry slots, in the order the counters use.
    public let keys: [LFIBKey]
    public let interfaceIndices: [Int32]
    let uniform: Bool
    let localAddress: UInt32

    let directory: UnsafeMutableBufferPointer<Int32>
    let chunks: UnsafeMutableBufferPointer<Int32>
    /// The FTN table (see PrefixTable): 65,536 root slots, then 256-slot chunks.
    let prefixSlots: UnsafeMutableBufferPointer<Int32>
    /// IPv4 FTN keys (address << 6 | length), sorted, with their slots: exact matches for the
    /// control plane's counters.
    let prefixKeys: [UInt64]
    let prefixKeySlots: [Int32]
    let entries: UnsafeMutableBufferPointer<EntryRecord>
    let nextHops: UnsafeMutableBufferPointer<NextHopRecord>
    let labels: UnsafeMutableBufferPointer<UInt32>
    let interfaces: UnsafeMutableBufferPointer<InterfaceRecord>
    /// Counters come in lanes, one per forwarding thread, so that no two threads write the same
    /// word: lane `l` of entry slot `s` holds packets at `(l * keys.count + s) * 2` and bytes after.
    public let lanes: Int
    let entryCounters: UnsafeMutableBufferPointer<UInt64>
    /// Lane `l`, reason `r` at `l * DropReason.allCases.count + r`.
    let dropCounters: UnsafeMutableBufferPointer<UInt64>
    let icmpCounters: UnsafeMutableBufferPointer<UInt64>

    /// `lanes`: how many forwarding threads count in this snapshot; each passes a workspace
    /// whose `lane` is its own.
    public init(lfib: LFIB, interfaces interfaceList: [ForwardingInterface], neighbors: [ForwardingNeighbor],
                options: ForwardingOptions, lanes: Int = 1) {
        precondition(lanes >= 1)
        self.options = options
        self.lanes = lanes
        uniform = options.ttlModel == .uniform
        localAddress = options.localAddress.rawValue
        // Slots follow the LFIB's own order: sorting 200k keys cost a quarter of a build, and
        // nothing reads the slots in order.
        var usable: [LFIBEntry] = []
        usable.reserveCapacity(lfib.entries.count)
        for entry in lfib.entries.values {
            if case .prefix(let prefix) = entry.key, prefix.family != .ipv4 { continue }
            usable.append(entry)
        }
        keys = usable.map(\.key)
        interfaceIndices = interfaceList.map(\.index)

        interfaces = .allocate(capacity: max(interfaceList.count, 1))
        var slotByName: [String: Int32] = ["": -1]
        for name in options.localInterfaces { slotByName[name] = -1 }
        for (slot, interface) in interfaceList.enumerated() {
            interfaces[slot] = InterfaceRecord(index: interface.index, mac: interface.mac, mtu: interface.mtu,
                                               ipv4: interface.ipv4Address?.rawValue ?? 0)
            if !options.localInterfaces.contains(interface.name) { slotByName[interface.name] = Int32(slot) }
        }
        var macs: [Int32: [UInt32: UInt64]] = [:]
        for neighbor in neighbors { macs[neighbor.interfaceIndex, default: [:]][neighbor.address.rawValue] = neighbor.mac }

        var entryRecords: [EntryRecord] = []
        entryRecords.reserveCapacity(usable.count)
        var hopRecords: [NextHopRecord] = []
        hopRecords.reserveCapacity(usable.count)
        var labelValues: [UInt32] = []
        labelValues.reserveCapacity(usable.count)
        // Most entries share their next hop with the entry before: resolve it once.
        var lastHop: (interface: String, address: UInt32, slot: Int32, mac: UInt64, hasMAC: Bool)?
        for entry in usable {
            entryRecords.append(EntryRecord(firstNextHop: Int32(hopRecords.count), nextHopCount: Int32(entry.nextHops.count)))
            for hop in entry.nextHops {
                var address: UInt32 = 0
                if case .v4(let v4) = hop.address { address = v4.rawValue }
                let resolved: (interface: String, address: UInt32, slot: Int32, mac: UInt64, hasMAC: Bool)
                if let lastHop, lastHop.address == address, lastHop.interface == hop.interface {
                    resolved = lastHop
                } else {
                    let slot = slotByName[hop.interface] ?? -2
                    let mac = slot >= 0 ? macs[interfaceList[Int(slot)].index]?[address] : nil
                    resolved = (hop.interface, address, slot, mac ?? 0, mac != nil)
                    lastHop = resolved
                }
                let labelOffset = Int32(labelValues.count)
                for label in hop.outLabels where label != ReservedLabel.implicitNull { labelValues.append(label) }
                hopRecords.append(NextHopRecord(interfaceSlot: resolved.slot, address: address, mac: resolved.mac,
                                                hasMAC: resolved.hasMAC, labelOffset: labelOffset,
                                                labelCount: Int32(labelValues.count) - labelOffset))
            }
        }
        entries = .allocate(capacity: max(entryRecords.count, 1))
        _ = entries.initialize(from: entryRecords)
        nextHops = .allocate(capacity: max(hopRecords.count, 1))
        _ = nextHops.initialize(from: hopRecords)
        labels = .allocate(capacity: max(labelValues.count, 1))
        _ = labels.initialize(from: labelValues)

        // Label table.
        var directoryValues = [Int32](repeating: -1, count: Self.directorySize)
        var chunkValues: [Int32] = []
        var prefixes: [(address: UInt32, length: Int, slot: Int32)] = []
        for (slot, key) in keys.enumerated() {
            switch key {
            case .label(let label):
                let high = Int(label >> 8) & (Self.directorySize - 1)
                if directoryValues[high] < 0 {
                    directoryValues[high] = Int32(chunkValues.count / Self.chunkSize)
                    chunkValues.append(contentsOf: repeatElement(-1, count: Self.chunkSize))
                }
                chunkValues[Int(directoryValues[high]) * Self.chunkSize + Int(label & 0xFF)] = Int32(slot)
            case .prefix(let prefix):
                guard case .v4(let address) = prefix.address else { continue }
                prefixes.append((address.rawValue, Int(prefix.length), Int32(slot)))
            }
        }
        // Shorter prefixes first; prefixes of one length never overlap, so their order is free.
        prefixes.sort { $0.length < $1.length }
        let table = PrefixTable(prefixes: prefixes)
        let exact = prefixes.map { (PrefixTable.exactKey($0.address, $0.length), $0.slot) }.sorted { $0.0 < $1.0 }
        prefixKeys = exact.map(\.0)
        prefixKeySlots = exact.map(\.1)
        directory = .allocate(capacity: directoryValues.count)
        _ = directory.initialize(from: directoryValues)
        chunks = .allocate(capacity: max(chunkValues.count, 1))
        _ = chunks.initialize(from: chunkValues)
        prefixSlots = .allocate(capacity: table.slots.count)
        _ = prefixSlots.initialize(from: table.slots)

        entryCounters = .allocate(capacity: max(keys.count * 2 * lanes, 1))
        entryCounters.initialize(repeating: 0)
        dropCounters = .allocate(capacity: DropReason.allCases.count * lanes)
        dropCounters.initialize(repeating: 0)
        icmpCounters = .allocate(capacity: lanes)
        icmpCounters.initialize(repeating: 0)
    }

    deinit {
        directory.deallocate()
        chunks.deallocate()
        prefixSlots.deallocate()
        entries.deallocate()
        nextHops.deallocate()
        labels.deallocate()
        interfaces.deallocate()
        entryCounters.deallocate()
        dropCounters.deallocate()
        icmpCounters.deallocate()
    }

    // MARK: Control-plane reads (racy by design: display only)

    /// Packets and bytes the entry forwarded while this snapshot was current.
    public func counters(of key: LFIBKey) -> (packets: UInt64, bytes: UInt64)? {
        guard let slot = slot(of: key) else { return nil }
        var total: (packets: UInt64, bytes: UInt64) = (0, 0)
        for lane in 0..<lanes {
            let base = (lane * keys.count + slot) * 2
            total = (total.packets &+ entryCounters[base], total.bytes &+ entryCounters[base + 1])
        }
        return total
    }

    /// The slot of an entry, found the way packets find it (exact match for a prefix).
    func slot(of key: LFIBKey) -> Int? {
        switch key {
        case .label(let label):
            guard label <= ReservedLabel.maximum else { return nil }
            let slot = entrySlot(label: label)
            return slot >= 0 ? Int(slot) : nil
        case .prefix(let prefix):
            guard case .v4(let address) = prefix.address else { return nil }
            let key = PrefixTable.exactKey(address.rawValue, Int(prefix.length))
            var low = 0, high = prefixKeys.count
            while low < high {
                let middle = (low + high) / 2
                if prefixKeys[middle] < key { low = middle + 1 } else { high = middle }
            }
            return low < prefixKeys.count && prefixKeys[low] == key ? Int(prefixKeySlots[low]) : nil
        }
    }

    /// The FTN entry a packet to `destination` takes (longest prefix match), as the forwarder
    /// finds it.
    public func ftnEntry(for destination: IPv4Address) -> LFIBKey? {
        let slot = entrySlot(destination: destination.rawValue)
        return slot >= 0 ? keys[Int(slot)] : nil
    }

    public func drops(_ reason: DropReason) -> UInt64 {
        (0..<lanes).reduce(0) { $0 &+ dropCounters[$1 * DropReason.allCases.count + reason.rawValue] }
    }

    public var icmpGenerated: UInt64 { icmpCounters.reduce(0, &+) }

    /// The interface slot of a kernel interface index, for the I/O layer (not per packet).
    public func interfaceSlot(ofIndex index: Int32) -> Int32? {
        interfaceIndices.firstIndex(of: index).map { Int32($0) }
    }

    public func interfaceIndex(ofSlot slot: Int32) -> Int32 { interfaces[Int(slot)].index }

    // MARK: Lookups (hot path)

    @inline(__always) func entrySlot(label: UInt32) -> Int32 {
        let chunk = directory[Int(label >> 8) & (Self.directorySize - 1)]
        if chunk < 0 { return -1 }
        return chunks[Int(chunk) * Self.chunkSize + Int(label & 0xFF)]
    }

    /// Longest prefix match: at most three loads (see PrefixTable).
    @inline(__always) func entrySlot(destination: UInt32) -> Int32 {
        var value = prefixSlots[Int(destination >> 16)]
        if value > -2 { return value }
        value = prefixSlots[PrefixTable.rootSize + (Int(-2 - value) << 8) + Int(destination >> 8 & 0xFF)]
        if value > -2 { return value }
        return prefixSlots[PrefixTable.rootSize + (Int(-2 - value) << 8) + Int(destination & 0xFF)]
    }

    @inline(__always) func count(_ slot: Int32, bytes: Int, _ workspace: ForwardingWorkspace) {
        let base = (workspace.lane * keys.count + Int(slot)) * 2
        entryCounters[base] &+= 1
        entryCounters[base + 1] &+= UInt64(bytes)
    }

    @inline(__always) func drop(_ reason: DropReason, _ workspace: ForwardingWorkspace) -> Verdict {
        dropCounters[workspace.lane * DropReason.allCases.count + reason.rawValue] &+= 1
        return .drop(reason)
    }

    /// Counts a drop the I/O layer found (a frame the ring truncated, a full transmit queue).
    public func countDrop(_ reason: DropReason, _ workspace: ForwardingWorkspace) {
        _ = drop(reason, workspace)
    }
}
