import TandemCore
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

@Suite("tail", .embeddedPostgres)
struct TailTests {
    @Test("a tail delivers every event once, in order, and wakes on NOTIFY")
    func live() async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(300)
        let writer = try await makeWriter(dsn: dsn)
        try await appendAll(writer, Array(events[0..<100]))
        var options = JournalTail.Options()
        options.pollInterval = .seconds(30)  // only NOTIFY can wake it in time
        let tail = JournalTail(dsn: dsn, after: 50, options: options, logger: testLogger)
        let seqs = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            group.addTask {
                var got: [UInt64] = []
                for try await e in tail {
                    #expect(e.event == events[Int(e.seq) - 1])
                    got.append(e.seq)
                    if e.seq == 300 { break }
                }
                return got
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(300))
                try await appendAll(writer, Array(events[100..<300]), chunk: 7)
                try await Task.sleep(for: .seconds(20))
                throw CancellationError()
            }
            let first = try await group.next() ?? []
            group.cancelAll()
            return first
        }
        #expect(seqs == Array(51...300))
        await admin.close()
    }
}

/// Starts its own server, because it restarts it.
@Suite("tail across a PostgreSQL restart")
struct TailRestartTests {
    @Test("PostgreSQL restarted under a live tail: it resumes with no loss and no duplicate")
    func restart() async throws {
        let server = try await EmbeddedPostgres.start(.temporary, logger: testLogger)
        do {
            let dsn = server.dsn()
            let admin = try await PostgresConnection.connect(dsn)
            _ = try await JournalSchema.migrate(admin, logger: testLogger)
            await admin.close()
            let events = SyntheticJournalFixture.events(400)
            let writer = try await makeWriter(dsn: dsn)
            try await appendAll(writer, Array(events[0..<150]), chunk: 10)
            let tail = JournalTail(dsn: dsn, logger: testLogger)
            let seqs = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                group.addTask {
                    var got: [UInt64] = []
                    for try await e in tail {
                        got.append(e.seq)
                        if e.seq == 400 { break }
                    }
                    return got
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(300))
                    try server.stopServerKeepingData()
                    try await Task.sleep(for: .milliseconds(300))
                    try server.restartBlocking()
                    // The old writer's session died with the server; a fresh session appends the rest.
                    let conn = try await PostgresConnection.connect(dsn)
                    let again = JournalWriter(connection: conn, epoch: writer.epoch, logger: testLogger)
                    try await appendAll(again, Array(events[150..<400]), chunk: 25)
                    try await Task.sleep(for: .seconds(20))
                    throw CancellationError()
                }
                let first = try await group.next() ?? []
                group.cancelAll()
                return first
            }
            #expect(seqs == Array(1...400))
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }
}
