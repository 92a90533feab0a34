import Testing
import TandemCore
@testable import TandemFIX

/// `FIXText`: inline short ASCII, `String` otherwise, and always `String` semantics.
@Suite struct FIXTextTests {
    static let samples = ["", "A", "AAPL", "O123456", "C1000001", "E99887766", "123456789012345", "1234567890123456",
                          "a much longer free text value", "é", "caf\u{E9}", "\u{212A}", "K", "e\u{301}", "\u{E9}", "ID-\u{1F600}"]

    @Test func stringRoundTripsAndRepresentationIsCanonical() {
        for s in Self.samples {
            let t = FIXText(s)
            #expect(t.string == s)
            #expect(t.utf8Count == s.utf8.count)
            let bytes = Array("pad=".utf8) + Array(s.utf8) + Array("\u{1}10=000\u{1}tail-padding-16b".utf8)
            let fromBytes = FIXText(bytes, 4..<(4 + s.utf8.count))
            #expect(fromBytes == t)
            #expect(fromBytes.string == s)
            // Near the end of the buffer (fewer than 16 bytes left): the byte-by-byte path, same value.
            let tight = Array(s.utf8)
            #expect(FIXText(tight, 0..<tight.count) == t)
        }
    }

    @Test func equalityAndHashingAreTheString() {
        for a in Self.samples {
            for b in Self.samples {
                let ta = FIXText(a), tb = FIXText(b)
                #expect((ta == tb) == (a == b), "\(a) vs \(b)")
                if a == b { #expect(ta.hashValue == tb.hashValue) }
            }
        }
    }

    @Test func invalidUTF8IsRepairedLikeStringDecoding() {
        let bytes: [UInt8] = [0x41, 0xFF, 0x42, 0xC3] + Array("\u{1}10=000\u{1}padding-padding".utf8)
        let t = FIXText(bytes, 0..<4)
        #expect(t.string == String(decoding: bytes[0..<4], as: UTF8.self))
    }

    @Test func typedMessagesKeepTheirTextThroughTheWire() throws {
        let long = String(repeating: "x", count: 40)
        let er = ExecutionReport(orderID: long, clOrdID: ClOrdID("caf\u{E9}"), origClOrdID: ClOrdID("123456789012345"),
                                 execID: "1234567890123456", execType: .new, ordStatus: .new, account: AccountID("\u{212A}"),
                                 symbol: "S", side: .sell, leavesQty: .zero, cumQty: .zero, avgPx: .zero, text: "t")
        let back = try roundTrip(er)
        #expect(back == er)
        #expect(back.orderID == long && back.clOrdID == ClOrdID("caf\u{E9}") && back.origClOrdID == ClOrdID("123456789012345"))
        #expect(back.execID == "1234567890123456" && back.account == AccountID("\u{212A}") && back.symbol == "S" && back.text == "t")
        var changed = back
        changed.symbol = "MSFT"
        changed.clOrdID = nil
        changed.text = nil
        #expect(changed.symbol == "MSFT" && changed.clOrdID == nil && changed.text == nil && changed != back)
        let nos = NewOrderSingle(clOrdID: ClOrdID("C-0001"), account: nil, symbol: "BRK.B", side: .buy, transactTime: t0,
                                 orderQty: Quantity(units: 1), orderType: .market, timeInForce: .day)
        let nosBack = try roundTrip(nos)
        #expect(nosBack == nos && nosBack.clOrdID == ClOrdID("C-0001") && nosBack.account == nil && nosBack.symbol == "BRK.B")
    }
}
