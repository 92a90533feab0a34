/// The node configuration of a local cluster against `tandem venue`'s defaults (one session
/// TANDEM→VENUE on loopback, instrument 1 ACME, a market maker on account ACC1, HeartBtInt 1 so a
/// stopped peer is noticed quickly). What `tandem demo`, `tandem drill` and the process tests run.
public enum LocalClusterConfig {
    /// `extra` is appended at the top level (e.g. an `execution:` section).
    public static func nodeYAML(
        cluster: String, id: String, dsn: String, fixPort: Int, feedPort: Int, heartbeatMs: Int? = nil, leaseMs: Int? = nil,
        maxPosition: Int = 200, requoteTicks: Int = 2, extra: String = ""
    ) -> String {
        var timing = ""
        if heartbeatMs != nil || leaseMs != nil {
            timing = "timing:\n" + (heartbeatMs.map { "  heartbeatMs: \($0)\n" } ?? "") + (leaseMs.map { "  leaseMs: \($0)\n" } ?? "")
        }
        return """
            cluster: \(cluster)
            node:
              id: \(id)
            database:
              dsn: "\(dsn)"
            \(timing)venues:
              - name: VENUE
                sessions:
                  - host: 127.0.0.1
                    port: \(fixPort)
                    senderCompID: TANDEM
                    targetCompID: VENUE
                    heartBtInt: 1
                feed:
                  recoveryPort: \(feedPort)
                instruments:
                  - id: 1
                    symbol: ACME
                    tickSize: "0.01"
                    lotSize: "1"
                    currency: USD
            strategy:
              name: market-maker
              account: ACC1
              venue: VENUE
              parameters:
                instrument: "1"
                quoteQuantity: "10"
                halfSpreadTicks: "1"
                maxPosition: "\(maxPosition)"
                requoteTicks: "\(requoteTicks)"
            log:
              level: info
            \(extra)
            """
    }

    /// The watchdog's YAML for the same local cluster: its own role (`tandem_watchdog`), the venue's
    /// default drop-copy, risk and watchdog sessions, instrument 1 ACME. `limits`: one `key: value` each,
    /// placed under `limits:`; `extra` is appended at the top level. What `tandem demo` and the process
    /// tests run.
    public static func watchdogYAML(
        id: String, dsn: String, fixPort: Int, feedPort: Int, keyFile: String, limits: [String], extra: String = ""
    ) -> String {
        """
        id: \(id)
        database:
          dsn: "\(dsn) user=tandem_watchdog"
        venue:
          port: \(fixPort)
          feed:
            recoveryPort: \(feedPort)
        instruments:
          - id: 1
            symbol: ACME
            tickSize: "0.01"
            lotSize: "1"
            currency: USD
        limits:
        \(limits.map { "  " + $0 }.joined(separator: "\n"))
        keyFile: \(keyFile)
        \(extra)
        """
    }
}
