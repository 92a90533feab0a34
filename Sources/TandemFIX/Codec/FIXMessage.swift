import TandemCore

/// One field of a parsed frame: its tag and where its value lies in the frame's bytes.
///
/// Twelve bytes, no heap: a message's fields are one array over one byte buffer, and values are
/// decoded only when asked for.
public struct FIXField: Sendable, Hashable {
    @usableFromInline let rawTag: UInt32
    @usableFromInline let start: UInt32
    @usableFromInline let end: UInt32

    init(tag: Int, value: Range<Int>) {
        rawTag = UInt32(truncatingIfNeeded: tag)
        start = UInt32(truncatingIfNeeded: value.lowerBound)
        end = UInt32(truncatingIfNeeded: value.upperBound)
    }

    public var tag: Int { Int(rawTag) }
    /// Byte range of the value within ``FIXMessage/bytes``.
    public var valueRange: Range<Int> { Int(start)..<Int(end) }
}

/// A checksum- and length-verified FIX frame, tokenized into fields but otherwise undecoded.
///
/// Build one with ``FIXParser/parse(_:)``. Typed messages read from it (`NewOrderSingle(parsing:)`);
/// the session reads only the header. Unknown message types stay usable through the field accessors.
public struct FIXMessage: Sendable {
    /// The whole frame, `8=` through the CheckSum's SOH.
    public let bytes: [UInt8]
    /// Every field after BodyLength(9) and before CheckSum(10), in wire order; the first is MsgType(35).
    public let fields: [FIXField]
    public let msgType: MsgType

    init(bytes: [UInt8], fields: [FIXField], msgType: MsgType) {
        self.bytes = bytes
        self.fields = fields
        self.msgType = msgType
    }

    /// The first field with `tag`.
    public func field(_ tag: Int) -> FIXField? {
        let t = UInt32(truncatingIfNeeded: tag)
        for f in fields where f.rawTag == t { return f }
        return nil
    }

    public func value(_ tag: Int) -> ArraySlice<UInt8>? { field(tag).map { bytes[$0.valueRange] } }

    public func string(_ tag: Int) -> String? { field(tag).map(string) }

    public func string(_ f: FIXField) -> String { String(decoding: bytes[f.valueRange], as: UTF8.self) }

    public func int(_ f: FIXField) throws(FIXError) -> Int {
        guard let v = FIXValues.parseInt(bytes, f.valueRange) else { throw bad(f, "is not a non-negative integer") }
        return v
    }

    public func int(_ tag: Int) throws(FIXError) -> Int? {
        guard let f = field(tag) else { return nil }
        return try int(f)
    }

    public func bool(_ f: FIXField) throws(FIXError) -> Bool {
        let r = f.valueRange
        guard r.count == 1 else { throw bad(f, "is not Y or N") }
        switch bytes[r.lowerBound] {
        case UInt8(ascii: "Y"): return true
        case UInt8(ascii: "N"): return false
        default: throw bad(f, "is not Y or N")
        }
    }

    public func bool(_ tag: Int) throws(FIXError) -> Bool? {
        guard let f = field(tag) else { return nil }
        return try bool(f)
    }

    /// A single-character value (enumerations such as Side or OrdStatus).
    public func char(_ f: FIXField) throws(FIXError) -> UInt8 {
        guard f.valueRange.count == 1 else { throw bad(f, "is not a single character") }
        return bytes[f.valueRange.lowerBound]
    }

    public func fixedPoint<T: FixedPoint>(_ f: FIXField, as: T.Type = T.self) throws(FIXError) -> T {
        do {
            return try T(decimalText: bytes.span.extracting(f.valueRange))
        } catch {
            throw bad(f, "is not exact decimal text within \(T.typeName)'s \(T.scale) places and 64-bit range")
        }
    }

    public func timestamp(_ f: FIXField) throws(FIXError) -> Timestamp {
        guard let t = FIXValues.parseTimestamp(bytes, f.valueRange) else {
            throw bad(f, "is not a UTCTimestamp YYYYMMDD-HH:MM:SS[.fff]")
        }
        return t
    }

    public func timestamp(_ tag: Int) throws(FIXError) -> Timestamp? {
        guard let f = field(tag) else { return nil }
        return try timestamp(f)
    }

    // MARK: Header

    public var msgSeqNum: Int? { (try? int(34)) ?? nil }
    public var senderCompID: String? { string(49) }
    /// Whether the field `tag` is present and its value equals `text`, as `string(tag) == text` would
    /// say, without building a `String` on the usual paths (equal bytes; or unequal ASCII of the same
    /// length): the session checks both CompIDs of every message. Anything else takes the `String`
    /// comparison (canonical equivalence).
    func value(_ tag: Int, equals text: String) -> Bool {
        guard let f = field(tag) else { return false }
        let r = f.valueRange
        if text.utf8.count == r.count {
            var i = r.lowerBound
            var same = true
            var ascii = true
            for c in text.utf8 {
                let b = bytes[i]
                if b != c { same = false }
                if (b | c) >= 0x80 { ascii = false }
                i += 1
            }
            if same { return true }
            if ascii { return false }
        }
        return string(f) == text
    }
    public var targetCompID: String? { string(56) }
    public var possDupFlag: Bool { ((try? bool(43)) ?? nil) ?? false }

    func bad(_ f: FIXField, _ why: String) -> FIXError {
        let shown = String(decoding: bytes[f.valueRange].prefix(40), as: UTF8.self)
        return FIXError(.badValue, tag: f.tag, offset: f.valueRange.lowerBound, "tag \(f.tag) value \"\(shown)\" \(why)")
    }

    func missing(_ tag: Int) -> FIXError {
        FIXError(.missingRequiredTag, tag: tag, "\(msgType) message lacks required tag \(tag)")
    }
}
