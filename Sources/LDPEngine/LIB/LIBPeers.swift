// Peers coming and going, and the Address / Address Withdraw bookkeeping (RFC 5036 §3.5.5-6).

import LDPCodec
import MPLSTables

extension LabelInformationBase {
    // MARK: Session up

    mutating func startPeer(_ id: LDPIdentifier, capabilities: PeerCapabilities, into outputs: inout [LIBOutput]) {
        // A second peerUp without peerDown means the session was reset underneath us.
        if slotsByPeer[id] != nil { stopPeer(id, into: &outputs) }
        let slot: PeerSlot
        if let reused = freeSlots.popLast() {
            slot = reused
            peers[Int(slot)] = PeerRecord(id: id, capabilities: capabilities)
        } else {
            slot = PeerSlot(peers.count)
            peers.append(PeerRecord(id: id, capabilities: capabilities))
        }
        slotsByPeer[id] = slot

        // Our addresses first, so the peer can map its next hops to us (§3.5.5).
        for list in Self.addressLists(localAddresses) {
            outputs.append(.send(to: id, body: .address(list), messageID: nil))
        }

        // Then every mapping we have (Downstream Unsolicited), in prefix order.
        var advertised: [(IPPrefix, UInt32)] = []
        advertised.reserveCapacity(fecs.count)
        var index = fecs.startIndex
        while index != fecs.endIndex {
            if let label = fecs.values[index].localLabel {
                fecs.values[index].advertisements.append(.init(peer: slot, released: false))
                advertised.append((fecs.keys[index], label))
            }
            fecs.formIndex(after: &index)
        }
        advertised.sort { $0.0 < $1.0 }
        outputs.reserveCapacity(outputs.count + advertised.count + 2)
        for (prefix, label) in advertised {
            outputs.append(.send(to: id, body: Self.mappingBody(prefix, label), messageID: nil))
        }

        // RFC 5919: End-of-LIB only to peers that can ignore an unknown status code.
        if capabilities.unrecognizedNotification {
            outputs.append(.send(to: id, body: Self.endOfLIB(.ipv4), messageID: nil))
            if advertised.contains(where: { $0.0.family == .ipv6 }) {
                outputs.append(.send(to: id, body: Self.endOfLIB(.ipv6), messageID: nil))
            }
        }
    }

    static func endOfLIB(_ family: AddressFamily) -> MessageBody {
        let status = Status(code: .endOfLIB, isFatal: false, forward: false, messageID: 0, messageType: 0)
        return .notification(NotificationMessage(status: status, fec: [.typedWildcard(.prefix(family))]))
    }

    /// One Address List per family, addresses sorted (IPv4 first).
    static func addressLists(_ addresses: some Collection<IPAddress>) -> [AddressList] {
        let sorted = addresses.sorted()
        return [AddressFamily.ipv4, .ipv6].compactMap { family in
            let ofFamily = sorted.filter { $0.family == family }
            return ofFamily.isEmpty ? nil : AddressList(family: family, addresses: ofFamily)
        }
    }

    // MARK: Session down

    mutating func stopPeer(_ id: LDPIdentifier, into outputs: inout [LIBOutput]) {
        guard let slot = slotsByPeer[id], let peer = peers[Int(slot)] else { return }
        // FECs whose forwarding or (ordered) advertisement may depend on the peer: those it
        // mapped; next hops resolved through its addresses only matter where it gave a label.
        settling(peer.mappedFECs.sorted(), into: &outputs) { lib, outputs in
            for address in peer.addresses where lib.peerByAddress[address] == slot {
                lib.peerByAddress[address] = lib.otherPeer(advertising: address, besides: slot)
            }
            for prefix in peer.mappedFECs {
                lib.fecs[prefix]?.remoteMappings.removeAll { $0.peer == slot }
            }
            lib.forgetAdvertisements(to: slot, into: &outputs)
            lib.peers[Int(slot)] = nil
            lib.slotsByPeer[id] = nil
            lib.deferredRequestCount -= peer.deferredRequests.count
        }
        freeSlots.append(slot)
        retryStarvedFECs(into: &outputs)
    }

    /// The peer no longer holds anything we advertised: drop it from every advertisement and
    /// from the holders of withdrawn labels (freeing those nobody else holds).
    private mutating func forgetAdvertisements(to slot: PeerSlot, into outputs: inout [LIBOutput]) {
        var index = fecs.startIndex
        while index != fecs.endIndex {
            if fecs.values[index].advertisementIndex(of: slot) != nil {
                fecs.values[index].advertisements.removeAll { $0.peer == slot }
            }
            fecs.formIndex(after: &index)
        }
        let held = pendingReleases.filter { $0.value.holders.contains(slot) }.keys.sorted()
        for label in held { dropHolder(slot, of: label, into: &outputs) }
    }

    /// `slot` no longer holds the withdrawn `label`; the label is freed when nobody does.
    mutating func dropHolder(_ slot: PeerSlot, of label: UInt32, into outputs: inout [LIBOutput]) {
        guard var pending = pendingReleases[label] else { return }
        pending.holders.removeAll { $0 == slot }
        guard pending.holders.isEmpty else {
            pendingReleases[label] = pending
            return
        }
        pendingReleases[label] = nil
        fecs[pending.fec]?.labelsAwaitingRelease.removeAll { $0 == label }
        if fecs[pending.fec]?.isUnused == true { fecs[pending.fec] = nil }
        releaseToAllocator(label, into: &outputs)
    }

    func otherPeer(advertising address: IPAddress, besides slot: PeerSlot) -> PeerSlot? {
        peers.indices.first { $0 != Int(slot) && peers[$0]?.addresses.contains(address) == true }.map { PeerSlot($0) }
    }

    // MARK: Addresses

    /// Address message: the peer's addresses now resolve next hops to it.
    mutating func receiveAddresses(_ list: AddressList, from slot: PeerSlot, into outputs: inout [LIBOutput]) {
        let added = list.addresses.filter { peers[Int(slot)]?.addresses.contains($0) == false }
        guard !added.isEmpty else { return }
        settling(affectedRoutes(of: added), into: &outputs) { lib, _ in
            for address in added {
                lib.peers[Int(slot)]?.addresses.insert(address)
                lib.peerByAddress[address] = slot
            }
        }
    }

    /// Address Withdraw: next hops with these addresses no longer resolve to the peer.
    mutating func receiveAddressWithdraw(_ list: AddressList, from slot: PeerSlot, into outputs: inout [LIBOutput]) {
        let removed = list.addresses.filter { peers[Int(slot)]?.addresses.contains($0) == true }
        guard !removed.isEmpty else { return }
        settling(affectedRoutes(of: removed), into: &outputs) { lib, _ in
            for address in removed {
                lib.peers[Int(slot)]?.addresses.remove(address)
                if lib.peerByAddress[address] == slot {
                    lib.peerByAddress[address] = lib.otherPeer(advertising: address, besides: slot)
                }
            }
        }
    }

    private func affectedRoutes(of addresses: [IPAddress]) -> [IPPrefix] {
        var prefixes: Set<IPPrefix> = []
        for address in addresses { prefixes.formUnion(routesByNextHop[address] ?? []) }
        return prefixes.sorted()
    }

    /// Our own addresses changed: tell every operational peer the difference.
    mutating func replaceLocalAddresses(with addresses: Set<IPAddress>, into outputs: inout [LIBOutput]) {
        let withdrawn = Self.addressLists(localAddresses.subtracting(addresses))
        let added = Self.addressLists(addresses.subtracting(localAddresses))
        localAddresses = addresses
        for peer in peers.compactMap({ $0 }).sorted(by: { $0.id < $1.id }) {
            for list in withdrawn { outputs.append(.send(to: peer.id, body: .addressWithdraw(list), messageID: nil)) }
            for list in added { outputs.append(.send(to: peer.id, body: .address(list), messageID: nil)) }
        }
    }
}

extension LabelInformationBase {
    /// RFC 5561 dynamic capability announcement changed what the peer supports (Typed Wildcard
    /// FEC, Unrecognized Notification). Nothing is sent; later End-of-LIB decisions follow it.
    public mutating func updateCapabilities(_ capabilities: PeerCapabilities, of peer: LDPIdentifier) -> [LIBOutput] {
        guard let slot = slotsByPeer[peer] else {
            return [.event(.protocolError(peer: peer, detail: "capability update for a peer that is not operational"))]
        }
        peers[Int(slot)]?.capabilities = capabilities
        return []
    }
}
