import PropertyBased
import Testing
import TandemCore

/// Truncated or corrupt bytes must throw a CodecError naming an offset inside the input — never trap.
@Suite struct CorruptInputTests {
    static func decodes(_ bytes: [UInt8]) -> Result<JournalEvent, CodecError> {
        do { return .success(try EventCodec.decode(bytes)) } catch { return .failure(error) }
    }

    @Test(arguments: JournalEventKind.allCases)
    func everyTruncationPrefixThrows(kind: JournalEventKind) throws {
        var rng = SplitMix64(seed: UInt64(kind.rawValue))
        let samples = Fixtures.sampleEvents().filter { $0.kind == kind } + (0..<5).map { _ in Fixtures.randomEvent(kind, &rng) }
        for event in samples {
            let bytes = EventCodec.encode(event)
            for n in 0..<bytes.count {
                guard case .failure(let error) = Self.decodes(Array(bytes.prefix(n))) else {
                    Issue.record("prefix \(n)/\(bytes.count) of \(kind.name) decoded"); continue
                }
                #expect(error.code == .truncated, "\(error)")
                #expect(error.offset <= n)
            }
            // Same prefixes with a consistent length header: the payload reader itself must notice.
            let payload = Array(bytes.dropFirst(EventCodec.headerSize))
            for n in 0..<payload.count {
                var frame = Array(bytes.prefix(3))
                withUnsafeBytes(of: UInt32(n).bigEndian) { frame.append(contentsOf: $0) }
                frame += payload.prefix(n)
                guard case .failure(let error) = Self.decodes(frame) else {
                    Issue.record("payload prefix \(n)/\(payload.count) of \(kind.name) decoded"); continue
                }
                #expect(error.code == .truncated && error.offset <= frame.count, "\(error)")
            }
        }
    }

    @Test func headerErrorsNameOffsetAndExpectation() throws {
        let good = EventCodec.encode(.cancelRequested(clOrdID: ClOrdID("C1"), at: Fixtures.t0))
        var bad = good
        bad[0] = 2
        #expect(Self.failure(bad) == (.unsupportedVersion, 0))
        bad = good
        bad[1] = 0x7F
        #expect(Self.failure(bad) == (.unknownKind, 1))
        bad = good + [0]
        #expect(Self.failure(bad)?.0 == .lengthMismatch)
        bad = good
        bad[6] += 1  // length claims one byte more than present
        #expect(Self.failure(bad) == (.truncated, 7))
        bad = good + [0]
        bad[6] += 1  // payload has a stray trailing byte
        #expect(Self.failure(bad) == (.lengthMismatch, good.count))
    }

    @Test func invalidFieldValuesThrow() throws {
        let intent = EventCodec.encode(.orderIntent(OrderIntent(request: Fixtures.request(), decision: .accepted, at: Fixtures.t0)))
        // Side byte: header 7 + ts 8 + "C1" 6 + "ACC1" 8 + instrument 4 = offset 33.
        var bad = intent
        #expect(bad[33] == 1)
        bad[33] = 3
        let e = try #require(Self.failure(bad))
        #expect(e == (.invalidValue, 33))
        var utf8 = EventCodec.encode(.cancelRequested(clOrdID: ClOrdID("C1"), at: Fixtures.t0))
        utf8[utf8.count - 1] = 0xFF
        #expect(Self.failure(utf8) == (.invalidValue, utf8.count - 2))
        // Trading mode tags: header 7 + ts 8 = offset 15 (from), 16 (to); only 0–2 exist.
        var mode = EventCodec.encode(.riskModeChanged(RiskModeChange(from: .active, to: .halted, rule: "r", reason: "x", at: Fixtures.t0)))
        #expect(mode[15] == 0 && mode[16] == 2)
        mode[16] = 3
        #expect(Self.failure(mode) == (.invalidValue, 16))
        mode[15] = 0xFF
        #expect(Self.failure(mode) == (.invalidValue, 15))
        var currency = EventCodec.encode(Fixtures.sampleEvents()[3])
        currency[currency.count - 1] = UInt8(ascii: "a")
        #expect(Self.failure(currency)?.0 == .invalidValue)
    }

    /// Random byte flips: decoding either throws or yields an event that re-encodes to those bytes.
    @Test func randomCorruptionNeverTraps() async {
        let samples = Fixtures.sampleEvents().map(EventCodec.encode)
        await propertyCheck(count: 3000, input: Gen.int(in: 0...(samples.count - 1)), Gen.uint64()) { index, seed in
            var rng = SplitMix64(seed: seed)
            var bytes = samples[index]
            for _ in 0...rng.below(3) { bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            if case .success(let event) = Self.decodes(bytes) {
                #expect(EventCodec.encode(event) == bytes)
            }
        }
    }

    static func failure(_ bytes: [UInt8]) -> (CodecError.Code, Int)? {
        if case .failure(let e) = decodes(bytes) { return (e.code, e.offset) }
        return nil
    }
}

extension Optional where Wrapped == (CodecError.Code, Int) {
    static func == (lhs: Self, rhs: (CodecError.Code, Int)) -> Bool { lhs.map { $0 == rhs } ?? false }
}
