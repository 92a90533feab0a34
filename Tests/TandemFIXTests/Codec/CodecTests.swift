import Testing
import TandemCore
@testable import TandemFIX

let t0 = Timestamp(nanosecondsSinceEpoch: 1_700_000_000_123_000_000)

func header(_ seq: Int = 7) -> FIXHeader {
    FIXHeader(senderCompID: "TANDEM", targetCompID: "VENUE", msgSeqNum: seq, sendingTime: t0)
}

func frame(_ body: some FIXMessageBody, seq: Int = 7) -> [UInt8] {
    var e = FIXEncoder()
    return e.encode(body, header: header(seq))
}

/// `|` written as SOH.
func soh(_ text: String) -> [UInt8] { text.utf8.map { $0 == UInt8(ascii: "|") ? 1 : $0 } }
func bars(_ bytes: [UInt8]) -> String { String(decoding: bytes.map { $0 == 1 ? UInt8(ascii: "|") : $0 }, as: UTF8.self) }

/// Builds a frame with correct BodyLength and CheckSum around arbitrary body text (| for SOH).
func rawFrame(_ body: String) -> [UInt8] {
    let b = soh(body)
    var out = Array("8=FIX.4.4\u{1}9=\(b.count)\u{1}".utf8) + b
    let sum = out.reduce(0) { ($0 + Int($1)) & 0xFF }
    out += Array("10=\(String(repeating: "0", count: sum < 10 ? 2 : sum < 100 ? 1 : 0))\(sum)\u{1}".utf8)
    return out
}

func roundTrip<B: FIXMessageBody & Equatable>(_ body: B) throws -> B {
    let m = try FIXParser.parse(frame(body))
    #expect(m.msgType == body.msgType)
    #expect(m.msgSeqNum == 7)
    #expect(m.senderCompID == "TANDEM")
    return try B(parsing: m)
}

@Suite struct CodecTests {
    @Test func everyTypedMessageRoundTrips() throws {
        let px = try Price("101.25"), qty = try Quantity("300")
        #expect(try roundTrip(Logon(heartBtInt: 30, resetSeqNumFlag: true, username: "u", password: "p")) == Logon(heartBtInt: 30, resetSeqNumFlag: true, username: "u", password: "p"))
        #expect(try roundTrip(Logout(text: "bye")) == Logout(text: "bye"))
        #expect(try roundTrip(Heartbeat(testReqID: "T1")) == Heartbeat(testReqID: "T1"))
        #expect(try roundTrip(TestRequest(testReqID: "T2")) == TestRequest(testReqID: "T2"))
        #expect(try roundTrip(ResendRequest(beginSeqNo: 3, endSeqNo: 0)) == ResendRequest(beginSeqNo: 3, endSeqNo: 0))
        #expect(try roundTrip(SequenceReset(gapFillFlag: true, newSeqNo: 9)) == SequenceReset(gapFillFlag: true, newSeqNo: 9))
        let rj = Reject(refSeqNum: 4, refTagID: 38, refMsgType: "D", sessionRejectReason: 5, text: "bad qty")
        #expect(try roundTrip(rj) == rj)
        let bmr = BusinessMessageReject(refSeqNum: 5, refMsgType: "D", businessRejectRefID: "C1", businessRejectReason: 3, text: "no")
        #expect(try roundTrip(bmr) == bmr)
        let nos = NewOrderSingle(clOrdID: ClOrdID("C1"), account: AccountID("ACC"), symbol: "AAPL", side: .sellShort, transactTime: t0,
                                 orderQty: qty, orderType: .stopLimit(stop: try Price("100.5"), limit: px),
                                 timeInForce: .goodTillDate(Timestamp(nanosecondsSinceEpoch: 1_800_000_000_000_000_000)))
        #expect(try roundTrip(nos) == nos)
        let ocr = OrderCancelRequest(origClOrdID: ClOrdID("C1"), clOrdID: ClOrdID("C2"), orderID: "O1", symbol: "AAPL", side: .buy, transactTime: t0, orderQty: qty)
        #expect(try roundTrip(ocr) == ocr)
        let ocrr = OrderCancelReplaceRequest(origClOrdID: ClOrdID("C1"), clOrdID: ClOrdID("C3"), symbol: "AAPL", side: .buy, transactTime: t0,
                                             orderQty: qty, orderType: .limit(px), timeInForce: .immediateOrCancel)
        #expect(try roundTrip(ocrr) == ocrr)
        let rej = OrderCancelReject(orderID: "O1", clOrdID: ClOrdID("C2"), origClOrdID: ClOrdID("C1"), ordStatus: .partiallyFilled, respondingToReplace: true, cxlRejReason: 1, text: "late")
        #expect(try roundTrip(rej) == rej)
        let er = ExecutionReport(orderID: "O1", clOrdID: ClOrdID("C1"), execID: "E1", execType: .trade, ordStatus: .partiallyFilled,
                                 symbol: "AAPL", side: .buy, orderQty: qty, price: px, leavesQty: try Quantity("200"), cumQty: try Quantity("100"),
                                 avgPx: try Price("101.2"), lastQty: try Quantity("100"), lastPx: try Price("101.2"), transactTime: t0)
        #expect(try roundTrip(er) == er)
        #expect(er.orderEvent == .fill(quantity: try Quantity("100"), price: try Price("101.2")))
        let osr = OrderStatusRequest(orderID: "O1", clOrdID: ClOrdID("C1"), symbol: "AAPL", side: .sell)
        #expect(try roundTrip(osr) == osr)
        let mass = OrderMassStatusRequest(massStatusReqID: "M1", massStatusReqType: 7, account: AccountID("ACC"))
        #expect(try roundTrip(mass) == mass)
        let raw = RawMessageBody(msgType: .other("UX"), fields: [(tag: 5000, value: "x"), (tag: 5001, value: "y")])
        #expect(try roundTrip(raw) == raw)
        if case .unknown(let m) = try FIXTypedMessage(parsing: FIXParser.parse(frame(raw))) { #expect(m.string(5001) == "y") } else { Issue.record("expected unknown") }
    }

    @Test func coreOrderRequestMapsBothWays() throws {
        let req = OrderRequest(clOrdID: ClOrdID("C9"), account: AccountID("A"), instrument: InstrumentID(4), side: .buy,
                               type: .limit(try Price("0.00000001")), timeInForce: .fillOrKill, quantity: try Quantity("1.5"))
        let nos = try roundTrip(NewOrderSingle(req, symbol: "X", transactTime: t0))
        #expect(nos.orderRequest(instrument: InstrumentID(4), defaultAccount: AccountID("Z")) == req)
        for s in OrderStatus.allCases {
            let rej = OrderCancelReject(orderID: "O", clOrdID: ClOrdID("a"), origClOrdID: ClOrdID("b"), ordStatus: s, respondingToReplace: false)
            #expect(try roundTrip(rej).ordStatus == s)
        }
    }

    @Test func wireFormIsExactFIX() throws {
        let bytes = frame(Heartbeat(), seq: 1)
        let text = bars(bytes)
        #expect(text.hasPrefix("8=FIX.4.4|9=54|35=0|49=TANDEM|56=VENUE|34=1|52=20231114-22:13:20.123|10="))
        let sum = bytes.dropLast(7).reduce(0) { ($0 + Int($1)) & 0xFF }
        let digits = String(sum)
        #expect(text.hasSuffix("10=" + String(repeating: "0", count: 3 - digits.count) + digits + "|"))
    }

    @Test func timestampsRoundTripAcrossCalendar() throws {
        for ns: Int64 in [0, 951_782_400_000_000_000, 4_107_542_400_999_000_000, -86_400_000_000_000] {
            var out: [UInt8] = []
            FIXValues.appendTimestamp(Timestamp(nanosecondsSinceEpoch: ns), to: &out)
            #expect(FIXValues.parseTimestamp(out, 0..<out.count) == Timestamp(nanosecondsSinceEpoch: ns))
        }
    }
}
