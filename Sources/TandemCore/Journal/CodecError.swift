/// Bytes that are not a valid encoding: truncated, corrupt, or from an unknown version or kind.
///
/// `offset` is the byte position (from the start of the buffer given to the decoder) where the
/// problem was found; `message` says what was expected there.
public struct CodecError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: UInt8, Sendable, Hashable {
        /// The input ended before a field was complete.
        case truncated
        /// The format version byte is not one this build reads.
        case unsupportedVersion
        /// The event kind tag is not a known ``JournalEventKind``.
        case unknownKind
        /// The frame's length prefix disagrees with the bytes present.
        case lengthMismatch
        /// A field holds a value outside its domain (enum tag, currency, ratio, UTF-8).
        case invalidValue
        /// A snapshot does not start with the snapshot magic.
        case badMagic
    }

    public var code: Code
    public var offset: Int
    public var message: String

    public init(_ code: Code, offset: Int, _ message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String { "CodecError.\(code) at offset \(offset): \(message)" }
}
