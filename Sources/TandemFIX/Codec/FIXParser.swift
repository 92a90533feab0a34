/// Reads one complete FIX 4.4 frame into a ``FIXMessage``.
///
/// Framing is checked first (BeginString, BodyLength, CheckSum) so a garbled frame is reported as
/// such — FIX says to ignore those — before any field-level fault, which FIX answers with Reject.
/// One allocation per message (the field array), none per field.
public enum FIXParser {
    public static let beginString: [UInt8] = Array("FIX.4.4".utf8)

    public static func parse(_ bytes: [UInt8]) throws(FIXError) -> FIXMessage {
        let n = bytes.count
        let soh = FIXValues.soh
        guard n >= 2, bytes[0] == UInt8(ascii: "8"), bytes[1] == FIXValues.equals else {
            throw FIXError(.badBeginString, tag: 8, offset: 0, "frame does not start with 8=")
        }
        var i = 2
        while i < n, bytes[i] != soh { i += 1 }
        guard i < n else { throw FIXError(.truncated, tag: 8, offset: n, "frame ends inside BeginString(8)") }
        guard bytes[2..<i].elementsEqual(beginString) else {
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
