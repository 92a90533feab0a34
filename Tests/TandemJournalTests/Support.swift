import Logging
import TandemCore
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

let testLogger = TestPostgres.logger

/// A fresh database on the suite's server with the journal schema migrated.
func freshJournal() async throws -> (dsn: String, admin: PostgresConnection) {
    let dsn = try await TestPostgres.freshDatabase(prefix: "j")
    let admin = try await PostgresConnection.connect(dsn)
    _ = try await JournalSchema.migrate(admin, logger: testLogger)
    return (dsn, admin)
}

/// Takes the lease on its own connection and returns a writer for the new epoch.
func makeWriter(dsn: String, holder: String = "node-a", maxBatchEvents: Int = 4096) async throws -> JournalWriter {
    let conn = try await PostgresConnection.connect(dsn)
    let epoch = try await conn.withConnection { c in try Lease.acquire(c, holder: holder, duration: .seconds(30)) }
    return JournalWriter(connection: conn, epoch: epoch, maxBatchEvents: maxBatchEvents, logger: testLogger)
}

func allRows(_ conn: PostgresConnection) async throws -> [JournalRow] {
    try await conn.withConnection { c in try JournalReader.rows(c, after: 0, limit: 1_000_000) }
}

func fold(_ events: some Sequence<JournalEvent>) throws -> TradingState {
    var state = TradingState()
    for event in events { try state.apply(event) }
    return state
}

/// Appends `events` in chunks of `chunk`, returning the final seq.
@discardableResult
func appendAll(_ writer: JournalWriter, _ events: [JournalEvent], chunk: Int = 250) async throws -> UInt64 {
    var last: UInt64 = 0
    var i = 0
    while i < events.count {
        let slice = Array(events[i..<min(i + chunk, events.count)])
        last = try await writer.append(slice).upperBound
        i += chunk
    }
    return last
}

func capture<T: Sendable>(_ body: @Sendable () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

/// Node B starts taking the lease: the epoch bumped in a transaction left open, so the lease row stays
/// locked. `COMMIT` on the returned connection completes the takeover.
func beginLeaseTakeover(_ dsn: String) async throws -> PostgresConnection {
    let bumper = try await PostgresConnection.connect(dsn)
    try await bumper.execute("BEGIN")
    try await bumper.query("UPDATE tandem.lease SET epoch = epoch + 1, holder = 'node-b', halted = false WHERE id = 1")
    return bumper
}

/// Waits (up to 5 s) until an append is blocked on a lock: the lease check behind an open takeover.
func waitForAppendOnLock(_ admin: PostgresConnection) async throws {
    var waited = 0
    while try await admin.query(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%append_events%'"
    )[0].decode(Int.self, at: 0) == 0 {
        try await Task.sleep(for: .milliseconds(10))
        waited += 1
        try #require(waited < 500, "the old writer never reached the lease check")
    }
}
