import Testing
import TandemCore
@testable import TandemFIX
@testable import TandemNode

@Suite struct NodeMetricsTests {
    private func p(_ s: String) throws -> Price { try Price(s) }

    @Test("slippage in exact integer ten-thousandths of a bp: adverse positive, half-tick mids exact, rounding half away from zero")
    func slippageExact() throws {
        // mid 100.00 (bid 99.99, ask 100.01 → doubled 200.00)
        let mid2 = Int128(try p("99.99").units) + Int128(try p("100.01").units)
        #expect(Slippage.tenThousandthsOfBps(side: .buy, fill: try p("100.05"), arrivalMidTimesTwo: mid2) == 50_000)   // 5 bp worse
        #expect(Slippage.tenThousandthsOfBps(side: .sell, fill: try p("100.05"), arrivalMidTimesTwo: mid2) == -50_000) // 5 bp better
        #expect(Slippage.tenThousandthsOfBps(side: .sell, fill: try p("99.90"), arrivalMidTimesTwo: mid2) == 100_000)
        #expect(Slippage.tenThousandthsOfBps(side: .buy, fill: try p("100.00"), arrivalMidTimesTwo: mid2) == 0)
        // A half-tick mid: bid 10.00, ask 10.01 → mid 10.005; a buy at 10.01 is 0.005/10.005 = 4.997501… bp.
        let half = Int128(try p("10.00").units) + Int128(try p("10.01").units)
        #expect(Slippage.tenThousandthsOfBps(side: .buy, fill: try p("10.01"), arrivalMidTimesTwo: half) == 49_975)
        #expect(Slippage.tenThousandthsOfBps(side: .sell, fill: try p("10.01"), arrivalMidTimesTwo: half) == -49_975)
        #expect(Slippage.tenThousandthsOfBps(side: .buy, fill: try p("1"), arrivalMidTimesTwo: 0) == nil)
        // Far from the mid (the 128-bit path) the result is the same arithmetic: 92,233,720,368 bought at a mid of 1.
        let wide = Slippage.tenThousandthsOfBps(side: .buy, fill: Price(units: Int64.max / 2), arrivalMidTimesTwo: 2 * 100_000_000)
        let expected: Int128 = (Int128(Int64.max / 2) * 2 - 200_000_000) * 100_000_000 / 200_000_000
        #expect(wide == Int64(exactly: expected))
    }

    @Test("the tracker keeps an order's arrival mid from intent to its end, and forgets it then; a replacement inherits it")
    func tracker() throws {
        var t = SlippageTracker()
        let i = InstrumentID(1)
        let at = Timestamp(nanosecondsSinceEpoch: 0)
        func intent(_ id: String, _ side: Side, _ decision: RiskDecision = .accepted) throws -> JournalEvent {
            .orderIntent(OrderIntent(request: OrderRequest(clOrdID: ClOrdID(id), account: AccountID("A"), instrument: i, side: side,
                                                           type: .limit(try p("100")), timeInForce: .day, quantity: try Quantity("2")),
                                     decision: decision, at: at))
        }
        func exec(_ id: String, _ px: String, quantity: String = "1") throws -> Execution {
            Execution(clOrdID: ClOrdID(id), execID: "E\(id)\(px)", quantity: try Quantity(quantity), price: try p(px), fee: .zero(.usd), at: at)
        }
        // The effects come from the real fold, as the journal pipeline hands them over.
        var state = TradingState()
        try state.apply(.instrumentDefined(Instrument(id: i, symbol: "X", venue: "V", tickSize: try p("0.01"), lotSize: try Quantity("1"),
                                                      currency: .usd), at: at))
        var seen: [Int64] = []
        func observe(_ events: [JournalEvent]) throws {
            for e in events {
                try state.apply(e)
                if let s = t.apply(state.lastOrderEffect) { seen.append(s) }
            }
        }
        // No mid yet: nothing tracked.
        try observe([try intent("1-1", .buy)])
        #expect(t.tracked == 0)
        t.mark(i, bid: try p("99.99"), ask: try p("100.01"))
        try observe([try intent("1-2", .buy), try intent("1-3", .sell), try intent("1-4", .buy, .rejected(rule: "max_position", reason: "x"))])
        #expect(t.tracked == 2)
        // The mid moves after the intent: the arrival mid stays.
        t.mark(i, bid: try p("100.99"), ask: try p("101.01"))
        try observe([.partialFill(try exec("1-2", "100.01")), .fill(try exec("1-2", "100.02")), .fill(try exec("1-3", "100.00", quantity: "2"))])
        #expect(seen == [10_000, 20_000, 0])
        #expect(t.tracked == 0)
        try observe([try intent("1-5", .sell), .cancelAccepted(clOrdID: ClOrdID("1-5"), at: at)])
        #expect(t.tracked == 0)
        try observe([try intent("1-6", .buy), .orderRejected(clOrdID: ClOrdID("1-6"), reason: "unknown symbol", at: at)])
        #expect(t.tracked == 0)
        // A replaced order's fills come under its replacement, against the original arrival (mid 101.00 now, 100.00 then).
        t.mark(i, bid: try p("99.99"), ask: try p("100.01"))
        try observe([try intent("1-7", .buy), .orderAcknowledged(clOrdID: ClOrdID("1-7"), venueOrderID: "V7", at: at)])
        t.mark(i, bid: try p("100.99"), ask: try p("101.01"))
        try observe([.replaceRequested(clOrdID: ClOrdID("1-7"), replacement: ReplaceRequest(newClOrdID: ClOrdID("1-8"), quantity: try Quantity("1"), type: nil), at: at),
                     .replaceAccepted(clOrdID: ClOrdID("1-7"), at: at)])
        #expect(t.tracked == 1)
        try observe([.fill(try exec("1-8", "100.03"))])
        #expect(seen == [10_000, 20_000, 0, 30_000])
        #expect(t.tracked == 0)
        #expect(t.marks[i] == (try p("101.00")))
    }

    @Test("the arrival table agrees with a Dictionary through inserts, replaces and removes that wrap, collide and grow")
    func arrivalTable() {
        var table = ArrivalTable(minimumCapacity: 4)
        var reference: [Int: Int128] = [:]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed }
        for step in 0..<20_000 {
            // Few distinct handles (so removes hit), half of them a run (as a fold gives them), half
            // scattered (so homes collide), in a table that starts at 16 slots (so probes wrap and it grows).
            let order = step % 2 == 0 ? Int(next() % 300) : Int(next() % 300) * 64
            switch next() % 3 {
            case 0, 1:
                table.insert(order, mid2: Int128(step))
                reference[order] = Int128(step)
            default:
                #expect(table.remove(order) == reference.removeValue(forKey: order))
            }
            if step % 997 == 0 {
                #expect(table.count == reference.count)
                for (k, v) in reference { #expect(table.find(k) == v) }
            }
        }
        #expect(table.count == reference.count)
        for (k, v) in reference { #expect(table.remove(k) == v) }
        #expect(table.count == 0)
        #expect(table.find(0) == nil)
        table.insert(7, mid2: 7)
        table.removeAll()
        #expect(table.count == 0 && table.find(7) == nil)
    }

    @Test("venue rejects fall into a fixed set of categories, never their text")
    func venueRejectCategories() {
        #expect(VenueRejectCategory(reason: "unknown symbol FOO") == .unknownInstrument)
        #expect(VenueRejectCategory(reason: "the venue does not know the order: status rejected") == .unknownOrder)
        #expect(VenueRejectCategory(reason: "price not a multiple of the tick size") == .price)
        #expect(VenueRejectCategory(reason: "order quantity above the maximum") == .quantity)
        #expect(VenueRejectCategory(reason: "rejected by fault injection (REJECT_PERCENT 5)") == .other)
        #expect(Set(VenueRejectCategory.allCases.map(\.rawValue)).count == VenueRejectCategory.allCases.count)
    }
}

@Suite struct OrderRoundTripTests {
    func persisted(_ id: String, seq: Int) throws -> FIXPersistedMessage {
        var enc = FIXEncoder()
        let nos = NewOrderSingle(clOrdID: ClOrdID(id), account: nil, symbol: "ACME", side: .buy,
                                 transactTime: Timestamp(nanosecondsSinceEpoch: 0), orderQty: try Quantity("1"),
                                 orderType: .limit(try Price("10")), timeInForce: .day)
        let bytes = enc.encode(nos, header: FIXHeader(senderCompID: "T", targetCompID: "V", msgSeqNum: seq,
                                                      sendingTime: Timestamp(nanosecondsSinceEpoch: 0)))
        return FIXPersistedMessage(senderCompID: "T", targetCompID: "V", msgSeqNum: seq, msgType: .newOrderSingle, bytes: bytes, context: nil)
    }

    func report(_ id: String) throws -> FIXTypedMessage {
        .executionReport(ExecutionReport(orderID: "O", clOrdID: ClOrdID(id), execID: "E", execType: .new, ordStatus: .new,
                                         symbol: "ACME", side: .buy, leavesQty: try Quantity("1"), cumQty: .zero, avgPx: .zero))
    }

    @Test("one new order in `every` is timed, by its ClOrdID, from its release to the venue's first report; others cost a counter")
    func sampling() throws {
        let rt = OrderRoundTrips(session: "T->V", every: 4, capacity: 8)
        let sampled = try (0..<8).map { try rt.sample(persisted("C\($0)", seq: $0 + 1)) }
        #expect(sampled == [ClOrdID("C0"), nil, nil, nil, ClOrdID("C4"), nil, nil, nil])
        rt.released(ClOrdID("C0"))
        rt.released(ClOrdID("C4"))
        #expect(rt.awaitedCount == 2)
        rt.received(try report("C1"))  // not awaited
        #expect(rt.awaitedCount == 2)
        rt.received(try report("C0"))
        rt.received(try report("C0"))  // a second report for it: already observed
        #expect(rt.awaitedCount == 1)
        // The ClOrdID is found by its tag, not by a field that merely ends in 11 (e.g. 111=).
        #expect(OrderRoundTrips.clOrdID(in: Array("8=FIX.4.4\u{01}111=X\u{01}11=ABC-1\u{01}".utf8)) == ClOrdID("ABC-1"))
        #expect(OrderRoundTrips.clOrdID(in: Array("8=FIX.4.4\u{01}11=\u{01}".utf8)) == nil)
        #expect(OrderRoundTrips.clOrdID(in: Array("8=FIX.4.4\u{01}55=X\u{01}".utf8)) == nil)
        // Never answered: dropped once the table is full, so it cannot grow.
        for i in 0..<20 { rt.released(ClOrdID("X\(i)")) }
        #expect(rt.awaitedCount <= 8)
    }
}
