import TandemCore
import TandemExecution
import TandemJournal
import TandemNode
import TandemPostgres
import TandemPostgresTestKit
import Testing

@Suite("the standby's journal follower", .embeddedPostgres, .timeLimit(.minutes(2)))
struct JournalFollowerTests {
    /// 2,500 events: FIX outbound messages on two sessions (the resend log), then a synthetic stream with fills.
    static func events() -> [JournalEvent] {
        SyntheticJournal.fixOutboundMessages(sessions: ["TANDEM->VENUE", "TANDEM2->VENUE"], perSession: 125)
            + SyntheticJournal.events(count: 2_250, seed: 31, instrumentCount: 4)
    }

    /// Follows until `seq` is folded (and, with `stored`, until that many snapshots are in the table),
    /// then stops; returns the follower.
    static func follow(_ dsn: String, snapshotEvery: UInt64, through seq: UInt64, stored: Int? = nil) async throws -> JournalFollower {
        let follower = JournalFollower(dsn: dsn, snapshotEvery: snapshotEvery, logger: nodeTestLogger)
        let following = Task { try await follower.follow(pollInterval: .milliseconds(20)) }
        try await eventually("the follower folds through seq \(seq)") { follower.lastSeq == seq }
        if let stored {
            let conn = try await PostgresConnection.connect(dsn)
            try await eventually("\(stored) snapshots stored") {
                try await conn.query("SELECT count(*) FROM tandem.snapshots")[0].decode(Int.self, at: 0) == stored
            }
            await conn.close()
        }
        following.cancel()
        _ = await following.result
        return follower
    }

    static func expectSameLedger(_ a: JournalFollower, _ b: ExecutionLedger, sourceLocation: SourceLocation = #_sourceLocation) {
        a.read { ledger in
            #expect(ledger.state.snapshotBytes() == b.state.snapshotBytes(), sourceLocation: sourceLocation)
            #expect(ledger.outbound == b.outbound, sourceLocation: sourceLocation)
            #expect(ledger.bookedExecIDs == b.bookedExecIDs, sourceLocation: sourceLocation)
            #expect(ledger.lastSeq == b.lastSeq, sourceLocation: sourceLocation)
        }
    }

    /// A fresh, migrated database and a writer holding its lease.
    static func emptyJournal() async throws -> (dsn: String, admin: PostgresConnection, writer: JournalWriter) {
        let dsn = try await TestPostgres.freshDatabase(prefix: "f")
        let admin = try await PostgresConnection.connect(dsn)
        _ = try await JournalSchema.migrate(admin, logger: nodeTestLogger)
        let conn = try await PostgresConnection.connect(dsn)
        let epoch = try await conn.withConnection { c in try Lease.acquire(c, holder: "node-a", duration: .seconds(30)) }
        return (dsn, admin, JournalWriter(connection: conn, epoch: epoch, logger: nodeTestLogger))
    }

    static func snapshotSeqs(_ admin: PostgresConnection) async throws -> [Int64] {
        try await admin.query("SELECT seq FROM tandem.snapshots ORDER BY seq").rows.map { try $0.decode(Int64.self, at: 0) }
    }

    @Test("keeps only the newest N snapshots")
    func pruning() async throws {
        let (dsn, admin, writer) = try await Self.emptyJournal()
        let follower = JournalFollower(dsn: dsn, snapshotEvery: 500, snapshotsKept: 2, logger: nodeTestLogger)
        let following = Task { try await follower.follow(pollInterval: .milliseconds(20)) }
        let events = Self.events()
        // 500 events at a time, each stretch's snapshot stored before the next, so none is skipped.
        for start in stride(from: 0, to: events.count, by: 500) {
            _ = try await writer.append(Array(events[start..<(start + 500)]))
            try await eventually("the snapshot at \(start + 500), and at most two") {
                let seqs = try await Self.snapshotSeqs(admin)
                return seqs.last == Int64(start + 500) && seqs.count <= 2
            }
        }
        following.cancel()
        _ = await following.result
        #expect(try await Self.snapshotSeqs(admin) == [2_000, 2_500])
        await admin.close()
    }

    @Test("stores its fold every N events; a new follower starts from the newest with a ledger and folds to the same ledger; damaged, it starts from the next older one, then seq 1")
    func periodicSnapshots() async throws {
        let (dsn, admin, writer) = try await Self.emptyJournal()
        let events = Self.events()
        for start in stride(from: 0, to: events.count, by: 250) {
            _ = try await writer.append(Array(events[start..<min(start + 250, events.count)]))
        }
        var expected = ExecutionLedger()
        for (i, event) in events.enumerated() { try expected.apply(event, seq: UInt64(i + 1)) }
        #expect(expected.outbound.count == 2 && !expected.bookedExecIDs.isEmpty)

        let first = try await Self.follow(dsn, snapshotEvery: 1_000, through: 2_500, stored: 2)
        #expect(first.startedFromSnapshot == nil)
        Self.expectSameLedger(first, expected)
        let stored = try await admin.query("SELECT seq, ledger IS NOT NULL FROM tandem.snapshots ORDER BY seq").rows
            .map { (try $0.decode(Int64.self, at: 0), try $0.decode(Bool.self, at: 1)) }
        #expect(stored.map(\.0) == [1_000, 2_000] && stored.allSatisfy(\.1))

        // Readers of the core state start from the newest snapshot, with or without a ledger.
        let restored = try await Replayer.replay(admin, options: .init(useSnapshot: true), logger: nodeTestLogger)
        #expect(restored.startedFromSnapshot == 2_000 && restored.state.snapshotBytes() == expected.state.snapshotBytes())
        // A core-state-only snapshot at the head (tandem journal snapshot) is not one a follower can start
        // from, and one stored again at 2,000 without a ledger keeps the ledger stored there.
        _ = try await SnapshotStore.writeAtHead(admin, logger: nodeTestLogger)
        let at2000 = try await Replayer.replay(admin, options: .init(throughSeq: 2_000), logger: nodeTestLogger)
        try await admin.withConnection { c in try SnapshotStore.write(c, state: at2000.state, head: at2000.head) }
        #expect(try await admin.query("SELECT seq FROM tandem.snapshots WHERE ledger IS NOT NULL ORDER BY seq").rows
            .map { try $0.decode(Int64.self, at: 0) } == [1_000, 2_000])

        let second = try await Self.follow(dsn, snapshotEvery: 1_000, through: 2_500)
        #expect(second.startedFromSnapshot == 2_000)
        Self.expectSameLedger(second, expected)

        // Off: starts from seq 1 and stores nothing.
        let before = try await admin.query("SELECT count(*) FROM tandem.snapshots")[0].decode(Int.self, at: 0)
        let quiet = try await Self.follow(dsn, snapshotEvery: 0, through: 2_500)
        #expect(quiet.startedFromSnapshot == nil)
        Self.expectSameLedger(quiet, expected)
        #expect(try await admin.query("SELECT count(*) FROM tandem.snapshots")[0].decode(Int.self, at: 0) == before)

        // A damaged ledger: the follower refuses that snapshot, starts from the next older one and folds to
        // the same ledger.
        try await admin.query("UPDATE tandem.snapshots SET ledger = set_byte(ledger, 20, get_byte(ledger, 20) # 1) WHERE seq = 2000")
        // Readers of the core state do not need the ledger: the same snapshot still serves them.
        let coreOnly = try await Replayer.replay(admin, options: .init(throughSeq: 2_000, useSnapshot: true), logger: nodeTestLogger)
        #expect(coreOnly.startedFromSnapshot == 2_000)
        let careful = try await Self.follow(dsn, snapshotEvery: 1_000, through: 2_500)
        #expect(careful.startedFromSnapshot == 1_000)
        Self.expectSameLedger(careful, expected)
        // Both refused (whatever the follower above stored at 2,000 again): it folds from seq 1.
        try await admin.query("UPDATE tandem.snapshots SET ledger_sha256 = decode(repeat('00', 32), 'hex') WHERE seq IN (1000, 2000)")
        let fromStart = try await Self.follow(dsn, snapshotEvery: 1_000, through: 2_500)
        #expect(fromStart.startedFromSnapshot == nil)
        Self.expectSameLedger(fromStart, expected)
        await admin.close()
    }
}
