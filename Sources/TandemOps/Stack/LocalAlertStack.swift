import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real alerting path on localhost, built from the SHIPPED files: Prometheus (Debian's
/// `/usr/bin/prometheus`) loading `deploy/prometheus/rules/tandem.rules.yml` and scraping the given
/// engine nodes (job `tandem-node`, `instance` = the node id, as `deploy/prometheus/prometheus.yml`),
/// Alertmanager (`/usr/bin/prometheus-alertmanager`) with `deploy/alertmanager/alertmanager.yml.tmpl`
/// rendered by `render-config.sh` from `local.env` with the mail and webhook endpoints pointed at
/// this stack's sinks: `deploy/monitoring/smtp-sink.py` (aiosmtpd, for email) and
/// `deploy/monitoring/webhook-sink.py` (Slack on `/slack`, the SMS gateway on `/sms`).
/// Everything listens on free ports of 127.0.0.1 and lives in one temporary directory.
///
/// Used by the end-to-end alert test (TandemNodeTests) and `tandem bench ops` (`alert_latency_ms`).
/// Processes are stopped with SIGKILL (a test runner's children inherit an ignored SIGTERM).
public final class LocalAlertStack: @unchecked Sendable {
    public struct Target: Sendable, Hashable {
        public var instance: String
        public var port: Int
        public init(instance: String, port: Int) {
            self.instance = instance
            self.port = port
        }
    }

    public struct Options: Sendable {
        /// The repository's `deploy/` directory (``LocalAlertStack/findDeployDirectory(from:)``).
        public var deployDirectory: URL
        /// Engine nodes' `/metrics` on 127.0.0.1, scraped as job `tandem-node`.
        public var nodes: [Target]
        /// The `cluster` external label.
        public var cluster = "local"
        /// Prometheus' scrape and rule evaluation intervals (`"1s"`); nil: the shipped prometheus.yml's.
        public var scrapeInterval: String?
        public var evaluationInterval: String?
        /// Test-only overrides of every route's `group_wait` / `group_interval` in the rendered
        /// Alertmanager config; nil keeps the shipped routing.
        public var groupWait: String?
        public var groupInterval: String?

        public init(deployDirectory: URL, nodes: [Target]) {
            self.deployDirectory = deployDirectory
            self.nodes = nodes
        }
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public static let prometheusBinary = "/usr/bin/prometheus"
    public static let alertmanagerBinary = "/usr/bin/prometheus-alertmanager"
    /// Debian's python3, which has `python3-aiosmtpd`'s module.
    public static let python = "/usr/bin/python3"

    /// What this machine lacks to run the stack, as install hints (empty: everything is there).
    public static func missingTools() -> [String] {
        var missing: [String] = []
        if !FileManager.default.isExecutableFile(atPath: prometheusBinary) { missing.append("prometheus (apt-get install prometheus)") }
        if !FileManager.default.isExecutableFile(atPath: alertmanagerBinary) {
            missing.append("prometheus-alertmanager (apt-get install prometheus-alertmanager)")
        }
        if !FileManager.default.isExecutableFile(atPath: python) {
            missing.append("/usr/bin/python3 (apt-get install python3)")
        } else if run(python, ["-c", "import aiosmtpd"]) != 0 {
            missing.append("aiosmtpd for /usr/bin/python3 (apt-get install python3-aiosmtpd)")
        }
        return missing
    }

    /// The `deploy/` directory holding the shipped monitoring files: found from `start` upwards
    /// (a checkout's root or any directory in it), else nil.
    public static func findDeployDirectory(from start: URL) -> URL? {
        var dir = start.standardizedFileURL
        while true {
            let candidate = dir.appendingPathComponent("deploy")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("alertmanager/alertmanager.yml.tmpl").path) {
                return candidate
            }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { return nil }
            dir = parent
        }
    }

    public let directory: URL
    public let prometheusPort: Int
    public let alertmanagerPort: Int
    public let smtpPort: Int
    public let webhookPort: Int
    public let cluster: String
    private var processes: [(name: String, process: Process)] = []

    private init(directory: URL, cluster: String) throws {
        self.directory = directory
        self.cluster = cluster
        prometheusPort = try Self.freePort()
        alertmanagerPort = try Self.freePort()
        smtpPort = try Self.freePort()
        webhookPort = try Self.freePort()
    }

    /// Renders the configs, starts the sinks, Alertmanager and Prometheus, and waits until all are ready.
    public static func start(_ options: Options) async throws -> LocalAlertStack {
        let missing = missingTools()
        guard missing.isEmpty else { throw StartError("the local alert stack needs: \(missing.joined(separator: "; "))") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-alerts-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("rules"), withIntermediateDirectories: true)
        let stack = try LocalAlertStack(directory: dir, cluster: options.cluster)
        do {
            try await stack.launch(options)
            return stack
        } catch {
            stack.stop()
            throw error
        }
    }

    private func launch(_ options: Options) async throws {
        let deploy = options.deployDirectory
        // Prometheus: a config for these targets and intervals, the shipped rules.
        try FileManager.default.copyItem(at: deploy.appendingPathComponent("prometheus/rules/tandem.rules.yml"),
                                         to: directory.appendingPathComponent("rules/tandem.rules.yml"))
        let shipped = try Self.shippedIntervals(deploy)
        try prometheusConfig(options, scrape: options.scrapeInterval ?? shipped.scrape, evaluation: options.evaluationInterval ?? shipped.evaluation)
            .write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)

        // Alertmanager: the shipped template rendered with local.env, the endpoints pointed at the sinks.
        let rendered = directory.appendingPathComponent("alertmanager.yml")
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TANDEM_ALERT_") }
        environment["TANDEM_ALERT_SMTP_SMARTHOST"] = "127.0.0.1:\(smtpPort)"
        environment["TANDEM_ALERT_SLACK_WEBHOOK_URL"] = "http://127.0.0.1:\(webhookPort)/slack"
        environment["TANDEM_ALERT_SMS_WEBHOOK_URL"] = "http://127.0.0.1:\(webhookPort)/sms"
        let status = Self.run("/bin/bash", [deploy.appendingPathComponent("alertmanager/render-config.sh").path,
                                            "--env-file", deploy.appendingPathComponent("alertmanager/local.env").path,
                                            deploy.appendingPathComponent("alertmanager/alertmanager.yml.tmpl").path, rendered.path],
                              environment: environment, log: directory.appendingPathComponent("render.log"))
        guard status == 0 else { throw StartError("render-config.sh failed (exit \(status)): \(log("render"))") }
        if options.groupWait != nil || options.groupInterval != nil {
            var text = try String(contentsOf: rendered, encoding: .utf8)
            text = Self.overriding(text, key: "group_wait", with: options.groupWait)
            text = Self.overriding(text, key: "group_interval", with: options.groupInterval)
            try text.write(to: rendered, atomically: true, encoding: .utf8)
        }

        try spawn("smtp-sink", Self.python, [deploy.appendingPathComponent("monitoring/smtp-sink.py").path, "\(smtpPort)", mailFile.path])
        try spawn("webhook-sink", Self.python, [deploy.appendingPathComponent("monitoring/webhook-sink.py").path, "\(webhookPort)", webhookFile.path])
        try spawn("alertmanager", Self.alertmanagerBinary, [
            "--config.file=\(rendered.path)", "--storage.path=\(directory.path)/alertmanager-data",
            "--web.listen-address=127.0.0.1:\(alertmanagerPort)", "--cluster.listen-address=", "--log.level=warn"])
        try spawn("prometheus", Self.prometheusBinary, [
            "--config.file=\(directory.path)/prometheus.yml", "--storage.tsdb.path=\(directory.path)/prometheus-data",
            "--web.listen-address=127.0.0.1:\(prometheusPort)", "--log.level=warn"])

        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            if let dead = processes.first(where: { !$0.process.isRunning }) {
                throw StartError("\(dead.name) exited at start: \(log(dead.name))")
            }
            let promReady = (try? await Self.get(port: prometheusPort, path: "/-/ready"))?.status == 200
            let amReady = (try? await Self.get(port: alertmanagerPort, path: "/-/ready"))?.status == 200
            if promReady, amReady, LocalPorts.accepts(smtpPort), LocalPorts.accepts(webhookPort) { return }
            guard ContinuousClock.now < deadline else { throw StartError("the alert stack was not ready within 30 s; logs in \(directory.path)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// SIGKILL every process, wait for them, remove the directory (unless `keep`).
    public func stop(keep: Bool = false) {
        for (_, p) in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for (_, p) in processes { p.waitUntilExit() }
        processes = []
        if !keep { try? FileManager.default.removeItem(at: directory) }
    }

    deinit {
        for (_, p) in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }

    // MARK: What arrived

    public struct Mail: Sendable {
        public var received: Date
        public var to: [String]
        public var subject: String
        public var text: String
    }

    public struct Webhook: Sendable {
        /// `/slack` or `/sms`.
        public var path: String
        public var body: String
    }

    public var mailFile: URL { directory.appendingPathComponent("mail.jsonl") }
    public var webhookFile: URL { directory.appendingPathComponent("webhooks.log") }

    /// Every message the SMTP sink has received, in order.
    public func mails() -> [Mail] {
        let text = (try? String(contentsOf: mailFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let received = o["received"] as? Double else { return nil }
            return Mail(received: Date(timeIntervalSince1970: received), to: o["to"] as? [String] ?? [],
                        subject: o["subject"] as? String ?? "", text: o["text"] as? String ?? "")
        }
    }

    /// Every POST the webhook sink has received (Slack's and the SMS gateway's), in order.
    public func webhooks() -> [Webhook] {
        let text = (try? String(contentsOf: webhookFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            return Webhook(path: String(parts[0]), body: String(parts[1]))
        }
    }

    public struct ActiveAlert: Sendable {
        public var labels: [String: String]
        /// Prometheus: `pending` or `firing`; Alertmanager: `active`, `suppressed` or `unprocessed`.
        public var state: String
        public var name: String { labels["alertname"] ?? "" }
    }

    /// Prometheus' alerts (`/api/v1/alerts`): pending and firing.
    public func prometheusAlerts() async throws -> [ActiveAlert] {
        let o = try await json(port: prometheusPort, path: "/api/v1/alerts")
        let alerts = ((o as? [String: Any])?["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
        return alerts.map { ActiveAlert(labels: $0["labels"] as? [String: String] ?? [:], state: $0["state"] as? String ?? "") }
    }

    /// Alertmanager's alerts not yet resolved (`/api/v2/alerts`), inhibited and silenced ones included.
    public func alertmanagerAlerts() async throws -> [ActiveAlert] {
        let o = try await json(port: alertmanagerPort, path: "/api/v2/alerts")
        return (o as? [[String: Any]] ?? []).map {
            ActiveAlert(labels: $0["labels"] as? [String: String] ?? [:], state: ($0["status"] as? [String: Any])?["state"] as? String ?? "")
        }
    }

    /// An instant PromQL query; each result's labels and value.
    public func query(_ promql: String) async throws -> [(labels: [String: String], value: Double)] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = promql.addingPercentEncoding(withAllowedCharacters: allowed) ?? promql
        let o = try await json(port: prometheusPort, path: "/api/v1/query?query=\(encoded)")
        let result = ((o as? [String: Any])?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
        return result.map { r in
            let value = (r["value"] as? [Any])?.last.flatMap { ($0 as? String).flatMap(Double.init) } ?? .nan
            return (r["metric"] as? [String: String] ?? [:], value)
        }
    }

    /// The log of one of the stack's processes (`prometheus`, `alertmanager`, `smtp-sink`, `webhook-sink`, `render`).
    public func log(_ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    // MARK: Configuration

    /// The shipped prometheus.yml's global `scrape_interval` and `evaluation_interval`.
    public static func shippedIntervals(_ deploy: URL) throws -> (scrape: String, evaluation: String) {
        let text = try String(contentsOf: deploy.appendingPathComponent("prometheus/prometheus.yml"), encoding: .utf8)
        func value(_ key: String) -> String? {
            text.split(separator: "\n").lazy.map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix(key + ":") }.map { String($0.dropFirst(key.count + 1)).trimmingCharacters(in: .whitespaces) }
        }
        guard let scrape = value("scrape_interval"), let evaluation = value("evaluation_interval") else {
            throw StartError("deploy/prometheus/prometheus.yml has no global scrape_interval / evaluation_interval")
        }
        return (scrape, evaluation)
    }

    /// Like the shipped prometheus.yml (job `tandem-node`, `instance` = node id, the `cluster`
    /// external label, the rules), for this stack's targets, ports and intervals.
    func prometheusConfig(_ options: Options, scrape: String, evaluation: String) -> String {
        let targets = options.nodes.map { "      - targets: ['127.0.0.1:\($0.port)']\n        labels: {instance: \($0.instance)}" }
        return """
            # Written by LocalAlertStack (Sources/TandemOps/Stack) after deploy/prometheus/prometheus.yml.
            global:
              scrape_interval: \(scrape)
              scrape_timeout: \(scrape)
              evaluation_interval: \(evaluation)
              external_labels:
                cluster: \(options.cluster)
            rule_files:
              - \(directory.path)/rules/tandem.rules.yml
            alerting:
              alertmanagers:
                - static_configs:
                    - targets: ['127.0.0.1:\(alertmanagerPort)']
            scrape_configs:
              - job_name: tandem-node
                static_configs:
            \(targets.joined(separator: "\n"))

            """
    }

    /// Every `key: …` line of `yaml` with its value replaced (nil: unchanged).
    static func overriding(_ yaml: String, key: String, with value: String?) -> String {
        guard let value else { return yaml }
        return yaml.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let trimmed = line.drop { $0 == " " }
            guard trimmed.hasPrefix(key + ":") else { return String(line) }
            return String(line.prefix(line.count - trimmed.count)) + "\(key): \(value)"
        }.joined(separator: "\n")
    }

    // MARK: Processes, ports, HTTP

    private func spawn(_ name: String, _ executable: String, _ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.currentDirectoryURL = directory
        let logURL = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logURL)
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        processes.append((name, p))
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, log: URL? = nil) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let environment { p.environment = environment }
        var handle: FileHandle?
        if let log {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            handle = try? FileHandle(forWritingTo: log)
        }
        p.standardOutput = handle ?? FileHandle.nullDevice
        p.standardError = handle ?? FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// A TCP port on 127.0.0.1 free right now.
    public static func freePort() throws -> Int { try LocalPorts.free() }

    private func json(port: Int, path: String) async throws -> Any {
        let r = try await Self.get(port: port, path: path)
        guard r.status == 200 else { throw StartError("GET \(path) on \(port): HTTP \(r.status)") }
        return try JSONSerialization.jsonObject(with: Data(r.body.utf8))
    }

    /// A plain HTTP/1.1 GET on 127.0.0.1:`port`: the status and the body.
    public static func get(port: Int, path: String) async throws -> (status: UInt, body: String) {
        let r = try await PlainHTTP.request(host: "127.0.0.1", port: port, method: .GET, path: path)
        return (r.status, r.body)
    }
}
