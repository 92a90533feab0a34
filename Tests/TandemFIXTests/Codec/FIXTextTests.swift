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

/// ExecutionReport's reading order of faults: a bad field in wire order first, then the first
/// missing required tag (37, 17, 150, 39, 55, 54, 151, 14, 6), then Side's value.
@Suite struct ExecutionReportFaultOrderTests {
    static let head = "35=8|49=V|56=T|34=2|52=20231114-22:13:20|"
    static let full = "37=O|17=E|150=F|39=1|55=S|54=1|151=0|14=1|6=1|"

    func fault(_ body: String) -> FIXError? {
        do { _ = try ExecutionReport(parsing: FIXParser.parse(rawFrame(Self.head + body))); return nil } catch { return error }
    }

    @Test func faultsAreReportedInTheReferenceOrder() throws {
        #expect(fault(Self.full) == nil)
        #expect(fault("37=O|150=F|39=1|55=S|54=1|6=1|")?.tag == 17)
        #expect(fault("17=E|150=F|39=1|55=S|54=1|151=0|14=1|6=1|")?.tag == 37)
        let bad = fault("38=1e3|" + Self.full.replacingOccurrences(of: "37=O|", with: ""))
        #expect(bad?.code == .badValue && bad?.tag == 38)
        let sideLast = fault("37=O|17=E|150=F|39=1|55=S|54=9|151=0|14=1|")
        #expect(sideLast?.code == .missingRequiredTag && sideLast?.tag == 6)
        let side = fault(Self.full.replacingOccurrences(of: "54=1|", with: "54=9|"))
        #expect(side?.code == .badValue && side?.tag == 54)
        let twice = try ExecutionReport(parsing: FIXParser.parse(rawFrame(Self.head + Self.full + "55=T|11=A|11=B|")))
        #expect(twice.symbol == "T" && twice.clOrdID == ClOrdID("B"))
    }
}
