import TandemCore
import TandemCrypto
import TandemJournal
import Testing

@Suite("hash chain (sans-I/O)")
struct ChainVerifierTests {
    static func rows(_ events: [JournalEvent], epoch: UInt64 = 1) -> [JournalRow] {
        var chain = HashChain()
        var prev = ChainHead.genesis.hash
        return events.enumerated().map { i, event in
            let frame = EventCodec.encode(event)
            let seq = UInt64(i + 1)
            let hash = chain.hash(prevHash: prev, seq: seq, epoch: epoch, payload: frame)
            defer { prev = hash }
            return JournalRow(seq: seq, epoch: epoch, kind: event.kind.rawValue, timestampNanos: event.timestamp.nanosecondsSinceEpoch,
                              payload: frame, prevHash: prev, hash: hash)
        }
    }

    @Test("the hashed bytes are prev_hash ‖ seq ‖ epoch ‖ frame, from 32 zero bytes")
    func definition() {
        let event = SyntheticJournalFixture.events(1)[0]
        let row = Self.rows([event], epoch: 7)[0]
        let expected = SHA256.hash([UInt8](repeating: 0, count: 32) + [0, 0, 0, 0, 0, 0, 0, 1] + [0, 0, 0, 0, 0, 0, 0, 7] + EventCodec.encode(event))
        #expect(row.hash == expected)
    }

    @Test("a valid chain verifies; each kind of damage is caught at its seq")
    func damage() {
        let good = Self.rows(SyntheticJournalFixture.events(20))
        func firstFailure(_ rows: [JournalRow]) -> (UInt64, ChainViolation)? {
            var v = ChainVerifier()
            var chain = HashChain()
            for row in rows { if let bad = v.verify(row, chain: &chain) { return (row.seq, bad) } }
            return nil
        }
        #expect(firstFailure(good) == nil)
        var payload = good; payload[11].payload[20] ^= 1
        #expect(firstFailure(payload)?.0 == 12)
        #expect(firstFailure(payload)?.1 == .hashMismatch)
        var gap = good; gap.remove(at: 5)
        #expect(firstFailure(gap)?.1 == .gap(expected: 6, found: 7))
        var epoch = good; epoch[3].epoch = 2
        #expect(firstFailure(epoch)?.0 == 4)
        var prev = good; prev[8].prevHash[0] ^= 0xff
        #expect(firstFailure(prev)?.1 == .prevHashMismatch)
        var ts = good; ts[2].timestampNanos += 1
        if case .headerMismatch = firstFailure(ts)?.1 {} else { Issue.record("a wrong ts_ns column must be caught") }
    }
}

@Suite("hash chain: reused digest storage")
struct ChainVerifierReuseTests {
    @Test("heads taken along the way keep their hashes while the verifier reuses its buffers")
    func headsStayIntact() {
        let rows = ChainVerifierTests.rows(SyntheticJournalFixture.events(50))
        var v = ChainVerifier()
        var chain = HashChain()
        var heads: [ChainHead] = []
        for row in rows {
            #expect(v.verify(row, chain: &chain) == nil)
            heads.append(v.head)
        }
        #expect(heads.map(\.hash) == rows.map(\.hash))
        #expect(ChainHead.genesis.hash == [UInt8](repeating: 0, count: 32))
    }
}
