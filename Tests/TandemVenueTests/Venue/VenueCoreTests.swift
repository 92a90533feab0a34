import TandemCore
import TandemFIX
import TandemMarketData
import TandemVenue
import Testing

/// The venue's FIX-facing logic without sockets: order entry, drop copy, kill switch, feed output.
@Suite("Venue core")
struct VenueCoreTests {
    static let t = Timestamp(nanosecondsSinceEpoch: 1_760_000_000_000_000_000)

    func makeCore() throws -> VenueCore {
        var config = VenueConfiguration()
        config.market.enabled = false
        let engine = try MatchingEngine(config: try config.engineConfig())
        return VenueCore(engine: engine, instruments: config.instruments.map { (InstrumentID($0.id), $0.symbol) },
                         sessions: config.sessions + [VenueSession(compID: "OTHER", role: .orderEntry, account: "OTHER-1")])
    }

    func inbound(_ body: some FIXMessageBody, seq: Int = 2) throws -> FIXInbound {
        var encoder = FIXEncoder()
        let bytes = encoder.encode(body, header: FIXHeader(senderCompID: "X", targetCompID: "VENUE", msgSeqNum: seq, sendingTime: Self.t))
        let m = try FIXParser.parse(bytes)
        return FIXInbound(message: m, typed: try FIXTypedMessage(parsing: m))
    }

    func order(_ id: String, _ side: Side, _ px: String, _ qty: String = "10") throws -> NewOrderSingle {
        NewOrderSingle(clOrdID: ClOrdID(id), account: nil, symbol: "ACME", side: side, transactTime: Self.t,
                       orderQty: try Quantity(qty), orderType: .limit(try Price(px)), timeInForce: .day)
    }

    func reports(_ out: VenueOutput, to: String) -> [ExecutionReport] {
        out.fix.compactMap { $0.to == to ? $0.body as? ExecutionReport : nil }
    }

    @Test("a resting order and a crossing order: New, then Trade to both sides, copies on the drop copy, book and trade on the feed")
    func orderEntryAndDropCopy() throws {
        var core = try makeCore()
        let rest = core.received(try inbound(try order("B1", .buy, "100.00")), from: "TANDEM", at: Self.t)
        #expect(reports(rest, to: "TANDEM").map(\.execType) == [.new])
        #expect(reports(rest, to: "TANDEM-DC").map(\.execType) == [.new])
        #expect(rest.feed.map(\.kind) == [.addOrder])

        let cross = core.received(try inbound(try order("S1", .sell, "99.00", "4")), from: "OTHER", at: Self.t)
        let mine = reports(cross, to: "TANDEM")
        #expect(mine.map(\.execType) == [.trade])
        #expect(mine.first?.ordStatus == .partiallyFilled)
        #expect(mine.first?.lastPx == (try Price("100.00")), "the resting order's price")
        #expect(mine.first?.leavesQty == (try Quantity("6")))
        #expect(reports(cross, to: "OTHER").map(\.ordStatus).contains(.filled))
        #expect(reports(cross, to: "TANDEM-DC").count == reports(cross, to: "TANDEM").count + reports(cross, to: "OTHER").count)
        #expect(cross.feed.contains { $0.kind == .trade })
    }

    @Test("unknown symbol and a bad tick are rejected with a reason; nothing reaches the book")
    func rejects() throws {
        var core = try makeCore()
        var bad = try order("X1", .buy, "100.00")
        bad.symbol = "NOPE"
        let r1 = reports(core.received(try inbound(bad), from: "TANDEM", at: Self.t), to: "TANDEM")
        #expect(r1.first?.execType == .rejected && r1.first?.text?.contains("unknown symbol") == true)
        let out = core.received(try inbound(try order("X2", .buy, "100.003")), from: "TANDEM", at: Self.t)
        let r2 = reports(out, to: "TANDEM")
        #expect(r2.first?.execType == .rejected && r2.first?.text?.contains("tick") == true)
        #expect(out.feed.isEmpty)
    }

    @Test("kill switch: BLOCK cancels the session's resting orders (seen on the drop copy) and rejects its new ones; UNBLOCK lets it trade again")
    func killSwitch() throws {
        var core = try makeCore()
        _ = core.received(try inbound(try order("B1", .buy, "99.00")), from: "TANDEM", at: Self.t)
        _ = core.received(try inbound(try order("B2", .buy, "98.00")), from: "TANDEM", at: Self.t)
        _ = core.received(try inbound(try order("O1", .buy, "97.00")), from: "OTHER", at: Self.t)

        let block = core.received(try inbound(KillSwitch.message(target: "TANDEM", action: .block, requestID: "K1")),
                                  from: "TANDEM-RISK", at: Self.t)
        #expect(reports(block, to: "TANDEM").map(\.execType) == [.canceled, .canceled])
        #expect(reports(block, to: "TANDEM-DC").map(\.execType) == [.canceled, .canceled])
        #expect(reports(block, to: "OTHER").isEmpty, "another session's orders stay")
        let ack = block.fix.first { $0.to == "TANDEM-RISK" }?.body as? RawMessageBody
        #expect(ack?.fields.first { $0.tag == 20004 }?.value == "OK")
        #expect(ack?.fields.first { $0.tag == 20005 }?.value == "2")
        #expect(block.feed.filter { $0.kind == .deleteOrder }.count == 2)

        let refused = reports(core.received(try inbound(try order("B3", .buy, "99.00")), from: "TANDEM", at: Self.t), to: "TANDEM")
        #expect(refused.first?.execType == .rejected && refused.first?.text?.contains("blocked") == true)

        _ = core.received(try inbound(KillSwitch.message(target: "TANDEM", action: .unblock, requestID: "K2")), from: "TANDEM-RISK", at: Self.t)
        let again = reports(core.received(try inbound(try order("B4", .buy, "99.00")), from: "TANDEM", at: Self.t), to: "TANDEM")
        #expect(again.first?.execType == .new)
    }

    @Test("run-time faults from the risk session: REJECT_PERCENT rejects exactly that share, DISCONNECT and feed faults go to the shell, bad requests say why")
    func faults() throws {
        var core = try makeCore()
        func control(_ action: KillSwitch.Action, target: String = "TANDEM", lines: String? = nil, count: Int? = nil) throws -> VenueOutput {
            core.received(try inbound(KillSwitch.message(target: target, action: action, requestID: "F", lines: lines, count: count)),
                          from: "TANDEM-RISK", at: Self.t)
        }
        func result(_ out: VenueOutput) -> String? {
            (out.fix.first { $0.to == "TANDEM-RISK" }?.body as? RawMessageBody)?.fields.first { $0.tag == 20004 }?.value
        }
        #expect(result(try control(.rejectPercent, count: 25)) == "OK")
        var rejected = 0
        for n in 0..<20 {
            let r = reports(core.received(try inbound(try order("R\(n)", .buy, "90.00")), from: "TANDEM", at: Self.t), to: "TANDEM")
            if r.first?.execType == .rejected { rejected += 1 }
        }
        #expect(rejected == 5)
        let d = try control(.disconnect)
        #expect(d.control == [.disconnect(compID: "TANDEM")])
        #expect(try control(.feedDrop, lines: "B", count: 3).control == [.feedDrop(.b, count: 3)])
        #expect(try control(.feedDrop, lines: "AB", count: 1).control == [.feedDrop(.a, count: 1), .feedDrop(.b, count: 1)])
        #expect(try control(.feedPause).control == [.feedPaused(true)])
        #expect(result(try control(.feedDrop, lines: nil, count: 3))?.contains("needs") == true)
        #expect(result(try control(.block, target: "NOBODY"))?.contains("no order-entry session") == true)
    }

    @Test("orders on a drop-copy or risk session are refused with a BusinessMessageReject")
    func wrongSessionRole() throws {
        var core = try makeCore()
        let out = core.received(try inbound(try order("B1", .buy, "99.00")), from: "TANDEM-DC", at: Self.t)
        #expect(out.fix.first?.body is BusinessMessageReject)
        #expect(out.feed.isEmpty)
    }

    @Test("order status and mass status answer from the engine")
    func status() throws {
        var core = try makeCore()
        _ = core.received(try inbound(try order("B1", .buy, "99.00")), from: "TANDEM", at: Self.t)
        let s = reports(core.received(try inbound(OrderStatusRequest(clOrdID: ClOrdID("B1"), symbol: "ACME", side: .buy)),
                                      from: "TANDEM", at: Self.t), to: "TANDEM")
        #expect(s.first?.execType == .orderStatus && s.first?.ordStatus == .new)
        let m = reports(core.received(try inbound(OrderMassStatusRequest(massStatusReqID: "M1", massStatusReqType: 7)),
                                      from: "TANDEM", at: Self.t), to: "TANDEM")
        #expect(m.map(\.clOrdID?.rawValue) == ["B1"])
    }

    @Test("the synthetic market is deterministic for a seed and keeps both sides quoted")
    func syntheticMarket() throws {
        var config = VenueConfiguration()
        config.market.takerPercent = 30
        func run() throws -> ([VenueCommand], VenueCore) {
            var core = try makeCore()
            var market = SyntheticMarket(config: config.market, instruments: try config.instruments.map {
                (InstrumentID($0.id), try Price($0.tickSize), try Quantity($0.lotSize), try Price($0.referencePrice))
            })
            var all: [VenueCommand] = []
            for _ in 0..<50 {
                let step = market.step()
                all += step
                for c in step { _ = core.handle(c, at: Self.t) }
            }
            return (all, core)
        }
        let (a, core) = try run()
        let (b, _) = try run()
        #expect(a == b)
        let top = try #require(core.engine.topOfBook(InstrumentID(1)))
        #expect(top.bid != nil && top.ask != nil)
    }
}
