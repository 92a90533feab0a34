import Testing
import TandemCore
@testable import TandemFIX

/// SplitMix64: a small seeded generator so every failure is reproducible from the seed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct FuzzTests {
    /// One million mutated frames by default, as the FIX issue asks; `TANDEM_FIX_FUZZ_COUNT` overrides
    /// (e.g. 100000 while iterating).
    static var count: Int {
        if let s = Environment.value("TANDEM_FIX_FUZZ_COUNT"), let n = Int(s) { return n }
        return 1_000_000
    }

    @Test func parserAndSplitterSurviveMutatedFrames() throws {
        var rng = SplitMix(state: 0x7A4D_E4F1)
        let px = try Price("101.25")
        var enc = FIXEncoder()
        let seeds: [[UInt8]] = [
            enc.encode(order(1), header: header(1)),
            enc.encode(ExecutionReport(orderID: "O1", clOrdID: ClOrdID("C1"), execID: "E1", execType: .trade, ordStatus: .filled, symbol: "AAPL",
                                       side: .buy, leavesQty: .zero, cumQty: Quantity(units: 1), avgPx: px, lastQty: Quantity(units: 1), lastPx: px), header: header(2)),
            enc.encode(Logon(heartBtInt: 30, resetSeqNumFlag: true), header: header(3)),
            enc.encode(ResendRequest(beginSeqNo: 1, endSeqNo: 0), header: header(4)),
        ]
        var splitter = FIXFrameSplitter(maxFrameSize: 4096)
        var parsed = 0, failed = 0, frames = 0
        for _ in 0..<Self.count {
            var f = seeds[Int(rng.next() % UInt64(seeds.count))]
            switch rng.next() % 6 {
            case 0: for _ in 0...(rng.next() % 4) { f[Int(rng.next() % UInt64(f.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            case 1: f.removeLast(Int(rng.next() % UInt64(f.count)))
            case 2: let at = Int(rng.next() % UInt64(f.count)); f.insert(1, at: at)
            case 3: let at = 20 + Int(rng.next() % UInt64(f.count - 27)); f.insert(contentsOf: Array(f[at..<min(at + 8, f.count - 7)]), at: at)
            case 4: f = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            default: break
            }
            do {
                let m = try FIXParser.parse(f)
                _ = try? FIXTypedMessage(parsing: m)
                parsed += 1
            } catch { failed += 1; #expect(!error.message.isEmpty) }
            splitter.append(f)
            while let o = splitter.next() { if case .frame = o { frames += 1 } }
            #expect(splitter.bufferedCount <= 4096 + 64)
        }
        #expect(parsed + failed == Self.count)
        #expect(parsed > 0 && failed > 0 && frames > 0)
    }
}

enum Environment {
    static func value(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
