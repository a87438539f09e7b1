// FRRouting's ldpd as an independent LDP peer in a lab namespace: zebra, staticd and ldpd
// started with a generated configuration, queried with vtysh.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum FRR {
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/lib/frr/ldpd") }
}

extension NamespaceLab {
    var frrDirectory: String { directory + "/frr" }
    func frrSocketDirectory(_ node: String) -> String { "/var/run/frr/\(namespace(node))" }

    /// Starts zebra, staticd and ldpd in `node` with LDP on `interfaces` and these static routes.
    func startFRR(_ node: String, routerID: String, interfaces: [String], staticRoutes: [(String, String)],
                  neighborPasswords: [String: String] = [:]) throws {
        let directory = "\(frrDirectory)/\(node)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let routes = staticRoutes.map { "ip route \($0.0) \($0.1)" }.joined(separator: "\n")
        let ldpInterfaces = interfaces.map {
            "  interface \($0)\n   discovery hello interval 1\n   discovery hello holdtime 3\n  exit"
        }.joined(separator: "\n")
        let passwords = neighborPasswords.map { " neighbor \($0.key) password \($0.value)" }.joined(separator: "\n")
        let configuration = """
            frr defaults traditional
            hostname \(node)
            log file \(directory)/frr.log debugging
            !
            \(routes)
            !
            mpls ldp
             router-id \(routerID)
            \(passwords)
             !
             address-family ipv4
              discovery transport-address \(routerID)
            \(ldpInterfaces)
             exit-address-family
            exit
            !
            """
        let path = "\(directory)/frr.conf"
        try configuration.write(toFile: path, atomically: true, encoding: .utf8)
        // The daemons drop privileges to user frr: it must read the file and write the log.
        try Shell.check(["chown", "-R", "frr:frr", frrDirectory])
        try Shell.check(["chmod", "-R", "a+rX", directory])
        try Shell.check(["mkdir", "-p", frrSocketDirectory(node)])
        try Shell.check(["chown", "frr:frr", frrSocketDirectory(node)])
        for daemon in ["zebra", "staticd", "ldpd"] {
            try Shell.startDaemon(["ip", "netns", "exec", namespace(node), "/usr/lib/frr/\(daemon)", "-d",
                                   "-N", namespace(node), "-f", path, "-i", "\(directory)/\(daemon).pid"],
                                  log: "\(directory)/\(daemon).out")
        }
        frrNodes.insert(node)
    }

    func vtysh(_ node: String, _ command: String) throws -> String {
        try Shell.check(["vtysh", "--vty_socket", frrSocketDirectory(node), "-c", command])
    }

    func frrLog(_ node: String) -> String {
        (try? String(contentsOfFile: "\(frrDirectory)/\(node)/frr.log", encoding: .utf8)) ?? ""
    }

    /// Stops the FRR daemons this lab started in `node`, by their PID files.
    func stopFRR(_ node: String) {
        for daemon in ["ldpd", "staticd", "zebra"] {
            let pidFile = "\(frrDirectory)/\(node)/\(daemon).pid"
            guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                  let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            kill(pid, SIGTERM)
            var waited = 0
            while kill(pid, 0) == 0 && waited < 50 {
                usleep(100_000)
                waited += 1
            }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        _ = try? Shell.run(["rm", "-rf", frrSocketDirectory(node)])
        frrNodes.remove(node)
    }
}
