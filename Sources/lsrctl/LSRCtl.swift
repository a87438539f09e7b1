// lsrctl: the operator's view of one lsrd, over its control socket.

import ArgumentParser
import Foundation
import LSRControl

struct GlobalOptions: ParsableArguments {
    @Option(help: "The daemon's control socket (default: /run/lsrd/<network namespace>.sock).")
    var socket: String?

    @Flag(help: "Print the daemon's answer as JSON.")
    var json = false

    var client: ControlClient { ControlClient(socketPath: socket ?? ControlProtocol.defaultSocketPath()) }
}

/// Runs one request and prints either its JSON or its text rendering; a one-line error and
/// exit code 1 when the daemon is not there or refuses.
func run<View: Codable & Sendable>(_ options: GlobalOptions, _ request: ControlRequest, as type: View.Type,
                                   render: (View) -> String) throws {
    do {
        let (view, _) = try options.client.call(request, as: type)
        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(view), as: UTF8.self))
        } else {
            print(render(view))
        }
    } catch let error as ControlClientError {
        FileHandle.standardError.write(Data("lsrctl: \(error.description)\n".utf8))
        throw ExitCode(1)
    }
}

@main
struct LSRCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lsrctl", abstract: "Show what lsrd knows and forwards.",
        subcommands: [Show.self, Clear.self])
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show state.", subcommands: [LFIB.self, LDP.self, Routes.self, Dataplane.self])

    struct LFIB: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "lfib", abstract: "The label forwarding table.")
        @Argument(help: ArgumentHelp(
            "Only the entry with this in-label (17), the entries of this FEC (10.255.0.3/32), or those of the FEC a packet to this address takes (192.168.2.1).",
            valueName: "label|prefix|address")) var selector: String?
        @OptionGroup var options: GlobalOptions
        func run() throws {
            try lsrctl.run(options, ControlRequest(command: .showLFIB, argument: selector), as: LFIBView.self) { $0.renderText() }
        }
    }

    struct Routes: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The routes lsrd learned from the kernel.")
        @OptionGroup var options: GlobalOptions
        func run() throws {
            try lsrctl.run(options, ControlRequest(command: .showRoutes), as: RoutesView.self) { $0.renderText() }
        }
    }

    struct Dataplane: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each forwarding backend's state and drift.")
        @OptionGroup var options: GlobalOptions
        func run() throws {
            try lsrctl.run(options, ControlRequest(command: .showDataplane), as: DataplaneView.self) { $0.renderText() }
        }
    }

    struct LDP: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ldp", abstract: "LDP state.",
            subcommands: [Neighbor.self, Discovery.self, Backoff.self, Interface.self, Binding.self])

        struct Neighbor: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "LDP sessions.")
            @Argument(help: "'detail' for every field.") var detail: String?
            @OptionGroup var options: GlobalOptions
            func validate() throws {
                if let detail, detail != "detail" { throw ValidationError("expected 'detail', got '\(detail)'") }
            }
            func run() throws {
                try lsrctl.run(options, ControlRequest(command: .showNeighbors), as: NeighborsView.self) {
                    $0.renderText(detail: detail != nil)
                }
            }
        }

        struct Discovery: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Hello adjacencies.")
            @OptionGroup var options: GlobalOptions
            func run() throws {
                try lsrctl.run(options, ControlRequest(command: .showDiscovery), as: DiscoveryView.self) { $0.renderText() }
            }
        }

        struct Backoff: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Peers whose session set-up failed, and when this router tries again.")
            @OptionGroup var options: GlobalOptions
            func run() throws {
                try lsrctl.run(options, ControlRequest(command: .showBackoff), as: BackoffView.self) { $0.renderText() }
            }
        }

        struct Interface: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "LDP interfaces.")
            @OptionGroup var options: GlobalOptions
            func run() throws {
                try lsrctl.run(options, ControlRequest(command: .showInterfaces), as: InterfacesView.self) { $0.renderText() }
            }
        }

        struct Binding: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Label bindings: local and each peer's.")
            @Argument(help: "Only this prefix.") var prefix: String?
            @OptionGroup var options: GlobalOptions
            func run() throws {
                try lsrctl.run(options, ControlRequest(command: .showBindings, argument: prefix), as: BindingsView.self) {
                    $0.renderText()
                }
            }
        }
    }
}

struct Clear: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reset state.", subcommands: [LDP.self])

    struct LDP: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ldp", abstract: "LDP state.", subcommands: [Neighbor.self])

        struct Neighbor: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Close a session; it comes back by itself.")
            @Argument(help: "The peer's LSR ID.") var peer: String
            @OptionGroup var options: GlobalOptions
            func run() throws {
                try lsrctl.run(options, ControlRequest(command: .clearNeighbor, argument: peer), as: Acknowledgement.self) {
                    $0.message
                }
            }
        }
    }
}
