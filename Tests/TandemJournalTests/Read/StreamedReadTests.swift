import TandemCore
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

@Suite("streamed (cursor, chunked) reads", .embeddedPostgres)
struct StreamedReadTests {
    @Test("forEachRow delivers exactly what the buffered read returns, across chunk boundaries and limits")
    func sameRows() async throws {
        let (dsn, admin) = try await freshJournal()
        let writer = try await makeWriter(dsn: dsn)
        try await appendAll(writer, SyntheticJournalFixture.events(2_503, seed: 3), chunk: 500)
        let buffered = try await allRows(admin)
        let streamed: [JournalRow] = try await admin.withConnection { c in
            var out: [JournalRow] = []
            try JournalReader.forEachRow(c, after: 0) { (row) throws(JournalError) in out.append(row) }
            return out
        }
        // Rows kept by the caller must stay intact although the reader refills its row in place.
        #expect(streamed == buffered)
        #expect(streamed.count == 2_503)
        let window: [UInt64] = try await admin.withConnection { c in
            var seqs: [UInt64] = []
            try JournalReader.forEachRow(c, after: 999, through: 2_001, limit: 1_001) { (row) throws(JournalError) in seqs.append(row.seq) }
            return seqs
        }
        #expect(window == Array(1_000...2_000))
        let seqs: Int = try await admin.withConnection { c in try JournalReader.forEachRawSeq(c) { (_) throws(JournalError) in } }
        #expect(seqs == 2_503)
        await admin.close()
    }

    @Test("a body that throws mid-read leaves the session usable, inside or outside a caller's transaction")
    func throwingBody() async throws {
        let (dsn, admin) = try await freshJournal()
        let writer = try await makeWriter(dsn: dsn)
        try await appendAll(writer, SyntheticJournalFixture.events(3_000, seed: 4), chunk: 1_000)
        let stop = JournalError(.invalidArgument, "stop here", seq: 1_500)
        try await admin.withConnection { c in
            for inTransaction in [false, true] {
                if inTransaction { try c.execute("BEGIN") }
                var seen = 0
                do throws(JournalError) {
                    try JournalReader.forEachRow(c, after: 0) { (row) throws(JournalError) in
                        seen += 1
                        if row.seq == 1_500 { throw stop }
                    }
                    Issue.record("the body's error must come back")
                } catch {
                    #expect(error.code == .invalidArgument && error.seq == 1_500)
                }
                #expect(seen == 1_500)
                #expect(c.isInTransaction == inTransaction)
                // The cursor is gone and the session (and the caller's transaction) still works.
                var again = 0
                try JournalReader.forEachRow(c, after: 2_990) { (_) throws(JournalError) in again += 1 }
                #expect(again == 10)
                if inTransaction { try c.execute("COMMIT") }
            }
        }
        await admin.close()
    }

    @Test("replay with snapshots due mid-journal ends each read where a snapshot is taken")
    func stretchesAndSnapshots() async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(2_750, seed: 9)
        let writer = try await makeWriter(dsn: dsn)
        try await appendAll(writer, events, chunk: 250)
        let result = try await Replayer.replay(admin, options: .init(snapshotEvery: 700, batchSize: 300), logger: testLogger)
        #expect(result.eventsReplayed == 2_750)
        #expect(result.state.snapshotBytes() == (try fold(events)).snapshotBytes())
        let seqs = try await admin.query("SELECT seq FROM tandem.snapshots ORDER BY seq")
        #expect((0..<seqs.count).map { try? seqs[$0].decode(Int.self, at: 0) } == [700, 1_400, 2_100])
        let fromSnapshot = try await Replayer.replay(admin, options: .init(throughSeq: 2_500, useSnapshot: true), logger: testLogger)
        #expect(fromSnapshot.startedFromSnapshot == 2_100)
        #expect(fromSnapshot.state.snapshotBytes() == (try fold(events.prefix(2_500))).snapshotBytes())
        await admin.close()
    }
}

@Suite("batched reads (JournalReader.rows)", .embeddedPostgres)
struct BatchedReadTests {
    @Test("rows asks for the seq range of its batch; at the head, and past a whole missing range, it still answers right")
    func boundedRange() async throws {
        let (dsn, admin) = try await freshJournal()
        let writer = try await makeWriter(dsn: dsn)
        try await appendAll(writer, SyntheticJournalFixture.events(100, seed: 6), chunk: 50)
        func seqs(after: UInt64, through: UInt64 = UInt64(Int64.max), limit: Int) async throws -> [UInt64] {
            try await admin.withConnection { c in try JournalReader.rows(c, after: after, through: through, limit: limit).map(\.seq) }
        }
        #expect(try await seqs(after: 0, limit: 10) == Array(1...10))
        #expect(try await seqs(after: 95, limit: 10) == Array(96...100))
        #expect(try await seqs(after: 100, limit: 10) == [])
        #expect(try await seqs(after: 10, through: 15, limit: 10) == Array(11...15))
        #expect(try await seqs(after: UInt64(Int64.max) - 3, limit: 10) == [])

        // Tampering that removes a whole batch's range: the read must still return what follows, so
        // the caller's chain check sees the gap (instead of believing it is caught up).
        try await admin.execute("SET session_replication_role = replica")
        try await admin.query("DELETE FROM tandem.events WHERE seq BETWEEN 1 AND 20")
        try await admin.execute("SET session_replication_role = DEFAULT")
        #expect(try await seqs(after: 0, limit: 10) == Array(21...30))
        // A range only partly missing gives a shorter batch (what the range holds), gap included.
        #expect(try await seqs(after: 15, limit: 10) == Array(21...25))
        await admin.close()
    }
}
