// Text renderings of the control views, aligned in the manner of FRR's `show mpls ldp ...`
// and Cisco's `show mpls forwarding-table`.

/// Left-aligned columns separated by two spaces; trailing blanks trimmed.
public struct TextTable {
    public var header: [String]
    public var rows: [[String]] = []

    public init(_ header: String...) { self.header = header }

    public mutating func append(_ row: [String]) { rows.append(row) }

    public func render() -> String {
        let all = [header] + rows
        var widths = Array(repeating: 0, count: header.count)
        for row in all {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 2)
            }.joined().trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }

    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}

/// How labels are written for people: the reserved values by name.
public func labelText(_ label: UInt32) -> String {
    switch label {
    case 0: "exp-null"
    case 2: "exp-null6"
    case 3: "imp-null"
    default: String(label)
    }
}

public func durationText(_ seconds: Double?) -> String {
    guard let seconds, seconds >= 0 else { return "-" }
    let total = Int(seconds)
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
    func two(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
    return hours >= 24 ? "\(hours / 24)d\(two(hours % 24))h\(two(minutes))m" : "\(two(hours)):\(two(minutes)):\(two(secs))"
}

extension LFIBView {
    /// One row per entry; ECMP next hops as extra rows under their entry.
    public func renderText() -> String {
        var table = TextTable("Local", "FEC", "Action", "Outgoing", "Next Hop", "Interface", "Packets", "Bytes", "Installed")
        for entry in entries {
            let installed = [entry.installed.kernel ? "kernel" : nil, entry.installed.userspace ? "userspace" : nil]
                .compactMap { $0 }.joined(separator: ",")
            let installedText = installed.isEmpty ? (entry.error.map { "no (\($0))" } ?? "no") : installed
            for (index, hop) in entry.nexthops.enumerated() {
                let outgoing = hop.outLabels.isEmpty ? "-" : hop.outLabels.map(labelText).joined(separator: "/")
                if index == 0 {
                    table.append([entry.inLabel.map(String.init) ?? "-", entry.fec, entry.action, outgoing,
                                  hop.address ?? "connected", hop.interface, String(entry.packets), String(entry.bytes),
                                  installedText])
                } else {
                    table.append(["", "", "", outgoing, hop.address ?? "connected", hop.interface, "", "", ""])
                }
            }
            if entry.nexthops.isEmpty {
                table.append([entry.inLabel.map(String.init) ?? "-", entry.fec, entry.action, "-", "-", "-",
                              String(entry.packets), String(entry.bytes), installedText])
            }
        }
        return table.render()
    }
}

extension NeighborsView {
    public func renderText(detail: Bool) -> String {
        guard detail else {
            var table = TextTable("Peer LDP ID", "State", "Role", "Remote Address", "Uptime")
            for neighbor in neighbors {
                table.append([neighbor.peer, neighbor.state, neighbor.role ?? "-", neighbor.remoteTransport ?? "-",
                              durationText(neighbor.uptimeSeconds)])
            }
            return table.render()
        }
        return neighbors.map { neighbor in
            var lines = ["Peer LDP Identifier: \(neighbor.peer)"]
            lines.append("  State: \(neighbor.state); role: \(neighbor.role ?? "-"); uptime: \(durationText(neighbor.uptimeSeconds))")
            let local = "\(neighbor.localTransport ?? "-"):\(neighbor.localPort.map(String.init) ?? "-")"
            let remote = "\(neighbor.remoteTransport ?? "-"):\(neighbor.remotePort.map(String.init) ?? "-")"
            lines.append("  TCP connection: \(local) - \(remote)")
            lines.append("  KeepAlive: \(neighbor.keepAliveSeconds.map { "\($0) s" } ?? "-"); hold: \(neighbor.holdSeconds.map { "\($0) s" } ?? "-")")
            lines.append("  Messages sent/received: \(neighbor.messagesSent)/\(neighbor.messagesReceived)")
            lines.append("  TCP MD5: \(neighbor.md5 ? "yes" : "no"); GTSM: \(neighbor.gtsm ? "yes" : "no")")
            lines.append("  Capabilities: \(neighbor.capabilities.isEmpty ? "-" : neighbor.capabilities.joined(separator: ", "))")
            lines.append("  Addresses: \(neighbor.addresses.isEmpty ? "-" : neighbor.addresses.joined(separator: ", "))")
            return lines.joined(separator: "\n")
        }.joined(separator: "\n\n")
    }
}

extension DiscoveryView {
    public func renderText() -> String {
        var table = TextTable("Peer LDP ID", "Type", "Source", "Address", "Hold", "Expires")
        for adjacency in adjacencies {
            let type = adjacency.source == "targeted" ? "Targeted" : "Link"
            table.append([adjacency.peer, type, adjacency.source, adjacency.address, "\(adjacency.holdSeconds)",
                          adjacency.expiresInSeconds.map { "\(Int($0.rounded(.up)))s" } ?? "-"])
        }
        return table.render()
    }
}

extension BackoffView {
    public func renderText() -> String {
        var table = TextTable("Peer LDP ID", "Failures", "Delay", "Next Attempt", "Last Failure")
        for peer in peers {
            let next = peer.nextAttemptInSeconds.map { "in \(Int($0.rounded(.up)))s" } ?? "now"
            let why = peer.refusedByPeer ? "\(peer.lastFailure) (refused by the peer)" : peer.lastFailure
            table.append([peer.peer, "\(peer.failures)", "\(Int(peer.delaySeconds))s", next, why])
        }
        return table.render()
    }
}

extension InterfacesView {
    public func renderText() -> String {
        var table = TextTable("Interface", "State", "Addresses", "Hello", "Hold", "Adjacencies")
        for interface in interfaces {
            table.append([interface.name, interface.isUp ? "up" : "down",
                          interface.addresses.isEmpty ? "-" : interface.addresses.joined(separator: ","),
                          "\(interface.helloIntervalSeconds)", "\(interface.holdSeconds)", "\(interface.adjacencies)"])
        }
        return table.render()
    }
}

extension BindingsView {
    public func renderText() -> String {
        var table = TextTable("Destination", "Nexthop", "Local Label", "Remote Label", "In Use")
        for binding in bindings {
            let local = binding.localLabel.map(labelText) ?? "-"
            if binding.remote.isEmpty {
                table.append([binding.fec, "-", local, "-", "no"])
            }
            for remote in binding.remote {
                table.append([binding.fec, remote.peer, local, labelText(remote.label), remote.inUse ? "yes" : "no"])
            }
        }
        return table.render()
    }
}

extension RoutesView {
    public func renderText() -> String {
        var table = TextTable("Prefix", "Next Hop", "Interface", "Kind")
        for route in routes {
            let kind = route.isLocal ? "local" : (route.nextHops.contains { $0.address == nil } ? "connected" : "via")
            for (index, hop) in route.nextHops.enumerated() {
                table.append([index == 0 ? route.prefix : "", hop.address ?? "-", hop.interface, index == 0 ? kind : ""])
            }
            if route.nextHops.isEmpty { table.append([route.prefix, "-", "-", kind]) }
        }
        return table.render()
    }
}

extension DataplaneView {
    public func renderText() -> String {
        var lines = ["Dataplane mode: \(mode)"]
        for backend in backends {
            lines.append("\(backend.name): \(backend.state), \(backend.entries) entries")
            for key in backend.detail.keys.sorted() { lines.append("  \(key): \(backend.detail[key]!)") }
            if backend.drift.isEmpty {
                lines.append("  drift: none")
            } else {
                lines.append("  drift:")
                lines += backend.drift.map { "    \($0)" }
            }
        }
        return lines.joined(separator: "\n")
    }
}
