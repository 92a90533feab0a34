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

    @Test("snapshot restore plus the rest equals a fresh fold; a damaged snapshot is refused, or passed over for an older one")
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

        // A reader that wants the state quickly (status, the watchdog) tries the next older snapshot
        // instead, up to SnapshotStore.fallbackAttempts, then folds from seq 1.
        let all = try fold(events).snapshotBytes()
        let oneBack = try await admin.withConnection { c in try Replayer.replayFromNewestSnapshot(c, logger: testLogger) }
        #expect(oneBack.startedFromSnapshot == 4_000 && oneBack.eventsReplayed == 1_000 && oneBack.state.snapshotBytes() == all)
        try await admin.query("UPDATE tandem.snapshots SET chain_hash = set_byte(chain_hash, 0, get_byte(chain_hash, 0) # 1) WHERE seq = 4000")
        let twoBack = try await admin.withConnection { c in try Replayer.replayFromNewestSnapshot(c, logger: testLogger) }
        #expect(twoBack.startedFromSnapshot == 3_000 && twoBack.eventsReplayed == 2_000 && twoBack.state.snapshotBytes() == all)
        try await admin.query("UPDATE tandem.snapshots SET state_sha256 = set_byte(state_sha256, 3, get_byte(state_sha256, 3) # 1) WHERE seq = 3000")
        #expect(SnapshotStore.fallbackAttempts == 3)
        let none = try await admin.withConnection { c in try Replayer.replayFromNewestSnapshot(c, logger: testLogger) }
        #expect(none.startedFromSnapshot == nil && none.eventsReplayed == 5_000 && none.state.snapshotBytes() == all)
        // With more attempts, the one at 2,000 is found.
        let deeper = try await admin.withConnection { c in
            try SnapshotStore.newestPassing(c, attempts: 4, logger: testLogger) { s throws -> (TradingState, UInt64) in try SnapshotStore.restore(c, s) }
        }
        #expect(deeper?.snapshot.seq == 2_000)

        #expect(try await admin.withConnection { c in try SnapshotStore.prune(c, keep: 10) } == 0)
        #expect(try await admin.withConnection { c in try SnapshotStore.prune(c, keep: 2) } == 3)
        #expect(try await admin.query("SELECT seq FROM tandem.snapshots ORDER BY seq").rows.map { try $0.decode(Int64.self, at: 0) } == [4_000, 5_000])
        #expect(try await admin.withConnection { c in try SnapshotStore.prune(c, keep: 0) } == 1)  // at least one is kept
        await admin.close()
    }

    @Test("writeAtHead stores the state at the head from the newest snapshot; a damaged one is refused, then repaired from seq 1")
    func snapshotAtHead() async throws {
        let (dsn, admin) = try await freshJournal()
        #expect(try await SnapshotStore.writeAtHead(admin, logger: testLogger) == nil)  // empty journal: nothing to store
        let events = SyntheticJournalFixture.events(3_000, seed: 23)
        let writer = try await makeWriter(dsn: dsn)
        try await appendAll(writer, Array(events.prefix(1_200)), chunk: 300)
        let first = try #require(try await SnapshotStore.writeAtHead(admin, logger: testLogger))
        #expect(first.head.seq == 1_200 && first.startedFromSnapshot == nil && first.eventsReplayed == 1_200)

        try await appendAll(writer, Array(events.dropFirst(1_200)), chunk: 300)
        let second = try #require(try await SnapshotStore.writeAtHead(admin, logger: testLogger))
        #expect(second.head.seq == 3_000 && second.startedFromSnapshot == 1_200 && second.eventsReplayed == 1_800)
        let expected = try fold(events)
        #expect(second.state.snapshotBytes() == expected.snapshotBytes())
        let restored = try await Replayer.replay(admin, options: .init(useSnapshot: true), logger: testLogger)
        #expect(restored.startedFromSnapshot == 3_000 && restored.eventsReplayed == 0 && restored.state == expected)

        let again = try #require(try await SnapshotStore.writeAtHead(admin, logger: testLogger))
        #expect(again.startedFromSnapshot == 3_000 && again.eventsReplayed == 0)
        #expect(try await admin.query("SELECT count(*) FROM tandem.snapshots")[0].decode(Int.self, at: 0) == 2)

        try await admin.query("UPDATE tandem.snapshots SET state = set_byte(state, 10, get_byte(state, 10) # 1) WHERE seq = 3000")
        let error = await #expect(throws: JournalError.self) { try await SnapshotStore.writeAtHead(admin, logger: testLogger) }
        #expect(error?.code == .snapshot && error?.seq == 3_000)
        let repaired = try #require(try await SnapshotStore.writeAtHead(admin, fromSeq1: true, logger: testLogger))
        #expect(repaired.startedFromSnapshot == nil && repaired.eventsReplayed == 3_000)
        let afterRepair = try await Replayer.replay(admin, options: .init(useSnapshot: true), logger: testLogger)
        #expect(afterRepair.startedFromSnapshot == 3_000 && afterRepair.state == expected)
        await admin.close()
    }

    @Test("pipelined replay (two threads) equals the sequential one; a row altered mid-stream fails both with the same error")
    func pipelinedEqualsSequential() async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(7_777, seed: 17)
        let writer = try await makeWriter(dsn: dsn)
        try await appendAll(writer, events, chunk: 1_000)
        let expected = try fold(events)
        for options in [Replayer.Options(pipelined: true), .init(snapshotEvery: 1_500, pipelined: true), .init(throughSeq: 4_321, pipelined: true)] {
            let pipelined = try await Replayer.replay(admin, options: options, logger: testLogger)
            var sequentialOptions = options
            sequentialOptions.pipelined = false
            #expect(options.pipelined)
            let sequential = try await Replayer.replay(admin, options: sequentialOptions, logger: testLogger)
            #expect(pipelined.state.snapshotBytes() == sequential.state.snapshotBytes())
            #expect(pipelined.head == sequential.head && pipelined.eventsReplayed == sequential.eventsReplayed)
            #expect(pipelined.lastEpoch == sequential.lastEpoch)
        }
        #expect(try await Replayer.replay(admin, logger: testLogger).state.snapshotBytes() == expected.snapshotBytes())
        #expect(try await admin.query("SELECT count(*) FROM tandem.snapshots")[0].decode(Int.self, at: 0) == 5)

        // Tamper with one row deep in the stream (several chunks in): both replays stop there, same error.
        try await admin.execute("SET session_replication_role = replica")
        try await admin.query("UPDATE tandem.events SET payload = set_byte(payload, 20, get_byte(payload, 20) # 1) WHERE seq = 5000")
        try await admin.execute("SET session_replication_role = DEFAULT")
        var errors: [JournalError] = []
        for pipelined in [true, false] {
            let error = await #expect(throws: JournalError.self) {
                try await Replayer.replay(admin, options: .init(pipelined: pipelined), logger: testLogger)
            }
            if let error { errors.append(error) }
        }
        #expect(errors.count == 2)
        #expect(errors.first?.code == .chainBroken && errors.first?.seq == 5_000)
        #expect(errors.first?.description == errors.last?.description)
        // The session is usable afterwards (the cursor and its transaction are gone).
        #expect(try await admin.withConnection { c in c.isInTransaction } == false)
        let upTo = try await Replayer.replay(admin, options: .init(throughSeq: 4_999), logger: testLogger)
        #expect(upTo.state.snapshotBytes() == (try fold(events.prefix(4_999))).snapshotBytes())
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
