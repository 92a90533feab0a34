import ArgumentParser
import Foundation
import Logging
import Metrics
import Synchronization
import TandemNode
import TandemOps

/// `tandem bench ops`: what instrumentation costs on the order path — a JSON log line (what the
/// logging call costs its caller with the node's handler and a file sink on /dev/null; the sink's
/// flusher thread formats and writes the lines, and `log_line_process_cpu_ns` is the whole process's
/// CPU per line, flusher included; beside them, the same swift-log call into a handler that formats
/// nothing, `log_call_unformatted_ns`) and the metrics an order updates on the
/// node (its intent and fill counted, the fill's slippage against the arrival mid, one journal append
/// observed: `NodeMetricsBenchmark`, on the node's backend, ``TandemMetricsFactory``) — and `alert_latency_ms`, a
/// takeover to its email through real Prometheus and Alertmanager with the shipped rules and routing
/// (``AlertLatency``).
struct BenchOps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Measure the cost of a JSON log line and of an order's metric updates (ns), and a takeover's alert latency (ms).",
        discussion: """
            alert_latency_ms starts a local cluster (embedded PostgreSQL, tandem venue, two tandem node processes), \
            Prometheus and Alertmanager with the shipped files under deploy/ and an SMTP sink, SIGKILLs the leader and \
            times the TandemTakeover email. It needs prometheus, prometheus-alertmanager and python3-aiosmtpd \
            (apt-get install), and takes about 40 s; --skip-alert-latency leaves it out.
            """
    )

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Iterations per measurement (the best of five runs is kept for the log line, of three for the metrics).")
    var iterations = 200_000

    @Flag(help: "Do not measure alert_latency_ms (it needs Prometheus, Alertmanager and aiosmtpd).")
    var skipAlertLatency = false

    @Option(help: "The repository's deploy/ directory with the shipped monitoring files (default: found from the current directory up).")
    var deployDir: String?

    func run() async throws {
        guard iterations > 0 else { throw ValidationError("--iterations must be positive") }
        let sink = try JSONLogSink(path: "/dev/null", maxBytes: .max)
        var handler = JSONLogHandler(label: "tandem.node", process: "node", sink: sink)
        handler[metadataKey: "node.id"] = "node-a"
        let logger = Logger(label: "tandem.node", factory: { _ in handler })
        // Each run ends with the sink flushed, so its lines are all formatted and written inside it.
        var processCPU = Duration.seconds(3600)
        let logNs = best {
            let cpu0 = Duration.nanoseconds(BenchClock.processCPUNanos())
            for i in 0..<iterations {
                logger.info("order sent", metadata: ["order.clOrdID": "3-\(i)", "journal.seq": "\(i)", "fix.msgSeqNum": "\(i)"])
            }
            sink.flush()
            processCPU = min(processCPU, Duration.nanoseconds(BenchClock.processCPUNanos()) - cpu0)
        } / Double(iterations)
        let logCPUNs = Self.nanoseconds(processCPU) / Double(iterations)
        // The same call into a handler that drops it: what swift-log and the call's metadata cost before
        // any formatting (the anchor for log_line_ns).
        let noop = Logger(label: "tandem.node", factory: { _ in CountingLogHandler() })
        let callNs = best {
            for i in 0..<iterations {
                noop.info("order sent", metadata: ["order.clOrdID": "3-\(i)", "journal.seq": "\(i)", "fix.msgSeqNum": "\(i)"])
            }
        } / Double(iterations)

        // The node's own metrics (NodeMetrics, as `tandem node --metrics-port` bootstraps them): what one
        // order updates on its path — two counters, the slippage bookkeeping and histogram, a journal append.
        MetricsSystem.bootstrap(TandemMetricsFactory(durationBuckets: NodeService.histogramBuckets.durations,
                                                     valueBuckets: NodeService.histogramBuckets.values))
        var fastest = Duration.seconds(3600)
        for _ in 0..<3 { fastest = min(fastest, try NodeMetricsBenchmark.run(iterations: iterations)) }
        let metricsNs = Self.nanoseconds(fastest) / Double(iterations)

        var figures: [(String, String)] = [
            ("log_line_ns", String(format: "%.0f", logNs)),
            ("log_line_process_cpu_ns", String(format: "%.0f", logCPUNs)),
            ("metrics_overhead_ns_per_order", String(format: "%.0f", metricsNs)),
            ("log_call_unformatted_ns", String(format: "%.0f", callNs)),
        ]
        for (part, d) in try NodeMetricsBenchmark.parts(iterations: iterations) {
            let ns = Self.nanoseconds(d) / Double(iterations)
            figures.append(("metrics_\(part)_ns", String(format: "%.0f", ns)))
        }
        figures.append(("iterations", "\(iterations)"))
        if !skipAlertLatency {
            guard let deploy = deployDir.map({ URL(fileURLWithPath: $0) })
                    ?? LocalAlertStack.findDeployDirectory(from: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
                    ?? LocalAlertStack.findDeployDirectory(from: URL(fileURLWithPath: #filePath)) else {
                throw ValidationError("no deploy/ directory found from here: run from the repository or pass --deploy-dir")
            }
            let missing = LocalAlertStack.missingTools()
            guard missing.isEmpty else {
                throw ValidationError("alert_latency_ms needs \(missing.joined(separator: "; ")); or pass --skip-alert-latency")
            }
            let logger = Logger(label: "tandem.bench", factory: { _ in SwiftLogNoOpLogHandler() })
            let latency = try await AlertLatency.measure(deploy: deploy, logger: logger)
            figures.append(("alert_latency_ms", "\(latency.components.seconds * 1000 + latency.components.attoseconds / 1_000_000_000_000_000)"))
        }
        if json {
            print("{" + figures.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
        } else {
            for (k, v) in figures { print("\(k)\t\(v)") }
        }
    }

    /// Nanoseconds of the fastest of five runs of `body`.
    private func best(_ body: () -> Void) -> Double {
        var fastest = Duration.seconds(3600)
        for _ in 0..<5 {
            let t0 = ContinuousClock.now
            body()
            fastest = min(fastest, ContinuousClock.now - t0)
        }
        return Self.nanoseconds(fastest)
    }

    private static func nanoseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
    }
}

/// A handler that takes every event (level `.info`) and formats nothing: it only reads the message and
/// metadata count so the call is not optimised away.
private struct CountingLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    static let seen = Atomic<Int>(0)
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        Self.seen.add((event.metadata?.count ?? 0) &+ event.message.description.utf8.count, ordering: .relaxed)
    }
}
