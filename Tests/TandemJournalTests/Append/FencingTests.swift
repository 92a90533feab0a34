import TandemCore
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

@Suite("fenced append and group commit", .embeddedPostgres)
struct FencingTests {
    @Test("zombie writer: the epoch is bumped while its batch is in flight; every caller is fenced, nothing lands, no fork or gap")
    func zombieWriter() async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(40)
        let old = try await makeWriter(dsn: dsn, holder: "node-a")
        #expect(old.epoch == 1)
        #expect(try await old.append(Array(events[0..<10])) == 1...10)

        // Node B starts taking the lease and holds its row lock, uncommitted.
        let bumper = try await beginLeaseTakeover(dsn)

        // The old leader appends (three callers): its first batch inserts its rows, then waits on the lease lock.
        async let a = capture { try await old.append(Array(events[10..<15])) }
        async let b = capture { try await old.append(Array(events[15..<20])) }
        async let c = capture { try await old.append(events[20]) }
        try await waitForAppendOnLock(admin)
        // Its batch is inserted but not committed: other sessions cannot see it.
        #expect(try await admin.query("SELECT count(*) FROM tandem.events")[0].decode(Int.self, at: 0) == 10)

        try await bumper.execute("COMMIT")
        let results = await [a.map { _ in () }, b.map { _ in () }, c.map { _ in () }]
        for result in results {
            #expect(throws: FencedError.self) { try result.get() }
            if case .failure(let error as FencedError) = result {
                #expect(error.writerEpoch == 1)
                #expect(error.leaseEpoch == 2)
            }
        }
        // A zombie stays fenced.
        await #expect(throws: FencedError.self) { try await old.append(events[21]) }

        // The new leader (epoch 2) continues the chain right after seq 10.
        let newConn = try await PostgresConnection.connect(dsn)
        let lease = try await newConn.withConnection { c in try Lease.read(c) }
        #expect(lease.epoch == 2 && lease.holder == "node-b")
        let new = JournalWriter(connection: newConn, epoch: 2, logger: testLogger)
        #expect(try await new.append(Array(events[21..<26])) == 11...15)

        let rows = try await allRows(admin)
        #expect(rows.map(\.seq) == Array(1...15))
        #expect(rows.map(\.epoch) == Array(repeating: 1, count: 10) + Array(repeating: 2, count: 5))
        #expect(rows[10].payload == EventCodec.encode(events[21]))
        let report = try await admin.withConnection { c in try AuditVerifier.verify(c, logger: testLogger) }
        #expect(report.isValid)
        #expect(report.verifiedThrough == 15)
        await bumper.close()
        await admin.close()
    }

    @Test("a lease taken before the append started fences it; a halt fences the current epoch too")
    func fencedBeforeAndHalt() async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(10)
        let old = try await makeWriter(dsn: dsn, holder: "a")
        _ = try await old.append(events[0])
        let new = try await makeWriter(dsn: dsn, holder: "b")
        let error = await #expect(throws: FencedError.self) { try await old.append(events[1]) }
        #expect(error?.leaseEpoch == 2 && error?.halted == false)
        #expect(try await new.append(events[1]) == 2)

        try await admin.withConnection { c in _ = try Lease.halt(c, by: "watchdog") }
        let halted = await #expect(throws: FencedError.self) { try await new.append(events[2]) }
        #expect(halted?.halted == true)
        #expect(try await allRows(admin).count == 2)
        await admin.close()
    }

    @Test("8 concurrent appenders: a gapless stream whose seqs are what each caller was told")
    func concurrentAppenders() async throws {
        let (dsn, admin) = try await freshJournal()
        let writer = try await makeWriter(dsn: dsn)
        let events = SyntheticJournalFixture.events(8 * 40 * 3)
        let told = try await withThrowingTaskGroup(of: [(ClosedRange<UInt64>, [JournalEvent])].self) { group in
            for task in 0..<8 {
                group.addTask {
                    var mine: [(ClosedRange<UInt64>, [JournalEvent])] = []
                    for i in 0..<40 {
                        let base = (task * 40 + i) * 3
                        let batch = Array(events[base..<(base + 1 + (i % 3))])
                        mine.append((try await writer.append(batch), batch))
                    }
                    return mine
                }
            }
            var all: [(ClosedRange<UInt64>, [JournalEvent])] = []
            for try await part in group { all += part }
            return all
        }
        let rows = try await allRows(admin)
        let total = told.reduce(0) { $0 + $1.1.count }
        #expect(rows.map(\.seq) == Array(1...UInt64(total)))
        for (range, batch) in told {
            #expect(range.count == batch.count)
            for (seq, event) in zip(range, batch) {
                #expect(rows[Int(seq) - 1].payload == EventCodec.encode(event))
            }
        }
        let commits = await writer.commits
        #expect(commits <= told.count)
        let report = try await admin.withConnection { c in try AuditVerifier.verify(c, logger: testLogger) }
        #expect(report.isValid && report.verifiedThrough == UInt64(total))
        await admin.close()
    }
}

@Suite("group commit planning")
struct GroupCommitPlannerTests {
    @Test("takes whole appends in order up to the limit; the first always goes")
    func planning() {
        let p = GroupCommitPlanner(maxEvents: 10)
        #expect(p.take(waiting: [3, 4, 3, 1]) == 3)
        #expect(p.take(waiting: [25, 1]) == 1)
        #expect(p.take(waiting: [5, 6]) == 1)
        #expect(p.take(waiting: []) == 0)
        #expect(GroupCommitPlanner(maxEvents: 0).take(waiting: [1, 1]) == 1)
    }
}
