// Table-like tests of the LIB procedures: message values and routes in, exact outputs out.

import Testing
import LDPCodec
import MPLSTables
@testable import LDPEngine

typealias T = Topology

@Suite struct LIBPeerUpTests {
    /// A LIB with a loopback, a connected subnet and one remote /32 via A.
    private func populated(_ configuration: LabelDistributionConfiguration = .init(localLSRID: T.localLSRID)) -> LabelInformationBase {
        var lib = LabelInformationBase(configuration: configuration)
        _ = lib.setLocalAddresses([IPAddress("1.1.1.1")!, IPAddress("10.0.12.1")!])
        _ = lib.update(loopbackRoute("1.1.1.1/32"))
        _ = lib.update(connectedRoute("10.0.12.0/24", interface: "eth1"))
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        return lib
    }

    @Test func sendsAddressThenMappingsThenEndOfLIB() {
        var lib = populated()
        let outputs = lib.peerUp(T.peerA, capabilities: .init(unrecognizedNotification: true))
        #expect(outputs == [
            sendTo(T.peerA, .address(AddressList([IPv4Address(1, 1, 1, 1), IPv4Address(10, 0, 12, 1)]))),
            sendTo(T.peerA, mappingBody("1.1.1.1/32", 3)),
            sendTo(T.peerA, mappingBody("4.4.4.4/32", 16)),
            sendTo(T.peerA, mappingBody("10.0.12.0/24", 3)),
            sendTo(T.peerA, endOfLIBBody(.ipv4)),
        ])
    }

    @Test func noEndOfLIBWithoutUnrecognizedNotification() {
        var lib = populated()
        let outputs = lib.peerUp(T.peerA, capabilities: .init(typedWildcardFEC: true))
        #expect(outputs.count == 4)
        #expect(!outputs.contains(sendTo(T.peerA, endOfLIBBody(.ipv4))))
        #expect(outputs.last == sendTo(T.peerA, mappingBody("10.0.12.0/24", 3)))
    }

    @Test func endOfLIBForIPv6WhenIPv6FECsExist() {
        var lib = populated(.init(localLSRID: T.localLSRID, explicitNull: true))
        _ = lib.update(loopbackRoute("2001:db8::1/128"))
        let outputs = lib.peerUp(T.peerA, capabilities: .init(unrecognizedNotification: true))
        #expect(Array(outputs.dropFirst()) == [
            sendTo(T.peerA, mappingBody("1.1.1.1/32", 0)),
            sendTo(T.peerA, mappingBody("4.4.4.4/32", 16)),
            sendTo(T.peerA, mappingBody("10.0.12.0/24", 0)),
            sendTo(T.peerA, mappingBody("2001:db8::1/128", 2)),
            sendTo(T.peerA, endOfLIBBody(.ipv4)),
            sendTo(T.peerA, endOfLIBBody(.ipv6)),
        ])
    }

    @Test func explicitNullCanBeSwitchedOnLater() {
        var lib = populated()
        _ = lib.peerUp(T.peerA, capabilities: .init())
        let outputs = lib.reconfigure(.init(localLSRID: T.localLSRID, explicitNull: true))
        #expect(outputs == [
            sendTo(T.peerA, withdrawBody([.prefix(prefix("1.1.1.1/32"))], 3)),
            sendTo(T.peerA, mappingBody("1.1.1.1/32", 0)),
            sendTo(T.peerA, withdrawBody([.prefix(prefix("10.0.12.0/24"))], 3)),
            sendTo(T.peerA, mappingBody("10.0.12.0/24", 0)),
        ])
    }

    @Test func localAddressChangesAreSentAsDeltas() {
        var lib = populated()
        _ = lib.peerUp(T.peerA, capabilities: .init())
        let outputs = lib.setLocalAddresses([IPAddress("1.1.1.1")!, IPAddress("10.0.13.1")!, IPAddress("2001:db8::1")!])
        #expect(outputs == [
            sendTo(T.peerA, .addressWithdraw(AddressList([IPv4Address(10, 0, 12, 1)]))),
            sendTo(T.peerA, .address(AddressList([IPv4Address(10, 0, 13, 1)]))),
            sendTo(T.peerA, .address(AddressList(family: .ipv6, addresses: [IPAddress("2001:db8::1")!]))),
        ])
    }
}

@Suite struct LIBControlModeTests {
    @Test func independentControlAdvertisesWithoutDownstreamMapping() {
        var lib = LabelInformationBase.withPeers()
        let outputs = lib.update(route("4.4.4.4/32", via: T.hopA))
        #expect(outputs == [
            .event(.labelAllocated(fec: prefix("4.4.4.4/32"), label: 16)),
            sendTo(T.peerA, mappingBody("4.4.4.4/32", 16)),
            sendTo(T.peerB, mappingBody("4.4.4.4/32", 16)),
        ])
    }

    @Test func orderedControlWaitsForTheNextHopMapping() {
        var lib = LabelInformationBase.withPeers(.init(localLSRID: T.localLSRID, control: .ordered))
        #expect(lib.update(route("4.4.4.4/32", via: T.hopA)).isEmpty)
        // A mapping from a peer that is not the next hop does not satisfy ordered control.
        let fromB = lib.receive(message(mappingBody("4.4.4.4/32", 300)), from: T.peerB)
        #expect(fromB == [.event(.mappingReceived(peer: T.peerB, fec: prefix("4.4.4.4/32"), label: 300))])

        let fromA = lib.receive(message(mappingBody("4.4.4.4/32", 100)), from: T.peerA)
        #expect(fromA == [
            .event(.mappingReceived(peer: T.peerA, fec: prefix("4.4.4.4/32"), label: 100)),
            .event(.labelAllocated(fec: prefix("4.4.4.4/32"), label: 16)),
            sendTo(T.peerA, mappingBody("4.4.4.4/32", 16)),
            sendTo(T.peerB, mappingBody("4.4.4.4/32", 16)),
            .lfib(.replace(entry(.label(16), "4.4.4.4/32", (T.hopA, 100)))),
            .lfib(.replace(entry(.prefix(prefix("4.4.4.4/32")), "4.4.4.4/32", (T.hopA, 100)))),
        ])

        // The downstream mapping goes away: our mapping is withdrawn upstream (LWd, ordered).
        let withdrawn = lib.receive(message(withdrawBody([.prefix(prefix("4.4.4.4/32"))], 100)), from: T.peerA)
        #expect(withdrawn == [
            .event(.mappingWithdrawn(peer: T.peerA, fec: prefix("4.4.4.4/32"))),
            sendTo(T.peerA, withdrawBody([.prefix(prefix("4.4.4.4/32"))], 16)),
            sendTo(T.peerB, withdrawBody([.prefix(prefix("4.4.4.4/32"))], 16)),
            .lfib(.remove(.label(16))),
            .lfib(.remove(.prefix(prefix("4.4.4.4/32")))),
            sendTo(T.peerA, releaseBody([.prefix(prefix("4.4.4.4/32"))], 100)),
        ])
    }

    @Test func orderedControlAdvertisesEgressFECsAtOnce() {
        var lib = LabelInformationBase.withPeers(.init(localLSRID: T.localLSRID, control: .ordered))
        #expect(lib.update(loopbackRoute("1.1.1.1/32")) == [
            sendTo(T.peerA, mappingBody("1.1.1.1/32", 3)),
            sendTo(T.peerB, mappingBody("1.1.1.1/32", 3)),
        ])
    }
}

@Suite struct LIBMappingTests {
    @Test func mappingFromNextHopInstallsSwapAndFTN() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        let outputs = lib.receive(message(mappingBody("4.4.4.4/32", 100)), from: T.peerA)
        #expect(outputs.lfibChanges == [
            .replace(entry(.label(16), "4.4.4.4/32", (T.hopA, 100))),
            .replace(entry(.prefix(prefix("4.4.4.4/32")), "4.4.4.4/32", (T.hopA, 100))),
        ])
        #expect(lib.lfib.entries[.label(16)]?.action == .swap)
    }

    @Test func implicitNullFromNextHopPopsWithoutFTN() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("2.2.2.2/32", via: T.hopA))
        let outputs = lib.receive(message(mappingBody("2.2.2.2/32", 3)), from: T.peerA)
        #expect(outputs.lfibChanges == [.replace(entry(.label(16), "2.2.2.2/32", (T.hopA, 3)))])
        #expect(lib.lfib.entries[.label(16)]?.action == .pop)
    }

    @Test func sameMappingTwiceChangesNothing() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        _ = lib.receive(message(mappingBody("4.4.4.4/32", 100)), from: T.peerA)
        let again = lib.receive(message(mappingBody("4.4.4.4/32", 100)), from: T.peerA)
        #expect(again == [.event(.mappingReceived(peer: T.peerA, fec: prefix("4.4.4.4/32"), label: 100))])
    }

    @Test func newLabelFromSamePeerReleasesTheOldOne() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        _ = lib.receive(message(mappingBody("4.4.4.4/32", 100)), from: T.peerA)
        let outputs = lib.receive(message(mappingBody("4.4.4.4/32", 101)), from: T.peerA)
        #expect(outputs == [
            .event(.mappingReceived(peer: T.peerA, fec: prefix("4.4.4.4/32"), label: 101)),
            sendTo(T.peerA, releaseBody([.prefix(prefix("4.4.4.4/32"))], 100)), // LMp.10a
            .lfib(.replace(entry(.label(16), "4.4.4.4/32", (T.hopA, 101)))),
            .lfib(.replace(entry(.prefix(prefix("4.4.4.4/32")), "4.4.4.4/32", (T.hopA, 101)))),
        ])
    }

    @Test func mappingFromNonNextHopIsRetainedAndUsedAfterRouteChange() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        let outputs = lib.receive(message(mappingBody("4.4.4.4/32", 200)), from: T.peerB)
        #expect(outputs.lfibChanges.isEmpty)
        #expect(lib.binding(for: prefix("4.4.4.4/32"))?.remoteBindings == [.init(peer: T.peerB, label: 200, inUse: false)])

        let rerouted = lib.update(route("4.4.4.4/32", via: T.hopB))
        #expect(rerouted == [
            .lfib(.replace(entry(.label(16), "4.4.4.4/32", (T.hopB, 200)))),
            .lfib(.replace(entry(.prefix(prefix("4.4.4.4/32")), "4.4.4.4/32", (T.hopB, 200)))),
        ])
        #expect(lib.binding(for: prefix("4.4.4.4/32"))?.remoteBindings == [.init(peer: T.peerB, label: 200, inUse: true)])
    }

    @Test func ecmpNextHopsShareOneEntryAndKeepTheirOwnLabels() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA, T.hopB))
        _ = lib.receive(message(mappingBody("4.4.4.4/32", 100)), from: T.peerA)
        let outputs = lib.receive(message(mappingBody("4.4.4.4/32", 200)), from: T.peerB)
        #expect(outputs.lfibChanges == [
            .replace(entry(.label(16), "4.4.4.4/32", (T.hopA, 100), (T.hopB, 200))),
            .replace(entry(.prefix(prefix("4.4.4.4/32")), "4.4.4.4/32", (T.hopA, 100), (T.hopB, 200))),
        ])
        // Mixed implicit-null and real labels: per-next-hop out labels, FTN kept.
        let mixed = lib.receive(message(mappingBody("4.4.4.4/32", 3)), from: T.peerA)
        #expect(mixed.lfibChanges == [
            .replace(entry(.label(16), "4.4.4.4/32", (T.hopA, 3), (T.hopB, 200))),
            .replace(entry(.prefix(prefix("4.4.4.4/32")), "4.4.4.4/32", (T.hopA, 3), (T.hopB, 200))),
        ])
        #expect(lib.lfib.entries.count == 2)
    }

    @Test func ecmpNextHopsChangeByDelta() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA, T.hopB))
        _ = lib.receive(message(mappingBody("4.4.4.4/32", 100)), from: T.peerA)
        _ = lib.receive(message(mappingBody("4.4.4.4/32", 200)), from: T.peerB)
        let outputs = lib.update(route("4.4.4.4/32", via: T.hopB))
        #expect(outputs == [
            .lfib(.replace(entry(.label(16), "4.4.4.4/32", (T.hopB, 200)))),
            .lfib(.replace(entry(.prefix(prefix("4.4.4.4/32")), "4.4.4.4/32", (T.hopB, 200)))),
        ])
        // Same route again: nothing.
        #expect(lib.update(route("4.4.4.4/32", via: T.hopB)).isEmpty)
    }

    @Test func mappingWithReservedLabelIsAProtocolError() {
        var lib = LabelInformationBase.withPeers()
        let outputs = lib.receive(message(mappingBody("4.4.4.4/32", 1)), from: T.peerA)
        #expect(outputs.events.count == 1)
        if case .protocolError(let peer, _) = outputs.events.first { #expect(peer == T.peerA) } else { Issue.record("no protocol error") }
        #expect(lib.binding(for: prefix("4.4.4.4/32")) == nil)
    }

    @Test func severalPrefixElementsAreHandledPerElement() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        _ = lib.update(route("5.5.5.5/32", via: T.hopA))
        let both = MessageBody.labelMapping(.init(fec: [.prefix(prefix("4.4.4.4/32")), .prefix(prefix("5.5.5.5/32"))], label: .generic(100)))
        let outputs = lib.receive(message(both), from: T.peerA)
        #expect(outputs.lfibChanges.count == 4)
        #expect(lib.lfib.entries[.label(17)] == entry(.label(17), "5.5.5.5/32", (T.hopA, 100)))
    }
}

@Suite struct LIBWithdrawReleaseTests {
    private func withMappings() -> LabelInformationBase {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        _ = lib.update(route("2001:db8::4/128", via: .init(address: IPAddress("fe80::2")!, interface: "eth1")))
        _ = lib.receive(message(.address(AddressList(family: .ipv6, addresses: [IPAddress("fe80::2")!]))), from: T.peerA)
        _ = lib.receive(message(mappingBody("4.4.4.4/32", 100)), from: T.peerA)
        _ = lib.receive(message(mappingBody("2001:db8::4/128", 400)), from: T.peerA)
        return lib
    }

    @Test func withdrawIsAnsweredWithReleaseAndRemovesForwarding() {
        var lib = withMappings()
        let outputs = lib.receive(message(withdrawBody([.prefix(prefix("4.4.4.4/32"))], 100)), from: T.peerA)
        #expect(outputs == [
            .event(.mappingWithdrawn(peer: T.peerA, fec: prefix("4.4.4.4/32"))),
            .lfib(.remove(.label(16))),
            .lfib(.remove(.prefix(prefix("4.4.4.4/32")))),
            sendTo(T.peerA, releaseBody([.prefix(prefix("4.4.4.4/32"))], 100)),
        ])
        #expect(lib.binding(for: prefix("4.4.4.4/32"))?.remoteBindings == [])
    }

    @Test func withdrawOfAnotherLabelKeepsTheMappingButIsStillReleased() {
        var lib = withMappings()
        let outputs = lib.receive(message(withdrawBody([.prefix(prefix("4.4.4.4/32"))], 999)), from: T.peerA)
        #expect(outputs == [sendTo(T.peerA, releaseBody([.prefix(prefix("4.4.4.4/32"))], 999))])
    }

    @Test func wildcardWithdrawIsAnsweredByOneWildcardRelease() {
        var lib = withMappings()
        let outputs = lib.receive(message(withdrawBody([.wildcard], nil)), from: T.peerA)
        #expect(outputs.sentMessages == [sendTo(T.peerA, releaseBody([.wildcard], nil))])
        #expect(Set(outputs.lfibChanges) == [
            .remove(.label(16)), .remove(.prefix(prefix("4.4.4.4/32"))),
            .remove(.label(17)), .remove(.prefix(prefix("2001:db8::4/128"))),
        ])
        #expect(lib.lfib.entries.isEmpty)
    }

    @Test func typedWildcardWithdrawConcernsOneFamily() {
        var lib = withMappings()
        let typed = FECElement.typedWildcard(.prefix(.ipv6))
        let outputs = lib.receive(message(withdrawBody([typed], nil)), from: T.peerA)
        #expect(outputs == [
            .event(.mappingWithdrawn(peer: T.peerA, fec: prefix("2001:db8::4/128"))),
            .lfib(.remove(.label(17))),
            .lfib(.remove(.prefix(prefix("2001:db8::4/128")))),
            sendTo(T.peerA, releaseBody([typed], nil)),
        ])
        #expect(lib.lfib.entries.keys.sorted() == [.prefix(prefix("4.4.4.4/32")), .label(16)])
    }

    @Test func routeRemovalWithdrawsAndHoldsTheLabelUntilReleased() {
        var lib = withMappings()
        let removed = lib.removeRoute(prefix("4.4.4.4/32"))
        #expect(removed == [
            sendTo(T.peerA, withdrawBody([.prefix(prefix("4.4.4.4/32"))], 16)),
            sendTo(T.peerB, withdrawBody([.prefix(prefix("4.4.4.4/32"))], 16)),
            .lfib(.remove(.label(16))),
            .lfib(.remove(.prefix(prefix("4.4.4.4/32")))),
        ])
        // Liberal retention: A's mapping is kept.
        #expect(lib.binding(for: prefix("4.4.4.4/32"))?.remoteBindings == [.init(peer: T.peerA, label: 100, inUse: false)])
        #expect(lib.labelsAwaitingRelease == [16])

        // 16 is not reused while A and B may still hold it.
        #expect(lib.update(route("5.5.5.5/32", via: T.hopA)).events == [.labelAllocated(fec: prefix("5.5.5.5/32"), label: 18)])
        #expect(lib.receive(message(releaseBody([.prefix(prefix("4.4.4.4/32"))], 16)), from: T.peerA).isEmpty)
        #expect(lib.update(route("6.6.6.6/32", via: T.hopA)).events == [.labelAllocated(fec: prefix("6.6.6.6/32"), label: 19)])
        // B releases too: now 16 is free and the next FEC gets it.
        #expect(lib.receive(message(releaseBody([.prefix(prefix("4.4.4.4/32"))], 16)), from: T.peerB) == [.event(.labelFreed(label: 16))])
        #expect(lib.labelsAwaitingRelease.isEmpty)
        #expect(lib.update(route("7.7.7.7/32", via: T.hopA)).events == [.labelAllocated(fec: prefix("7.7.7.7/32"), label: 16)])
    }

    @Test func wildcardReleaseFreesEveryWithdrawnLabel() {
        var lib = withMappings()
        _ = lib.removeRoute(prefix("4.4.4.4/32"))
        _ = lib.removeRoute(prefix("2001:db8::4/128"))
        #expect(lib.labelsAwaitingRelease == [16, 17])
        _ = lib.receive(message(releaseBody([.typedWildcard(.prefix(.ipv6))], nil)), from: T.peerA)
        _ = lib.receive(message(releaseBody([.typedWildcard(.prefix(.ipv6))], nil)), from: T.peerB)
        #expect(lib.labelsAwaitingRelease == [16])
        let outputs = lib.receive(message(releaseBody([.wildcard], nil)), from: T.peerB)
        #expect(outputs.isEmpty) // A still holds 16
        #expect(lib.receive(message(releaseBody([.wildcard], nil)), from: T.peerA) == [.event(.labelFreed(label: 16))])
    }

    @Test func releaseOfTheCurrentLabelStopsFurtherAdvertisement() {
        var lib = withMappings()
        #expect(lib.receive(message(releaseBody([.prefix(prefix("4.4.4.4/32"))], 16)), from: T.peerB).isEmpty)
        #expect(lib.binding(for: prefix("4.4.4.4/32"))?.advertisedTo == [T.peerA])
        // A route change does not re-advertise to B, and removal withdraws only from A.
        let removed = lib.removeRoute(prefix("4.4.4.4/32"))
        #expect(removed.sentMessages == [sendTo(T.peerA, withdrawBody([.prefix(prefix("4.4.4.4/32"))], 16))])
    }
}

@Suite struct LIBAllocationTests {
    @Test func exhaustedRangeSendsNoMappingUntilALabelComesBack() {
        var lib = LabelInformationBase.withPeers(.init(localLSRID: T.localLSRID, labelRange: 16...17))
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        _ = lib.update(route("5.5.5.5/32", via: T.hopA))
        let starved = lib.update(route("6.6.6.6/32", via: T.hopA))
        #expect(starved == [.event(.labelsExhausted(fec: prefix("6.6.6.6/32")))])
        #expect(lib.binding(for: prefix("6.6.6.6/32"))?.localLabel == nil)

        _ = lib.removeRoute(prefix("4.4.4.4/32"))
        _ = lib.receive(message(releaseBody([.prefix(prefix("4.4.4.4/32"))], 16)), from: T.peerA)
        let freed = lib.receive(message(releaseBody([.prefix(prefix("4.4.4.4/32"))], 16)), from: T.peerB)
        #expect(freed == [
            .event(.labelFreed(label: 16)),
            .event(.labelAllocated(fec: prefix("6.6.6.6/32"), label: 16)),
            sendTo(T.peerA, mappingBody("6.6.6.6/32", 16)),
            sendTo(T.peerB, mappingBody("6.6.6.6/32", 16)),
        ])
    }

    @Test func allocatorReusesFreedLabelsAndHonoursRangeChanges() {
        var allocator = LabelAllocator(range: 16...18)
        #expect([allocator.allocate(), allocator.allocate()] == [16, 17])
        allocator.free(16)
        #expect(allocator.allocate() == 16)
        #expect(allocator.allocate() == 18)
        #expect(allocator.allocate() == nil)
        #expect(!allocator.hasFreeLabel)

        var moved = LabelAllocator(range: 17...20, labelsInUse: [16, 17, 18])
        #expect([moved.allocate(), moved.allocate(), moved.allocate()] == [19, 20, nil])
        moved.free(16) // outside the range: dropped
        moved.free(18)
        #expect(moved.allocate() == 18)
        #expect(moved.allocate() == nil)
    }

    @Test func labelRangeChangeRelabelsFECsOutsideIt() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        let outputs = lib.reconfigure(.init(localLSRID: T.localLSRID, labelRange: 1000...1999))
        #expect(outputs == [
            sendTo(T.peerA, withdrawBody([.prefix(prefix("4.4.4.4/32"))], 16)),
            sendTo(T.peerB, withdrawBody([.prefix(prefix("4.4.4.4/32"))], 16)),
            .event(.labelAllocated(fec: prefix("4.4.4.4/32"), label: 1000)),
            sendTo(T.peerA, mappingBody("4.4.4.4/32", 1000)),
            sendTo(T.peerB, mappingBody("4.4.4.4/32", 1000)),
        ])
    }
}

@Suite struct LIBRequestTests {
    @Test func requestIsAnsweredWithTheMappingAndTheRequestID() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        let request = MessageBody.labelRequest(.init(fec: [.prefix(prefix("4.4.4.4/32"))]))
        #expect(lib.receive(message(request, id: 77), from: T.peerB) == [sendTo(T.peerB, mappingBody("4.4.4.4/32", 16, requestID: 77))])
    }

    @Test func requestWithoutRouteGetsNoRoute() {
        var lib = LabelInformationBase.withPeers()
        let request = MessageBody.labelRequest(.init(fec: [.prefix(prefix("9.9.9.9/32"))]))
        let status = Status(code: .noRoute, isFatal: false, forward: false, messageID: 78, messageType: MessageType.labelRequest.rawValue)
        #expect(lib.receive(message(request, id: 78), from: T.peerB) == [
            sendTo(T.peerB, .notification(.init(status: status, fec: [.prefix(prefix("9.9.9.9/32"))], labelRequestMessageID: 78))),
        ])
    }

    @Test func requestFromTheNextHopIsALoop() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        let request = MessageBody.labelRequest(.init(fec: [.prefix(prefix("4.4.4.4/32"))]))
        let outputs = lib.receive(message(request, id: 79), from: T.peerA)
        guard case .send(_, .notification(let notification), _) = outputs.first else {
            Issue.record("expected a notification, got \(outputs)")
            return
        }
        #expect(notification.status.code == .loopDetected)
        #expect(notification.labelRequestMessageID == 79)
    }

    @Test func orderedControlDefersTheAnswerAndAbortCancelsIt() {
        var lib = LabelInformationBase.withPeers(.init(localLSRID: T.localLSRID, control: .ordered))
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        _ = lib.update(route("5.5.5.5/32", via: T.hopA))
        let request4 = MessageBody.labelRequest(.init(fec: [.prefix(prefix("4.4.4.4/32"))]))
        let request5 = MessageBody.labelRequest(.init(fec: [.prefix(prefix("5.5.5.5/32"))]))
        #expect(lib.receive(message(request4, id: 80), from: T.peerB).isEmpty)
        #expect(lib.receive(message(request5, id: 81), from: T.peerB).isEmpty)

        // The downstream mapping arrives: B's mapping carries its request id.
        let mapped = lib.receive(message(mappingBody("4.4.4.4/32", 100)), from: T.peerA)
        #expect(mapped.sentMessages == [
            sendTo(T.peerA, mappingBody("4.4.4.4/32", 16)),
            sendTo(T.peerB, mappingBody("4.4.4.4/32", 16, requestID: 80)),
        ])

        // An abort for an answered request is ignored; for the outstanding one, LAbR.3.
        let abort4 = MessageBody.labelAbortRequest(.init(fec: [.prefix(prefix("4.4.4.4/32"))], labelRequestMessageID: 80))
        #expect(lib.receive(message(abort4, id: 90), from: T.peerB).isEmpty)
        let abort5 = MessageBody.labelAbortRequest(.init(fec: [.prefix(prefix("5.5.5.5/32"))], labelRequestMessageID: 81))
        let status = Status(code: .labelRequestAborted, isFatal: false, forward: false, messageID: 91,
                            messageType: MessageType.labelAbortRequest.rawValue)
        #expect(lib.receive(message(abort5, id: 91), from: T.peerB) == [
            sendTo(T.peerB, .notification(.init(status: status, fec: [.prefix(prefix("5.5.5.5/32"))], labelRequestMessageID: 81))),
        ])
        // Nothing is owed any more when the mapping for 5.5.5.5 arrives.
        let later = lib.receive(message(mappingBody("5.5.5.5/32", 101)), from: T.peerA)
        #expect(later.sentMessages == [sendTo(T.peerA, mappingBody("5.5.5.5/32", 17)), sendTo(T.peerB, mappingBody("5.5.5.5/32", 17))])
    }

    @Test func notificationsBecomeEvents() {
        var lib = LabelInformationBase.withPeers()
        let endOfLIB = lib.receive(message(endOfLIBBody(.ipv4)), from: T.peerA)
        #expect(endOfLIB == [.event(.endOfLIBReceived(peer: T.peerA))])
        #expect(lib.peerBindings.first?.endOfLIBReceived == true)
        let noRoute = NotificationMessage(status: Status(code: .noRoute), fec: [.prefix(prefix("9.9.9.9/32"))], labelRequestMessageID: 5)
        #expect(lib.receive(message(.notification(noRoute)), from: T.peerA) ==
                [.event(.notificationReceived(peer: T.peerA, status: .noRoute, fecs: [prefix("9.9.9.9/32")]))])
    }
}

@Suite struct LIBAddressAndPeerTests {
    private func forwarding() -> LabelInformationBase {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        _ = lib.receive(message(mappingBody("4.4.4.4/32", 100)), from: T.peerA)
        return lib
    }

    @Test func addressWithdrawUnresolvesTheNextHop() {
        var lib = forwarding()
        let withdrawn = lib.receive(message(.addressWithdraw(AddressList(family: .ipv4, addresses: [T.addressA]))), from: T.peerA)
        #expect(withdrawn == [.lfib(.remove(.label(16))), .lfib(.remove(.prefix(prefix("4.4.4.4/32"))))])
        #expect(lib.addresses(of: T.peerA) == [IPAddress("2.2.2.2")!])
        let readded = lib.receive(message(.address(AddressList(family: .ipv4, addresses: [T.addressA]))), from: T.peerA)
        #expect(readded.lfibChanges == [
            .replace(entry(.label(16), "4.4.4.4/32", (T.hopA, 100))),
            .replace(entry(.prefix(prefix("4.4.4.4/32")), "4.4.4.4/32", (T.hopA, 100))),
        ])
    }

    @Test func peerDownForgetsItsMappingsAndReleasesItsLabels() {
        var lib = forwarding()
        _ = lib.update(route("5.5.5.5/32", via: T.hopA))
        _ = lib.removeRoute(prefix("5.5.5.5/32")) // 17 held by A and B
        _ = lib.receive(message(releaseBody([.prefix(prefix("5.5.5.5/32"))], 17)), from: T.peerB)
        let outputs = lib.peerDown(T.peerA)
        #expect(outputs == [
            .event(.labelFreed(label: 17)),
            .lfib(.remove(.label(16))),
            .lfib(.remove(.prefix(prefix("4.4.4.4/32")))),
        ])
        #expect(lib.binding(for: prefix("4.4.4.4/32"))?.remoteBindings == [])
        #expect(lib.binding(for: prefix("4.4.4.4/32"))?.advertisedTo == [T.peerB])
        #expect(lib.binding(for: prefix("5.5.5.5/32")) == nil)
        #expect(lib.operationalPeers == [T.peerB])
        #expect(lib.lfib.entries.isEmpty)
        // Messages from the gone peer are refused.
        #expect(lib.receive(message(mappingBody("4.4.4.4/32", 100)), from: T.peerA).events.count == 1)
        // It comes back: a fresh dump, nothing stale.
        let back = lib.peerUp(T.peerA, capabilities: .init())
        #expect(back == [sendTo(T.peerA, mappingBody("4.4.4.4/32", 16))])
    }
}

@Suite struct LIBFilterTests {
    @Test func hostRoutesOnly() {
        var lib = LabelInformationBase.withPeers(.init(localLSRID: T.localLSRID, fecFilter: .hostRoutesOnly))
        #expect(lib.update(route("10.1.0.0/16", via: T.hopA)).isEmpty)
        #expect(lib.update(route("4.4.4.4/32", via: T.hopA)).sentMessages.count == 2)
        // A remote label for a filtered FEC still gives the ingress (FTN) entry.
        let outputs = lib.receive(message(mappingBody("10.1.0.0/16", 100)), from: T.peerA)
        #expect(outputs.lfibChanges == [.replace(entry(.prefix(prefix("10.1.0.0/16")), "10.1.0.0/16", (T.hopA, 100)))])
    }

    @Test func prefixListMatchesExactly() {
        let filter = LabelDistributionConfiguration.FECFilter.prefixes([prefix("10.1.0.0/16")])
        var lib = LabelInformationBase.withPeers(.init(localLSRID: T.localLSRID, fecFilter: filter))
        #expect(lib.update(route("10.1.0.0/16", via: T.hopA)).sentMessages.count == 2)
        #expect(lib.update(route("10.1.0.0/24", via: T.hopA)).isEmpty)
        #expect(lib.update(route("4.4.4.4/32", via: T.hopA)).isEmpty)
        // Narrowing the filter withdraws what no longer passes.
        let narrowed = lib.reconfigure(.init(localLSRID: T.localLSRID, fecFilter: .prefixes([])))
        #expect(narrowed == [
            sendTo(T.peerA, withdrawBody([.prefix(prefix("10.1.0.0/16"))], 16)),
            sendTo(T.peerB, withdrawBody([.prefix(prefix("10.1.0.0/16"))], 16)),
        ])
    }
}

@Suite struct LIBCapabilityTests {
    @Test func typedWildcardRequestIsAnsweredWithEndOfLIBOnceCapable() {
        var lib = LabelInformationBase.withPeers()
        _ = lib.update(route("4.4.4.4/32", via: T.hopA))
        _ = lib.update(route("2001:db8::4/128", via: T.hopA))
        let request = MessageBody.labelRequest(.init(fec: [.typedWildcard(.prefix(.ipv4))]))
        #expect(lib.receive(message(request, id: 5), from: T.peerB) == [sendTo(T.peerB, mappingBody("4.4.4.4/32", 16, requestID: 5))])
        #expect(lib.updateCapabilities(.init(typedWildcardFEC: true, unrecognizedNotification: true), of: T.peerB).isEmpty)
        #expect(lib.receive(message(request, id: 6), from: T.peerB) == [
            sendTo(T.peerB, mappingBody("4.4.4.4/32", 16, requestID: 6)),
            sendTo(T.peerB, endOfLIBBody(.ipv4)),
        ])
    }
}
