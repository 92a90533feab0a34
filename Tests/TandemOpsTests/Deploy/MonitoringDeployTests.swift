import Foundation
import Testing

/// The shipped monitoring files (deploy/prometheus, deploy/alertmanager) checked by the tools that
/// will load them: `promtool` (package `prometheus`) and `amtool` (package `prometheus-alertmanager`),
/// which `.ci/run` installs. A failure shows the tool's own output.
@Suite("monitoring deploy files", .serialized)
struct MonitoringDeployTests {
    /// The repository root, from this file's path (Tests/TandemOpsTests/Deploy/…).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    struct Run {
        var status: Int32
        var output: String
    }

    /// Runs `tool` (found on PATH) with `arguments` in `directory`, stdout and stderr together.
    static func run(_ tool: String, _ arguments: [String], in directory: String = root.path,
                    environment: [String: String]? = nil) throws -> Run {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        let executable = tool.hasPrefix("/") ? tool : paths.map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        let found = try #require(executable, "\(tool) is not installed: apt-get install prometheus prometheus-alertmanager (.ci/run does)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: found)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    static func expectSuccess(_ r: Run, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "\(what) failed (exit \(r.status)):\n\(r.output)", sourceLocation: sourceLocation)
    }

    static func ruleTestFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path("deploy/prometheus/tests"))
            .filter { $0.hasSuffix(".yml") }.sorted().map { "deploy/prometheus/tests/\($0)" }
    }

    @Test("promtool test rules: every case in deploy/prometheus/tests passes")
    func ruleTests() throws {
        let files = try Self.ruleTestFiles()
        #expect(!files.isEmpty)
        Self.expectSuccess(try Self.run("promtool", ["test", "rules"] + files), "promtool test rules")
    }

    @Test("promtool check rules and check config accept the shipped rules and prometheus.yml")
    func promtoolChecks() throws {
        Self.expectSuccess(try Self.run("promtool", ["check", "rules", "deploy/prometheus/rules/tandem.rules.yml"]), "promtool check rules")
        Self.expectSuccess(try Self.run("promtool", ["check", "config", "deploy/prometheus/prometheus.yml"]), "promtool check config")
    }

    @Test("every alert rule has a test where it fires and one where it does not")
    func everyRuleTested() throws {
        let rules = try String(contentsOfFile: Self.path("deploy/prometheus/rules/tandem.rules.yml"), encoding: .utf8)
        let alerts = rules.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            return t.hasPrefix("- alert: ") ? String(t.dropFirst("- alert: ".count)) : nil
        }
        #expect(alerts.count >= 15)
        var firing: Set<String> = [], quiet: Set<String> = []
        for file in try Self.ruleTestFiles() {
            let lines = try String(contentsOfFile: Self.path(file), encoding: .utf8).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            for (i, line) in lines.enumerated() where line.hasPrefix("alertname: ") && i + 1 < lines.count {
                let name = String(line.dropFirst("alertname: ".count))
                if lines[i + 1] == "exp_alerts: []" { quiet.insert(name) } else if lines[i + 1] == "exp_alerts:" { firing.insert(name) }
            }
        }
        for alert in alerts {
            #expect(firing.contains(alert), "no promtool case where \(alert) fires")
            #expect(quiet.contains(alert), "no promtool case where \(alert) stays quiet")
        }
    }

    @Test("amtool check-config accepts the shipped alertmanager.yml, and it is the template rendered with local.env")
    func alertmanagerConfig() throws {
        Self.expectSuccess(try Self.run("amtool", ["check-config", "deploy/alertmanager/alertmanager.yml"]), "amtool check-config")
        let rendered = try Self.run("/bin/bash", ["deploy/alertmanager/render-config.sh", "--env-file", "deploy/alertmanager/local.env"],
                                    environment: ["PATH": "/usr/bin:/bin"])
        Self.expectSuccess(rendered, "render-config.sh")
        let shipped = try String(contentsOfFile: Self.path("deploy/alertmanager/alertmanager.yml"), encoding: .utf8)
        let body = shipped.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).last.map(String.init) ?? ""
        #expect(body == rendered.output, "deploy/alertmanager/alertmanager.yml is stale: regenerate it (docs/monitoring.md)")
    }

    @Test("the template rendered from the environment (secrets with quotes included) is a valid config routing each severity")
    func renderedFromEnvironment() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-am-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("alertmanager.yml").path
        let env = [
            "PATH": "/usr/bin:/bin",
            "TANDEM_ALERT_SMTP_SMARTHOST": "smtp.example.com:587", "TANDEM_ALERT_SMTP_FROM": "alerts@example.com",
            "TANDEM_ALERT_SMTP_USERNAME": "alerts", "TANDEM_ALERT_SMTP_PASSWORD": "it's a $ecret",
            "TANDEM_ALERT_SMTP_REQUIRE_TLS": "true", "TANDEM_ALERT_EMAIL_TO": "desk@example.com",
            "TANDEM_ALERT_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XXXX",
            "TANDEM_ALERT_SLACK_CHANNEL": "#trading-alerts", "TANDEM_ALERT_SLACK_INFO_CHANNEL": "#trading-info",
            "TANDEM_ALERT_SMS_WEBHOOK_URL": "https://sms-gateway.example.com/alertmanager",
            "TANDEM_ALERT_SMS_USERNAME": "AC0000", "TANDEM_ALERT_SMS_PASSWORD": "token",
        ]
        Self.expectSuccess(try Self.run("/bin/bash", ["deploy/alertmanager/render-config.sh", "deploy/alertmanager/alertmanager.yml.tmpl", out],
                                        environment: env), "render-config.sh")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("smtp_auth_password: 'it''s a $ecret'"))
        #expect(text.contains("https://sms-gateway.example.com/alertmanager"))
        let mode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the rendered file holds credentials: mode \(String(mode ?? 0, radix: 8))")
        Self.expectSuccess(try Self.run("amtool", ["check-config", out]), "amtool check-config of the rendered template")
        for (severity, receiver) in [("critical", "page"), ("warning", "team"), ("info", "record")] {
            let r = try Self.run("amtool", ["config", "routes", "test", "--config.file=\(out)", "alertname=X", "severity=\(severity)"])
            Self.expectSuccess(r, "amtool config routes test severity=\(severity)")
            #expect(r.output.split(separator: "\n").last.map(String.init) == receiver, "severity=\(severity) routed to:\n\(r.output)")
        }
    }

    @Test("the render script refuses an environment missing a variable, naming it")
    func renderMissingVariable() throws {
        let r = try Self.run("/bin/bash", ["deploy/alertmanager/render-config.sh"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(r.status == 2)
        #expect(r.output.contains("TANDEM_ALERT_SLACK_WEBHOOK_URL") && r.output.contains("TANDEM_ALERT_SMS_WEBHOOK_URL"), "\(r.output)")
    }

    @Test("amtool rejects a malformed Alertmanager config with a clear error")
    func malformedAlertmanagerConfig() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-bad-am-\(getpid()).yml")
        defer { try? FileManager.default.removeItem(at: file) }
        // A route to a receiver that does not exist.
        try """
            route:
              receiver: page
              routes:
                - receiver: nowhere
                  matchers: ['severity="critical"']
            receivers:
              - name: page
            """.write(to: file, atomically: true, encoding: .utf8)
        let r = try Self.run("amtool", ["check-config", file.path])
        #expect(r.status != 0, "amtool accepted a route to an undefined receiver:\n\(r.output)")
        #expect(r.output.contains("undefined receiver \"nowhere\""), "\(r.output)")

        // YAML that is not an Alertmanager config at all.
        try "route:\n  receiver: page\n  group_wait: soon\nreceivers:\n  - name: page\n".write(to: file, atomically: true, encoding: .utf8)
        let bad = try Self.run("amtool", ["check-config", file.path])
        #expect(bad.status != 0)
        #expect(bad.output.contains("soon"), "\(bad.output)")
    }
}
