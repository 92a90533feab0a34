import Foundation
import TandemCore
import TandemFIX
import TandemNode
import TandemPostgresTestKit
import Testing

/// `tandem node --metrics-port` scraped while it trades: the metrics the alert rules use are there with
/// plausible values, and no metric's label set grows with orders.
@Suite("Node metrics as a process", .embeddedPostgres, .serialized, .timeLimit(.minutes(3)))
struct NodeMetricsProcessTests {
    @Test("the rules' node metrics are exported with live values, and no label combination appears as orders flow")
    func metricsWhileTrading() async throws {
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        defer { Task { await venue.child.stop() } }
        let taker = TestSession(compID: "TAKER", port: venue.fixPort)
        let sessions = Task { await taker.run() }
        defer { sessions.cancel() }
        let a = try startNode(id: "node-a", dsn: dsn, venue: venue, arguments: ["--metrics-port", "0"])
        defer { Task { await a.stop() } }
        var port: Int?
        try await eventually("node-a to serve HTTP and lead", context: { a.output }) {
            port = opsPort(a)
            guard let port else { return false }
            return try httpGet(port, "/metrics").contains("tandem_node_leader 1")
        }
        let p = try #require(port)
        try await eventually("both quotes acknowledged", context: { a.output }) {
            let (ledger, _) = try await replay(dsn)
            return ledger.state.openOrders.filter { $0.status == .new }.count >= 2
        }

        // Both feed lines up, the market data fresh, the journal appending.
        var text = ""
        // The order gauges are read from the fold every 250 ms, so they may lag the journal (and a
        // requote makes a quote pending for a moment): wait for them in the same scrape.
        try await eventually("feed lines up, both quotes new in the gauges", context: { text }) {
            text = try httpGet(p, "/metrics")
            return value(text, #"tandem_marketdata_feed_up{line="a"}"#) == 1 && value(text, #"tandem_marketdata_feed_up{line="b"}"#) == 1
                && value(text, #"tandem_orders{state="new"}"#) ?? 0 >= 2
        }
        let age = try #require(value(text, "tandem_marketdata_last_message_age_seconds"))
        #expect(age >= 0 && age < 5)
        #expect((value(text, "tandem_journal_append_seconds_count") ?? 0) > 0)
        #expect(text.contains("# TYPE tandem_journal_append_seconds histogram"))
        #expect(text.contains(#"tandem_journal_append_seconds_bucket{le="0.0005"}"#))
        #expect((value(text, "tandem_lease_renew_seconds_count") ?? 0) > 0)
        let leaseAge = try #require(value(text, "tandem_lease_age_seconds"))
        #expect(leaseAge >= 0 && leaseAge < 1)
        #expect(value(text, "tandem_risk_mode") == 0)
        #expect(text.contains(#"tandem_fix_messages_sent_total{session=""#))

        // The taker sweeps both sides twice; each sweep fills the node's quotes and it quotes anew.
        func sweep(_ round: Int) async throws {
            let now = FIXClock.now().utc
            for (side, price) in [(Side.buy, "1000.00"), (Side.sell, "0.01")] {
                try await taker.initiator.send(NewOrderSingle(clOrdID: ClOrdID("T\(round)\(side == .buy ? "B" : "S")"), account: nil, symbol: "ACME",
                                                              side: side, transactTime: now, orderQty: try Quantity("2000"),
                                                              orderType: .limit(try Price(price)), timeInForce: .immediateOrCancel))
            }
        }
        try await sweep(1)
        try await eventually("fills with their slippage observed", context: { text }) {
            text = try httpGet(p, "/metrics")
            return (value(text, "tandem_fill_slippage_bps_count") ?? 0) >= 2
        }
        #expect(text.contains("# TYPE tandem_fill_slippage_bps histogram"))
        #expect(value(text, "tandem_fill_slippage_bps_sum") != nil)
        try await eventually("the node to quote again", context: { text }) {
            text = try httpGet(p, "/metrics")
            return value(text, #"tandem_orders{state="new"}"#) ?? 0 >= 2
        }
        let first = seriesKeys(text)
        let intentsBefore = value(text, "tandem_order_intents_total") ?? 0
        try await sweep(2)
        try await eventually("more orders and fills", context: { text }) {
            text = try httpGet(p, "/metrics")
            return (value(text, "tandem_order_intents_total") ?? 0) >= intentsBefore + 2 && (value(text, "tandem_fill_slippage_bps_count") ?? 0) >= 4
        }
        let second = seriesKeys(text)
        #expect(second.subtracting(first).isEmpty, "series that appeared with orders: \(second.subtracting(first).sorted())")
        #expect(first.count == second.count)
        // Labels only from fixed sets: no ClOrdID, price or free text.
        #expect(!text.contains("clOrdID") && !text.contains(#"="1-"#))
        #expect((value(text, #"tandem_position_realized_pnl{account="ACC1",instrument="ACME"}"#) ?? .nan).isFinite)
        // The first new order of the session is sampled: its venue round trip is observed, and plausible.
        let roundTrips = text.split(separator: "\n").filter { $0.hasPrefix("tandem_fix_order_roundtrip_seconds_") }
        let count = roundTrips.first { $0.hasPrefix("tandem_fix_order_roundtrip_seconds_count{session=") }
        let sum = roundTrips.first { $0.hasPrefix("tandem_fix_order_roundtrip_seconds_sum{session=") }
        #expect((count.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0) >= 1, "\(roundTrips)")
        #expect((sum.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 99) < 5, "\(roundTrips)")
    }
}

/// The ops port a child logged (`ops HTTP listening … ops.listen=127.0.0.1:PORT`).
func opsPort(_ c: Child) -> Int? {
    guard let line = c.output.split(separator: "\n").first(where: { $0.contains("ops HTTP listening") }),
          let r = line.range(of: "ops.listen=127.0.0.1:") else { return nil }
    return Int(line[r.upperBound...].prefix { $0.isNumber })
}

func httpGet(_ port: Int, _ path: String) throws -> String {
    let curl = Process()
    curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    curl.arguments = ["-sf", "http://127.0.0.1:\(port)\(path)"]
    let pipe = Pipe()
    curl.standardOutput = pipe
    try curl.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    curl.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// The value of the series named exactly `series` (name and labels as printed).
private func value(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1).split(separator: " ").first ?? "")
    }
    return nil
}

/// Every series (name and label set) in a scrape.
private func seriesKeys(_ text: String) -> Set<String> {
    Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.compactMap { line in
        line.lastIndex(of: " ").map { String(line[..<$0]) }
    })
}
