/// Big-endian primitive writers on a byte buffer; callers reserve capacity up front.
extension Array where Element == UInt8 {
    @inline(__always) mutating func put(_ v: UInt8) { append(v) }
    @inline(__always) mutating func put(_ v: UInt16) { Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) } }
    @inline(__always) mutating func put(_ v: UInt32) { Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) } }
    @inline(__always) mutating func put(_ v: UInt64) { Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) } }
    @inline(__always) mutating func put(_ v: Int64) { put(UInt64(bitPattern: v)) }
    @inline(__always) mutating func put(_ v: Bool) { append(v ? 1 : 0) }

    /// u32 byte length, then UTF-8. Strings over 4 GiB are a programmer error (trap).
    @inline(__always) mutating func put(_ s: String) {
        let utf8 = s.utf8
        put(UInt32(utf8.count))
        append(contentsOf: utf8)
    }

    /// u32 byte length, then the bytes.
    @inline(__always) mutating func put(bytes: [UInt8]) {
        put(UInt32(bytes.count))
        append(contentsOf: bytes)
    }

    /// Overwrites 4 bytes at `at` with `v` big-endian (for length prefixes written after the payload).
    @inline(__always) mutating func patch(_ v: UInt32, at: Int) {
        self[at] = UInt8(truncatingIfNeeded: v >> 24)
        self[at + 1] = UInt8(truncatingIfNeeded: v >> 16)
        self[at + 2] = UInt8(truncatingIfNeeded: v >> 8)
        self[at + 3] = UInt8(truncatingIfNeeded: v)
    }
}

/// A bounds-checked big-endian reader. Every read checks the remaining length first and throws a
/// ``CodecError`` naming the offset and the field; it never reads out of bounds or traps.
struct ByteReader {
    let raw: UnsafeRawBufferPointer
    var offset: Int
    /// Added to `offset` in errors, so offsets are relative to the caller's whole buffer.
    let origin: Int

    init(_ raw: UnsafeRawBufferPointer, origin: Int = 0) {
        self.raw = raw
        self.offset = 0
        self.origin = origin
    }

    var remaining: Int { raw.count - offset }

    func fail(_ code: CodecError.Code, _ message: String, at: Int? = nil) -> CodecError {
        CodecError(code, offset: origin + (at ?? offset), message)
    }

    @inline(__always) mutating func need(_ n: Int, _ field: StaticString, _ what: StaticString) throws(CodecError) {
        if remaining < n {
            throw fail(.truncated, "expected \(n) bytes for \(what) '\(field)', \(remaining) remain")
        }
    }

    @inline(__always) mutating func u8(_ field: StaticString) throws(CodecError) -> UInt8 {
        try need(1, field, "u8")
        defer { offset += 1 }
        return raw[offset]
    }

    @inline(__always) mutating func u16(_ field: StaticString) throws(CodecError) -> UInt16 {
        try need(2, field, "u16")
        defer { offset += 2 }
        return UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) mutating func u32(_ field: StaticString) throws(CodecError) -> UInt32 {
        try need(4, field, "u32")
        defer { offset += 4 }
        return UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always) mutating func u64(_ field: StaticString) throws(CodecError) -> UInt64 {
        try need(8, field, "u64")
        defer { offset += 8 }
        return UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always) mutating func i64(_ field: StaticString) throws(CodecError) -> Int64 {
        try need(8, field, "i64")
        defer { offset += 8 }
        return Int64(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    mutating func bool(_ field: StaticString) throws(CodecError) -> Bool {
        let start = offset
        switch try u8(field) {
        case 0: return false
        case 1: return true
        case let b: throw fail(.invalidValue, "expected 0 or 1 for bool '\(field)', found \(b)", at: start)
        }
    }

    /// u32-prefixed byte run; returns its range within `raw`.
    @inline(__always) mutating func run(_ field: StaticString, _ what: StaticString) throws(CodecError) -> Range<Int> {
        let length = Int(try u32(field))
        if remaining < length {
            throw fail(.truncated, "expected \(length) bytes of \(what) '\(field)', \(remaining) remain")
        }
        defer { offset += length }
        return offset..<(offset + length)
    }

    mutating func string(_ field: StaticString) throws(CodecError) -> String {
        let range = try run(field, "UTF-8")
        let slice = UnsafeRawBufferPointer(rebasing: raw[range])
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw fail(.invalidValue, "string '\(field)' is not valid UTF-8", at: range.lowerBound)
        }
        return s
    }

    mutating func bytes(_ field: StaticString) throws(CodecError) -> [UInt8] {
        let range = try run(field, "bytes")
        return Array(UnsafeRawBufferPointer(rebasing: raw[range]))
    }
}
