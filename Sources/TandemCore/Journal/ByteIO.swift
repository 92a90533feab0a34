/// A destination for big-endian primitives. Layouts are written once, generically, and run
/// against three sinks: a growable `[UInt8]`, a ``SizeCounter`` (to size a frame exactly), and a
/// ``RawWriter`` that stores into pre-sized memory without per-byte capacity checks.
///
/// Public so that other modules' canonical layouts (the execution ledger's snapshot) write the same
/// primitives the same way; the two in-memory sinks stay internal.
public protocol ByteSink {
    mutating func put(_ v: UInt8)
    mutating func put(_ v: UInt16)
    mutating func put(_ v: UInt32)
    mutating func put(_ v: UInt64)
    /// u32 byte length, then UTF-8. Strings over 4 GiB are a programmer error (trap).
    mutating func put(_ s: String)
    /// u32 byte length, then the bytes.
    mutating func put(bytes: [UInt8])
}

extension ByteSink {
    @inline(__always) public mutating func put(_ v: Int64) { put(UInt64(bitPattern: v)) }
    @inline(__always) public mutating func put(_ v: Bool) { put(v ? UInt8(1) : UInt8(0)) }

    @inline(__always) public mutating func putOptional<T>(_ value: T?, _ write: (inout Self, T) -> Void) {
        if let value { put(true); write(&self, value) } else { put(false) }
    }
}

extension Array: ByteSink where Element == UInt8 {
    @inline(__always) public mutating func put(_ v: UInt8) { append(v) }
    @inline(__always) public mutating func put(_ v: UInt16) { Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) } }
    @inline(__always) public mutating func put(_ v: UInt32) { Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) } }
    @inline(__always) public mutating func put(_ v: UInt64) { Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) } }
    @inline(__always) public mutating func put(_ s: String) {
        put(UInt32(s.utf8.count))
        append(contentsOf: s.utf8)
    }
    @inline(__always) public mutating func put(bytes: [UInt8]) {
        put(UInt32(bytes.count))
        append(contentsOf: bytes)
    }
}

/// Counts the bytes a layout would write.
struct SizeCounter: ByteSink {
    var count = 0
    @inline(__always) mutating func put(_ v: UInt8) { count &+= 1 }
    @inline(__always) mutating func put(_ v: UInt16) { count &+= 2 }
    @inline(__always) mutating func put(_ v: UInt32) { count &+= 4 }
    @inline(__always) mutating func put(_ v: UInt64) { count &+= 8 }
    @inline(__always) mutating func put(_ s: String) { count &+= 4 &+ s.utf8.count }
    @inline(__always) mutating func put(bytes: [UInt8]) { count &+= 4 &+ bytes.count }
}

/// Stores into memory already sized by a ``SizeCounter`` pass over the same layout, so every
/// write is in bounds by construction.
struct RawWriter: ByteSink {
    let base: UnsafeMutableRawPointer
    var offset: Int

    @inline(__always) mutating func put(_ v: UInt8) {
        base.storeBytes(of: v, toByteOffset: offset, as: UInt8.self)
        offset &+= 1
    }
    @inline(__always) mutating func put(_ v: UInt16) {
        base.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt16.self)
        offset &+= 2
    }
    @inline(__always) mutating func put(_ v: UInt32) {
        base.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt32.self)
        offset &+= 4
    }
    @inline(__always) mutating func put(_ v: UInt64) {
        base.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt64.self)
        offset &+= 8
    }
    @inline(__always) mutating func put(_ s: String) {
        var s = s
        let n = s.utf8.count
        put(UInt32(n))
        s.withUTF8 { utf8 in
            if let src = utf8.baseAddress, n > 0 { (base + offset).copyMemory(from: src, byteCount: n) }
        }
        offset &+= n
    }
    @inline(__always) mutating func put(bytes: [UInt8]) {
        put(UInt32(bytes.count))
        bytes.withUnsafeBytes { src in
            if let p = src.baseAddress, !src.isEmpty { (base + offset).copyMemory(from: p, byteCount: src.count) }
        }
        offset &+= bytes.count
    }
}

/// A bounds-checked big-endian reader. Every read checks the remaining length first and throws a
/// ``CodecError`` naming the offset and the field; it never reads out of bounds or traps.
///
/// Other modules read through ``reading(_:_:)``, which keeps the buffer's pointer inside this module.
public struct ByteReader {
    let raw: UnsafeRawBufferPointer
    public internal(set) var offset: Int
    /// Added to `offset` in errors, so offsets are relative to the caller's whole buffer.
    let origin: Int

    init(_ raw: UnsafeRawBufferPointer, origin: Int = 0) {
        self.raw = raw
        self.offset = 0
        self.origin = origin
    }

    public var remaining: Int { raw.count - offset }

    /// Runs `body` with a reader over `bytes` (offsets in errors count from the first byte).
    public static func reading<T>(_ bytes: [UInt8], _ body: (inout ByteReader) throws(CodecError) -> T) throws(CodecError) -> T {
        let result: Result<T, CodecError> = bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            do throws(CodecError) { return .success(try body(&reader)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    func fail(_ code: CodecError.Code, _ message: String, at: Int? = nil) -> CodecError {
        CodecError(code, offset: origin + (at ?? offset), message)
    }

    @inline(__always) mutating func need(_ n: Int, _ field: StaticString, _ what: StaticString) throws(CodecError) {
        if remaining < n {
            throw fail(.truncated, "expected \(n) bytes for \(what) '\(field)', \(remaining) remain")
        }
    }

    @inline(__always) public mutating func u8(_ field: StaticString) throws(CodecError) -> UInt8 {
        try need(1, field, "u8")
        defer { offset += 1 }
        return raw[offset]
    }

    @inline(__always) mutating func u16(_ field: StaticString) throws(CodecError) -> UInt16 {
        try need(2, field, "u16")
        defer { offset += 2 }
        return UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) public mutating func u32(_ field: StaticString) throws(CodecError) -> UInt32 {
        try need(4, field, "u32")
        defer { offset += 4 }
        return UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always) public mutating func u64(_ field: StaticString) throws(CodecError) -> UInt64 {
        try need(8, field, "u64")
        defer { offset += 8 }
        return UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always) public mutating func i64(_ field: StaticString) throws(CodecError) -> Int64 {
        try need(8, field, "i64")
        defer { offset += 8 }
        return Int64(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    public mutating func bool(_ field: StaticString) throws(CodecError) -> Bool {
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

    public mutating func string(_ field: StaticString) throws(CodecError) -> String {
        let range = try run(field, "UTF-8")
        let slice = UnsafeRawBufferPointer(rebasing: raw[range]).assumingMemoryBound(to: UInt8.self)
        var high: UInt8 = 0
        for b in slice { high |= b }
        if high < 0x80 { return String(decoding: slice, as: UTF8.self) }  // ASCII is valid UTF-8
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw fail(.invalidValue, "string '\(field)' is not valid UTF-8", at: range.lowerBound)
        }
        return s
    }

    public mutating func bytes(_ field: StaticString) throws(CodecError) -> [UInt8] {
        let range = try run(field, "bytes")
        return Array(UnsafeRawBufferPointer(rebasing: raw[range]))
    }
}
