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
public struct FIXWriter: Sendable {
    public internal(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always) mutating func tag(_ tag: Int) {
        FIXValues.appendUInt(UInt(truncatingIfNeeded: tag), to: &bytes)
        bytes.append(FIXValues.equals)
    }

    public mutating func append(_ tag: Int, _ value: String) {
        self.tag(tag)
        bytes.append(contentsOf: value.utf8)
        bytes.append(FIXValues.soh)
    }

    public mutating func append(_ tag: Int, bytes value: some Collection<UInt8>) {
        self.tag(tag)
        bytes.append(contentsOf: value)
        bytes.append(FIXValues.soh)
    }

    public mutating func append(_ tag: Int, _ value: Int) {
        self.tag(tag)
        FIXValues.appendInt(value, to: &bytes)
        bytes.append(FIXValues.soh)
    }

    public mutating func append(_ tag: Int, char value: UInt8) {
        self.tag(tag)
        bytes.append(value)
        bytes.append(FIXValues.soh)
    }

    public mutating func append(_ tag: Int, _ value: Bool) {
        append(tag, char: value ? UInt8(ascii: "Y") : UInt8(ascii: "N"))
    }

    public mutating func append<T: FixedPoint>(_ tag: Int, _ value: T) {
        self.tag(tag)
        value.appendDecimalText(to: &bytes)
        bytes.append(FIXValues.soh)
    }

    public mutating func append(_ tag: Int, _ value: Timestamp) {
        self.tag(tag)
        FIXValues.appendTimestamp(value, to: &bytes)
        bytes.append(FIXValues.soh)
    }

    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }
}

/// Builds complete frames. Keep one per connection/thread: it reuses its scratch buffer.
public struct FIXEncoder: Sendable {
    private var body = FIXWriter(capacity: 512)

    public init() {}

    /// Appends one complete frame to `out`.
    public mutating func encode<Body: FIXMessageBody>(_ message: Body, header: FIXHeader, into out: inout [UInt8]) {
        body.removeAll()
        body.append(35, message.msgType.wireValue)
        writeHeader(header)
        message.encodeBody(into: &body)
        Self.frame(body.bytes, into: &out)
    }

    public mutating func encode<Body: FIXMessageBody>(_ message: Body, header: FIXHeader) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.bytes.count + 32)
        encode(message, header: header, into: &out)
        return out
    }

    /// Re-frames a parsed message under a new header, keeping its MsgType and every body field
    /// verbatim: this is how stored messages are resent with PossDupFlag=Y.
    public mutating func reframe(_ message: FIXMessage, header: FIXHeader) -> [UInt8] {
        body.removeAll()
        body.append(35, bytes: message.bytes[message.fields[0].valueRange])
        writeHeader(header)
        for f in message.fields.dropFirst() where !Self.headerTags.contains(f.tag) {
            body.append(f.tag, bytes: message.bytes[f.valueRange])
        }
        var out: [UInt8] = []
        Self.frame(body.bytes, into: &out)
        return out
    }

    static let headerTags: Set<Int> = [34, 43, 49, 52, 56, 97, 122]

    private mutating func writeHeader(_ h: FIXHeader) {
        body.append(49, h.senderCompID)
        body.append(56, h.targetCompID)
        body.append(34, h.msgSeqNum)
        body.append(52, h.sendingTime)
        if h.possDupFlag { body.append(43, true) }
        if h.possResend { body.append(97, true) }
        if let t = h.origSendingTime { body.append(122, t) }
    }

    private static let prefix: [UInt8] = Array("8=FIX.4.4\u{1}9=".utf8)

    private static func frame(_ body: [UInt8], into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: prefix)
        FIXValues.appendUInt(UInt(body.count), to: &out)
        out.append(FIXValues.soh)
        out.append(contentsOf: body)
        var sum = 0
        for k in start..<out.count { sum &+= Int(out[k]) }
        let c = sum & 0xFF
        out.append(UInt8(ascii: "1")); out.append(UInt8(ascii: "0")); out.append(FIXValues.equals)
        out.append(48 &+ UInt8(c / 100)); out.append(48 &+ UInt8(c / 10 % 10)); out.append(48 &+ UInt8(c % 10))
        out.append(FIXValues.soh)
    }
}
