import Foundation
import Logging
import TandemOps
import Testing

@Suite("Direct alerts")
struct DirectAlertTests {
    @Test("the throttle sends an alert once per dedupe window, and at most N a minute")
    func throttle() {
        var t = AlertThrottle(dedupeWindow: .seconds(300), maxPerMinute: 3)
        let a = DirectAlert(name: "TandemTakeover", labels: ["from": "node-a", "to": "node-b"], summary: "s", description: "d")
        #expect(t.admit(a, now: .seconds(0)) == .send)
        #expect(t.admit(a, now: .seconds(10)) == .duplicate)
        var b = a
        b.labels["to"] = "node-c"
        #expect(t.admit(b, now: .seconds(11)) == .send)
        #expect(t.admit(DirectAlert(name: "X", summary: "", description: ""), now: .seconds(12)) == .send)
        #expect(t.admit(DirectAlert(name: "Y", summary: "", description: ""), now: .seconds(13)) == .rateLimited)
        #expect(t.admit(DirectAlert(name: "Y", summary: "", description: ""), now: .seconds(61)) == .send)
        #expect(t.admit(a, now: .seconds(301)) == .send)
    }

    @Test("a malformed Alertmanager URL is refused when read, naming what is wrong")
    func badURL() {
        #expect(throws: AlertmanagerEndpoint.InvalidURL.self) { try AlertmanagerEndpoint(url: "https://am:9093") }
        #expect(throws: AlertmanagerEndpoint.InvalidURL.self) { try AlertmanagerEndpoint(url: "not a url") }
        #expect((try? AlertmanagerEndpoint(url: "http://127.0.0.1:19093/am"))?.basePath == "/am")
    }

    @Test("raised three times while Alertmanager is still down, an alert reaches its webhook receiver once it is up, once, with its labels",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus-alertmanager"), "needs Debian's prometheus-alertmanager (.ci/run installs it)"))
    func throughAlertmanager() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("am-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let sinkPort = try LocalPorts.free(), amPort = try LocalPorts.free(), clusterPort = try LocalPorts.free()
        // The webhook sink: appends every POST body, one per line.
        let sinkFile = dir.appendingPathComponent("received.jsonl")
        let sink = try start("/usr/bin/env", ["python3", "-c", """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers['Content-Length']))
                    with open(sys.argv[1], 'ab') as f: f.write(body.replace(b'\\n', b' ') + b'\\n')
                    self.send_response(200); self.end_headers()
                def log_message(self, *a): pass
            http.server.HTTPServer(('127.0.0.1', int(sys.argv[2])), H).serve_forever()
            """, sinkFile.path, "\(sinkPort)"])
        defer { kill(sink.processIdentifier, SIGKILL); sink.waitUntilExit() }  // SIGKILL: the test runner's children inherit an ignored SIGTERM
        try """
            route:
              receiver: hook
              group_by: [alertname]
              group_wait: 0s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
              - name: hook
                webhook_configs:
                  - url: http://127.0.0.1:\(sinkPort)/hook
            """.write(to: dir.appendingPathComponent("am.yml"), atomically: true, encoding: .utf8)
        // Raised before Alertmanager listens: the sender retries until it does (its delivery window).
        let sender = DirectAlertSender(endpoint: try AlertmanagerEndpoint(url: "http://127.0.0.1:\(amPort)"), cluster: "test", source: "watchdog:t",
                                       logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let task = Task { try await sender.run() }
        defer { task.cancel() }
        let alert = DirectAlert(name: "TandemTakeover", labels: ["from": "node-a", "to": "node-b"], summary: "node-b took over from node-a",
                                description: "lease moved")
        for _ in 0..<3 { sender.raise(alert) }
        try await Task.sleep(for: .milliseconds(700))
        let am = try start("/usr/bin/prometheus-alertmanager", [
            "--config.file=\(dir.path)/am.yml", "--storage.path=\(dir.path)/data", "--web.listen-address=127.0.0.1:\(amPort)",
            "--cluster.listen-address=127.0.0.1:\(clusterPort)", "--log.level=warn"])
        defer { kill(am.processIdentifier, SIGKILL); am.waitUntilExit() }

        var lines: [String] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            lines = ((try? String(contentsOf: sinkFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            if !lines.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(2))  // anything more would have arrived by now (group_interval 1 s)
        lines = ((try? String(contentsOf: sinkFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        #expect(lines.count == 1, "\(lines)")
        let payload = try #require(lines.first.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let alerts = try #require(payload["alerts"] as? [[String: Any]])
        #expect(alerts.count == 1)
        let labels = try #require(alerts.first?["labels"] as? [String: String])
        #expect(labels["alertname"] == "TandemTakeover" && labels["from"] == "node-a" && labels["to"] == "node-b")
        #expect(labels["severity"] == "critical" && labels["cluster"] == "test" && labels["source"] == "watchdog:t")
    }

    private func start(_ path: String, _ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }
}
