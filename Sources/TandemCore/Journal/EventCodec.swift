/// The canonical, versioned binary encoding of ``JournalEvent``.
///
/// Frame (all integers big-endian):
///
///     u8  version (= 1)  ·  u16 kind (JournalEventKind raw value)  ·  u32 payload length  ·  payload
///
/// Every payload starts with the event's timestamp (i64 ns). The layout of each kind is pinned by a
/// golden-bytes test and documented in docs/core.md; it never changes within a version. Decoding
/// checks every length and tag and throws ``CodecError`` (with the offset) on anything else; it
/// never traps on input.
public enum EventCodec {
    public static let version: UInt8 = 1
    /// Bytes before the payload.
    public static let headerSize = 7

    public static func encode(_ event: JournalEvent) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        encode(event, into: &out)
        return out
    }

    /// Appends one frame to `out` (reserve capacity once for many events).
    ///
    /// A counting pass sizes the frame; the frame is then stored straight into the array's new,
    /// uninitialized tail (`append(addingCapacity:)`, which grows geometrically), so bytes are
    /// neither zero-filled first nor capacity-checked one by one. The raw stores are sound because
    /// `RawWriter` runs the same layout code the counting pass measured, so it writes exactly
    /// `frameSize` bytes into a buffer of exactly that size, and the pointer does not outlive the
    /// closure.
    @inline(__always)
    public static func encode(_ event: JournalEvent, into out: inout [UInt8]) {
        var size = SizeCounter()
        writePayload(event, into: &size)
        let frameSize = headerSize + size.count
        out.append(addingCapacity: frameSize) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                guard let base = buffer.baseAddress, buffer.count >= frameSize else { return }
                var w = RawWriter(base: UnsafeMutableRawPointer(base), offset: 0)
                w.put(version)
                w.put(event.kind.rawValue)
                w.put(UInt32(size.count))
                writePayload(event, into: &w)
                initialized = frameSize
            }
        }
    }

    /// Appends one frame per event, in order (reserve capacity once). Equivalent to calling
    /// ``encode(_:into:)`` for each event, without copying each event out of the array first.
    public static func encode(contentsOf events: [JournalEvent], into out: inout [UInt8]) {
        for i in events.indices { encode(events[i], into: &out) }
    }

    public static func decode(_ bytes: [UInt8]) throws(CodecError) -> JournalEvent {
        try decode(bytes.span.bytes)
    }

    /// Offsets in errors are relative to the slice's start.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(CodecError) -> JournalEvent {
        try decode(bytes.span.bytes)
    }

    /// Decodes exactly one frame occupying all of `bytes`.
    public static func decode(_ bytes: Span<UInt8>) throws(CodecError) -> JournalEvent {
        try decode(bytes.bytes)
    }

    /// Decodes exactly one frame occupying all of `bytes`.
    public static func decode(_ bytes: RawSpan) throws(CodecError) -> JournalEvent {
        try withReader(bytes, from: 0) { r throws(CodecError) in
            let event = try decodeFrame(&r)
            if r.remaining != 0 {
                throw r.fail(.lengthMismatch, "expected end of input after one frame, \(r.remaining) bytes remain")
            }
            return event
        }
    }

    /// Decodes the frame starting at `offset` in a buffer of concatenated frames; returns the event
    /// and the offset just past it. Offsets in errors are relative to the buffer's start.
    public static func decodeFrame(in bytes: RawSpan, at offset: Int) throws(CodecError) -> (event: JournalEvent, next: Int) {
        guard offset >= 0, offset <= bytes.byteCount else {
            throw CodecError(.truncated, offset: offset, "frame offset \(offset) is outside a buffer of \(bytes.byteCount) bytes")
        }
        return try withReader(bytes, from: offset) { r throws(CodecError) in
            let event = try decodeFrame(&r)
            return (event, offset + r.offset)
        }
    }

    /// See ``decodeFrame(in:at:)-(RawSpan,_)``.
    public static func decodeFrame(in bytes: Span<UInt8>, at offset: Int) throws(CodecError) -> (event: JournalEvent, next: Int) {
        try decodeFrame(in: bytes.bytes, at: offset)
    }

    /// See ``decodeFrame(in:at:)-(RawSpan,_)``.
    public static func decodeFrame(in bytes: [UInt8], at offset: Int) throws(CodecError) -> (event: JournalEvent, next: Int) {
        try decodeFrame(in: bytes.span.bytes, at: offset)
    }

    /// Runs `body` with a ``ByteReader`` over `bytes[offset...]` (error offsets relative to `bytes`).
    ///
    /// The only unsafe step in decoding, kept here: the reader holds the span's base address for
    /// the duration of `body`, which cannot outlive this call (the pointer never escapes: the
    /// reader is a local `inout` value and every result is a copied Swift value), and every read
    /// through it is bounds-checked against the span's length by ``ByteReader``.
    @inline(__always)
    static func withReader<T>(
        _ bytes: RawSpan, from offset: Int, _ body: (inout ByteReader) throws(CodecError) -> T
    ) throws(CodecError) -> T {
        try bytes.withUnsafeBytes { raw throws(CodecError) in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[offset...]), origin: offset)
            return try body(&r)
        }
    }

    static func decodeFrame(_ r: inout ByteReader) throws(CodecError) -> JournalEvent {
        let v = try r.u8("version")
        guard v == version else {
            throw r.fail(.unsupportedVersion, "expected format version \(version), found \(v)", at: r.offset - 1)
        }
        let rawKind = try r.u16("kind")
        guard let kind = JournalEventKind(rawValue: rawKind) else {
            throw r.fail(.unknownKind, "expected a journal event kind 1–\(JournalEventKind.allCases.count), found \(rawKind)", at: r.offset - 2)
        }
        let length = Int(try r.u32("length"))
        guard length <= r.remaining else {
            throw r.fail(.truncated, "expected a \(kind.name) payload of \(length) bytes, \(r.remaining) remain")
        }
        let payloadStart = r.offset
        var p = ByteReader(UnsafeRawBufferPointer(rebasing: r.raw[payloadStart..<(payloadStart + length)]), origin: r.origin + payloadStart)
        let event = try readPayload(kind, &p)
        if p.remaining != 0 {
            throw p.fail(.lengthMismatch, "expected the \(kind.name) payload to end here, \(p.remaining) bytes remain")
        }
        r.offset = payloadStart + length
        return event
    }

    @inline(__always)
    static func writePayload<S: ByteSink>(_ event: JournalEvent, into out: inout S) {
        event.timestamp.write(to: &out)
        switch event {
        case .instrumentDefined(let i, _):
            i.write(to: &out)
        case .orderIntent(let e):
            e.request.write(to: &out)
            e.decision.write(to: &out)
        case .orderAcknowledged(let id, let venueID, _):
            id.write(to: &out)
            out.put(venueID)
        case .partialFill(let e), .fill(let e):
            e.clOrdID.write(to: &out)
            out.put(e.execID)
            e.quantity.write(to: &out)
            e.price.write(to: &out)
            e.fee.write(to: &out)
        case .cancelRequested(let id, _), .cancelAccepted(let id, _), .replaceAccepted(let id, _),
             .orderExpired(let id, _), .orderSuspended(let id, _), .orderResumed(let id, _):
            id.write(to: &out)
        case .cancelRejected(let id, let reason, _), .replaceRejected(let id, let reason, _),
             .orderRejected(let id, let reason, _):
            id.write(to: &out)
            out.put(reason)
        case .replaceRequested(let id, let replacement, _):
            id.write(to: &out)
            replacement.write(to: &out)
        case .fixSessionState(let e):
            out.put(e.sessionID)
            out.put(e.lastInboundSequence)
            out.put(e.lastOutboundSequence)
        case .fixOutboundMessage(let e):
            out.put(e.sessionID)
            out.put(e.sequence)
            out.put(bytes: e.raw)
        case .leaderElected(let epoch, let node, _):
            out.put(epoch)
            out.put(node)
        case .riskCommand(let e):
            e.action.write(to: &out)
            e.scope.write(to: &out)
            out.put(e.issuedBy)
            out.put(bytes: e.signature)
        case .reconciliationCorrection(let e):
            e.account.write(to: &out)
            e.instrument.write(to: &out)
            e.quantity.write(to: &out)
            e.price.write(to: &out)
            out.put(e.reason)
        case .snapshotMarker(let seq, _):
            out.put(seq)
        case .corporateAction(let e):
            e.instrument.write(to: &out)
            e.action.write(to: &out)
        case .riskModeChanged(let e):
            e.from.write(to: &out)
            e.to.write(to: &out)
            out.put(e.rule)
            out.put(e.reason)
        }
    }

    static func readPayload(_ kind: JournalEventKind, _ r: inout ByteReader) throws(CodecError) -> JournalEvent {
        let at = try Timestamp.read(&r)
        switch kind {
        case .instrumentDefined:
            return .instrumentDefined(try .read(&r), at: at)
        case .orderIntent:
            return .orderIntent(OrderIntent(request: try .read(&r), decision: try .read(&r), at: at))
        case .orderAcknowledged:
            return .orderAcknowledged(clOrdID: try .read(&r), venueOrderID: try r.string("venueOrderID"), at: at)
        case .partialFill, .fill:
            let e = Execution(clOrdID: try .read(&r), execID: try r.string("execID"), quantity: try .read(&r),
                              price: try .read(&r), fee: try .read(&r), at: at)
            return kind == .fill ? .fill(e) : .partialFill(e)
        case .cancelRequested: return .cancelRequested(clOrdID: try .read(&r), at: at)
        case .cancelAccepted: return .cancelAccepted(clOrdID: try .read(&r), at: at)
        case .replaceAccepted: return .replaceAccepted(clOrdID: try .read(&r), at: at)
        case .orderExpired: return .orderExpired(clOrdID: try .read(&r), at: at)
        case .orderSuspended: return .orderSuspended(clOrdID: try .read(&r), at: at)
        case .orderResumed: return .orderResumed(clOrdID: try .read(&r), at: at)
        case .cancelRejected: return .cancelRejected(clOrdID: try .read(&r), reason: try r.string("reason"), at: at)
        case .replaceRejected: return .replaceRejected(clOrdID: try .read(&r), reason: try r.string("reason"), at: at)
        case .orderRejected: return .orderRejected(clOrdID: try .read(&r), reason: try r.string("reason"), at: at)
        case .replaceRequested:
            return .replaceRequested(clOrdID: try .read(&r), replacement: try .read(&r), at: at)
        case .fixSessionState:
            return .fixSessionState(FixSessionState(sessionID: try r.string("sessionID"), lastInboundSequence: try r.u64("inbound"),
                                                    lastOutboundSequence: try r.u64("outbound"), at: at))
        case .fixOutboundMessage:
            return .fixOutboundMessage(FixOutboundMessage(sessionID: try r.string("sessionID"), sequence: try r.u64("sequence"),
                                                          raw: try r.bytes("raw"), at: at))
        case .leaderElected:
            return .leaderElected(epoch: try r.u64("epoch"), nodeID: try r.string("nodeID"), at: at)
        case .riskCommand:
            return .riskCommand(RiskCommand(action: try .read(&r), scope: try .read(&r), issuedBy: try r.string("issuedBy"),
                                            signature: try r.bytes("signature"), at: at))
        case .reconciliationCorrection:
            return .reconciliationCorrection(ReconciliationCorrection(
                account: try .read(&r), instrument: try .read(&r), quantity: try .read(&r), price: try .read(&r),
                reason: try r.string("reason"), at: at))
        case .snapshotMarker:
            return .snapshotMarker(journalSequence: try r.u64("journalSequence"), at: at)
        case .corporateAction:
            return .corporateAction(CorporateActionEvent(instrument: try .read(&r), action: try .read(&r), at: at))
        case .riskModeChanged:
            return .riskModeChanged(RiskModeChange(from: try .read(&r), to: try .read(&r), rule: try r.string("rule"),
                                                   reason: try r.string("reason"), at: at))
        }
    }
}
