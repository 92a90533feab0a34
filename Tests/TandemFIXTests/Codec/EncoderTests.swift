import Testing
import TandemCore
@testable import TandemFIX

/// The single-pass encoder against independently built expectations: exact bytes for the
/// benchmark's messages, every BodyLength width, integers against `String(_:)`, and timestamps
/// across days through one encoder (its date cache).
@Suite struct EncoderTests {
    /// `tag=value|` fields (| for SOH) framed with BodyLength and CheckSum computed here.
    static func expectedFrame(_ fields: [(Int, String)]) -> [UInt8] {
        rawFrame(fields.map { "\($0.0)=\($0.1)|" }.joined())
    }

    @Test func executionReportAndNewOrderSingleBytesAreExact() throws {
        let px = try Price("101.25")
        let er = ExecutionReport(orderID: "O123456", clOrdID: ClOrdID("C1000001"), execID: "E99887766", execType: .trade,
                                 ordStatus: .partiallyFilled, account: AccountID("ACC1"), symbol: "AAPL", side: .buy,
                                 orderQty: try Quantity("500"), price: px, leavesQty: try Quantity("400"), cumQty: try Quantity("100"),
                                 avgPx: try Price("-0.00000001"), lastQty: try Quantity("123456789.12345678"), lastPx: px, transactTime: t0,
                                 ordRejReason: 1_234_567_890_123, text: "fill")
        let head: [(Int, String)] = [(49, "TANDEM"), (56, "VENUE"), (34, "7"), (52, "20231114-22:13:20.123")]
        #expect(frame(er) == Self.expectedFrame([(35, "8")] + head + [
            (37, "O123456"), (11, "C1000001"), (17, "E99887766"), (150, "F"), (39, "1"), (1, "ACC1"), (55, "AAPL"), (54, "1"),
            (38, "500"), (44, "101.25"), (151, "400"), (14, "100"), (6, "-0.00000001"), (32, "123456789.12345678"), (31, "101.25"),
            (60, "20231114-22:13:20.123"), (103, "1234567890123"), (58, "fill"),
        ]))
        let nos = NewOrderSingle(clOrdID: ClOrdID("C1000001"), account: AccountID("ACC1"), symbol: "AAPL", side: .sellShort,
                                 transactTime: t0, orderQty: try Quantity("0.5"),
                                 orderType: .stopLimit(stop: try Price("92233720368.54775807"), limit: px),
                                 timeInForce: .goodTillDate(Timestamp(nanosecondsSinceEpoch: -1)))
        #expect(frame(nos) == Self.expectedFrame([(35, "D")] + head + [
            (11, "C1000001"), (1, "ACC1"), (55, "AAPL"), (54, "5"), (60, "20231114-22:13:20.123"), (38, "0.5"),
            (40, "4"), (44, "101.25"), (99, "92233720368.54775807"), (59, "6"), (126, "19691231-23:59:59.999"),
        ]))
    }

    @Test func bodyLengthOfEveryWidth() throws {
        var enc = FIXEncoder()
        var out: [UInt8] = Array("leading bytes stay".utf8)
        for n in [0, 1, 9, 10, 40, 44, 45, 46, 500, 940, 944, 945, 946, 9_000, 9_944, 9_945, 99_945, 100_000] {
            let logout = Logout(text: n == 0 ? nil : String(repeating: "x", count: n))
            let bytes = enc.encode(logout, header: header(3))
            let m = try FIXParser.parse(bytes)
            #expect(try Logout(parsing: m) == logout)
            let declared = try #require(FIXValues.parseInt(bytes, 12..<bytes.firstIndex(of: 1, after: 12)))
            #expect(String(declared).utf8.count == bytes.firstIndex(of: 1, after: 12) - 12)
            let start = out.count
            enc.encode(logout, header: header(3), into: &out)
            #expect(Array(out[start...]) == bytes)
        }
        #expect(out.starts(with: Array("leading bytes stay".utf8)))
    }

    @Test func integersFormatLikeString() {
        var rng = SplitMix(state: 0x1D5)
        var values: [Int] = [0, 1, 9, 10, 99, 100, 999, 1000, 99_999_999, 100_000_000, 9_999_999_999_999_999,
                             10_000_000_000_000_000, .max, .min, -1, -10, -100_000_000]
        for _ in 0..<20_000 { values.append(Int(truncatingIfNeeded: rng.next()) >> Int(rng.next() % 64)) }
        for v in values {
            var out: [UInt8] = []
            FIXValues.appendInt(v, to: &out)
            #expect(out == Array(String(v).utf8), "\(v)")
        }
        for v: UInt in [.max, .max - 1, 10_000_000_000_000_000_000, 9_999_999_999_999_999_999] {
            var out: [UInt8] = []
            FIXValues.appendUInt(v, to: &out)
            #expect(out == Array(String(v).utf8), "\(v)")
        }
        for tag in [1, 9, 10, 99, 100, 999, 1000, 5001, 99_999, 0, -1] {
            var w = FIXWriter()
            w.append(tag, char: UInt8(ascii: "v"))
            #expect(w.bytes == Array("\(UInt(bitPattern: tag))=v\u{1}".utf8))
        }
    }

    @Test func timestampsAcrossDaysThroughOneEncoder() throws {
        var enc = FIXEncoder()
        let day: Int64 = 86_400_000_000_000
        let times: [Int64] = [1_700_000_000_123_456_789, 1_700_000_000_999_000_000, 1_700_000_000_123_000_000 + day,
                              1_700_000_000_000_000_000, 0, -1, -day, -day - 1, 4_107_542_400_999_000_000, 951_782_400_000_000_000]
        for ns in times + times.reversed() {
            var h = header(1)
            h.sendingTime = Timestamp(nanosecondsSinceEpoch: ns)
            let m = try FIXParser.parse(enc.encode(Heartbeat(), header: h))
            let millis = ns >= 0 ? ns / 1_000_000 : (ns - 999_999) / 1_000_000
            #expect(try m.timestamp(52) == Timestamp(nanosecondsSinceEpoch: millis * 1_000_000), "\(ns)")
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func firstIndex(of b: UInt8, after i: Int) -> Int { self[i...].firstIndex(of: b)! }
}

/// The word tricks the parser relies on, against byte-by-byte references.
@Suite struct FIXWordTests {
    static func word(_ bytes: [UInt8]) -> UInt64 {
        bytes.prefix(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    @Test func everyTagOfOneToFourDigits() {
        for count in 1...4 {
            var limit = 1
            for _ in 0..<count { limit *= 10 }
            for v in 0..<limit {
                var text = String(v)
                while text.utf8.count < count { text = "0" + text }
                let w = Self.word(Array((text + "=abcdefgh").utf8))
                #expect(FIXWord.leadingDigits(w) == count)
                #expect(FIXWord.byte(w, count) == FIXValues.equals)
                #expect(FIXWord.fourDigitsValue(w, count: count) == v)
            }
        }
    }

    @Test func randomWords() {
        var rng = SplitMix(state: 0xB17E5)
        let interesting: [UInt8] = [0, 1, 0x2F, 0x30, 0x39, 0x3A, 0x3D, 0x7F, 0x80, 0xB0, 0xB9, 0xFF]
        for _ in 0..<200_000 {
            let bytes = (0..<8).map { _ in rng.next() % 2 == 0 ? interesting[Int(rng.next() % 12)] : UInt8(truncatingIfNeeded: rng.next()) }
            let w = Self.word(bytes)
            #expect(FIXWord.leadingDigits(w) == (bytes.firstIndex { !(0x30...0x39).contains($0) } ?? 8))
            var soh: UInt64 = 0
            for (i, b) in bytes.enumerated() where b == 1 { soh |= 1 << UInt64(i) }
            #expect(FIXWord.matchBits(w, 1) == soh)
            for i in 0..<8 { #expect(FIXWord.byte(w, i) == bytes[i]) }
        }
    }
}
