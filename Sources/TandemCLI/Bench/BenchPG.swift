import ArgumentParser
import Foundation
import Logging
import TandemCrypto
import TandemPostgres

/// `tandem bench pg`: what the libpq face costs, against pgbench on the same server in the same run.
///
/// Starts a private server with fsync and `synchronous_commit` on, then measures
/// - `single_insert_tps`: one connection, one prepared one-row INSERT per committed transaction,
///   through the libpq face on the connection's own thread;
/// - `single_insert_async_tps`: the same, one `await` per statement (two thread hops each);
/// - `pgbench_single_insert_tps`: pgbench, one client, the same INSERT into a same-shaped table (the anchor);
/// - `pipelined_insert_rows_per_s`: the same rows in pipeline mode, a sync (commit) every 100;
/// - `copy_rows_per_s`: the same rows through `COPY … FROM STDIN`.
/// Single-insert and pgbench alternate over `--rounds` so drift in the disk hits both alike.
struct BenchPG: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pg",
        abstract: "Measure single, pipelined and COPY inserts against pgbench on the same embedded server."
    )

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Seconds per single-insert and pgbench run.")
    var seconds = 5

    @Option(help: "Alternating rounds of single-insert and pgbench runs.")
    var rounds = 2

    @Option(help: "Rows for the pipelined and COPY runs.")
    var rows = 200_000

    func validate() throws {
        guard seconds > 0, rounds > 0, rows >= 100 else {
            throw ValidationError("--seconds and --rounds must be positive and --rows at least 100")
        }
    }

    func run() async throws {
        var logger = Logger(label: "tandem.bench")
        logger.logLevel = .warning
        let figures = try await EmbeddedPostgres.withServer(.init(durability: .full), logger: logger) { server in
            try await measure(server: server)
        }
        report(figures)
    }

    private func measure(server: EmbeddedPostgres) async throws -> [(String, Double)] {
        let db = try await PostgresConnection.connect(server.dsn())
        try await PGBenchAnchor.prepare(db)
        try await db.execute("""
            CREATE TABLE bench_single (id bigint NOT NULL, payload bytea NOT NULL);
            CREATE TABLE bench_pipelined (id bigint NOT NULL, payload bytea NOT NULL);
            CREATE TABLE bench_copy (id bigint NOT NULL, payload bytea NOT NULL);
            """)
        try await db.prepare(name: "single", sql: "INSERT INTO bench_single (id, payload) VALUES ($1, $2)")
        try await db.prepare(name: "pipelined", sql: "INSERT INTO bench_pipelined (id, payload) VALUES ($1, $2)")
        let payload: [UInt8] = Array(0..<16)
        let clock = ContinuousClock()

        // Alternate ours and pgbench so both see the same disk. Ours runs the face's blocking loop on the
        // connection's own thread (one actor hop for the whole run, as the journal writer works), and a
        // second, shorter run pays an actor hop per statement, as a casual async caller does.
        var singleTPS: [Double] = []
        var asyncTPS: [Double] = []
        var pgbenchTPS: [Double] = []
        var nextID = 0
        let window = Duration.seconds(seconds)
        for _ in 0..<rounds {
            let firstID = nextID
            let (count, elapsed) = try await db.withConnection { (c) throws(PostgresError) -> (Int, Duration) in
                let clock = ContinuousClock()
                let start = clock.now
                let deadline = start.advanced(by: window)
                var count = 0
                while clock.now < deadline {
                    try c.run(Statement(prepared: "single", [firstID + count, payload]))
                    count += 1
                }
                return (count, clock.now - start)
            }
            nextID += count
            singleTPS.append(Double(count) / elapsed.seconds)
            pgbenchTPS.append(try await PGBenchAnchor.singleInsertTPS(server: server, seconds: seconds))

            let deadline = clock.now.advanced(by: window / 2)
            let start = clock.now
            var hops = 0
            while clock.now < deadline {
                try await db.run(Statement(prepared: "single", [nextID, payload]))
                nextID += 1
                hops += 1
            }
            asyncTPS.append(Double(hops) / (clock.now - start).seconds)
        }

        // Pipelined: statements in pipelines of 10,000, a sync every 100 (so 100 rows per commit).
        var steps: [PipelineStep] = []
        steps.reserveCapacity(10_100)
        let pipelineStart = clock.now
        var sent = 0
        while sent < rows {
            steps.removeAll(keepingCapacity: true)
            let chunk = min(10_000, rows - sent)
            for i in 0..<chunk {
                steps.append(.statement(Statement(prepared: "pipelined", [sent + i, payload])))
                if i % 100 == 99 { steps.append(.sync) }
            }
            let outcomes = try await db.pipeline(steps)
            if let failure = outcomes.first(where: { $0.error != nil })?.error { throw failure }
            sent += chunk
        }
        let pipelined = Double(rows) / (clock.now - pipelineStart).seconds

        // COPY: the same rows, bytea in hex text form.
        let hex = "\\x" + payload.hexString
        let copyRows: [[String?]] = (0..<rows).map { [String($0), hex] }
        let copyStart = clock.now
        let loaded = try await db.copyFromStdin("COPY bench_copy (id, payload) FROM STDIN", rows: copyRows)
        let copy = Double(loaded) / (clock.now - copyStart).seconds
        await db.close()

        let single = singleTPS.reduce(0, +) / Double(singleTPS.count)
        let singleAsync = asyncTPS.reduce(0, +) / Double(asyncTPS.count)
        let anchor = pgbenchTPS.reduce(0, +) / Double(pgbenchTPS.count)
        return [
            ("single_insert_tps", single),
            ("single_insert_async_tps", singleAsync),
            ("pipelined_insert_rows_per_s", pipelined),
            ("copy_rows_per_s", copy),
            ("pgbench_single_insert_tps", anchor),
            ("ratio_single_vs_pgbench", single / anchor),
            ("ratio_pipelined_vs_pgbench", pipelined / anchor),
        ]
    }

    private func report(_ figures: [(String, Double)]) {
        if json {
            let fields = figures.map { "\"\($0.0)\": \(formatted($0.1))" }.joined(separator: ", ")
            print("{\(fields)}")
        } else {
            for (name, value) in figures {
                print("\(name.padding(toLength: 30, withPad: " ", startingAt: 0)) \(formatted(value))")
            }
        }
    }

    private func formatted(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.3f", value)
    }
}

extension Duration {
    /// Seconds as a Double, for rates in benchmark reports only.
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }

    /// Whole microseconds (truncated), for latency samples in benchmark reports.
    var wholeMicroseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }

    /// Whole nanoseconds (truncated), for timelines to line up with kernel traces.
    var wholeNanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

/// The value at percentile `p` (0…1) of ascending `sorted` samples (nearest rank, rounding down); 0
/// when there are none.
func percentileValue(_ p: Double, in sorted: [Int64]) -> Int64 {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}
