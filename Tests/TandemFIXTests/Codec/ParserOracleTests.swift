import Testing
import TandemCore
@testable import TandemFIX

/// The parser as it was before the single-allocation, span-based rewrite, kept verbatim as an oracle:
/// the rewrite must accept exactly the same frames into the same fields and reject the rest with the
/// same error (code, tag, offset and message).
enum ReferenceParser {
    static func parse(_ bytes: [UInt8]) throws(FIXError) -> FIXMessage {
        let n = bytes.count
        let soh = FIXValues.soh
        guard n >= 2, bytes[0] == UInt8(ascii: "8"), bytes[1] == FIXValues.equals else {
            throw FIXError(.badBeginString, tag: 8, offset: 0, "frame does not start with 8=")
        }
        var i = 2
        while i < n, bytes[i] != soh { i += 1 }
        guard i < n else { throw FIXError(.truncated, tag: 8, offset: n, "frame ends inside BeginString(8)") }
        guard bytes[2..<i].elementsEqual(FIXParser.beginString) else {
            throw FIXError(.badBeginString, tag: 8, offset: 2, "BeginString is \"\(String(decoding: bytes[2..<i].prefix(16), as: UTF8.self))\", expected FIX.4.4")
        }
        i += 1
        guard i + 1 < n, bytes[i] == UInt8(ascii: "9"), bytes[i + 1] == FIXValues.equals else {
            throw FIXError(.badBodyLength, tag: 9, offset: i, "BodyLength(9) is not the second field")
        }
        let lenStart = i + 2
        var j = lenStart
        while j < n, bytes[j] != soh { j += 1 }
        guard j < n else { throw FIXError(.truncated, tag: 9, offset: n, "frame ends inside BodyLength(9)") }
        guard j - lenStart <= 9, let bodyLength = FIXValues.parseInt(bytes, lenStart..<j) else {
            throw FIXError(.badBodyLength, tag: 9, offset: lenStart, "BodyLength(9) is not a number")
        }
        let bodyStart = j + 1
        let trailer = bodyStart + bodyLength
        let looksTerminated = n >= bodyStart + 7 && bytes[n - 1] == soh && bytes[n - 7] == UInt8(ascii: "1")
            && bytes[n - 6] == UInt8(ascii: "0") && bytes[n - 5] == FIXValues.equals
        if trailer + 7 != n {
            if looksTerminated || trailer + 7 < n {
                throw FIXError(.badBodyLength, tag: 9, offset: lenStart,
                               "BodyLength \(bodyLength) puts CheckSum at byte \(trailer), but it is at byte \(n - 7)")
            }
            throw FIXError(.truncated, offset: n, "frame has \(n) bytes; BodyLength \(bodyLength) needs \(trailer + 7)")
        }
        guard looksTerminated else {
            throw FIXError(.badBodyLength, tag: 10, offset: trailer, "no CheckSum(10) where BodyLength \(bodyLength) says the body ends")
        }
        guard let declared = FIXValues.parseInt(bytes, (n - 4)..<(n - 1)) else {
            throw FIXError(.badChecksum, tag: 10, offset: n - 4, "CheckSum(10) is not three digits")
        }
        var sum = 0
        for k in 0..<trailer { sum &+= Int(bytes[k]) }
        guard sum & 0xFF == declared else {
            throw FIXError(.badChecksum, tag: 10, offset: n - 4, "CheckSum is \(declared), computed \(sum & 0xFF)")
        }

        var fields: [FIXField] = []
        fields.reserveCapacity(bodyLength / 6 + 4)
        var p = bodyStart
        while p < trailer {
            let tagStart = p
            var tag = 0
            while p < trailer, bytes[p] != FIXValues.equals, bytes[p] != soh {
                let d = bytes[p] &- 48
                guard d < 10 else {
                    throw FIXError(.nonNumericTag, offset: p, "tag at byte \(tagStart) contains \(describe(bytes[p]))")
                }
                tag = tag &* 10 &+ Int(d)
                guard p - tagStart < 9 else { throw FIXError(.nonNumericTag, offset: tagStart, "tag at byte \(tagStart) is longer than 9 digits") }
                p += 1
            }
            guard p < trailer, bytes[p] == FIXValues.equals else {
                throw FIXError(.malformedField, tag: p > tagStart ? tag : nil, offset: tagStart, "field at byte \(tagStart) has no '='")
            }
            guard p > tagStart, tag > 0 else { throw FIXError(.nonNumericTag, offset: tagStart, "empty or zero tag at byte \(tagStart)") }
            p += 1
            let valueStart = p
            while p < trailer, bytes[p] != soh { p += 1 }
            guard p < trailer else { throw FIXError(.truncated, tag: tag, offset: valueStart, "tag \(tag) at byte \(tagStart) has no closing SOH before CheckSum") }
            guard p > valueStart else { throw FIXError(.emptyValue, tag: tag, offset: valueStart, "tag \(tag) at byte \(tagStart) has no value") }
            fields.append(FIXField(tag: tag, value: valueStart..<p))
            p += 1
        }
        guard let first = fields.first, first.tag == 35 else {
            throw FIXError(.missingRequiredTag, tag: 35, offset: bodyStart, "MsgType(35) is not the third field")
        }
        return FIXMessage(bytes: bytes, fields: fields, msgType: MsgType(bytes, first.valueRange))
    }

    private static func describe(_ b: UInt8) -> String {
        (0x21...0x7E).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }
}

@Suite struct ParserOracleTests {
    static func outcome(_ parse: ([UInt8]) throws(FIXError) -> FIXMessage, _ f: [UInt8]) -> Result<[FIXField], FIXError> {
        do {
            let m = try parse(f)
            return .success(m.fields)
        } catch { return .failure(error) }
    }

    /// Rebuilds BodyLength and CheckSum around `body` so that field-level faults get past framing.
    static func reframe(_ body: [UInt8]) -> [UInt8] {
        var out = Array("8=FIX.4.4\u{1}9=\(body.count)\u{1}".utf8) + body
        let sum = out.reduce(0) { ($0 + Int($1)) & 0xFF }
        out += Array("10=".utf8) + [UInt8(48 + sum / 100), UInt8(48 + sum / 10 % 10), UInt8(48 + sum % 10), 1]
        return out
    }

    @Test func rewriteAgreesWithReferenceOnMutatedFrames() throws {
        var rng = SplitMix(state: 0x0DDB_A11)
        let px = try Price("101.25")
        var enc = FIXEncoder()
        let seeds: [[UInt8]] = [
            enc.encode(order(1), header: header(1)),
            enc.encode(ExecutionReport(orderID: "O1", clOrdID: ClOrdID("C1"), execID: "E1", execType: .trade, ordStatus: .filled, symbol: "AAPL",
                                       side: .buy, leavesQty: .zero, cumQty: Quantity(units: 1), avgPx: px, lastQty: Quantity(units: 1), lastPx: px), header: header(2)),
            enc.encode(Logon(heartBtInt: 30, resetSeqNumFlag: true), header: header(3)),
            enc.encode(Heartbeat(), header: header(4)),
            rawFrame("35=0|"),
        ]
        let alphabet: [UInt8] = [1, 1, 0x3D, 0x3D, 0x30, 0x35, 0x39, 0x41, 0x7C, 0x00, 0xFF]
        var agreed = 0, parsed = 0
        for round in 0..<100_000 {
            var f = seeds[Int(rng.next() % UInt64(seeds.count))]
            let bodyStart = f.firstIndex(of: 1).map { f[($0 + 1)...].firstIndex(of: 1)! + 1 } ?? 0
            var body = Array(f[bodyStart..<(f.count - 7)])
            for _ in 0...(rng.next() % 3) where !body.isEmpty {
                let at = Int(rng.next() % UInt64(body.count))
                let b = rng.next() % 2 == 0 ? alphabet[Int(rng.next() % UInt64(alphabet.count))] : UInt8(truncatingIfNeeded: rng.next())
                switch rng.next() % 3 {
                case 0: body[at] = b
                case 1: body.insert(b, at: at)
                default: body.remove(at: at)
                }
            }
            switch round % 8 {
            case 0: f[Int(rng.next() % UInt64(f.count))] = UInt8(truncatingIfNeeded: rng.next())   // framing damage
            case 1: f.removeLast(Int(rng.next() % UInt64(f.count)))
            case 2: f = Array(f.prefix(Int(rng.next() % 24))) + Array("\u{1}".utf8) + f.dropFirst(Int(rng.next() % 24))
            default: f = Self.reframe(body)   // field-level damage behind a valid frame
            }
            let ref = Self.outcome(ReferenceParser.parse, f)
            let new = Self.outcome(FIXParser.parse, f)
            #expect(ref == new, "frame \(bars(f))")
            if ref == new { agreed += 1 }
            if case .success = new { parsed += 1 }
        }
        #expect(agreed == 100_000)
        #expect(parsed > 1000)
    }
}
