import Foundation
import Synchronization
import TandemFIX
import TandemOps
import TandemVenue
import Testing

/// Alerts end to end on real servers: `tandem venue` and `tandem node` processes serving /metrics,
/// a real Prometheus loading the SHIPPED rules (deploy/prometheus/rules/tandem.rules.yml, timings
/// unchanged) and a real Alertmanager whose config is the SHIPPED template rendered by
/// render-config.sh, delivering to a local SMTP sink (aiosmtpd) and a webhook sink (Slack, SMS) —
/// ``LocalAlertStack`` (TandemOps), which `tandem bench ops` uses for `alert_latency_ms` too.
///
/// Test-only settings, and why: Prometheus scrapes and evaluates every 1 s (shipped: 5 s) so the
/// test does not wait on phases; the takeover test keeps the shipped routing (group_wait 10 s); the
/// feed test shortens group_wait and group_interval to 1 s, or the resolved notification would come
/// a group_interval (1 min) after the alert resolves.
/// Needs `prometheus`, `prometheus-alertmanager` and `python3-aiosmtpd` (.ci/run installs them):
/// without them the tests fail, naming what is missing.
@Suite("alerts end to end: real nodes, Prometheus, Alertmanager, SMTP and webhook sinks", .embeddedPostgres, .serialized, .timeLimit(.minutes(3)))
struct AlertEndToEndTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("deploy")

    @Test("SIGKILL of the leader: TandemTakeover reaches the mail sink and Slack once each, naming the new leader; no SMS (a warning)")
    func takeoverAlert() async throws {
        try requireTools()
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        let ports = (a: try LocalAlertStack.freePort(), b: try LocalAlertStack.freePort())
        var children = [venue.child]
        defer { killAll(children) }
        let a = try startNode(id: "node-a", dsn: dsn, venue: venue, arguments: ["--metrics-port", "\(ports.a)"])
        children.append(a)
        try await eventually("node-a to lead", context: { a.output }) {
            try await nodeRows(dsn).contains { $0.nodeID == "node-a" && $0.role == "leader" }
        }
        let b = try startNode(id: "node-b", dsn: dsn, venue: venue, arguments: ["--metrics-port", "\(ports.b)"])
        children.append(b)

        var options = LocalAlertStack.Options(deployDirectory: Self.deploy, nodes: [.init(instance: "node-a", port: ports.a), .init(instance: "node-b", port: ports.b)])
        options.cluster = "test"
        options.scrapeInterval = "1s"
        options.evaluationInterval = "1s"
        let stack = try await LocalAlertStack.start(options)
        defer { stack.stop() }
        let context = { "\(stack.log("prometheus"))\n\(stack.log("alertmanager"))\n\(stack.log("smtp-sink"))\nnode-b:\n\(b.output.suffix(3000))" }

        try await eventually("node-b to stand by", context: { b.output }) {
            try await nodeRows(dsn).contains { $0.nodeID == "node-b" && $0.role == "standby" && $0.lagSeqs == 0 }
        }
        // increase() needs node-b's takeover counter seen at 0 before it moves.
        try await eventually("Prometheus to have scraped node-b's takeover counter twice", seconds: 15, context: context) {
            try await stack.query(#"count_over_time(tandem_takeovers_total{instance="node-b"}[1m])"#).first.map { $0.value >= 2 } ?? false
        }
        #expect(try await stack.prometheusAlerts().filter { $0.name == "TandemTakeover" }.isEmpty, "a fresh cluster's first election is no takeover")

        a.signal(SIGKILL)
        a.process.waitUntilExit()
        let killed = Date()

        try await eventually("TandemTakeover at the SMTP sink and on Slack", seconds: 40, context: context) {
            !stack.mails().filter { $0.subject.contains("TandemTakeover") }.isEmpty
                && !stack.webhooks().filter { $0.path == "/slack" && $0.body.contains("TandemTakeover") }.isEmpty
        }
        let firstMail = try #require(stack.mails().first { $0.subject.contains("TandemTakeover") })
        let latency = firstMail.received.timeIntervalSince(killed)
        // Anything sent twice would come within a few evaluations (the next group_interval is 1 min).
        try await Task.sleep(for: .seconds(3))

        let mails = stack.mails().filter { $0.subject.contains("TandemTakeover") }
        #expect(mails.count == 1, "mails: \(mails.map(\.subject))")
        if let mail = mails.first {
            #expect(mail.subject.contains("FIRING") && mail.subject.contains("node-b"), "\(mail.subject)")
            #expect(mail.to == ["oncall@localhost"])
            #expect(mail.text.contains("node-b took over the lease"), "\(mail.text.prefix(2000))")
            #expect(mail.text.contains("instance") && mail.text.contains("tandem-node"), "labels in the body")
        }
        let slack = stack.webhooks().filter { $0.path == "/slack" && $0.body.contains("TandemTakeover") }
        #expect(slack.count == 1, "\(slack.map(\.body))")
        if let post = slack.first {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(post.body.utf8)) as? [String: Any])
            #expect(o["channel"] as? String == "#tandem-alerts")
            let attachment = try #require((o["attachments"] as? [[String: Any]])?.first)
            #expect(attachment["title"] as? String == "[FIRING] TandemTakeover (warning)")
            #expect((attachment["text"] as? String)?.contains("node-b took over the lease") == true, "\(attachment)")
        }
        // A warning goes to the team (Slack + email), not to the SMS gateway.
        #expect(stack.webhooks().filter { $0.path == "/sms" && $0.body.contains("TandemTakeover") }.isEmpty)

        let fired = try await stack.prometheusAlerts().filter { $0.name == "TandemTakeover" }
        #expect(fired.count == 1)
        #expect(fired.first?.labels["instance"] == "node-b" && fired.first?.labels["severity"] == "warning"
                && fired.first?.labels["job"] == "tandem-node" && fired.first?.state == "firing", "\(fired.map(\.labels))")
        let atAlertmanager = try await stack.alertmanagerAlerts().filter { $0.name == "TandemTakeover" }
        #expect(atAlertmanager.count == 1 && atAlertmanager.first?.labels["cluster"] == "test" && atAlertmanager.first?.state == "active",
                "\(atAlertmanager.map(\.labels))")
        #expect(latency < 25, "kill → mail took \(latency) s (scrape 1 s, evaluation 1 s, the shipped group_wait 10 s)")
    }

    /// The feed paused at the venue: the node's `tandem_marketdata_last_message_age_seconds` grows and
    /// `tandem_marketdata_feed_up` drops, so TandemFeedStale fires — and, both lines being down,
    /// TandemFeedDown pages and inhibits it (the shipped inhibit rule), so the page is what must arrive.
    /// If the node stops exporting the metric, the first step fails saying so.
    @Test("FEED_PAUSE at the venue: TandemFeedStale fires and reaches mail and Slack; FEED_RESUME resolves it (needs tandem_marketdata_last_message_age_seconds)")
    func feedStaleAlert() async throws {
        try requireTools()
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        let port = try LocalAlertStack.freePort()
        var children = [venue.child]
        defer { killAll(children) }
        let a = try startNode(id: "node-a", dsn: dsn, venue: venue, arguments: ["--metrics-port", "\(port)"])
        children.append(a)
        try await eventually("node-a to lead", context: { a.output }) {
            try await nodeRows(dsn).contains { $0.nodeID == "node-a" && $0.role == "leader" }
        }

        // The metric the rule reads: give the node a few seconds (its feed starts with the leader's services).
        var metrics = ""
        let deadline = ContinuousClock.now + .seconds(5)
        repeat {
            metrics = (try? await LocalAlertStack.get(port: port, path: "/metrics"))?.body ?? ""
            if metrics.contains("\ntandem_marketdata_last_message_age_seconds") { break }
            try await Task.sleep(for: .milliseconds(200))
        } while ContinuousClock.now < deadline
        guard metrics.contains("\ntandem_marketdata_last_message_age_seconds") else {
            Issue.record("""
                NOT RUN YET: `tandem node --metrics-port` does not export tandem_marketdata_last_message_age_seconds (gauge, seconds \
                since the last market-data message), which TandemFeedStale reads (docs/monitoring.md, "Defined here, not exported \
                yet"). It is being wired into the node (NodeMetrics/NodeService) by another change; once it is, this test pauses \
                the feed and checks the alert end to end. The node exported: \
                \(metrics.split(separator: "\n").filter { $0.hasPrefix("tandem_") }.map { $0.split(separator: " ")[0] }.joined(separator: ", "))
                """)
            return
        }

        var options = LocalAlertStack.Options(deployDirectory: Self.deploy, nodes: [.init(instance: "node-a", port: port)])
        options.cluster = "test"
        options.scrapeInterval = "1s"
        options.evaluationInterval = "1s"
        options.groupWait = "1s"
        options.groupInterval = "1s"
        let stack = try await LocalAlertStack.start(options)
        defer { stack.stop() }
        let context = { "\(stack.log("prometheus"))\n\(stack.log("alertmanager"))\nnode-a:\n\(a.output.suffix(3000))" }
        try await eventually("Prometheus to see fresh market data on node-a", seconds: 15, context: context) {
            try await stack.query(#"tandem_marketdata_last_message_age_seconds{instance="node-a"} < 5"#).count == 1
        }

        let risk = TestSession(compID: "TANDEM-RISK", port: venue.fixPort)
        let riskTask = Task { await risk.run() }
        defer { riskTask.cancel() }
        try await eventually("the risk session to log on") { risk.isLoggedOn }
        #expect(try await risk.killSwitch(.feedPause, id: "pause") == "OK")

        // The shipped rule: age > 5 s for 15 s.
        try await eventually("TandemFeedStale firing in Prometheus", seconds: 40, context: context) {
            try await stack.prometheusAlerts().contains { $0.name == "TandemFeedStale" && $0.state == "firing" && $0.labels["instance"] == "node-a" }
        }
        try await eventually("TandemFeedStale at Alertmanager", seconds: 10, context: context) {
            try await stack.alertmanagerAlerts().contains { $0.name == "TandemFeedStale" }
        }
        let atAlertmanager = try await stack.alertmanagerAlerts().filter { $0.name == "TandemFeedStale" }
        // A critical alert of the same instance (TandemFeedDown, once feed_up is exported too) inhibits
        // this warning by the shipped inhibit rules: then the page is what must arrive.
        let inhibited = atAlertmanager.allSatisfy { $0.state == "suppressed" }
        let delivered = inhibited ? "TandemFeedDown" : "TandemFeedStale"
        try await eventually("\(delivered) firing at the SMTP sink and on Slack", seconds: 15, context: context) {
            stack.mails().contains { $0.subject.contains(delivered) && $0.subject.contains("FIRING") }
                && stack.webhooks().contains { $0.path == "/slack" && $0.body.contains(delivered) && $0.body.contains("FIRING") }
        }
        if !inhibited {
            let mail = try #require(stack.mails().first { $0.subject.contains("TandemFeedStale") })
            #expect(mail.subject.contains("node-a"), "\(mail.subject)")
        }

        #expect(try await risk.killSwitch(.feedResume, id: "resume") == "OK")
        try await eventually("TandemFeedStale resolved in Prometheus", seconds: 15, context: context) {
            !(try await stack.prometheusAlerts().contains { $0.name == "TandemFeedStale" })
        }
        if !inhibited {
            try await eventually("TandemFeedStale resolved at the SMTP sink and on Slack", seconds: 15, context: context) {
                stack.mails().contains { $0.subject.contains("TandemFeedStale") && $0.subject.contains("RESOLVED") }
                    && stack.webhooks().contains { $0.path == "/slack" && $0.body.contains("TandemFeedStale") && $0.body.contains("RESOLVED") }
            }
            #expect(stack.mails().filter { $0.subject.contains("TandemFeedStale") && $0.subject.contains("FIRING") }.count == 1)
        }
    }

    private func requireTools() throws {
        let missing = LocalAlertStack.missingTools()
        try #require(missing.isEmpty, "this test runs a real alert stack and needs: \(missing.joined(separator: "; ")) (.ci/run installs them)")
    }

    /// SIGKILL: the test runner's children inherit an ignored SIGTERM.
    private func killAll(_ children: [Child]) {
        for c in children { c.signal(SIGKILL) }
        for c in children { c.process.waitUntilExit() }
    }
}
