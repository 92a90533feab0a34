import TandemCore
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

@Suite("replay and snapshots", .embeddedPostgres)
struct ReplayTests {
    @Test("replay from seq 1 equals the in-memory fold, byte for byte")
    func determinism() async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(6_000, seed: 11)
        let writer = try await makeWriter(dsn: dsn)
        #expect(try await appendAll(writer, events, chunk: 300) == 6_000)
        let expected = try fold(events)
        let result = try await Replayer.replay(admin, logger: testLogger)
        #expect(result.head.seq == 6_000)
        #expect(result.eventsReplayed == 6_000)
        #expect(result.state == expected)
        #expect(result.state.snapshotBytes() == expected.snapshotBytes())

        let partial = try await Replayer.replay(admin, options: .init(throughSeq: 2_345), logger: testLogger)
        #expect(partial.state.snapshotBytes() == (try fold(events.prefix(2_345))).snapshotBytes())
        await admin.close()
    }

    @Test("snapshot restore plus the rest equals a fresh fold; a damaged snapshot is refused")
    func snapshots() async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(5_000, seed: 5)
        let writer = try await makeWriter(dsn: dsn)
        try await appendAll(writer, events, chunk: 500)
        // A follower folding the journal writes a snapshot every 1,000 events.
        _ = try await Replayer.replay(admin, options: .init(snapshotEvery: 1_000), logger: testLogger)
        #expect(try await admin.query("SELECT count(*) FROM tandem.snapshots")[0].decode(Int.self, at: 0) == 5)

        let through = 3_500 as UInt64
        let restored = try await Replayer.replay(admin, options: .init(throughSeq: through, useSnapshot: true), logger: testLogger)
        #expect(restored.startedFromSnapshot == 3_000)
        #expect(restored.eventsReplayed == 500)
        let fresh = try fold(events.prefix(Int(through)))
        #expect(restored.state == fresh)
        #expect(restored.state.snapshotBytes() == fresh.snapshotBytes())

        let full = try await Replayer.replay(admin, options: .init(useSnapshot: true), logger: testLogger)
        #expect(full.startedFromSnapshot == 5_000 && full.eventsReplayed == 0)
        #expect(full.state.snapshotBytes() == (try fold(events)).snapshotBytes())

        try await admin.query("UPDATE tandem.snapshots SET state = set_byte(state, 10, get_byte(state, 10) # 1) WHERE seq = 5000")
        let error = await #expect(throws: JournalError.self) {
            try await Replayer.replay(admin, options: .init(useSnapshot: true), logger: testLogger)
        }
        #expect(error?.code == .snapshot && error?.seq == 5_000)
        await admin.close()
    }

    @Test("a corrupt payload on an intact chain: replay and audit name its seq, nothing traps")
    func corruptPayload() async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(11)
        let writer = try await makeWriter(dsn: dsn)
        _ = try await writer.append(Array(events[0..<10]))
        // A writer bug: a frame whose length field lies, correctly chained and hashed.
        var frame = EventCodec.encode(events[10])
        frame[6] &+= 5
        let bad = EncodedEvent(kind: events[10].kind.rawValue, timestampNanos: events[10].timestamp.nanosecondsSinceEpoch, frame: frame)
        #expect(try await writer.enqueue([bad]) == 11...11)

        let error = await #expect(throws: JournalError.self) { try await Replayer.replay(admin, logger: testLogger) }
        #expect(error?.code == .corruptPayload)
        #expect(error?.seq == 11)
        #expect(error?.description.contains("seq 11") == true)
        let report = try await admin.withConnection { c in try AuditVerifier.verify(c, logger: testLogger) }
        #expect(report.failure?.seq == 11 && report.failure?.code == .corruptPayload)
        #expect(report.verifiedThrough == 10)
        // Nothing was dropped or rewritten.
        #expect(try await allRows(admin).count == 11)
        await admin.close()
    }
}
