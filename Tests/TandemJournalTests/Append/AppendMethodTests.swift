import TandemCore
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

@Suite("append methods: server function, pipelined INSERTs, binary COPY", .embeddedPostgres)
struct AppendMethodTests {
    @Test("every method stores byte-identical rows (same chain) and returns the same head", arguments: FencedAppend.Method.allCases)
    func sameRows(method: FencedAppend.Method) async throws {
        let events = SyntheticJournalFixture.events(1_203, seed: 21).map(EncodedEvent.init)
        var stored: [[JournalRow]] = []
        for m in [FencedAppend.Method.function, method] {
            let (dsn, admin) = try await freshJournal()
            let conn = try await PostgresConnection.connect(dsn)
            let epoch = try await conn.withConnection { c in try Lease.acquire(c, holder: "a", duration: .seconds(30)) }
            let head = try await conn.withConnection { c in
                var head = ChainHead.genesis
                for start in stride(from: 0, to: events.count, by: 400) {
                    head = try FencedAppend.append(
                        c, epoch: epoch, head: head, events: Array(events[start..<min(start + 400, events.count)]), method: m)
                }
                return head
            }
            #expect(head.seq == 1_203)
            #expect(try await conn.withConnection { c in try FencedAppend.readHead(c) } == head)
            stored.append(try await allRows(admin))
            let report = try await admin.withConnection { c in try AuditVerifier.verify(c, logger: testLogger) }
            #expect(report.isValid && report.verifiedThrough == 1_203)
            await conn.close()
            await admin.close()
        }
        #expect(stored[0] == stored[1])
    }

    @Test("fenced by a newer lease or a halt, and head moved: nothing lands, the session stays usable", arguments: FencedAppend.Method.allCases)
    func fencing(method: FencedAppend.Method) async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(30, seed: 2).map(EncodedEvent.init)
        let conn = try await PostgresConnection.connect(dsn)
        let epoch = try await conn.withConnection { c in try Lease.acquire(c, holder: "a", duration: .seconds(30)) }
        let head = try await conn.withConnection { c in
            try FencedAppend.append(c, epoch: epoch, head: .genesis, events: Array(events[0..<10]), method: method)
        }

        // Head moved: a writer with a stale head (same epoch) is told so, not fenced, and nothing lands.
        let moved = await capture {
            try await conn.withConnection { c in
                try FencedAppend.append(c, epoch: epoch, head: .genesis, events: Array(events[10..<20]), method: method)
            }
        }
        #expect((moved.failure as? JournalError)?.code == .headMoved)
        #expect(try await allRows(admin).count == 10)

        // A newer lease: fenced, with the lease's epoch.
        let other = try await PostgresConnection.connect(dsn)
        let newEpoch = try await other.withConnection { c in try Lease.acquire(c, holder: "b", duration: .seconds(30)) }
        let fenced = await capture {
            try await conn.withConnection { c in
                try FencedAppend.append(c, epoch: epoch, head: head, events: Array(events[10..<20]), method: method)
            }
        }
        let error = fenced.failure as? FencedError
        #expect(error?.leaseEpoch == newEpoch && error?.halted == false)
        #expect(try await allRows(admin).count == 10)
        #expect(try await conn.withConnection { c in c.isInTransaction } == false)

        // The current holder appends; then a halt fences it too.
        let head2 = try await other.withConnection { c in
            try FencedAppend.append(c, epoch: newEpoch, head: head, events: Array(events[10..<20]), method: method)
        }
        #expect(head2.seq == 20)
        try await admin.withConnection { c in _ = try Lease.halt(c, by: "watchdog") }
        let halted = await capture {
            try await other.withConnection { c in
                try FencedAppend.append(c, epoch: newEpoch, head: head2, events: Array(events[20..<30]), method: method)
            }
        }
        #expect((halted.failure as? FencedError)?.halted == true)
        #expect(try await allRows(admin).count == 20)
        let report = try await admin.withConnection { c in try AuditVerifier.verify(c, logger: testLogger) }
        #expect(report.isValid && report.verifiedThrough == 20)
        await other.close()
        await conn.close()
        await admin.close()
    }

    @Test("a writer using a method for large batches is still a zombie once fenced", arguments: [FencedAppend.Method.pipelinedInserts, .copyBinary])
    func zombieWriter(method: FencedAppend.Method) async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(40, seed: 8)
        let conn = try await PostgresConnection.connect(dsn)
        let epoch = try await conn.withConnection { c in try Lease.acquire(c, holder: "a", duration: .seconds(30)) }
        let writer = JournalWriter(
            connection: conn, epoch: epoch, logger: testLogger, largeBatch: .init(method: method, minEvents: 5))
        #expect(try await writer.append(Array(events[0..<10])) == 1...10)  // large: `method`
        #expect(try await writer.append(Array(events[10..<12])) == 11...12)  // small: the function
        _ = try await makeWriter(dsn: dsn, holder: "b")
        await #expect(throws: FencedError.self) { try await writer.append(Array(events[12..<22])) }
        await #expect(throws: FencedError.self) { try await writer.append(events[22]) }
        #expect(try await allRows(admin).count == 12)
        await admin.close()
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let e) = self { e } else { nil }
    }
}
