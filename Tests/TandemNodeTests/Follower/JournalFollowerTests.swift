import TandemCore
import TandemExecution
import TandemJournal
import TandemNode
import TandemPostgres
import TandemPostgresTestKit
import Testing

@Suite("the standby's journal follower", .embeddedPostgres, .timeLimit(.minutes(2)))
struct JournalFollowerTests {
    @Test("stores a snapshot every N events it folds; a replay from the newest (as tandem status folds) equals its fold")
    func periodicSnapshots() async throws {
        let dsn = try await TestPostgres.freshDatabase(prefix: "f")
        let admin = try await PostgresConnection.connect(dsn)
        _ = try await JournalSchema.migrate(admin, logger: nodeTestLogger)
        let conn = try await PostgresConnection.connect(dsn)
        let epoch = try await conn.withConnection { c in try Lease.acquire(c, holder: "node-a", duration: .seconds(30)) }
        let writer = JournalWriter(connection: conn, epoch: epoch, logger: nodeTestLogger)
        let events = SyntheticJournal.events(count: 2_500, seed: 31, instrumentCount: 4)
        for start in stride(from: 0, to: events.count, by: 250) {
            _ = try await writer.append(Array(events[start..<min(start + 250, events.count)]))
        }

        let follower = JournalFollower(dsn: dsn, snapshotEvery: 1_000, logger: nodeTestLogger)
        let following = Task { try await follower.follow(pollInterval: .milliseconds(20)) }
        try await eventually("the follower folds all 2,500 events") { follower.lastSeq == 2_500 }
        following.cancel()
        _ = await following.result

        let seqs = try await admin.query("SELECT seq FROM tandem.snapshots ORDER BY seq").rows.map { try $0.decode(Int64.self, at: 0) }
        #expect(seqs == [1_000, 2_000])
        var expected = TradingState()
        for event in events { try expected.apply(event) }
        #expect(follower.read { $0.state.snapshotBytes() } == expected.snapshotBytes())
        let restored = try await Replayer.replay(admin, options: .init(useSnapshot: true), logger: nodeTestLogger)
        #expect(restored.startedFromSnapshot == 2_000 && restored.eventsReplayed == 500)
        #expect(restored.state.snapshotBytes() == expected.snapshotBytes())
        let partial = try await Replayer.replay(admin, options: .init(throughSeq: 1_500, useSnapshot: true), logger: nodeTestLogger)
        var expectedPartial = TradingState()
        for event in events.prefix(1_500) { try expectedPartial.apply(event) }
        #expect(partial.startedFromSnapshot == 1_000 && partial.state.snapshotBytes() == expectedPartial.snapshotBytes())

        // Off: no snapshot stored.
        let quiet = JournalFollower(dsn: dsn, snapshotEvery: 0, logger: nodeTestLogger)
        try await admin.query("DELETE FROM tandem.snapshots")
        let tailing = Task { try await quiet.follow(pollInterval: .milliseconds(20)) }
        try await eventually("the second follower folds all events") { quiet.lastSeq == 2_500 }
        tailing.cancel()
        _ = await tailing.result
        #expect(try await admin.query("SELECT count(*) FROM tandem.snapshots")[0].decode(Int.self, at: 0) == 0)
        await conn.close()
        await admin.close()
    }
}
