import PropertyBased
import Testing
import TandemCore
import TandemVenue

@Suite struct PropertyTests {
    /// Runs `count` random commands through an engine and the invariant checker.
    static func run(seed: UInt64, count: Int, stp: SelfTradePrevention, fees: FeeSchedule = .free) -> (InvariantChecker, [VenueEvent]) {
        var stream = RandomStream(seed: seed)
        var engine = try! MatchingEngine(config: V.config(stp: stp, fees: fees, remembered: 500))
        var checker = InvariantChecker(stp: stp)
        var log: [VenueEvent] = []
        for step in 0..<count {
            let (command, at) = stream.next()
            let events = engine.handle(command, at: at)
            stream.observe(events)
            checker.check(command, events, engine: engine, step: step)
            log += events
            if !checker.failures.isEmpty { break }
        }
        checker.finish(engine: engine)
        return (checker, log)
    }

    @Test(arguments: [(1 as UInt64, SelfTradePrevention.none), (2, .cancelResting), (3, .cancelIncoming), (4, .cancelBoth), (5, .none), (6, .cancelResting)])
    func invariantsHoldOnRandomStreams(seed: UInt64, stp: SelfTradePrevention) {
        let (checker, _) = Self.run(seed: seed, count: 4_000, stp: stp)
        #expect(checker.failures.isEmpty, "seed \(seed), \(stp): \(checker.failures)")
        // The stream really exercised the engine.
        #expect(checker.counts["fills", default: 0] > 300, "\(checker.counts)")
        #expect(checker.counts["triggered", default: 0] > 10, "\(checker.counts)")
        #expect(checker.counts["replaced", default: 0] > 100, "\(checker.counts)")
        #expect(checker.counts["canceled.\(CancelReason.requested)", default: 0] > 100, "\(checker.counts)")
        #expect(checker.counts["canceled.\(CancelReason.unfilledRemainder)", default: 0] > 50, "\(checker.counts)")
        #expect(checker.counts["rejected.\(RejectReason.tooLateToCancel)", default: 0] > 10, "\(checker.counts)")
        if stp != .none { #expect(checker.counts["canceled.\(CancelReason.selfTradePrevention)", default: 0] > 5, "\(checker.counts)") }
    }

    @Test func invariantsHoldForRandomSeeds() async {
        await propertyCheck(count: 12, input: Gen.uint64(), Gen.int(in: 0...3)) { seed, mode in
            let stp = SelfTradePrevention.allCases[mode]
            let (checker, _) = Self.run(seed: seed, count: 2_000, stp: stp)
            #expect(checker.failures.isEmpty, "seed \(seed), \(stp): \(checker.failures)")
        }
    }

    @Test func sameCommandsGiveTheSameEvents() {
        let fees = FeeSchedule(maker: FeeRate(hundredthsOfBasisPoint: -20), taker: FeeRate(hundredthsOfBasisPoint: 250), rounding: .up)
        for seed: UInt64 in [11, 12, 13] {
            let (_, a) = Self.run(seed: seed, count: 3_000, stp: .cancelBoth, fees: fees)
            let (_, b) = Self.run(seed: seed, count: 3_000, stp: .cancelBoth, fees: fees)
            #expect(a.count > 3_000)
            #expect(a == b, "seed \(seed)")
        }
    }

    /// A client that joins late, from a snapshot, and applies the updates after it ends with the engine's book.
    @Test func snapshotPlusLaterUpdatesRebuildsTheBook() {
        var stream = RandomStream(seed: 99)
        var engine = try! MatchingEngine(config: V.config(stp: .cancelResting))
        for _ in 0..<1_500 {
            let (c, at) = stream.next()
            stream.observe(engine.handle(c, at: at))
        }
        var client = ClientBook(engine.depthSnapshot(V.xyz.id)!)
        var applied = 0, deepest = 0
        for step in 1...1_500 {
            let (c, at) = stream.next()
            let events = engine.handle(c, at: at)
            stream.observe(events)
            for case .book(let u) in events where u.instrument == V.xyz.id {
                if let problem = client.apply(u) { Issue.record("\(problem)"); return }
                applied += 1
            }
            deepest = max(deepest, client.location.count)
            if step % 100 == 0 {
                #expect(client.snapshot(lastTradePrice: engine.lastTradePrice(V.xyz.id)) == engine.depthSnapshot(V.xyz.id), "step \(step)")
            }
        }
        #expect(applied > 500 && deepest > 20, "\(applied) updates, at most \(deepest) orders")
    }

    /// Copies are independent values: a copy of an engine diverges from the original only by what is done to it.
    @Test func enginesAreValues() {
        var d = Driver()
        d.limit("a", .sell, "1", "10")
        var copy = d.engine
        _ = copy.handle(.newOrder(NewOrder(clOrdID: ClOrdID("b"), session: V.s2, account: V.a2, instrument: V.xyz.id, side: .buy,
                                           type: .limit(V.px("10")), quantity: V.qty("1"))), at: Timestamp(nanosecondsSinceEpoch: d.now + 1))
        #expect(copy.liveOrderCount() == 0)
        #expect(d.engine.liveOrderCount() == 1)
    }
}
