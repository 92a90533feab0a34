import TandemCore
@testable import TandemVenue
import Testing

@Suite("Engine snapshot and restore")
struct SnapshotTests {
    @Test("a restored engine has the same books, priority, stops, expiries and counters, and answers later commands identically")
    func roundTrip() throws {
        var d = Driver(V.config(stp: .cancelResting))
        d.limit("B1", .buy, "10", "99.00")
        d.limit("B2", .buy, "5", "99.00", session: V.s2, account: V.a2)
        d.limit("B3", .buy, "7", "98.50", tif: .goodTillDate(Timestamp(nanosecondsSinceEpoch: V.t0 + 1_000_000_000)))
        d.limit("S1", .sell, "4", "100.00", group: SelfTradeGroup("G"))
        d.limit("S2", .sell, "6", "100.00", session: V.s2, account: V.a2)
        d.limit("S3", .sell, "8", "101.00", tif: .goodTillCancel)
        d.order("X1", .buy, "3", .limit(V.px("100.00")), tif: .immediateOrCancel, session: V.s2, account: V.a2)  // S1 partly filled
        d.replace("B1", "B1b", "8")  // priority kept
        d.order("ST1", .sell, "2", .stop(V.px("97.00")))
        d.order("ST2", .buy, "2", .stopLimit(stop: V.px("102.00"), limit: V.px("103.00")), session: V.s2, account: V.a2)
        d.send(.setSessionBlocked(SessionID("S3"), blocked: true))

        let snapshot = d.engine.snapshot()
        var restoredBook: [VenueEvent] = []
        var restored = Driver(V.config(stp: .cancelResting))
        restored.engine = try MatchingEngine(config: V.config(stp: .cancelResting), restoring: snapshot, book: &restoredBook)
        restored.now = d.now
        #expect(restored.engine.snapshot() == snapshot)
        #expect(restored.engine.depthSnapshot(V.xyz.id) == d.engine.depthSnapshot(V.xyz.id))
        #expect(restoredBook.bookUpdates.count == 6)  // one add per resting order, none for the stops

        // The same commands from here give the same events: fills in the same priority, stops
        // triggering, the GTD expiring, the same OrderIDs and TradeIDs, the block still on.
        let later: [(inout Driver) -> Void] = [
            { $0.order("M1", .sell, "20", .market, session: V.s2, account: V.a2) },
            { $0.limit("N1", .buy, "1", "99.00", session: SessionID("S3")) },
            { $0.now += 2_000_000_000; $0.send(.tick) },  // B3 (GTD) expires
            { $0.limit("L1", .buy, "30", "103.00") },
            { $0.cancel("S3") },
        ]
        for step in later {
            let a = d.log.count, b = restored.log.count
            step(&d)
            step(&restored)
            #expect(Array(d.log[a...]) == Array(restored.log[b...]))
        }
        #expect(restored.engine.snapshot() == d.engine.snapshot())
    }

    @Test("a snapshot naming an instrument that is not configured is refused")
    func unknownInstrument() throws {
        var d = Driver()
        d.limit("B1", .buy, "1", "1.00")
        var s = d.engine.snapshot()
        s.books[0].instrument = 999
        var book: [VenueEvent] = []
        #expect(throws: EngineRestoreError.self) { try MatchingEngine(config: V.config(), restoring: s, book: &book) }
    }
}
