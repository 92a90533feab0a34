import Testing
import TandemCore
import TandemVenue

@Suite struct RejectTests {
    /// One command for every ``RejectReason``, each refused with exactly that reason and no other effect.
    @Test func everyRejectReasonHasACase() {
        var seen: Set<RejectReason> = []
        func expectReject(_ events: [VenueEvent], _ reason: RejectReason, _ line: Int = #line) {
            #expect(events.count == 1, "line \(line): \(events)")
            #expect(events.rejectReason == reason, "line \(line)")
            seen.insert(reason)
        }
        var d = Driver()
        let unknown = Instrument(id: InstrumentID(99), symbol: "NOPE", venue: "TNDM", tickSize: V.px("0.01"), lotSize: V.qty("1"), currency: .usd)
        expectReject(d.order("U", .buy, "1", .limit(V.px("1")), instrument: unknown), .unknownInstrument)
        expectReject(d.limit("T", .buy, "1", "10.005"), .priceNotOnTick)
        expectReject(d.order("T2", .buy, "1", .stopLimit(stop: V.px("10.001"), limit: V.px("10"))), .priceNotOnTick)
        expectReject(d.limit("L", .buy, "1.5", "10"), .quantityNotOnLot)
        expectReject(d.limit("Z", .buy, "0", "10"), .nonPositiveQuantity)
        expectReject(d.limit("N", .buy, "-1", "10"), .nonPositiveQuantity)
        expectReject(d.limit("Q", .buy, "100001", "10"), .quantityAboveMaximum)
        expectReject(d.limit("P", .buy, "1", "1000000000"), .priceOutOfRange)
        expectReject(d.order("M", .buy, "1", .market), .noLiquidity)
        d.limit("S", .sell, "1", "10", session: V.s2)
        expectReject(d.limit("F", .buy, "2", "10", tif: .fillOrKill), .fillOrKillNotFillable)
        expectReject(d.cancel("nope"), .unknownOrder)
        expectReject(d.cancel("S"), .unknownOrder)  // another session's order
        d.limit("B", .buy, "1", "9")
        expectReject(d.limit("B", .buy, "1", "9"), .duplicateClOrdID)
        d.limit("B2", .buy, "1", "10")  // fills S at once
        expectReject(d.cancel("B2"), .tooLateToCancel)
        expectReject(d.replace("B2", "B3", "2"), .tooLateToCancel)
        expectReject(d.limit("B2", .buy, "1", "9"), .duplicateClOrdID)  // a remembered finished id
        d.limit("S3", .sell, "5", "11", session: V.s2)
        d.limit("B4", .buy, "3", "11")  // B4 fills 3 of S3
        expectReject(d.replace("S3", "S3b", "3", session: V.s2), .replaceQuantityNotAboveFilled)
        expectReject(d.replace("B", "Bx", "1", .stop(V.px("9"))), .replaceChangesOrderType)
        expectReject(d.replace("B", "B", "2"), .duplicateClOrdID)
        expectReject(d.replace("B", "Bq", "1.5"), .quantityNotOnLot)
        expectReject(d.limit("G", .buy, "1", "9", tif: .goodTillDate(Timestamp(nanosecondsSinceEpoch: d.now))), .expiryInPast)
        d.send(.setSessionBlocked(V.s1, blocked: true))
        expectReject(d.limit("K", .buy, "1", "9"), .sessionBlocked)
        expectReject(d.replace("B", "Bk", "2"), .sessionBlocked)
        #expect(seen == Set(RejectReason.allCases))
        for reason in RejectReason.allCases { #expect(!reason.description.isEmpty) }
    }

    @Test func rejectionCarriesTheCommandsIdentifiers() {
        var d = Driver()
        d.limit("B", .buy, "1", "9")
        let r = d.replace("B", "B2", "1", .limit(V.px("9.001"))).rejections[0]
        #expect(r.command == .replace && r.clOrdID == ClOrdID("B2") && r.origClOrdID == ClOrdID("B") && r.orderID == OrderID(1))
        #expect(r.reason == .priceNotOnTick)
        let c = d.cancel("zz", request: "C9").rejections[0]
        #expect(c.command == .cancel && c.clOrdID == ClOrdID("C9") && c.origClOrdID == ClOrdID("zz") && c.orderID == nil)
        #expect(d.engine.order(session: V.s1, clOrdID: ClOrdID("B"))?.leavesQuantity == V.qty("1"))
    }

    @Test func blockedSessionMayStillCancel() {
        var d = Driver()
        d.limit("B", .buy, "1", "9")
        #expect(d.send(.setSessionBlocked(V.s1, blocked: true)) == [.sessionBlocked(V.s1, blocked: true)])
        #expect(d.engine.isBlocked(V.s1))
        #expect(d.cancel("B").cancels.count == 1)
        d.send(.setSessionBlocked(V.s1, blocked: false))
        #expect(d.limit("B2", .buy, "1", "9").accepts.count == 1)
    }

    @Test func finishedOrdersAreForgottenOldestFirst() {
        var d = Driver(V.config(remembered: 2))
        for i in 1...3 {
            d.limit("B\(i)", .buy, "1", "9")
            d.cancel("B\(i)")
        }
        #expect(d.cancel("B1").rejectReason == .unknownOrder)  // forgotten
        #expect(d.cancel("B2").rejectReason == .tooLateToCancel)
        #expect(d.cancel("B3").rejectReason == .tooLateToCancel)
        #expect(d.limit("B1", .buy, "1", "9").accepts.count == 1)  // may be reused once forgotten

        var none = Driver(V.config(remembered: 0))
        none.limit("B", .buy, "1", "9")
        none.cancel("B")
        #expect(none.cancel("B").rejectReason == .unknownOrder)
    }

    /// Thousands of forgotten ClOrdIDs (stale index entries, reclaimed and rehashed away) never
    /// hide a live order or a remembered one, and never block reuse of a forgotten id.
    @Test func indexStaysExactThroughManyForgottenOrders() {
        var d = Driver(V.config(remembered: 3))
        d.limit("live", .buy, "1", "9")
        for i in 0..<5_000 {
            d.limit("o\(i)", .buy, "1", "9", session: i % 2 == 0 ? V.s1 : V.s2)
            d.cancel("o\(i)", session: i % 2 == 0 ? V.s1 : V.s2)
        }
        #expect(d.cancel("o4999", session: V.s2).rejectReason == .tooLateToCancel)
        #expect(d.cancel("o4998").rejectReason == .tooLateToCancel)
        #expect(d.cancel("o4997", session: V.s2).rejectReason == .tooLateToCancel)
        #expect(d.cancel("o4996").rejectReason == .unknownOrder)
        #expect(d.cancel("o0").rejectReason == .unknownOrder)
        #expect(d.limit("o0", .buy, "1", "9").accepts.count == 1)
        #expect(d.engine.order(session: V.s1, clOrdID: ClOrdID("live"))?.leavesQuantity == V.qty("1"))
        #expect(d.cancel("live").cancels.count == 1)
        #expect(d.engine.liveOrderCount() == 1)
    }

    @Test func configurationErrorsAreSpecific() {
        func error(_ v: VenueInstrument) -> String? {
            do { _ = try MatchingEngine(config: MatchingEngineConfig(instruments: [v])); return nil } catch { return "\(error)" }
        }
        var zeroTick = V.xyz
        zeroTick.tickSize = .zero
        #expect(error(VenueInstrument(zeroTick))?.contains("tick") == true)
        var zeroLot = V.xyz
        zeroLot.lotSize = .zero
        #expect(error(VenueInstrument(zeroLot))?.contains("lot") == true)
        #expect(error(VenueInstrument(V.xyz, maxOrderQuantity: V.qty("1000000"), maxPrice: V.px("1000000")))?.contains("Money range") == true)
        #expect(error(VenueInstrument(V.xyz, fees: FeeSchedule(taker: FeeRate(hundredthsOfBasisPoint: 1_000_001))))?.contains("100 %") == true)
        #expect(error(VenueInstrument(V.xyz, minPrice: V.px("2"), maxPrice: V.px("1")))?.contains("empty") == true)
        #expect(error(VenueInstrument(V.xyz)) == nil)
        let twice = MatchingEngineConfig(instruments: [VenueInstrument(V.xyz), VenueInstrument(V.xyz)])
        #expect(throws: VenueConfigError.self) { try MatchingEngine(config: twice) }
    }

    @Test func defaultPriceBandFitsMoney() throws {
        let v = VenueInstrument(V.xyz)
        #expect(v.maxPrice == V.px("92233.72"))  // Int64.max units of money / 1,000,000 max quantity, down to the tick
        #expect(v.minPrice == V.px("-92233.72"))
        _ = try MatchingEngine(config: MatchingEngineConfig(instruments: [v, VenueInstrument(V.fut)]))
    }
}
