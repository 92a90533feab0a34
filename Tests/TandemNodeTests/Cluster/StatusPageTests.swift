import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TandemCore
import TandemJournal
import TandemNode
import TandemPostgres
import TandemPostgresTestKit
import Testing

/// `tandem status --serve`: the page over a real HTTP request, against a journal written here (a
/// leader election, then a seeded stream of orders and fills) and two nodes' status rows.
@Suite("tandem status --serve", .embeddedPostgres, .serialized, .timeLimit(.minutes(3)))
struct StatusPageTests {
    /// A cluster database with node-a leading at epoch 1 and its journal; returns the DSN and the folded state.
    static func cluster() async throws -> (dsn: String, state: TradingState) {
        let dsn = try await freshClusterDatabase()
        try await appendAsLeader(dsn, holder: "node-a") { epoch in
            [.leaderElected(epoch: epoch, nodeID: "node-a", at: Timestamp(nanosecondsSinceEpoch: 1_795_650_000_000_000_000))]
                + SyntheticJournal.events(count: 400, seed: 11, instrumentCount: 3)
        }
        try await publishNodes(dsn)
        let (ledger, _) = try await replay(dsn)
        return (dsn, ledger.state)
    }

    /// The two nodes' status rows, as their status writers publish them (every 250 ms in a node). A row
    /// older than 2 s shows as silent, so the page is read right after a publish, not seconds after setup.
    static func publishNodes(_ dsn: String) async throws {
        let conn = try await PostgresConnection.connect(dsn)
        try await NodeStatusTable.publish(conn, node: "node-a", role: "leader", epoch: 1, appliedSeq: 401, lagSeqs: 0, lagMs: 0,
                                          openOrders: 2, stateSHA256: nil)
        try await NodeStatusTable.publish(conn, node: "node-b", role: "standby", epoch: nil, appliedSeq: 399, lagSeqs: 2, lagMs: 15,
                                          openOrders: 2, stateSHA256: nil)
        await conn.close()
    }

    /// Starts `tandem status --serve 0` and returns it with its URL once it printed one.
    static func serve(_ dsn: String) async throws -> (Child, String) {
        let child = try Child("status-serve", arguments: ["status", "--dsn", dsn, "--serve", "0", "--refresh", "0.5"])
        var url: String?
        try await eventually("the status page to listen", context: { child.output }) {
            url = child.output.split(separator: "\n").first { $0.hasPrefix("tandem status: serving ") }
                .flatMap { $0.split(separator: " ").first { $0.hasPrefix("http://") } }.map(String.init)
            return url != nil
        }
        return (child, url!)
    }

    static func get(_ url: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The page once it shows the database's data (the first one says it is still reading) with both
    /// nodes' rows fresh (republished before each look).
    static func page(_ url: String, child: Child, dsn: String) async throws -> String {
        var html = ""
        try await eventually("the page to show the cluster", context: { "\(html)\n\(child.output)" }) {
            try await publishNodes(dsn)
            html = try await get(url).1
            return html.contains("id=\"leader\">node-a<") && !html.contains("(silent)")
        }
        return html
    }

    @Test("the page over HTTP: leader, epoch, lease, nodes and roles, positions, FIX sessions, risk, the takeover; self-contained and reloading")
    func pageOverHTTP() async throws {
        let (dsn, state) = try await Self.cluster()
        let (child, url) = try await Self.serve(dsn)
        let html = try await Self.page(url, child: child, dsn: dsn)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<meta http-equiv=\"refresh\" content=\"1\">"))
        #expect(html.contains("Trading: node-a leads at epoch 1"))
        #expect(html.contains("id=\"epoch\">1<"))
        #expect(html.contains("id=\"head\">401<"))
        #expect(html.contains("<td>node-b</td><td>standby</td>"), "\(html)")
        #expect(html.contains("<tr class=\"leader\"><td>node-a</td><td>leader</td>"))
        // Positions and P&L: the fold of the journal.
        let positions = state.positions
        #expect(!positions.isEmpty)
        for (key, p) in positions {
            let symbol = state.instruments[key.instrument]!.symbol
            #expect(html.contains("<td>\(key.account.rawValue)</td><td>\(symbol)</td><td>\(p.netQuantity)</td>"), "position \(key) missing")
        }
        for session in state.fixSessions.keys { #expect(html.contains("<td>\(session)</td>")) }
        #expect(html.contains("No halt, block or flatten in force."))
        #expect(html.contains("<td>1</td><td>1</td><td>node-a</td><td>2026-11-25T23:40:00.000000000Z</td>"), "the LeaderElected event at seq 1")
        // Self-contained: no script, stylesheet, image or font from anywhere.
        for external in ["<script", "src=", "<link", "@import", "url("] { #expect(!html.contains(external), "\(external) in the page") }

        let (ready, _) = try await Self.get(url + "readyz")
        #expect(ready == 200)
        let (_, metrics) = try await Self.get(url + "metrics")
        #expect(metrics.contains("process_resident_memory_bytes "))

        // The lease halted: the page says so at once.
        let conn = try await PostgresConnection.connect(dsn)
        _ = try await conn.withConnection { c in try Lease.halt(c, by: "operator") }
        await conn.close()
        try await eventually("the page to show the halt") { try await Self.get(url).1.contains("HALTED — no node may lead") }
        await child.stop()
    }

    @Test("chromium --headless renders the page with the leader and the positions", .enabled(if: StatusPageTests.chromium != nil))
    func headlessChromium() async throws {
        let (dsn, state) = try await Self.cluster()
        let (child, url) = try await Self.serve(dsn)
        _ = try await Self.page(url, child: child, dsn: dsn)
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-chromium-\(getpid())")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.chromium!)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(profile.path)",
                             "--dump-dom", url]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let dom = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(dom.contains("id=\"leader\">node-a<"), "\(dom.prefix(2000))")
        #expect(dom.contains("<table id=\"positions\">"))
        let (key, p) = try #require(state.positions.first)
        #expect(dom.contains("<td>\(key.account.rawValue)</td><td>\(state.instruments[key.instrument]!.symbol)</td><td>\(p.netQuantity)</td>"))
        await child.stop()
    }

    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}
