import Foundation
import Logging
import TandemOps

/// `alert_latency_ms`: from a takeover (SIGKILL of the leader) to the TandemTakeover email in the
/// mail server, through the real alerting path with the SHIPPED timings: a local cluster as `tandem
/// drill` starts it (embedded PostgreSQL, `tandem venue`, node-a and node-b as child processes of
/// this executable, serving /metrics), and ``LocalAlertStack`` — Prometheus with the shipped
/// prometheus.yml's scrape and evaluation intervals (5 s) and rules, Alertmanager with the shipped
/// template's routing (a warning: group_wait 10 s) rendered by render-config.sh, an aiosmtpd sink
/// that stamps each message's arrival. No watchdog runs, so its direct alert does not race the
/// rule. The clock starts when the leader is killed and stops at the sink's arrival stamp (both the
/// wall clock of this machine).
enum AlertLatency {
    static func measure(deploy: URL, logger: Logger) async throws -> Duration {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-bench-alert-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cluster = try await DrillCluster.start(logDirectory: dir.path, leaseMillis: 1000, heartbeatMillis: 200, proxied: false, logger: logger)
        var stack: LocalAlertStack?
        do {
            let ports = (a: try LocalAlertStack.freePort(), b: try LocalAlertStack.freePort())
            try cluster.startNode("node-a", arguments: ["--metrics-port", "\(ports.a)"])
            try await waitFor("node-a to lead (logs: \(dir.path))", seconds: 30) {
                await cluster.nodeRows()?.contains { $0.nodeID == "node-a" && $0.role == "leader" } == true
            }
            try cluster.startNode("node-b", arguments: ["--metrics-port", "\(ports.b)"])
            try await waitFor("node-b to stand by (logs: \(dir.path))", seconds: 30) {
                await cluster.nodeRows()?.contains { $0.nodeID == "node-b" && $0.role == "standby" && $0.lagSeqs == 0 } == true
            }
            var options = LocalAlertStack.Options(deployDirectory: deploy, nodes: [.init(instance: "node-a", port: ports.a),
                                                                                  .init(instance: "node-b", port: ports.b)])
            options.cluster = "bench"
            let started = try await LocalAlertStack.start(options)
            stack = started
            // increase() needs node-b's takeover counter seen before it moves: two scrapes.
            try await waitFor("Prometheus to scrape node-b twice", seconds: 60) {
                (try? await started.query(#"count_over_time(tandem_takeovers_total{instance="node-b"}[5m])"#))?.first.map { $0.value >= 2 } == true
            }
            let killed = Date()
            await cluster.killNode("node-a")
            var mail: LocalAlertStack.Mail?
            try await waitFor("the TandemTakeover email (stack files: \(started.directory.path))", seconds: 120) {
                mail = started.mails().first { $0.subject.contains("TandemTakeover") }
                return mail != nil
            }
            started.stop()
            await cluster.stop()
            try? FileManager.default.removeItem(at: dir)
            return .milliseconds(Int64((mail!.received.timeIntervalSince(killed) * 1000).rounded()))
        } catch {
            stack?.stop(keep: true)
            await cluster.stop()
            throw error
        }
    }

    private static func waitFor(_ what: String, seconds: Int, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw BenchError("alert_latency_ms: timed out after \(seconds) s waiting for \(what)")
    }
}
