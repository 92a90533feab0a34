import Logging
import Synchronization
import TandemPostgres
import TandemPostgresTestKit
import Testing

@Suite("libpq face against a real server", .embeddedPostgres)
struct ConnectionTests {
    @Test("parameters and typed decoding round-trip, NULLs explicit")
    func typeRoundTrips() async throws {
        let db = try await PostgresConnection.connect(try await TestPostgres.freshDatabase())
        let allBytes: [UInt8] = Array(0...255)
        let instant = PostgresTimestamp(nanosecondsSinceEpoch: 1_764_095_536_123_456_000)
        let result = try await db.query(
            "SELECT $1::text, $2::int, $3::bigint, $4::bool, $5::bytea, $6::timestamptz, $7::numeric, $8::text, $9::bytea, $10::bigint",
            ["héllo\t'quoted'\n", Int32(-42), Int64.min, true, allBytes, instant, "12345678901234567890.000000001",
             String?.none, [UInt8](), Int64?.none])
        let row = result[0]
        #expect(try row.decode(String.self, at: 0) == "héllo\t'quoted'\n")
        #expect(try row.decode(Int32.self, at: 1) == -42)
        #expect(try row.decode(Int64.self, at: 2) == Int64.min)
        #expect(try row.decode(Bool.self, at: 3) == true)
        #expect(try row.decode([UInt8].self, at: 4) == allBytes)
        #expect(try row.decode(PostgresTimestamp.self, at: 5) == instant)
        #expect(try row.decode(String.self, at: 6) == "12345678901234567890.000000001")
        #expect(try row.decodeIfPresent(String.self, at: 7) == nil)
        #expect(row.isNull(7))
        #expect(try row.decode([UInt8].self, at: 8) == [])
        #expect(try row.decodeIfPresent(Int64.self, at: 9) == nil)
        await db.close()
    }

    @Test("decoding NULL or the wrong type names the column and row")
    func decodingErrors() async throws {
        let db = try await PostgresConnection.connect(try await TestPostgres.freshDatabase())
        let result = try await db.query("SELECT NULL::bigint AS missing, 'abc'::text AS word, 1::int AS one")
        let nullError = #expect(throws: PostgresError.self) { try result[0].decode(Int64.self, named: "missing") }
        #expect(nullError?.code == .decoding)
        #expect(nullError?.message.contains("\"missing\"") == true)
        #expect(nullError?.message.contains("NULL") == true)
        let typeError = #expect(throws: PostgresError.self) { try result[0].decode(Int.self, at: 1) }
        #expect(typeError?.message.contains("\"word\"") == true)
        let bytesError = #expect(throws: PostgresError.self) { try result[0].decode([UInt8].self, at: 2) }
        #expect(bytesError?.message.contains("bytea") == true)
        await db.close()
    }

    @Test("a transaction that throws leaves nothing behind; one that returns commits")
    func rollback() async throws {
        let db = try await PostgresConnection.connect(try await TestPostgres.freshDatabase())
        try await db.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await db.transaction { c in
                try c.query("INSERT INTO t VALUES ($1)", [1])
                try c.query("INSERT INTO t VALUES ($1)", [2])
                throw Boom()
            }
        }
        #expect(try await db.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 0)
        // A failing statement inside also rolls back what came before it.
        await #expect(throws: PostgresError.self) {
            try await db.transaction { c in
                try c.query("INSERT INTO t VALUES ($1)", [3])
                try c.query("INSERT INTO t VALUES ($1)", [3])
            }
        }
        #expect(try await db.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 0)
        try await db.transaction { c in try c.query("INSERT INTO t VALUES ($1)", [4]) }
        #expect(try await db.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 1)
        // The session is usable after the rollbacks.
        #expect(try await db.query("SELECT 1")[0].decode(Int.self, at: 0) == 1)
        await db.close()
    }

    @Test("a unique violation reports SQLSTATE 23505 with the server's message and detail")
    func uniqueViolation() async throws {
        let db = try await PostgresConnection.connect(try await TestPostgres.freshDatabase())
        try await db.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
        try await db.query("INSERT INTO t VALUES ($1)", [7])
        let error = await #expect(throws: PostgresError.self) {
            try await db.query("INSERT INTO t VALUES ($1)", [7])
        }
        #expect(error?.code == .server)
        #expect(error?.sqlState == "23505")
        #expect(error?.message.contains("duplicate key") == true)
        #expect(error?.detail?.contains("(id)=(7)") == true)
        #expect(error?.statement == "INSERT INTO t VALUES ($1)")
        #expect(error?.isConnectionLoss == false)
        await db.close()
    }

    @Test("prepared statements run with new parameters each time")
    func preparedStatements() async throws {
        let db = try await PostgresConnection.connect(try await TestPostgres.freshDatabase())
        try await db.execute("CREATE TABLE t (id bigint, name text)")
        try await db.prepare(name: "ins", sql: "INSERT INTO t VALUES ($1, $2)")
        for i in 0..<10 { try await db.run(Statement(prepared: "ins", [i, "n\(i)"])) }
        let rows = try await db.query("SELECT id, name FROM t ORDER BY id")
        #expect(rows.count == 10)
        #expect(try rows[9].decode(String.self, named: "name") == "n9")
        await db.close()
    }

    @Test("pipeline: 1,000 inserts, one fails; its sync segment rolls back, the others commit")
    func pipelineWithFailure() async throws {
        let db = try await PostgresConnection.connect(try await TestPostgres.freshDatabase())
        try await db.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
        var steps: [PipelineStep] = []
        for i in 0..<1000 {
            // Statement 500 repeats id 0: a unique violation in the middle.
            steps.append(.statement(Statement("INSERT INTO t VALUES ($1)", [i == 500 ? 0 : i])))
            if i % 100 == 99 { steps.append(.sync) }
        }
        let outcomes = try await db.pipeline(steps)
        #expect(outcomes.count == 1000)
        #expect(outcomes[0..<500].allSatisfy { $0.result?.affectedRows == 1 })
        #expect(outcomes[500].error?.sqlState == "23505")
        #expect(outcomes[501..<600].allSatisfy { if case .aborted = $0 { true } else { false } })
        #expect(outcomes[600..<1000].allSatisfy { $0.result != nil })
        let committed = try await db.query("SELECT count(*), min(id), max(id) FROM t WHERE id BETWEEN 500 AND 599")
        #expect(try committed[0].decode(Int.self, at: 0) == 0)
        #expect(try await db.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 900)

        // With one sync at the end, the whole pipeline is one transaction: nothing commits.
        try await db.execute("TRUNCATE t")
        let single = try await db.pipeline(steps.filter { $0 != .sync })
        #expect(single.filter { $0.error != nil }.count == 1)
        #expect(single.filter { if case .aborted = $0 { true } else { false } }.count == 499)
        #expect(try await db.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 0)
        // The session is still usable after the pipeline.
        #expect(try await db.query("SELECT 2")[0].decode(Int.self, at: 0) == 2)
        await db.close()
    }

    @Test("pipeline of 20,000 statements does not deadlock on full socket buffers")
    func longPipeline() async throws {
        let db = try await PostgresConnection.connect(try await TestPostgres.freshDatabase())
        try await db.execute("CREATE TABLE t (id bigint, payload text)")
        let payload = String(repeating: "x", count: 200)
        var steps: [PipelineStep] = []
        for i in 0..<20_000 {
            steps.append(.statement(Statement("INSERT INTO t VALUES ($1, $2) RETURNING id, payload", [i, payload])))
            if i % 1000 == 999 { steps.append(.sync) }
        }
        let outcomes = try await db.pipeline(steps)
        #expect(outcomes.count == 20_000)
        #expect(outcomes.allSatisfy { $0.result?.count == 1 })
        #expect(try await db.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 20_000)
        await db.close()
    }

    @Test("LISTEN/NOTIFY delivers a payload, and waiting times out when nothing comes")
    func listenNotify() async throws {
        let dsn = try await TestPostgres.freshDatabase()
        let listener = try await PostgresConnection.connect(dsn)
        let sender = try await PostgresConnection.connect(dsn)
        try await listener.listen("journal appended")

        let clock = ContinuousClock()
        var timedOut: PostgresNotification?
        let waited = try await clock.measure {
            timedOut = try await listener.waitForNotification(timeout: .milliseconds(300))
        }
        #expect(timedOut == nil)
        #expect(waited >= .milliseconds(290))
        #expect(waited < .seconds(2))

        try await sender.notify("journal appended", payload: "seq=42")
        let received = try await listener.waitForNotification(timeout: .seconds(5))
        #expect(received?.channel == "journal appended")
        #expect(received?.payload == "seq=42")

        // A notification sent inside a transaction arrives only at commit.
        try await sender.transaction { c in try c.notify("journal appended", payload: "in-tx") }
        #expect(try await listener.waitForNotification(timeout: .seconds(5))?.payload == "in-tx")
        await listener.close()
        await sender.close()
    }

    @Test("COPY FROM STDIN loads 100k rows, escaping tabs, newlines, backslashes and NULLs")
    func copy() async throws {
        let db = try await PostgresConnection.connect(try await TestPostgres.freshDatabase())
        try await db.execute("CREATE TABLE t (id bigint, note text)")
        @Sendable func row(_ i: Int) -> [String?] {
            let note: String? =
                switch i {
                case 7: "a\tb\nc\\d\r"
                case 8: nil
                default: "row"
                }
            return [String(i), note]
        }
        let loaded = try await db.withConnection { (c) throws(PostgresError) in
            try c.copyFromStdin("COPY t (id, note) FROM STDIN", rows: (0..<100_000).lazy.map(row))
        }
        #expect(loaded == 100_000)
        let check = try await db.query("SELECT count(*), sum(id) FROM t")
        #expect(try check[0].decode(Int.self, at: 0) == 100_000)
        #expect(try check[0].decode(Int.self, at: 1) == 4_999_950_000)
        #expect(try await db.query("SELECT note FROM t WHERE id = 7")[0].decode(String.self, at: 0) == "a\tb\nc\\d\r")
        #expect(try await db.query("SELECT note FROM t WHERE id = 8")[0].isNull(0))
        // A COPY with a bad row loads nothing.
        let error = await #expect(throws: PostgresError.self) {
            try await db.copyFromStdin("COPY t (id, note) FROM STDIN", rows: [["1", "ok"], ["not-a-number", "bad"]])
        }
        #expect(error?.sqlState == "22P02")
        #expect(try await db.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 100_000)
        await db.close()
    }

    @Test("a multi-host DSN whose first host is dead connects to the second")
    func multiHost() async throws {
        let server = try TestPostgres.server()
        // Nothing listens on port 1; libpq moves on to the next host.
        let dsn = "host=127.0.0.1,127.0.0.1 port=1,\(server.port) user=postgres dbname=postgres target_session_attrs=read-write connect_timeout=3"
        let db = try await PostgresConnection.connect(dsn)
        let port = try await db.withConnection { c in c.connectedPort }
        #expect(port == String(server.port))
        #expect(try await db.query("SELECT 1")[0].decode(Int.self, at: 0) == 1)
        await db.close()
    }

    @Test("a DSN that libpq cannot parse is refused before any I/O, with the reason")
    func badDSN() async throws {
        let error = await #expect(throws: PostgresError.self) {
            _ = try await PostgresConnection.connect("host=127.0.0.1 bogus_option=1")
        }
        #expect(error?.code == .invalidDSN)
        #expect(error?.message.contains("bogus_option") == true)
        let urlError = await #expect(throws: PostgresError.self) {
            _ = try await PostgresConnection.connect("host = = nope password=secret")
        }
        #expect(urlError?.code == .invalidDSN)
        #expect(urlError?.message.contains("secret") == false)
    }
}

@Suite("server notices", .embeddedPostgres)
struct NoticeTests {
    @Test("server WARNINGs go to the connection's logger, not stderr")
    func warningsAreLogged() async throws {
        let records = LogRecords()
        let logger = Logger(label: "notice-test") { _ in CapturingLogHandler(records: records) }
        let db = try await PostgresConnection.connect(try await TestPostgres.freshDatabase(), logger: logger)
        try await db.execute("DO $$ BEGIN RAISE WARNING 'careful: %', 42; END $$")
        #expect(records.messages.contains { $0.level == .warning && $0.message.contains("careful: 42") })
        await db.close()
    }
}

final class LogRecords: Sendable {
    struct Record: Sendable { var level: Logger.Level; var message: String }
    private let storage = Mutex<[Record]>([])
    func append(_ r: Record) { storage.withLock { $0.append(r) } }
    var messages: [Record] { storage.withLock { $0 } }
}

struct CapturingLogHandler: LogHandler {
    let records: LogRecords
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        records.append(.init(level: event.level, message: "\(event.message)"))
    }
}
