/// Reads one complete FIX 4.4 frame into a ``FIXMessage``.
///
/// Framing is checked first (BeginString, BodyLength, CheckSum) so a garbled frame is reported as
/// such — FIX says to ignore those — before any field-level fault, which FIX answers with Reject.
/// One allocation per message (the field array, sized once from BodyLength), none per field.
public enum FIXParser {
    public static let beginString: [UInt8] = Array("FIX.4.4".utf8)

    public static func parse(_ bytes: [UInt8]) throws(FIXError) -> FIXMessage {
        let s = bytes.span
        let n = s.count
        let soh = FIXValues.soh
        // `8=FIX.4.4␁`, checked byte by byte; anything else takes the general path for its error.
        let i: Int
        if n >= 10, s[0] == 0x38, s[1] == 0x3D, s[2] == 0x46, s[3] == 0x49, s[4] == 0x58, s[5] == 0x2E,
           s[6] == 0x34, s[7] == 0x2E, s[8] == 0x34, s[9] == soh {
            i = 10
        } else {
            i = try beginStringEnd(bytes)
        }
        guard i + 1 < n, s[i] == UInt8(ascii: "9"), s[i + 1] == FIXValues.equals else {
            throw FIXError(.badBodyLength, tag: 9, offset: i, "BodyLength(9) is not the second field")
        }
        let lenStart = i + 2
        var j = lenStart
        var bodyLength = 0
        var lengthIsNumber = true
        while j < n {
            let b = s[j]
            if b == soh { break }
            let d = b &- 48
            if d >= 10 { lengthIsNumber = false } else { bodyLength = bodyLength &* 10 &+ Int(d) }
            j += 1
        }
        guard j < n else { throw FIXError(.truncated, tag: 9, offset: n, "frame ends inside BodyLength(9)") }
        guard lengthIsNumber, j > lenStart, j - lenStart <= 9 else {
            throw FIXError(.badBodyLength, tag: 9, offset: lenStart, "BodyLength(9) is not a number")
        }
        let bodyStart = j + 1
        let trailer = bodyStart + bodyLength
        let looksTerminated = n >= bodyStart + 7 && s[n - 1] == soh && s[n - 7] == UInt8(ascii: "1")
            && s[n - 6] == UInt8(ascii: "0") && s[n - 5] == FIXValues.equals
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
        let c0 = s[n - 4] &- 48, c1 = s[n - 3] &- 48, c2 = s[n - 2] &- 48
        guard c0 < 10, c1 < 10, c2 < 10 else {
            throw FIXError(.badChecksum, tag: 10, offset: n - 4, "CheckSum(10) is not three digits")
        }
        let declared = Int(c0) * 100 + Int(c1) * 10 + Int(c2)
        let sum = FIXValues.byteSum(s.extracting(0..<trailer))
        guard sum & 0xFF == declared else {
            throw FIXError(.badChecksum, tag: 10, offset: n - 4, "CheckSum is \(declared), computed \(sum & 0xFF)")
        }

        // Every field takes at least 4 bytes (`t=v␁`), so this capacity is never exceeded.
        // (`reserveCapacity` then `append(addingCapacity:)` rather than `Array(capacity:initializingWith:)`,
        // whose allocation goes through an unspecialised runtime metadata lookup.)
        let capacity = bodyLength / 4 + 1
        var fields: [FIXField] = []
        fields.reserveCapacity(capacity)
        try fields.append(addingCapacity: capacity) { (out: inout OutputSpan<FIXField>) throws(FIXError) in
            try tokenize(bytes.span, from: bodyStart, trailer: trailer, into: &out)
        }
        guard let first = fields.first, first.tag == 35 else {
            throw FIXError(.missingRequiredTag, tag: 35, offset: bodyStart, "MsgType(35) is not the third field")
        }
        return FIXMessage(bytes: bytes, fields: fields, msgType: MsgType(bytes, first.valueRange))
    }

    /// Splits the body `frame[start..<trailer]` into fields.
    ///
    /// The SOH positions of 64 bytes at a time are found first, as a bit mask built from eight-byte
    /// words; each field then runs from the previous SOH to the next one, so finding a field's end
    /// does not wait on reading its tag. A field whose tag is 1–4 digits followed by `=` is read
    /// from its first word; anything else — longer tags, every malformed field — is re-read byte by
    /// byte by ``field(_:at:trailer:)``, which gives the exact error. The frame runs 7 bytes past
    /// `trailer` (`10=nnn␁`), so a word loaded at any body offset lies inside it.
    @inline(__always)
    private static func tokenize(_ frame: Span<UInt8>, from start: Int, trailer: Int, into out: inout OutputSpan<FIXField>) throws(FIXError) {
        var p = start
        var chunk = start
        var base = start
        var ends: UInt64 = 0
        while p < trailer {
            while ends == 0, chunk < trailer {
                base = chunk
                ends = sohMask(frame, at: chunk, limit: trailer)
                chunk &+= 64
            }
            guard ends != 0 else { break }  // no SOH left: `field` below throws the exact fault
            let end = base &+ ends.trailingZeroBitCount
            ends &= ends &- 1
            let w = FIXWord.load(frame, p)
            let digits = FIXWord.leadingDigits(w)
            if UInt(bitPattern: digits &- 1) < 4, FIXWord.byte(w, digits) == FIXValues.equals, p &+ digits &+ 1 < end {
                let tag = FIXWord.fourDigitsValue(w, count: digits)
                if tag > 0 {
                    out.append(FIXField(tag: tag, value: (p &+ digits &+ 1)..<end))
                    p = end &+ 1
                    continue
                }
            }
            let f = try field(frame, at: p, trailer: trailer)
            assert(Int(f.end) == end)
            out.append(f)
            p = end &+ 1
        }
        if p < trailer { out.append(try field(frame, at: p, trailer: trailer)) }
    }

    /// Bit k set where `frame[at + k]` is SOH, for `at + k < limit` (k < 64).
    @inline(__always)
    private static func sohMask(_ frame: Span<UInt8>, at: Int, limit: Int) -> UInt64 {
        var mask: UInt64 = 0
        var k = 0
        while k < 64, at + k < limit {
            mask |= FIXWord.matchBits(FIXWord.load(frame, at + k), FIXValues.soh) &<< UInt64(k)
            k += 8
        }
        let span = limit - at
        if span < 64 { mask &= (1 &<< UInt64(span)) &- 1 }
        return mask
    }

    /// One field read byte by byte from `p`: the reference grammar and its errors.
    private static func field(_ frame: Span<UInt8>, at start: Int, trailer: Int) throws(FIXError) -> FIXField {
        let soh = FIXValues.soh
        var p = start
        let tagStart = p
        var tag = 0
        while p < trailer, frame[p] != FIXValues.equals, frame[p] != soh {
            let d = frame[p] &- 48
            guard d < 10 else {
                throw FIXError(.nonNumericTag, offset: p, "tag at byte \(tagStart) contains \(describe(frame[p]))")
            }
            tag = tag &* 10 &+ Int(d)
            guard p - tagStart < 9 else { throw FIXError(.nonNumericTag, offset: tagStart, "tag at byte \(tagStart) is longer than 9 digits") }
            p += 1
        }
        guard p < trailer, frame[p] == FIXValues.equals else {
            throw FIXError(.malformedField, tag: p > tagStart ? tag : nil, offset: tagStart, "field at byte \(tagStart) has no '='")
        }
        guard p > tagStart, tag > 0 else { throw FIXError(.nonNumericTag, offset: tagStart, "empty or zero tag at byte \(tagStart)") }
        p += 1
        let valueStart = p
        while p < trailer, frame[p] != soh { p += 1 }
        guard p < trailer else { throw FIXError(.truncated, tag: tag, offset: valueStart, "tag \(tag) at byte \(tagStart) has no closing SOH before CheckSum") }
        guard p > valueStart else { throw FIXError(.emptyValue, tag: tag, offset: valueStart, "tag \(tag) at byte \(tagStart) has no value") }
        return FIXField(tag: tag, value: valueStart..<p)
    }

    /// The general BeginString check, for frames that do not start with exactly `8=FIX.4.4␁`:
    /// returns the offset after its SOH or throws the fault.
    private static func beginStringEnd(_ bytes: [UInt8]) throws(FIXError) -> Int {
        let n = bytes.count
        guard n >= 2, bytes[0] == UInt8(ascii: "8"), bytes[1] == FIXValues.equals else {
            throw FIXError(.badBeginString, tag: 8, offset: 0, "frame does not start with 8=")
        }
        var i = 2
        while i < n, bytes[i] != FIXValues.soh { i += 1 }
        guard i < n else { throw FIXError(.truncated, tag: 8, offset: n, "frame ends inside BeginString(8)") }
        guard bytes[2..<i].elementsEqual(beginString) else {
            throw FIXError(.badBeginString, tag: 8, offset: 2, "BeginString is \"\(String(decoding: bytes[2..<i].prefix(16), as: UTF8.self))\", expected FIX.4.4")
        }
        return i + 1
    }

    /// MsgSeqNum(34) read straight from frame bytes, for answering a frame that failed to parse
    /// with a Reject that names it. nil when absent or not a number.
    public static func peekMsgSeqNum(_ bytes: [UInt8]) -> Int? {
        var i = 0
        let n = bytes.count
        while i + 4 < n {
            if bytes[i] == FIXValues.soh, bytes[i + 1] == UInt8(ascii: "3"), bytes[i + 2] == UInt8(ascii: "4"), bytes[i + 3] == FIXValues.equals {
                var j = i + 4
                while j < n, bytes[j] != FIXValues.soh { j += 1 }
                return j - (i + 4) <= 18 ? FIXValues.parseInt(bytes, (i + 4)..<j) : nil
            }
            i += 1
        }
        return nil
    }

    private static func describe(_ b: UInt8) -> String {
        (0x21...0x7E).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }
}
