import Logging
import Synchronization
import TandemCore
import TandemExecution
import TandemFIX
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import TandemVenue
import Testing

/// The order path against `tandem venue` over TCP, with a real journal: write-ahead, the
/// journal-backed FIX session, the fold equal to a replay, pacing, and recovery of an order whose
/// bytes never left.
@Suite("Execution engine against the venue", .embeddedPostgres, .timeLimit(.minutes(2)))
struct ExecutionEngineTests {
    func freshJournal() async throws -> String {
        let dsn = try await TestPostgres.freshDatabase(prefix: "x")
        let admin = try await PostgresConnection.connect(dsn)
        _ = try await JournalSchema.migrate(admin, logger: quiet)
        await admin.close()
        return dsn
    }

    /// A stack whose journal starts with the instrument's definition.
    func definedStack(dsn: String, port: Int, sessionRate: (Int, Int) = (1000, 1000),
                      faults: FIXFaultInjection = .none, wakeLoop: Bool = false) async throws -> Stack {
        let stack = try await Stack.start(dsn: dsn, fixPort: port, ledger: ExecutionLedger(), sessionRate: sessionRate, faults: faults,
                                          wakeLoop: wakeLoop)
        stack.pipeline.submit([.instrumentDefined(try acmeDefinition(), at: FIXClock.now().utc)])
        return stack
    }

    @Test("orders fill, rest and cancel; intents are durable before their messages; the journal replays to the same state")
    func tradesAndReplays() async throws {
        let dsn = try await freshJournal()
        let (venue, venueTask, port) = try await startVenue()
        defer { venueTask.cancel() }
        // What the pipeline reports of each folded order event (the node's metrics read these).
        let effects = Mutex<[(OrderEffect, JournalEventKind)]>([])
        let stack = try await Stack.start(dsn: dsn, fixPort: port, ledger: ExecutionLedger(),
                                          onOrderEffect: { effect, event in effects.withLock { $0.append((effect, event.kind)) } })
        stack.pipeline.submit([.instrumentDefined(try acmeDefinition(), at: FIXClock.now().utc)])
        try await until("the venue quotes") { venue.topOfBook(acme)?.ask != nil }
        try await until("logged on") { stack.engine.sessionsUp > 0 }

        stack.engine.handle(.command(.submit(instrument: acme, side: .buy, type: .limit(try Price("150.00")),
                                             timeInForce: .immediateOrCancel, quantity: try Quantity("5"))))
        stack.engine.handle(.command(.submit(instrument: acme, side: .buy, type: .limit(try Price("1.00")),
                                             timeInForce: .day, quantity: try Quantity("3"))))
        let ids = stack.orders.map(\.clOrdID)
        #expect(ids.count == 2)
        try await until("the marketable order fills") { stack.order(ids[0])?.status == .filled }
        try await until("the resting bid is acknowledged") { stack.order(ids[1])?.status == .new }
        stack.engine.handle(.command(.cancel(ids[1])))
        try await until("the bid is canceled") { stack.order(ids[1])?.status == .canceled }
        await stack.stop()

        let (replayed, events) = try await replayJournal(dsn)
        let live = stack.pipeline.read { $0.state }
        #expect(replayed.state.snapshotBytes() == live.snapshotBytes())
        #expect(replayed.state.position(account: AccountID("ACC1"), instrument: acme)?.netQuantity == (try Quantity("5")))

        // Write-ahead: each intent's seq precedes the stored NewOrderSingle that carries it.
        for id in ids {
            let intentSeq = try #require(events.first { $0.event.clOrdID == id && $0.event.kind == .orderIntent }?.seq)
            let sentSeq = try #require(events.first {
                if case .fixOutboundMessage(let m) = $0.event { return String(decoding: m.raw, as: UTF8.self).contains("\u{1}11=\(id.rawValue)\u{1}") }
                return false
            }?.seq)
            #expect(intentSeq < sentSeq)
        }
        // The pipeline reported exactly the journal's order events, in order, with the effects a replay's fold gives.
        var fold = TradingState()
        var expected: [(OrderEffect, JournalEventKind)] = []
        for (_, event) in events {
            try fold.apply(event)
            if fold.lastOrderEffect.kind != .none { expected.append((fold.lastOrderEffect, event.kind)) }
        }
        let reported = effects.withLock { $0 }
        #expect(reported.map(\.0) == expected.map(\.0))
        #expect(reported.map(\.1) == expected.map(\.1))
        #expect(reported.map(\.0.kind).filter { $0 != .partiallyFilled } == [.accepted, .accepted, .filled, .ended])
    }

    /// `wakeLoop`: the engine's wake-ups scheduled on the session's event loop (the node's way), or polled.
    @Test("a burst above the session's rate is paced, not dropped: every order reaches the venue", arguments: [false, true])
    func pacing(wakeLoop: Bool) async throws {
        let dsn = try await freshJournal()
        let (_, venueTask, port) = try await startVenue(market: false)
        defer { venueTask.cancel() }
        let stack = try await definedStack(dsn: dsn, port: port, sessionRate: (10, 2), wakeLoop: wakeLoop)
        try await until("logged on") { stack.engine.sessionsUp > 0 }
        let start = ContinuousClock.now
        for i in 0..<8 {
            stack.engine.handle(.command(.submit(instrument: acme, side: .buy, type: .limit(try Price("\(10 + i).00")),
                                                 timeInForce: .day, quantity: try Quantity("1"))))
        }
        #expect(stack.engine.pacedCount == 6)
        try await until("all eight acknowledged") {
            stack.orders.count == 8 && stack.orders.allSatisfy { $0.status == .new }
        }
        let elapsed = ContinuousClock.now - start
        // 2 at once, then 6 at 10/s: at least ~0.6 s.
        #expect(elapsed >= .milliseconds(500))
        #expect(stack.orders.allSatisfy { $0.status != .rejected })
        await stack.stop()
    }

    @Test("an intent journaled but never sent (the node died before writing) is resolved by status request after restart; the venue sees it once")
    func writeAheadRecovery() async throws {
        let dsn = try await freshJournal()
        let (venue, venueTask, port) = try await startVenue(market: false)
        defer { venueTask.cancel() }

        // First life: the intent and its message become durable, but the write is refused (as if the
        // process died between the journal append and the socket write).
        let first = try await definedStack(dsn: dsn, port: port, faults: FIXFaultInjection(dropApplicationMessages: [1]))
        try await until("logged on") { first.engine.sessionsUp > 0 }
        first.engine.handle(.command(.submit(instrument: acme, side: .buy, type: .limit(try Price("2.00")),
                                             timeInForce: .day, quantity: try Quantity("4"))))
        let id = try #require(first.orders.first?.clOrdID)
        try await Task.sleep(for: .milliseconds(200))
        #expect(first.order(id)?.status == .pendingNew)
        for t in first.tasks { t.cancel() }  // a crash: no Logout
        for t in first.tasks { _ = await t.result }

        // Second life: a new epoch from the replayed journal. It logs on with the journaled seqs; the
        // venue asks for the lost message and gets it as a PossDup resend; the status request confirms.
        let (ledger, _) = try await replayJournal(dsn)
        #expect(ledger.state.order(id)?.status == .pendingNew)
        let second = try await Stack.start(dsn: dsn, fixPort: port, ledger: ledger, holder: "node-a")
        try await until("the order is resolved") { second.order(id).map { !($0.status == .pendingNew) } ?? false }
        #expect(second.order(id)?.status == .new)
        let atVenue = try #require(venue.order(session: "TANDEM", clOrdID: id))
        #expect(atVenue.status == .new)
        await second.stop()
        let (replayed, _) = try await replayJournal(dsn)
        #expect(replayed.state.snapshotBytes() == second.pipeline.read { $0.state }.snapshotBytes())
    }
}
