import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// An alert Tandem raises itself, without Prometheus in the path: a takeover, a watchdog HALT or
/// FLATTEN, both engine nodes down. Pushed to Alertmanager's API, which routes it to the same
/// receivers (email, Slack, SMS) as the rule-based alerts, by the same `severity` label.
public struct DirectAlert: Sendable, Hashable {
    /// `alertname`, e.g. `TandemTakeover`.
    public var name: String
    public var severity: String
    /// Extra labels (bounded: node ids, rule names — never order ids).
    public var labels: [String: String]
    public var summary: String
    public var description: String

    public init(name: String, severity: String = "critical", labels: [String: String] = [:], summary: String, description: String) {
        self.name = name
        self.severity = severity
        self.labels = labels
        self.summary = summary
        self.description = description
    }

    /// What makes two alerts "the same" for deduplication: the name and the labels.
    public var key: String { ([name] + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: ",") }
}

/// Deduplication and rate limiting, sans I/O: the same alert (name + labels) at most once per
/// `dedupeWindow`, and at most `maxPerMinute` alerts in any minute. `now` is a monotonic instant.
public struct AlertThrottle: Sendable {
    public let dedupeWindow: Duration
    public let maxPerMinute: Int
    private var lastSent: [String: Duration] = [:]
    private var recent: [Duration] = []

    public init(dedupeWindow: Duration = .seconds(300), maxPerMinute: Int = 10) {
        self.dedupeWindow = dedupeWindow
        self.maxPerMinute = maxPerMinute
    }

    public enum Verdict: Sendable, Hashable { case send, duplicate, rateLimited }

    public mutating func admit(_ alert: DirectAlert, now: Duration) -> Verdict {
        if let last = lastSent[alert.key], now - last < dedupeWindow { return .duplicate }
        recent.removeAll { now - $0 >= .seconds(60) }
        guard recent.count < maxPerMinute else { return .rateLimited }
        recent.append(now)
        lastSent[alert.key] = now
        if lastSent.count > 1024 { lastSent = lastSent.filter { now - $0.value < dedupeWindow } }
        return .send
    }
}

/// Where direct alerts go: Alertmanager's base URL (`http://host:port`, plain HTTP: it runs beside
/// Tandem; its receivers do TLS). Checked when the configuration is read, so a bad one fails the start.
public struct AlertmanagerEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var basePath: String

    public struct InvalidURL: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(url text: String) throws(InvalidURL) {
        guard let url = URL(string: text), let scheme = url.scheme else {
            throw InvalidURL(description: "\"\(text)\" is not a URL (expected http://HOST:PORT)")
        }
        guard scheme == "http" else {
            throw InvalidURL(description: "\"\(text)\": only http:// is supported (Alertmanager runs beside Tandem; its receivers do TLS)")
        }
        guard let host = url.host, !host.isEmpty else { throw InvalidURL(description: "\"\(text)\" has no host") }
        self.host = host
        self.port = url.port ?? 9093
        guard (1...65535).contains(port) else { throw InvalidURL(description: "\"\(text)\": port \(port) is out of range") }
        self.basePath = url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
    }
}

/// Sends ``DirectAlert``s to Alertmanager (`POST /api/v2/alerts`), throttled, from its own task:
/// `raise` never blocks the caller (a full queue drops, and says so). A Service: run it in the
/// process's ServiceGroup.
public final class DirectAlertSender: Service, Sendable {
    public let endpoint: AlertmanagerEndpoint
    private let cluster: String
    private let source: String
    private let logger: Logger
    private let deliveryWindow: Duration
    private let stream: AsyncStream<DirectAlert>
    private let continuation: AsyncStream<DirectAlert>.Continuation

    /// - Parameter deliveryWindow: how long one alert is retried while Alertmanager is unreachable.
    public init(endpoint: AlertmanagerEndpoint, cluster: String, source: String, deliveryWindow: Duration = .seconds(30), logger: Logger) {
        self.endpoint = endpoint
        self.cluster = cluster
        self.source = source
        self.deliveryWindow = deliveryWindow
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: DirectAlert.self, bufferingPolicy: .bufferingNewest(64))
    }

    public func raise(_ alert: DirectAlert) {
        if case .dropped = continuation.yield(alert) {
            logger.error("direct alert queue full: an alert was dropped", metadata: ["alert.name": "\(alert.name)"])
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var throttle = AlertThrottle()
            let clock = ContinuousClock()
            let origin = clock.now
            for await alert in self.stream {
                switch throttle.admit(alert, now: clock.now - origin) {
                case .duplicate:
                    self.logger.debug("direct alert deduplicated", metadata: ["alert.name": "\(alert.name)"])
                    continue
                case .rateLimited:
                    self.logger.warning("direct alert rate-limited", metadata: ["alert.name": "\(alert.name)", "alert.summary": "\(alert.summary)"])
                    continue
                case .send:
                    break
                }
                await self.deliver(alert)
            }
        }
    }

    /// Posts `alert`, retrying while Alertmanager is unreachable or answers 5xx, with backoff (0.25 s
    /// doubling to 4 s) for up to `deliveryWindow`: an alert raised while Alertmanager restarts is
    /// late, not lost (the throttle has already counted it, so nothing would send it again). A 4xx
    /// answer is final: Alertmanager refused the payload. Alerts queue behind one being retried.
    private func deliver(_ alert: DirectAlert) async {
        let clock = ContinuousClock()
        let deadline = clock.now + deliveryWindow
        var backoff = Duration.milliseconds(250)
        var attempts = 0
        while true {
            attempts += 1
            let problem: String
            do {
                let status = try await post(alert)
                if (200..<300).contains(status) {
                    logger.notice("direct alert sent to Alertmanager", metadata: [
                        "alert.name": "\(alert.name)", "alert.summary": "\(alert.summary)", "alert.attempts": "\(attempts)"])
                    return
                }
                guard (500..<600).contains(status) else {
                    logger.error("Alertmanager refused a direct alert", metadata: ["alert.name": "\(alert.name)", "http.status": "\(status)"])
                    return
                }
                problem = "HTTP \(status)"
            } catch {
                problem = "\(error)"
            }
            let metadata: Logger.Metadata = [
                "alert.name": "\(alert.name)", "alert.endpoint": "\(endpoint.host):\(endpoint.port)", "alert.attempts": "\(attempts)", "error": "\(problem)"]
            if Task.isCancelled || clock.now + backoff > deadline {
                logger.error("direct alert not delivered: Alertmanager unreachable", metadata: metadata)
                return
            }
            logger.warning("direct alert not delivered yet; retrying", metadata: metadata)
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(4))
        }
    }

    /// The Alertmanager v2 payload: one alert, firing, with the cluster and source as labels.
    func payload(_ alert: DirectAlert) -> [UInt8] {
        var labels = alert.labels
        labels["alertname"] = alert.name
        labels["severity"] = alert.severity
        labels["cluster"] = cluster
        labels["source"] = source
        let object: [[String: Any]] = [[
            "labels": labels,
            "annotations": ["summary": alert.summary, "description": alert.description],
            "startsAt": ISO8601DateFormatter().string(from: Date()),
        ]]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map(Array.init) ?? []
    }

    private func post(_ alert: DirectAlert) async throws -> UInt {
        try await PlainHTTP.request(host: endpoint.host, port: endpoint.port, method: .POST, path: endpoint.basePath + "/api/v2/alerts",
                                    body: payload(alert), contentType: "application/json").status
    }
}
