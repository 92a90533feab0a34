import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

@Suite("schema and migrations", .embeddedPostgres)
struct MigrationTests {
    @Test("migrate is idempotent: the second run applies nothing and the data stays")
    func idempotent() async throws {
        let dsn = try await TestPostgres.freshDatabase(prefix: "m")
        let conn = try await PostgresConnection.connect(dsn)
        let first = try await JournalSchema.migrate(conn, logger: testLogger)
        #expect(first.fromVersion == 0)
        #expect(first.applied == JournalSchema.migrations.map(\.version))
        let writer = try await makeWriter(dsn: dsn)
        _ = try await writer.append(SyntheticJournalFixture.events(5))
        let second = try await JournalSchema.migrate(conn, logger: testLogger)
        #expect(second.applied.isEmpty)
        #expect(second.fromVersion == JournalSchema.currentVersion)
        #expect(try await conn.withConnection { c in try JournalSchema.version(c) } == JournalSchema.currentVersion)
        #expect(try await conn.query("SELECT count(*) FROM tandem.events")[0].decode(Int.self, at: 0) == 5)
        await conn.close()
    }

    @Test("two nodes migrating at once: both succeed, the migration is applied once")
    func concurrent() async throws {
        let dsn = try await TestPostgres.freshDatabase(prefix: "m")
        let a = try await PostgresConnection.connect(dsn)
        let b = try await PostgresConnection.connect(dsn)
        async let ra = JournalSchema.migrate(a, logger: testLogger)
        async let rb = JournalSchema.migrate(b, logger: testLogger)
        let (x, y) = try await (ra, rb)
        #expect(x.applied.count + y.applied.count == JournalSchema.migrations.count)
        #expect(try await a.query("SELECT count(*) FROM tandem.schema_version")[0].decode(Int.self, at: 0) == JournalSchema.migrations.count)
        await a.close()
        await b.close()
    }

    @Test("events are append-only: UPDATE and DELETE are refused by the server")
    func appendOnly() async throws {
        let (dsn, admin) = try await freshJournal()
        let writer = try await makeWriter(dsn: dsn)
        _ = try await writer.append(SyntheticJournalFixture.events(3))
        let update = await #expect(throws: PostgresError.self) {
            try await admin.query("UPDATE tandem.events SET epoch = 9 WHERE seq = 2")
        }
        #expect(update?.sqlState == JournalSchema.appendOnlySQLState)
        let delete = await #expect(throws: PostgresError.self) {
            try await admin.query("DELETE FROM tandem.events WHERE seq = 3")
        }
        #expect(delete?.sqlState == JournalSchema.appendOnlySQLState)
        #expect(try await admin.query("SELECT count(*) FROM tandem.events")[0].decode(Int.self, at: 0) == 3)
        await admin.close()
    }
}
