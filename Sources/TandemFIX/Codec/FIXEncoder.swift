import TandemCore

/// The standard header of an outbound message. BeginString, BodyLength and CheckSum are computed.
public struct FIXHeader: Sendable, Hashable {
    public var senderCompID: String
    public var targetCompID: String
    public var msgSeqNum: Int
    public var sendingTime: Timestamp
    public var possDupFlag: Bool
    public var possResend: Bool
    /// Required by FIX when `possDupFlag` is set: the SendingTime of the original transmission.
    public var origSendingTime: Timestamp?

    public init(senderCompID: String, targetCompID: String, msgSeqNum: Int, sendingTime: Timestamp,
                possDupFlag: Bool = false, possResend: Bool = false, origSendingTime: Timestamp? = nil) {
        self.senderCompID = senderCompID
        self.targetCompID = targetCompID
        self.msgSeqNum = msgSeqNum
        self.sendingTime = sendingTime
        self.possDupFlag = possDupFlag
        self.possResend = possResend
        self.origSendingTime = origSendingTime
    }
}

/// Appends `tag=value␁` fields to a body. Values are written as given: callers must not put SOH
/// in a string value (FIX forbids it outside data fields; this writer does not escape).
///
/// Each field is reserved and written in one step (`tag=`, value, SOH into one `OutputSpan`), so a
/// field costs one capacity check, not one per byte or per number. ``FIXMessageBody/encodeBody(into:)``
/// implementations only append: the encoder writes the frame around them in the same buffer.
public struct FIXWriter: Sendable {
    public internal(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// One field: `tag=`, then `value` writes at most `maxValueLength` bytes, then SOH.
    @inline(__always)
    mutating func field(_ tag: Int, maxValueLength: Int, _ value: (inout OutputSpan<UInt8>) -> Void) {
        bytes.append(addingCapacity: FIXValues.maxIntLength + 2 + maxValueLength) { out in
            FIXValues.writeTag(tag, to: &out)
            value(&out)
            out.append(FIXValues.soh)
        }
    }

    public mutating func append(_ tag: Int, _ value: String) {
        field(tag, maxValueLength: value.utf8.count) { out in FIXValues.write(value, to: &out) }
    }

    public mutating func append(_ tag: Int, bytes value: some Collection<UInt8>) {
        field(tag, maxValueLength: value.count) { out in for b in value { out.append(b) } }
    }

    /// Bytes of a parsed frame, copied without going through a generic collection.
    mutating func append(_ tag: Int, bytes value: Span<UInt8>) {
        field(tag, maxValueLength: value.count) { out in for i in value.indices { out.append(value[i]) } }
    }

    public mutating func append(_ tag: Int, _ value: Int) {
        field(tag, maxValueLength: FIXValues.maxIntLength) { out in FIXValues.writeInt(value, to: &out) }
    }

    public mutating func append(_ tag: Int, char value: UInt8) {
        field(tag, maxValueLength: 1) { out in out.append(value) }
    }

    public mutating func append(_ tag: Int, _ value: Bool) {
        append(tag, char: value ? UInt8(ascii: "Y") : UInt8(ascii: "N"))
    }

    public mutating func append<T: FixedPoint>(_ tag: Int, _ value: T) {
        field(tag, maxValueLength: T.maxDecimalTextLength) { out in value.appendDecimalText(to: &out) }
    }

    public mutating func append(_ tag: Int, _ value: Timestamp) {
        let (day, nanoOfDay) = FIXValues.utcDay(value)
        if day != cachedDay {
            cachedDate = FIXValues.dateWord(day: day)
            cachedDay = day
        }
        let date = cachedDate
        field(tag, maxValueLength: FIXValues.timestampLength) { out in
            FIXValues.writeTimestamp(date: date, nanoOfDay: nanoOfDay, to: &out)
        }
    }

    /// The last day written and its `YYYYMMDD`: consecutive messages on a connection share the
    /// date, so the calendar conversion runs once a day, not per timestamp.
    private var cachedDay: Int64 = .min
    private var cachedDate: UInt64 = 0

    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    // MARK: Framing, in place

    /// `8=FIX.4.4␁9=000␁`: BodyLength is a three-digit placeholder that ``finishFrame(_:)`` fills in
    /// (moving the body only when the length is not three digits). Returns where the frame starts.
    mutating func beginFrame() -> FrameMark {
        let start = bytes.count
        bytes.append(addingCapacity: 16) { out in
            out.append(UInt8(ascii: "8")); out.append(FIXValues.equals)
            out.append(UInt8(ascii: "F")); out.append(UInt8(ascii: "I")); out.append(UInt8(ascii: "X"))
            out.append(UInt8(ascii: ".")); out.append(UInt8(ascii: "4")); out.append(UInt8(ascii: "."))
            out.append(UInt8(ascii: "4")); out.append(FIXValues.soh)
            out.append(UInt8(ascii: "9")); out.append(FIXValues.equals)
            out.append(repeating: UInt8(ascii: "0"), count: 3); out.append(FIXValues.soh)
        }
        return FrameMark(start: start, lengthAt: start + 12, bodyStart: start + 16)
    }

    struct FrameMark {
        var start: Int
        var lengthAt: Int
        var bodyStart: Int
    }

    /// Writes BodyLength into its placeholder and appends `10=sum␁`.
    mutating func finishFrame(_ mark: FrameMark) {
        let bodyLength = bytes.count - mark.bodyStart
        var width = 3
        if bodyLength < 100 || bodyLength > 999 {
            width = bodyLength < 10 ? 1 : bodyLength < 100 ? 2 : 3
            var bound = 1000
            while bodyLength >= bound { width += 1; bound *= 10 }
            if width < 3 {
                bytes.removeSubrange(mark.lengthAt..<(mark.lengthAt + 3 - width))
            } else if width > 3 {
                bytes.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - 3), at: mark.lengthAt)
            }
        }
        var text = bytes.mutableSpan
        var v = bodyLength
        var i = mark.lengthAt + width
        repeat {
            i -= 1
            text[i] = 48 &+ UInt8(truncatingIfNeeded: v % 10)
            v /= 10
        } while i > mark.lengthAt
        let sum = FIXValues.byteSum(bytes.span.extracting(mark.start..<bytes.count)) & 0xFF
        bytes.append(addingCapacity: 7) { out in
            out.append(UInt8(ascii: "1")); out.append(UInt8(ascii: "0")); out.append(FIXValues.equals)
            out.append(48 &+ UInt8(truncatingIfNeeded: sum / 100))
            out.append(48 &+ UInt8(truncatingIfNeeded: sum / 10 % 10))
            out.append(48 &+ UInt8(truncatingIfNeeded: sum % 10))
            out.append(FIXValues.soh)
        }
    }
}

/// Builds complete frames. Keep one per connection/thread: it remembers the size of the last frame
/// to size the next one's buffer.
///
/// One pass, in the output buffer itself: `8=FIX.4.4␁9=000␁`, MsgType, the header and the body
/// are appended, then BodyLength is written into its placeholder and CheckSum summed over the frame.
public struct FIXEncoder: Sendable {
    private var writer = FIXWriter(capacity: 0)
    private var sizeHint = 256

    public init() {}

    /// Appends one complete frame to `out`.
    public mutating func encode<Body: FIXMessageBody>(_ message: Body, header: FIXHeader, into out: inout [UInt8]) {
        swap(&writer.bytes, &out)
        let mark = writer.beginFrame()
        writer.append(35, message.msgType)
        writeHeader(header)
        message.encodeBody(into: &writer)
        writer.finishFrame(mark)
        sizeHint = writer.bytes.count - mark.start
        swap(&writer.bytes, &out)
    }

    public mutating func encode<Body: FIXMessageBody>(_ message: Body, header: FIXHeader) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(sizeHint + 32)
        encode(message, header: header, into: &out)
        return out
    }

    /// Re-frames a parsed message under a new header, keeping its MsgType and every body field
    /// verbatim: this is how stored messages are resent with PossDupFlag=Y.
    public mutating func reframe(_ message: FIXMessage, header: FIXHeader) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.bytes.count + 64)
        swap(&writer.bytes, &out)
        let mark = writer.beginFrame()
        let source = message.bytes.span
        writer.append(35, bytes: source.extracting(message.fields[0].valueRange))
        writeHeader(header)
        for f in message.fields.dropFirst() where !Self.isHeaderTag(f.tag) {
            writer.append(f.tag, bytes: source.extracting(f.valueRange))
        }
        writer.finishFrame(mark)
        swap(&writer.bytes, &out)
        return out
    }

    static func isHeaderTag(_ tag: Int) -> Bool {
        switch tag {
        case 34, 43, 49, 52, 56, 97, 122: true
        default: false
        }
    }

    @inline(__always)
    private mutating func writeHeader(_ h: FIXHeader) {
        writer.append(49, h.senderCompID)
        writer.append(56, h.targetCompID)
        writer.append(34, h.msgSeqNum)
        writer.append(52, h.sendingTime)
        if h.possDupFlag { writer.append(43, true) }
        if h.possResend { writer.append(97, true) }
        if let t = h.origSendingTime { writer.append(122, t) }
    }
}
