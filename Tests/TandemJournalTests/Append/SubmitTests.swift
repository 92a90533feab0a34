import Foundation
import Synchronization
import TandemCore
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

/// Collects `JournalWriter.submit` completions (called on the writer's thread) by index.
private final class Outcomes: Sendable {
    private struct State {
        var results: [Int: Result<ClosedRange<UInt64>, any Error>] = [:]
        var order: [Int] = []
        var waiter: (count: Int, continuation: CheckedContinuation<Void, Never>)?
    }

    private let state = Mutex(State())

    func completion(_ index: Int) -> JournalWriter.Completion {
        { result in
            let waiter = self.state.withLock { st -> CheckedContinuation<Void, Never>? in
                st.results[index] = result
                st.order.append(index)
                guard let w = st.waiter, st.results.count >= w.count else { return nil }
                st.waiter = nil
                return w.continuation
            }
            waiter?.resume()
        }
    }

    /// Waits until `count` completions have been called.
    func wait(for count: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { st -> Bool in
                if st.results.count >= count { return true }
                st.waiter = (count, c)
                return false
            }
            if done { c.resume() }
        }
    }

    var results: [Int: Result<ClosedRange<UInt64>, any Error>] { state.withLock { $0.results } }
    var order: [Int] { state.withLock { $0.order } }
}

@Suite("JournalWriter.submit (callback appends)", .embeddedPostgres)
struct SubmitTests {
    @Test("appends submitted from one thread commit in order, each told its own seqs; async appends interleave in one gapless chain")
    func orderAndSeqs() async throws {
        let (dsn, admin) = try await freshJournal()
        let writer = try await makeWriter(dsn: dsn)
        let events = SyntheticJournalFixture.events(300 * 3 + 40)
        let outcomes = Outcomes()
        // 300 appends of 1–3 events from a plain thread (no task), as a callback-driven caller would.
        let batches: [[JournalEvent]] = (0..<300).map { i in Array(events[(i * 3)..<(i * 3 + 1 + i % 3)]) }
        let thread = Thread {
            for (i, batch) in batches.enumerated() { writer.submit(batch, completion: outcomes.completion(i)) }
        }
        thread.start()
        // Meanwhile, async appends from tasks.
        let asyncEvents = Array(events[900..<940])
        let asyncSeqs = try await withThrowingTaskGroup(of: (Int, UInt64).self) { group in
            for i in asyncEvents.indices { group.addTask { (i, try await writer.append(asyncEvents[i])) } }
            var all: [Int: UInt64] = [:]
            for try await (i, seq) in group { all[i] = seq }
            return all
        }
        await outcomes.wait(for: batches.count)

        let results = outcomes.results
        let told = try (0..<batches.count).map { try #require(results[$0]).get() }
        // Completions come in submission order, and so do the seqs.
        #expect(outcomes.order == Array(0..<batches.count))
        for (range, batch) in zip(told, batches) { #expect(range.count == batch.count) }
        for (a, b) in zip(told, told.dropFirst()) { #expect(a.upperBound < b.lowerBound) }

        let rows = try await allRows(admin)
        let total = batches.reduce(0) { $0 + $1.count } + asyncEvents.count
        #expect(rows.map(\.seq) == Array(1...UInt64(total)))
        for (range, batch) in zip(told, batches) {
            for (seq, event) in zip(range, batch) { #expect(rows[Int(seq) - 1].payload == EventCodec.encode(event)) }
        }
        for (i, seq) in asyncSeqs { #expect(rows[Int(seq) - 1].payload == EventCodec.encode(asyncEvents[i])) }
        // Grouped: fewer commits than appends.
        let commits = await writer.commits
        #expect(commits < batches.count + asyncEvents.count)
        let report = try await admin.withConnection { c in try AuditVerifier.verify(c, logger: testLogger) }
        #expect(report.isValid && report.verifiedThrough == UInt64(total))
        await admin.close()
    }

    @Test("an empty submit fails alone; the writer goes on")
    func emptySubmit() async throws {
        let (dsn, admin) = try await freshJournal()
        let writer = try await makeWriter(dsn: dsn)
        let outcomes = Outcomes()
        writer.submit([], completion: outcomes.completion(0))
        writer.submit(SyntheticJournalFixture.events(2), completion: outcomes.completion(1))
        await outcomes.wait(for: 2)
        #expect(throws: JournalError.self) { try outcomes.results[0]!.get() }
        #expect(try outcomes.results[1]!.get() == 1...2)
        await admin.close()
    }

    @Test("a fenced batch fails every submitted callback in it and queued behind it, and every later one; nothing lands")
    func fencedCallbacks() async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(30)
        let old = try await makeWriter(dsn: dsn, holder: "node-a")
        let outcomes = Outcomes()
        old.submit(Array(events[0..<5]), completion: outcomes.completion(0))
        await outcomes.wait(for: 1)
        #expect(try outcomes.results[0]!.get() == 1...5)

        // Node B takes the lease and holds its row lock, uncommitted.
        let bumper = try await beginLeaseTakeover(dsn)

        // The first batch reaches the lease check and waits on the lock; two more queue behind it.
        old.submit(Array(events[5..<10]), completion: outcomes.completion(1))
        try await waitForAppendOnLock(admin)
        old.submit(Array(events[10..<12]), completion: outcomes.completion(2))
        old.submit([events[12]], completion: outcomes.completion(3))
        try await bumper.execute("COMMIT")
        await outcomes.wait(for: 4)
        // A zombie stays fenced, for callbacks and async callers alike.
        old.submit([events[13]], completion: outcomes.completion(4))
        await outcomes.wait(for: 5)
        await #expect(throws: FencedError.self) { try await old.append(events[14]) }

        let results = outcomes.results
        for i in 1...4 {
            let error = #expect(throws: FencedError.self) { try results[i]!.get() }
            #expect(error?.writerEpoch == 1)
            #expect(error?.leaseEpoch == 2)
        }
        #expect(outcomes.order == [0, 1, 2, 3, 4])
        #expect(try await allRows(admin).map(\.seq) == Array(1...5))
        await bumper.close()
        await admin.close()
    }
}
