import Testing
import TandemCore
import TandemVenue

@Suite struct MassCommandTests {
    /// S1/A1: two bids and a stop; S2/A2: one ask; S2/A1: one ask on the future.
    static func book() -> Driver {
        var d = Driver()
        d.limit("b1", .buy, "1", "9")
        d.limit("a1", .sell, "1", "11", session: V.s2, account: V.a2)
        d.order("st", .sell, "1", .stop(V.px("8")))
        d.order("f1", .sell, "1", .limit(V.px("4000")), session: V.s2, account: V.a1, instrument: V.fut)
        d.limit("b2", .buy, "2", "9.5")
        return d
    }

    @Test func cancelAllForASessionCancelsItsOrdersInOrderIDOrder() {
        var d = Self.book()
        let e = d.send(.cancelAll(MassCancel(requestID: "M1", session: V.s1, scope: .session(V.s1))))
        #expect(e.cancels.map(\.ref.clOrdID.rawValue) == ["b1", "st", "b2"])
        #expect(e.cancels.allSatisfy { $0.reason == .massCancel })
        #expect(e.last == .massCanceled(MassCancelReport(requestID: "M1", session: V.s1, scope: .session(V.s1), instrument: nil, canceledCount: 3)))
        #expect(d.engine.liveOrderCount() == 2)
    }

    @Test func killSwitchByAccountReachesEverySessionOfTheAccount() {
        var d = Self.book()
        let e = d.send(.cancelAll(MassCancel(requestID: "K", session: SessionID("WATCHDOG"), scope: .account(V.a1), reason: .killSwitch)))
        #expect(e.cancels.map(\.ref.clOrdID.rawValue) == ["b1", "st", "f1", "b2"])
        #expect(e.cancels.allSatisfy { $0.reason == .killSwitch })
        #expect(e.cancels.map(\.ref.session) == [V.s1, V.s1, V.s2, V.s1])
        #expect(d.engine.liveOrderCount() == 1)
    }

    @Test func cancelAllCanBeLimitedToOneInstrument() {
        var d = Self.book()
        let e = d.send(.cancelAll(MassCancel(requestID: "M", session: V.s2, scope: .all, instrument: V.fut.id)))
        #expect(e.cancels.map(\.ref.clOrdID.rawValue) == ["f1"])
        let bad = d.send(.cancelAll(MassCancel(requestID: "M2", session: V.s2, scope: .all, instrument: InstrumentID(404))))
        #expect(bad.rejectReason == .unknownInstrument && bad.rejections.first?.command == .massCancel)
        let nobody = d.send(.cancelAll(MassCancel(requestID: "M3", session: V.s2, scope: .session(SessionID("nobody")))))
        #expect(nobody == [.massCanceled(MassCancelReport(requestID: "M3", session: V.s2, scope: .session(SessionID("nobody")), instrument: nil, canceledCount: 0))])
    }

    @Test func massStatusReportsLiveOrdersInOrderIDOrder() {
        var d = Self.book()
        d.limit("hit", .buy, "1", "11", session: V.s2, account: V.a2)  // trades "a1" away
        d.limit("b3", .buy, "3", "9", session: V.s2, account: V.a2)
        d.order("s3", .sell, "1", .market)  // takes 1 of "b2"
        let e = d.send(.massStatus(MassStatusRequest(requestID: "Q", session: V.s1, scope: .session(V.s1))))
        guard case .massStatus(let report) = e.first else { Issue.record("no report: \(e)"); return }
        #expect(report.requestID == "Q")
        #expect(report.orders.map(\.ref.clOrdID.rawValue) == ["b1", "st", "b2"])
        let b2 = report.orders[2]
        #expect(b2.status == .partiallyFilled && b2.leavesQuantity == V.qty("1") && b2.cumulativeQuantity == V.qty("1"))
        #expect(report.orders[1].isTriggered == false && report.orders[0].status == .new)
    }

    @Test func goodTillDateOrdersExpireAtTheirTimeBeforeTheNextCommand() {
        var d = Driver()
        let at = d.now + 5_000
        d.limit("g", .buy, "1", "10", tif: .goodTillDate(Timestamp(nanosecondsSinceEpoch: at)))
        d.limit("keep", .buy, "1", "10", tif: .goodTillCancel)
        #expect(d.send(.tick).isEmpty)
        // The sell arrives after the expiry: it must trade with "keep", not with the expired "g".
        d.now = at
        let e = d.limit("s", .sell, "1", "10", session: V.s2, account: V.a2)
        #expect(e.cancels.first?.ref.clOrdID == ClOrdID("g") && e.cancels.first?.reason == .expired)
        #expect(e.fills.first?.maker.ref.clOrdID == ClOrdID("keep"))
    }

    @Test func endOfDayExpiresDayOrdersOnly() {
        var d = Driver()
        d.limit("day", .buy, "1", "10")
        d.limit("gtc", .buy, "1", "10", tif: .goodTillCancel)
        d.order("stopDay", .sell, "1", .stop(V.px("5")))
        d.limit("gtd", .buy, "1", "10", tif: .goodTillDate(Timestamp(nanosecondsSinceEpoch: d.now + 1_000_000_000)))
        let e = d.send(.endOfDay)
        #expect(e.cancels.map(\.ref.clOrdID.rawValue) == ["day", "stopDay"] && e.cancels.allSatisfy { $0.reason == .expired })
        #expect(d.queue(.buy, "10") == [OrderID(2), OrderID(4)])
    }

    @Test func snapshotsShowLevelsBestFirstWithQueues() {
        var d = Driver()
        d.limit("b1", .buy, "1", "9.98")
        d.limit("b2", .buy, "2", "9.99")
        d.limit("b3", .buy, "3", "9.99")
        d.limit("a1", .sell, "4", "10.01")
        let top = d.engine.topOfBook(V.xyz.id)
        #expect(top?.bid == LevelSummary(price: V.px("9.99"), quantity: V.qty("5"), orderCount: 2))
        #expect(top?.ask == LevelSummary(price: V.px("10.01"), quantity: V.qty("4"), orderCount: 1))
        let snap = d.depth()
        #expect(snap.bids.map(\.price) == [V.px("9.99"), V.px("9.98")])
        #expect(snap.bids[0].orders == [RestingOrder(orderID: OrderID(2), quantity: V.qty("2")), RestingOrder(orderID: OrderID(3), quantity: V.qty("3"))])
        #expect(d.engine.depthSnapshot(V.xyz.id, maxLevels: 1)?.bids.count == 1)
        #expect(d.engine.topOfBook(InstrumentID(404)) == nil)
    }
}
