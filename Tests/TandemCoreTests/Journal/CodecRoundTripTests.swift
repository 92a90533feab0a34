import PropertyBased
import Testing
import TandemCore

@Suite struct CodecRoundTripTests {
    @Test func randomEventsOfEveryKindRoundTrip() async {
        await propertyCheck(count: 2000, input: Gen<JournalEventKind>.case, Gen.uint64()) { kind, seed in
            var rng = SplitMix64(seed: seed)
            let event = Fixtures.randomEvent(kind, &rng)
            #expect(event.kind == kind)
            let bytes = EventCodec.encode(event)
            do { #expect(try EventCodec.decode(bytes) == event) } catch { Issue.record("\(kind.name): \(error)") }
            #expect(EventCodec.encode(event) == bytes, "encoding is deterministic")
        }
    }

    @Test func framesConcatenateAndDecodeInSequence() throws {
        let events = Fixtures.sampleEvents() + SyntheticJournal.events(count: 2000, seed: 9, controlEvents: true)
        var buffer: [UInt8] = []
        for e in events { EventCodec.encode(e, into: &buffer) }
        var decoded: [JournalEvent] = []
        let raw = buffer.span.bytes
        var offset = 0
        while offset < raw.byteCount {
            let (e, next) = try EventCodec.decodeFrame(in: raw, at: offset)
            decoded.append(e)
            offset = next
        }
        #expect(decoded == events)
        let slice = buffer[...]
        let first = EventCodec.encode(events[0]).count
        #expect(try EventCodec.decode(slice[first...].prefix(EventCodec.encode(events[1]).count)) == events[1])
    }

    @Test func kindNamesAndRawValuesAreStable() {
        #expect(JournalEventKind.allCases.map(\.rawValue) == Array(1...23))
        #expect(JournalEventKind.allCases.map(\.name) == [
            "instrument_defined", "order_intent", "order_acknowledged", "partial_fill", "fill", "cancel_requested",
            "cancel_accepted", "cancel_rejected", "replace_requested", "replace_accepted", "replace_rejected",
            "order_rejected", "order_expired", "order_suspended", "order_resumed", "fix_session_state",
            "fix_outbound_message", "leader_elected", "risk_command", "reconciliation_correction", "snapshot_marker",
            "corporate_action", "risk_mode_changed",
        ])
        #expect(Set(Fixtures.sampleEvents().map(\.kind)) == Set(JournalEventKind.allCases))
    }
}
