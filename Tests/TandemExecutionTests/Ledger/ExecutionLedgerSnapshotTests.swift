import TandemCore
import TandemExecution
import Testing

@Suite("ledger snapshot bytes")
struct ExecutionLedgerSnapshotTests {
    /// Outbound messages on two sessions, then a synthetic stream with fills.
    static func events() -> [JournalEvent] {
        SyntheticJournal.fixOutboundMessages(sessions: ["TANDEM->VENUE", "TANDEM2->VENUE"], perSession: 40)
            + SyntheticJournal.events(count: 800, seed: 3, instrumentCount: 2)
    }

    static func folded(_ events: [JournalEvent]) throws -> ExecutionLedger {
        var ledger = ExecutionLedger()
        for (i, event) in events.enumerated() { try ledger.apply(event, seq: UInt64(i + 1)) }
        return ledger
    }

    @Test("round trip: the resend log, booked ExecIDs and seq come back; equal ledgers give equal bytes")
    func roundTrip() throws {
        let ledger = try Self.folded(Self.events())
        #expect(ledger.outbound.count == 2 && !ledger.bookedExecIDs.isEmpty)
        let bytes = ledger.extrasSnapshotBytes()
        let state = try TradingState(snapshotBytes: ledger.state.snapshotBytes())
        let restored = try ExecutionLedger(state: state, extras: bytes, lastSeq: ledger.lastSeq)
        #expect(restored.outbound == ledger.outbound)
        #expect(restored.bookedExecIDs == ledger.bookedExecIDs)
        #expect(restored.lastSeq == ledger.lastSeq)
        #expect(restored.state.snapshotBytes() == ledger.state.snapshotBytes())
        #expect(restored.extrasSnapshotBytes() == bytes)
        #expect(ExecutionLedger().extrasSnapshotBytes() == [1, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test("damaged bytes are refused with the offset: truncated, unknown version, left over")
    func damaged() throws {
        let bytes = try Self.folded(Self.events()).extrasSnapshotBytes()
        let truncated = #expect(throws: ExecutionLedger.SnapshotError.self) {
            try ExecutionLedger(state: TradingState(), extras: Array(bytes.dropLast(3)), lastSeq: 1)
        }
        #expect(truncated?.message.hasPrefix("truncated") == true)
        var version = bytes
        version[0] = 9
        let unknown = #expect(throws: ExecutionLedger.SnapshotError.self) { try ExecutionLedger(state: TradingState(), extras: version, lastSeq: 1) }
        #expect(unknown?.offset == 0 && unknown?.message == "unknown version 9")
        let extra = #expect(throws: ExecutionLedger.SnapshotError.self) { try ExecutionLedger(state: TradingState(), extras: bytes + [0], lastSeq: 1) }
        #expect(extra?.offset == bytes.count && extra?.message == "1 bytes left over")
        #expect(throws: ExecutionLedger.SnapshotError.self) { try ExecutionLedger(state: TradingState(), extras: [], lastSeq: 1) }
    }
}
