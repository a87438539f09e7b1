// Label distribution for one FEC at a time: which local label it should have, which peers must
// hear about it, and which LFIB entries follow from the current state. Every event handler
// changes its inputs (routes, peer mappings, addresses), then settles the FECs it touched.

import LDPCodec
import MPLSTables

extension LabelInformationBase {
    // MARK: Settling one FEC

    /// Brings one FEC in line with the current state and emits what changed. `before` is the
    /// FEC's forwarding as computed before the caller changed anything.
    mutating func settle(_ prefix: IPPrefix, forwardingBefore before: FECForwarding, into outputs: inout [LIBOutput]) {
        if fecs[prefix] != nil {
            settleLocalLabel(prefix, into: &outputs)
            advertiseLocalLabel(prefix, into: &outputs)
            if deferredRequestCount > 0 { answerDeferredRequestsWithoutRoute(prefix, into: &outputs) }
        }
        emitForwardingChanges(from: before, to: forwarding(for: prefix), into: &outputs)
        if fecs[prefix]?.isUnused == true { fecs[prefix] = nil }
    }

    /// The local label the FEC should carry: none (`wantsLabel` false), a reserved null label
    /// (`nullLabel`), or a dynamic label (`wantsLabel` true, `nullLabel` nil).
    private func desiredLocalLabel(_ prefix: IPPrefix, _ record: FECRecord) -> (wantsLabel: Bool, nullLabel: UInt32?) {
        guard let route = record.route, configuration.fecFilter.admits(prefix) else { return (false, nil) }
        // Egress (own address or connected): implicit-null, or explicit-null when configured.
        if route.isEgress { return (true, egressLabel(for: prefix.family)) }
        // Ordered control (RFC 5036 §2.6.1): only with a mapping from a next-hop peer.
        if configuration.control == .ordered && usableNextHops(prefix, record).isEmpty { return (false, nil) }
        return (true, nil)
    }

    func egressLabel(for family: AddressFamily) -> UInt32 {
        guard configuration.explicitNull else { return ReservedLabel.implicitNull }
        return family == .ipv4 ? ReservedLabel.ipv4ExplicitNull : ReservedLabel.ipv6ExplicitNull
    }

    private mutating func settleLocalLabel(_ prefix: IPPrefix, into outputs: inout [LIBOutput]) {
        guard let record = fecs[prefix] else { return }
        let desired = desiredLocalLabel(prefix, record)
        let current = record.localLabel
        if !desired.wantsLabel {
            starvedFECs.remove(prefix)
            if current != nil { withdrawLocalLabel(prefix, into: &outputs) }
            return
        }
        if let nullLabel = desired.nullLabel {
            starvedFECs.remove(prefix)
            guard current != nullLabel else { return }
            if current != nil { withdrawLocalLabel(prefix, into: &outputs) }
            fecs[prefix]?.localLabel = nullLabel
            return
        }
        if let current, Self.isDynamic(current), configuration.labelRange.contains(current) { return }
        if current != nil { withdrawLocalLabel(prefix, into: &outputs) }
        guard let label = allocator.allocate() else {
            // No Label Resources: nothing is advertised; retried when a label is freed.
            if starvedFECs.insert(prefix).inserted { outputs.append(.event(.labelsExhausted(fec: prefix))) }
            return
        }
        starvedFECs.remove(prefix)
        fecs[prefix]?.localLabel = label
        outputs.append(.event(.labelAllocated(fec: prefix, label: label)))
    }

    static func isDynamic(_ label: UInt32) -> Bool { label >= ReservedLabel.firstUnreserved }

    /// Withdraws our label from every peer that still holds it; a dynamic label waits in
    /// `pendingReleases` until they all released it (it must not be reused before).
    mutating func withdrawLocalLabel(_ prefix: IPPrefix, into outputs: inout [LIBOutput]) {
        guard let record = fecs[prefix], let label = record.localLabel else { return }
        var holders: [PeerSlot] = []
        for advertisement in record.advertisements where !advertisement.released {
            holders.append(advertisement.peer)
            let withdraw = LabelWithdrawMessage(fec: [.prefix(prefix)], label: .generic(label))
            send(.labelWithdraw(withdraw), to: advertisement.peer, into: &outputs)
        }
        fecs[prefix]?.localLabel = nil
        fecs[prefix]?.advertisements = []
        guard Self.isDynamic(label) else { return }
        if holders.isEmpty {
            releaseToAllocator(label, into: &outputs)
        } else {
            pendingReleases[label] = PendingRelease(fec: prefix, holders: holders)
            fecs[prefix]?.labelsAwaitingRelease.append(label)
        }
    }

    mutating func releaseToAllocator(_ label: UInt32, into outputs: inout [LIBOutput]) {
        allocator.free(label)
        outputs.append(.event(.labelFreed(label: label)))
    }

    /// Sends our mapping to every operational peer that has not had it (Downstream Unsolicited).
    private mutating func advertiseLocalLabel(_ prefix: IPPrefix, into outputs: inout [LIBOutput]) {
        guard let record = fecs[prefix], let label = record.localLabel else { return }
        for slot in peers.indices {
            guard let peer = peers[slot] else { continue }
            let peerSlot = PeerSlot(slot)
            guard record.advertisementIndex(of: peerSlot) == nil else { continue }
            var requestID: UInt32?
            if deferredRequestCount > 0, let id = peer.deferredRequests[prefix] {
                // LRq.9 (deferred): the mapping answers the request we could not answer before.
                requestID = id
                peers[slot]?.deferredRequests[prefix] = nil
                deferredRequestCount -= 1
            }
            outputs.append(.send(to: peer.id, body: Self.mappingBody(prefix, label, requestID: requestID), messageID: nil))
            fecs[prefix]?.advertisements.append(.init(peer: peerSlot, released: false))
        }
    }

    /// A deferred request whose FEC lost its route is answered with No Route (LRq.5).
    private mutating func answerDeferredRequestsWithoutRoute(_ prefix: IPPrefix, into outputs: inout [LIBOutput]) {
        guard fecs[prefix]?.route == nil else { return }
        for slot in peers.indices {
            guard let requestID = peers[slot]?.deferredRequests.removeValue(forKey: prefix) else { continue }
            deferredRequestCount -= 1
            sendNoRoute(prefix, requestID: requestID, to: PeerSlot(slot), into: &outputs)
        }
    }

    static func mappingBody(_ prefix: IPPrefix, _ label: UInt32, requestID: UInt32? = nil) -> MessageBody {
        .labelMapping(LabelMappingMessage(fec: [.prefix(prefix)], label: .generic(label), labelRequestMessageID: requestID))
    }

    func send(_ body: MessageBody, to slot: PeerSlot, into outputs: inout [LIBOutput]) {
        guard let peer = peers[Int(slot)] else { return }
        outputs.append(.send(to: peer.id, body: body, messageID: nil))
    }

    func sendNoRoute(_ prefix: IPPrefix, requestID: UInt32, to slot: PeerSlot, into outputs: inout [LIBOutput]) {
        sendNotification(.noRoute, about: [.prefix(prefix)], requestID: requestID,
                         causeType: .labelRequest, to: slot, into: &outputs)
    }

    func sendNotification(_ code: StatusCode, about fec: [FECElement], requestID: UInt32, causeType: MessageType,
                          to slot: PeerSlot, into outputs: inout [LIBOutput]) {
        let status = Status(code: code, isFatal: false, forward: false, messageID: requestID, messageType: causeType.rawValue)
        send(.notification(NotificationMessage(status: status, fec: fec, labelRequestMessageID: requestID)), to: slot, into: &outputs)
    }

    // MARK: Forwarding

    /// Next hops of the FEC's route whose peer (the one that advertised the next-hop address)
    /// gave us a label for the FEC, with that label.
    func usableNextHops(_ prefix: IPPrefix, _ record: FECRecord) -> [LFIBNextHop] {
        guard let route = record.route, !record.remoteMappings.isEmpty else { return [] }
        var hops: [LFIBNextHop] = []
        for nextHop in route.nextHops {
            guard let address = nextHop.address, let slot = peerByAddress[address],
                  let label = record.remoteLabel(from: slot) else { continue }
            hops.append(LFIBNextHop(address: address, interface: nextHop.interface, outLabels: [label]))
        }
        return hops
    }

    /// The LFIB entries the FEC owns in the current state. Egress FECs own none: the LSR
    /// forwards their (unlabeled or explicit-null) packets itself.
    func forwarding(for prefix: IPPrefix) -> FECForwarding {
        guard let record = fecs[prefix], let route = record.route, !route.isEgress else { return FECForwarding() }
        let hops = usableNextHops(prefix, record)
        guard !hops.isEmpty else { return FECForwarding() }
        var result = FECForwarding()
        if let local = record.localLabel, Self.isDynamic(local) {
            // Swap (or pop where the next hop gave implicit-null), keyed by the label we advertised.
            result.incomingLabelEntry = LFIBEntry(key: .label(local), fec: prefix, nextHops: hops)
        }
        // FTN: pushing at ingress is only needed when some next hop wants a real label.
        if hops.contains(where: { $0.outLabels != [ReservedLabel.implicitNull] }) {
            result.ingressEntry = LFIBEntry(key: .prefix(prefix), fec: prefix, nextHops: hops)
        }
        return result
    }

    func emitForwardingChanges(from before: FECForwarding, to after: FECForwarding, into outputs: inout [LIBOutput]) {
        if let old = before.incomingLabelEntry, old.key != after.incomingLabelEntry?.key {
            outputs.append(.lfib(.remove(old.key)))
        }
        if let old = before.ingressEntry, after.ingressEntry == nil {
            outputs.append(.lfib(.remove(old.key)))
        }
        if let new = after.incomingLabelEntry, new != before.incomingLabelEntry {
            outputs.append(.lfib(.replace(new)))
        }
        if let new = after.ingressEntry, new != before.ingressEntry {
            outputs.append(.lfib(.replace(new)))
        }
    }

    /// Runs `change` and settles every FEC in `prefixes` (their forwarding is taken before).
    mutating func settling(_ prefixes: some Collection<IPPrefix>, into outputs: inout [LIBOutput],
                           _ change: (inout Self, inout [LIBOutput]) -> Void) {
        let before = prefixes.map { ($0, forwarding(for: $0)) }
        change(&self, &outputs)
        for (prefix, forwarding) in before { settle(prefix, forwardingBefore: forwarding, into: &outputs) }
    }

    /// FECs left without a label by exhaustion get one as soon as labels come back.
    mutating func retryStarvedFECs(into outputs: inout [LIBOutput]) {
        // Lowest prefix first, so that the outcome does not depend on hash order.
        while allocator.hasFreeLabel, let prefix = starvedFECs.min() {
            starvedFECs.remove(prefix)
            let before = forwarding(for: prefix)
            settle(prefix, forwardingBefore: before, into: &outputs)
            if starvedFECs.contains(prefix) { break }
        }
    }

    // MARK: Routes

    mutating func setRoute(_ route: Route?, for prefix: IPPrefix, into outputs: inout [LIBOutput]) {
        var route = route
        route?.nextHops.sort()
        let old = fecs[prefix]?.route
        guard old != route else { return }
        let before = forwarding(for: prefix)
        for address in Self.nextHopAddresses(old) {
            routesByNextHop[address]?.remove(prefix)
            if routesByNextHop[address]?.isEmpty == true { routesByNextHop[address] = nil }
        }
        for address in Self.nextHopAddresses(route) { routesByNextHop[address, default: []].insert(prefix) }
        if route != nil || fecs[prefix] != nil { fecs[prefix, default: FECRecord()].route = route }
        settle(prefix, forwardingBefore: before, into: &outputs)
        retryStarvedFECs(into: &outputs)
    }

    static func nextHopAddresses(_ route: Route?) -> Set<IPAddress> {
        Set(route?.nextHops.compactMap(\.address) ?? [])
    }

    // MARK: Configuration

    mutating func applyConfiguration(_ newConfiguration: LabelDistributionConfiguration, into outputs: inout [LIBOutput]) {
        let old = configuration
        guard newConfiguration != old else { return }
        configuration = newConfiguration
        if newConfiguration.labelRange != old.labelRange {
            let inUse = fecs.values.compactMap(\.localLabel).filter(Self.isDynamic) + pendingReleases.keys
            allocator = LabelAllocator(range: newConfiguration.labelRange, labelsInUse: inUse)
        }
        // A configuration change may concern any FEC: settle them all (not a per-event path).
        let prefixes = fecs.keys.sorted()
        settling(prefixes, into: &outputs) { _, _ in }
        retryStarvedFECs(into: &outputs)
    }
}
