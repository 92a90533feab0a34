/// A FIX message or byte stream that could not be read, with where and why.
///
/// Every parse path returns one of these instead of trapping. `tag` and `offset` locate the fault
/// in the frame (byte offset from the frame's first byte) when it has a location.
public struct FIXError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: UInt8, Sendable, Hashable, CaseIterable {
        /// CheckSum(10) does not match the byte sum of the frame.
        case badChecksum
        /// BodyLength(9) is missing, not a number, or does not end where CheckSum(10) starts.
        case badBodyLength
        /// BeginString(8) is not the first field or is not `FIX.4.4`.
        case badBeginString
        /// A tag the message type requires is absent.
        case missingRequiredTag
        /// A field has no `=` before its SOH.
        case malformedField
        /// A tag is empty, not decimal digits, or out of range.
        case nonNumericTag
        /// A field has `=` but no value (FIX "tag specified without a value").
        case emptyValue
        /// The frame ends before its declared length or before a field's SOH.
        case truncated
        /// Bytes between frames that do not start with `8=FIX`.
        case garbage
        /// A value is present but not valid for its tag (format or range).
        case badValue
        /// A declared BodyLength exceeds the configured maximum frame size.
        case frameTooLarge
    }

    public var code: Code
    /// The tag at fault, when there is one.
    public var tag: Int?
    /// Byte offset from the first byte of the frame (or of the stream buffer, for `garbage`).
    public var offset: Int?
    /// What was wrong, where, and why.
    public var message: String

    public init(_ code: Code, tag: Int? = nil, offset: Int? = nil, _ message: String) {
        self.code = code
        self.tag = tag
        self.offset = offset
        self.message = message
    }

    /// True when FIX says to ignore the message (garbled: framing or checksum), rather than Reject it.
    public var isGarbled: Bool {
        switch code {
        case .badChecksum, .badBodyLength, .badBeginString, .truncated, .garbage, .frameTooLarge: true
        case .missingRequiredTag, .malformedField, .nonNumericTag, .emptyValue, .badValue: false
        }
    }

    /// SessionRejectReason(373) for a Reject(3) answering this error.
    public var sessionRejectReason: Int {
        switch code {
        case .missingRequiredTag: 1
        case .emptyValue: 4
        case .badValue: 5
        case .malformedField, .nonNumericTag: 0
        case .badChecksum, .badBodyLength, .badBeginString, .truncated, .garbage, .frameTooLarge: 99
        }
    }

    public var description: String {
        var s = "FIXError.\(code)"
        if let tag { s += " tag \(tag)" }
        if let offset { s += " at byte \(offset)" }
        return s + ": " + message
    }
}
