// RFC 5036 Appendix A: the procedures run when a label distribution message arrives.
// Downstream Unsolicited, liberal retention, no loop detection (LMp.3-8, LRq.1 do not apply),
// merge capable (LMp.28-30, LRq.11-12 do not apply). We never send Label Requests ourselves,
// so LMp.1-2 (outstanding request) never match.

import LDPCodec
import MPLSTables

extension LabelInformationBase {
    mutating func handle(_ message: Message, from id: LDPIdentifier, into outputs: inout [LIBOutput]) {
        guard let slot = slotsByPeer[id] else {
            outputs.append(.event(.protocolError(peer: id, detail: "message from a peer that is not operational")))
            return
        }
        switch message.body {
        case .address(let list): receiveAddresses(list, from: slot, into: &outputs)
        case .addressWithdraw(let list): receiveAddressWithdraw(list, from: slot, into: &outputs)
        case .labelMapping(let mapping): receiveMapping(mapping, from: slot, into: &outputs)
        case .labelRequest(let request): receiveRequest(request, id: message.id, from: slot, into: &outputs)
        case .labelWithdraw(let withdraw): receiveWithdraw(withdraw, from: slot, into: &outputs)
        case .labelRelease(let release): receiveRelease(release, from: slot, into: &outputs)
        case .labelAbortRequest(let abort): receiveAbort(abort, id: message.id, from: slot, into: &outputs)
        case .notification(let notification): receiveNotification(notification, from: slot, into: &outputs)
        case .hello, .initialization, .keepAlive, .capability, .unknown:
            break // session and discovery messages: not the LIB's
        }
    }

    private func protocolError(_ slot: PeerSlot, _ detail: String, into outputs: inout [LIBOutput]) {
        guard let peer = peers[Int(slot)] else { return }
        outputs.append(.event(.protocolError(peer: peer.id, detail: detail)))
    }

    /// A label value a peer may advertise: explicit/implicit null or an unreserved label.
    private static func isAdvertisable(_ label: UInt32, for family: AddressFamily) -> Bool {
        switch label {
        case ReservedLabel.implicitNull: true
        case ReservedLabel.ipv4ExplicitNull: family == .ipv4
        case ReservedLabel.ipv6ExplicitNull: family == .ipv6
        default: label >= ReservedLabel.firstUnreserved && label <= ReservedLabel.maximum
        }
    }

    // MARK: A.1.2 Receive Label Mapping

    private mutating func receiveMapping(_ mapping: LabelMappingMessage, from slot: PeerSlot, into outputs: inout [LIBOutput]) {
        guard case .generic(let label) = mapping.label else {
            protocolError(slot, "Label Mapping with a non-generic label", into: &outputs)
            return
        }
        // A FEC TLV with several elements binds the label to each of them.
        for element in mapping.fec {
            guard case .prefix(let prefix) = element else {
                protocolError(slot, "Label Mapping for a wildcard FEC", into: &outputs)
                continue
            }
            guard Self.isAdvertisable(label, for: prefix.family) else {
                protocolError(slot, "Label Mapping for \(prefix) with reserved label \(label)", into: &outputs)
                continue
            }
            receiveMapping(prefix, label: label, from: slot, into: &outputs)
        }
    }

    private mutating func receiveMapping(_ prefix: IPPrefix, label: UInt32, from slot: PeerSlot, into outputs: inout [LIBOutput]) {
        guard let peerID = peers[Int(slot)]?.id else { return }
        outputs.append(.event(.mappingReceived(peer: peerID, fec: prefix, label: label)))
        let before = forwarding(for: prefix)
        // LMp.9: a mapping from MsgSource for this FEC already?
        if let previous = fecs[prefix]?.remoteLabel(from: slot) {
            // LMp.10: the same label again changes nothing.
            if previous == label { return }
            // LMp.10a: a new label replaces the old one; release the old one (DU).
            let release = LabelReleaseMessage(fec: [.prefix(prefix)], label: .generic(previous))
            send(.labelRelease(release), to: slot, into: &outputs)
            fecs[prefix]?.remoteMappings.removeAll { $0.peer == slot }
        }
        // LMp.13/LMp.32 (liberal retention): record the mapping whether or not MsgSource is
        // the next hop; LMp.11-12 and LMp.15 (install for forwarding) and LMp.16-27 (ordered
        // control: advertise upstream now) follow from the recorded state in `settle`.
        fecs[prefix, default: FECRecord()].remoteMappings.append(.init(peer: slot, label: label))
        peers[Int(slot)]?.mappedFECs.insert(prefix)
        settle(prefix, forwardingBefore: before, into: &outputs)
        retryStarvedFECs(into: &outputs)
    }

    // MARK: A.1.1 Receive Label Request

    private mutating func receiveRequest(_ request: LabelRequestMessage, id requestID: UInt32, from slot: PeerSlot,
                                         into outputs: inout [LIBOutput]) {
        for element in request.fec {
            switch element {
            case .prefix(let prefix):
                answerRequest(for: prefix, requestID: requestID, from: slot, into: &outputs)
            case .typedWildcard(.prefix(let family)):
                // RFC 5918 §4: answer with every mapping of the family, then End-of-LIB (RFC 5919).
                answerWildcardRequest(family: family, requestID: requestID, from: slot, into: &outputs)
            case .typedWildcard(.other):
                // RFC 5918: a FEC type we do not support.
                sendNotification(.unknownFEC, about: [element], requestID: requestID, causeType: .labelRequest,
                                 to: slot, into: &outputs)
            case .wildcard:
                protocolError(slot, "Label Request with the Wildcard FEC", into: &outputs)
            }
        }
    }

    private mutating func answerRequest(for prefix: IPPrefix, requestID: UInt32, from slot: PeerSlot,
                                        into outputs: inout [LIBOutput]) {
        // LRq.1: loop detection is not in use.
        // LRq.2: is there a next hop for the FEC? LRq.5: if not, No Route. A FEC our filter
        // keeps out of LDP is answered the same way: we will not label-switch it.
        guard let record = fecs[prefix], let route = record.route, configuration.fecFilter.admits(prefix) else {
            sendNoRoute(prefix, requestID: requestID, to: slot, into: &outputs)
            return
        }
        // LRq.3: is MsgSource the next hop? LRq.4: then the request loops back: Loop Detected.
        if !route.isEgress, let peer = peers[Int(slot)],
           route.nextHops.contains(where: { $0.address.map(peer.addresses.contains) ?? false }) {
            sendNotification(.loopDetected, about: [.prefix(prefix)], requestID: requestID, causeType: .labelRequest,
                             to: slot, into: &outputs)
            return
        }
        // LRq.6-8: we answer at once, so there is no earlier request to compare with.
        guard let label = record.localLabel else {
            if starvedFECs.contains(prefix) {
                // No label to give: No Label Resources (§3.9, A.1.1 via LRq.9 allocation failure).
                sendNotification(.noLabelResources, about: [.prefix(prefix)], requestID: requestID,
                                 causeType: .labelRequest, to: slot, into: &outputs)
            } else {
                // LRq.10 (ordered control): wait for the downstream mapping; `settle` answers.
                if peers[Int(slot)]?.deferredRequests.updateValue(requestID, forKey: prefix) == nil {
                    deferredRequestCount += 1
                }
            }
            return
        }
        // LRq.9: Send_Label: our mapping, carrying the request's message id.
        outputs.append(.send(to: peers[Int(slot)]!.id, body: Self.mappingBody(prefix, label, requestID: requestID),
                             messageID: nil))
        if let index = record.advertisementIndex(of: slot) {
            fecs[prefix]?.advertisements[index].released = false
        } else {
            fecs[prefix]?.advertisements.append(.init(peer: slot, released: false))
        }
    }

    private mutating func answerWildcardRequest(family: AddressFamily, requestID: UInt32, from slot: PeerSlot,
                                                into outputs: inout [LIBOutput]) {
        let prefixes = fecs.keys.filter { $0.family == family && fecs[$0]?.localLabel != nil }.sorted()
        for prefix in prefixes {
            guard let label = fecs[prefix]?.localLabel, let peer = peers[Int(slot)] else { continue }
            outputs.append(.send(to: peer.id, body: Self.mappingBody(prefix, label, requestID: requestID), messageID: nil))
            if let index = fecs[prefix]?.advertisementIndex(of: slot) {
                fecs[prefix]?.advertisements[index].released = false
            } else {
                fecs[prefix]?.advertisements.append(.init(peer: slot, released: false))
            }
        }
        if peers[Int(slot)]?.capabilities.unrecognizedNotification == true {
            send(Self.endOfLIB(family), to: slot, into: &outputs)
        }
    }

    // MARK: A.1.3 Receive Label Abort Request

    private mutating func receiveAbort(_ abort: LabelAbortRequestMessage, id abortID: UInt32, from slot: PeerSlot,
                                       into outputs: inout [LIBOutput]) {
        for element in abort.fec {
            guard case .prefix(let prefix) = element else { continue }
            // LAbR.1-2: only a request still outstanding (deferred) can be aborted; one we
            // answered already (mapping or notification) makes the abort a no-op (LAbR.12).
            guard let pending = peers[Int(slot)]?.deferredRequests[prefix],
                  pending == abort.labelRequestMessageID else { continue }
            peers[Int(slot)]?.deferredRequests[prefix] = nil
            deferredRequestCount -= 1
            // LAbR.3: Label Request Aborted, naming the aborted request.
            let status = Status(code: .labelRequestAborted, isFatal: false, forward: false, messageID: abortID,
                                messageType: MessageType.labelAbortRequest.rawValue)
            let notification = NotificationMessage(status: status, fec: [.prefix(prefix)],
                                                   labelRequestMessageID: abort.labelRequestMessageID)
            send(.notification(notification), to: slot, into: &outputs)
            // LAbR.4-11: we never forwarded the request downstream, so nothing to abort there.
        }
    }

    // MARK: A.1.5 Receive Label Withdraw

    private mutating func receiveWithdraw(_ withdraw: LabelWithdrawMessage, from slot: PeerSlot, into outputs: inout [LIBOutput]) {
        var label: UInt32?
        if let withdrawnLabel = withdraw.label {
            guard case .generic(let value) = withdrawnLabel else {
                protocolError(slot, "Label Withdraw with a non-generic label", into: &outputs)
                return
            }
            label = value
        }
        guard let peer = peers[Int(slot)] else { return }
        var prefixes: [IPPrefix] = []
        for element in withdraw.fec {
            switch element {
            case .prefix(let prefix): prefixes.append(prefix)
            case .wildcard: prefixes.append(contentsOf: peer.mappedFECs)
            case .typedWildcard(.prefix(let family)): prefixes.append(contentsOf: peer.mappedFECs.filter { $0.family == family })
            case .typedWildcard(.other): break // a FEC type we never receive mappings for
            }
        }
        // LWd.3: only mappings with the withdrawn label (any label when none is given).
        let withdrawn = Set(prefixes).filter { prefix in
            guard let current = fecs[prefix]?.remoteLabel(from: slot) else { return false }
            return label == nil || label == current
        }.sorted()
        // LWd.1 and LWd.4: remove the label from forwarding use and the record of the mapping.
        settling(withdrawn, into: &outputs) { lib, outputs in
            for prefix in withdrawn {
                lib.fecs[prefix]?.remoteMappings.removeAll { $0.peer == slot }
                lib.peers[Int(slot)]?.mappedFECs.remove(prefix)
                outputs.append(.event(.mappingWithdrawn(peer: peer.id, fec: prefix)))
            }
        }
        // LWd.2: always answer with one Label Release with the same FEC TLV and label.
        send(.labelRelease(LabelReleaseMessage(fec: withdraw.fec, label: withdraw.label)), to: slot, into: &outputs)
        retryStarvedFECs(into: &outputs)
    }

    // MARK: A.1.4 Receive Label Release

    private mutating func receiveRelease(_ release: LabelReleaseMessage, from slot: PeerSlot, into outputs: inout [LIBOutput]) {
        var label: UInt32?
        if let releasedLabel = release.label {
            guard case .generic(let value) = releasedLabel else {
                protocolError(slot, "Label Release with a non-generic label", into: &outputs)
                return
            }
            label = value
        }
        for element in release.fec {
            switch element {
            case .prefix(let prefix):
                releaseLabel(label, of: prefix, by: slot, into: &outputs)
            case .wildcard:
                releaseAll(matching: { _ in true }, label: label, by: slot, into: &outputs)
            case .typedWildcard(.prefix(let family)):
                releaseAll(matching: { $0.family == family }, label: label, by: slot, into: &outputs)
            case .typedWildcard(.other):
                break
            }
        }
        retryStarvedFECs(into: &outputs)
    }

    private mutating func releaseAll(matching isIncluded: (IPPrefix) -> Bool, label: UInt32?, by slot: PeerSlot,
                                     into outputs: inout [LIBOutput]) {
        let prefixes = fecs.keys.filter(isIncluded).sorted()
        for prefix in prefixes { releaseLabel(label, of: prefix, by: slot, into: &outputs) }
    }

    private mutating func releaseLabel(_ label: UInt32?, of prefix: IPPrefix, by slot: PeerSlot, into outputs: inout [LIBOutput]) {
        // LRl.1: an unknown FEC: nothing to release.
        guard let record = fecs[prefix] else { return }
        // LRl.2-4: the peer no longer uses our current label; we keep it bound to the FEC
        // (other peers may use it) and do not advertise it to this peer again.
        if let current = record.localLabel, label == nil || label == current,
           let index = record.advertisementIndex(of: slot) {
            fecs[prefix]?.advertisements[index].released = true
        }
        // LRl.5-6 (withdraw outstanding): a withdrawn label the peer held; once no peer holds
        // it, it goes back to the free pool.
        for withdrawn in record.labelsAwaitingRelease where label == nil || label == withdrawn {
            dropHolder(slot, of: withdrawn, into: &outputs)
        }
        // LRl.7-13 (propagate the release downstream) apply to conservative retention only.
    }

    // MARK: A.1.8-A.1.12 Notifications that concern labels

    private mutating func receiveNotification(_ notification: NotificationMessage, from slot: PeerSlot,
                                              into outputs: inout [LIBOutput]) {
        guard let peer = peers[Int(slot)] else { return }
        let code = notification.status.code
        switch code {
        case .endOfLIB:
            // RFC 5919 §4: the peer has sent all its mappings (of the typed wildcard's type).
            peers[Int(slot)]?.endOfLIBReceived = true
            outputs.append(.event(.endOfLIBReceived(peer: peer.id)))
        case .noRoute, .loopDetected, .labelRequestAborted, .noLabelResources, .labelResourcesAvailable, .unknownFEC:
            // NoRt, LDt, LRqA, NoRes, RAv: we never send Label Requests and keep every mapping,
            // so there is no request to retry or forward; record it for the operator.
            let prefixes = (notification.fec ?? []).compactMap { element -> IPPrefix? in
                if case .prefix(let prefix) = element { return prefix }
                return nil
            }
            outputs.append(.event(.notificationReceived(peer: peer.id, status: code, fecs: prefixes)))
        default:
            break // session-level status: the session layer's business
        }
    }
}
