// lsrd: one LDP label-switching router (run one per network namespace).

import ArgumentParser
import Dispatch
import Foundation
import LDPCodec
import Logging
import LSRDaemon

@main
struct LSRD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lsrd",
        abstract: "An LDP label-switching router: learns routes from the kernel, distributes labels, installs the LFIB.",
        discussion: "Give a YAML file with --config, or the simple case on the command line. SIGHUP reloads the file; SIGTERM shuts sessions down cleanly.")

    @Option(help: "The YAML configuration file.")
    var config: String?

    @Option(help: "The router id (an IPv4 address), when no file is given or to override it.")
    var routerID: String?

    @Option(name: .customLong("interface"), help: "An LDP interface (repeat for several).")
    var interfaces: [String] = []

    @Option(help: "kernel, userspace, both or auto.")
    var dataplane: String?

    @Option(help: "The control socket path (default: /run/lsrd/<network namespace>.sock).")
    var controlSocket: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    func loadConfiguration() throws -> DaemonConfiguration {
        var configuration: DaemonConfiguration
        if let config {
            configuration = try DaemonConfiguration.load(path: config)
        } else {
            guard let routerID else { throw ValidationError("give --config FILE, or at least --router-id") }
            guard let address = IPv4Address(routerID) else { throw ValidationError("--router-id '\(routerID)' is not an IPv4 address") }
            configuration = DaemonConfiguration(routerID: address)
        }
        if let routerID {
            guard let address = IPv4Address(routerID) else { throw ValidationError("--router-id '\(routerID)' is not an IPv4 address") }
            configuration.routerID = address
        }
        for name in interfaces where !configuration.interfaces.contains(where: { $0.name == name }) {
            configuration.interfaces.append(.init(name: name))
        }
        if let dataplane {
            guard let mode = DataplaneMode(rawValue: dataplane) else {
                throw ValidationError("--dataplane '\(dataplane)' is not one of kernel, userspace, both, auto")
            }
            configuration.dataplane = mode
        }
        if let controlSocket { configuration.controlSocket = controlSocket }
        if let logLevel {
            guard let level = LogLevelSetting(rawValue: logLevel) else { throw ValidationError("--log-level '\(logLevel)' is not a log level") }
            configuration.logLevel = level
        }
        return configuration
    }

    func run() throws {
        let configuration: DaemonConfiguration
        do {
            configuration = try loadConfiguration()
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("lsrd: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let level = Logger.Level(rawValue: configuration.logLevel.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lsrd")
        let installers: [any LFIBInstaller]
        do {
            installers = try DataplaneSelection.installers(for: configuration, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("lsrd: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let daemon = Daemon(configuration: configuration, configurationPath: config, logger: logger, installers: installers)

        // Before start(): once the control socket exists a supervisor may signal lsrd, and a
        // SIGTERM between SIG_IGN and the sources' resume() would be lost. The handlers run on
        // the main queue, so only after start() returned.
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] { signal(signalNumber, SIG_IGN) }
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
            source.setEventHandler {
                daemon.shutdown()
                Foundation.exit(0)
            }
            source.resume()
            sources.append(source)
        }
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .main)
        hangup.setEventHandler { daemon.reload() }
        hangup.resume()
        sources.append(hangup)
        do {
            try daemon.start()
        } catch {
            FileHandle.standardError.write(Data("lsrd: \(error)\n".utf8))
            throw ExitCode(1)
        }
        withExtendedLifetime(sources) { dispatchMain() }
    }
}
