import Testing
import TandemCore

/// The safe decoding entry points (RawSpan, Span<UInt8>, [UInt8] with an offset) agree with each
/// other, including error offsets.
@Suite struct SafeDecodeTests {
    static func buffer() -> (bytes: [UInt8], events: [JournalEvent]) {
        let events = Fixtures.sampleEvents() + SyntheticJournal.events(count: 500, seed: 5, controlEvents: true)
        var bytes: [UInt8] = []
        for e in events { EventCodec.encode(e, into: &bytes) }
        return (bytes, events)
    }

    @Test func everyEntryPointDecodesTheSameFrames() throws {
        let (bytes, events) = Self.buffer()
        var viaArray: [JournalEvent] = [], viaSpan: [JournalEvent] = [], viaRaw: [JournalEvent] = []
        var offset = 0
        while offset < bytes.count {
            let (e, next) = try EventCodec.decodeFrame(in: bytes, at: offset)
            viaArray.append(e)
            offset = next
        }
        let span = bytes.span
        offset = 0
        while offset < span.count {
            let (e, next) = try EventCodec.decodeFrame(in: span, at: offset)
            viaSpan.append(e)
            offset = next
        }
        let raw = bytes.span.bytes
        offset = 0
        while offset < raw.byteCount {
            let (e, next) = try EventCodec.decodeFrame(in: raw, at: offset)
            viaRaw.append(e)
            // Single-frame decoders over an extracted span of exactly one frame.
            #expect(try EventCodec.decode(raw.extracting(offset..<next)) == e)
            #expect(try EventCodec.decode(bytes[offset..<next].span) == e)
            offset = next
        }
        #expect(viaArray == events && viaSpan == events && viaRaw == events)
    }

    @Test func errorOffsetsAreRelativeToTheWholeBuffer() throws {
        let (bytes, _) = Self.buffer()
        let first = try EventCodec.decodeFrame(in: bytes, at: 0).next
        var bad = bytes
        bad[first] = 9  // version byte of the second frame
        do { _ = try EventCodec.decodeFrame(in: bad, at: first); Issue.record("decoded") } catch {
            #expect(error.code == .unsupportedVersion && error.offset == first)
        }
        let truncated = Array(bytes.prefix(first + 5))
        do { _ = try EventCodec.decodeFrame(in: truncated.span.bytes, at: first); Issue.record("decoded") } catch {
            #expect(error.code == .truncated && error.offset <= truncated.count)
        }
        for outside in [-1, bytes.count + 1, .max, .min] {
            do { _ = try EventCodec.decodeFrame(in: bytes, at: outside); Issue.record("decoded at \(outside)") } catch {
                #expect(error.code == .truncated)
            }
        }
        do { _ = try EventCodec.decodeFrame(in: bytes, at: bytes.count); Issue.record("decoded at end") } catch {
            #expect(error.code == .truncated && error.offset == bytes.count)
        }
        #expect(throws: CodecError.self) { try EventCodec.decode(bytes.span) }  // more than one frame
    }

}

@Suite struct BatchEncodeTests {
    @Test func batchEncodingEqualsFrameByFrame() throws {
        let events = Fixtures.sampleEvents() + SyntheticJournal.events(count: 300, seed: 8, controlEvents: true)
        var single: [UInt8] = []
        for e in events { single += EventCodec.encode(e) }
        var batch: [UInt8] = [0xAA]  // appends after existing bytes
        EventCodec.encode(contentsOf: events, into: &batch)
        #expect(batch == [0xAA] + single)
        var empty: [UInt8] = []
        EventCodec.encode(contentsOf: [], into: &empty)
        #expect(empty.isEmpty)
    }
}
