/// A text value (an ID, a symbol, free text) as the hot typed messages store it: up to 15 ASCII
/// bytes inline in two words, anything longer or not ASCII as a `String`.
///
/// Reading a short ID from a frame is then two word loads and a mask, with no `String` built and
/// no reference count touched; the `String` is formed when a caller asks for it (about 20 ns, each
/// time it is asked for). Writing one back is a copy of its bytes.
///
/// Equality and hashing are those of the `String` (canonical equivalence included): two inline
/// values compare as bytes, which for ASCII is the same thing; anything involving a `String`
/// compares and hashes as `String`s.
struct FIXText: Sendable, Hashable, CustomStringConvertible {
    private enum Storage: Sendable {
        /// Bytes 0–7 in `low`, 8–14 in the low seven bytes of `high`, the count in its top byte.
        case inline(low: UInt64, high: UInt64)
        case string(String)
    }

    private var storage: Storage

    static let inlineCapacity = 15

    /// The empty text.
    static var empty: FIXText { FIXText(inline: 0, 0) }

    private init(inline low: UInt64, _ high: UInt64) { storage = .inline(low: low, high: high) }

    init(_ string: String) { storage = Self.storage(string) }

    /// Inline when ASCII and at most 15 bytes, so a given text has one representation.
    private static func storage(_ string: String) -> Storage {
        // Through the UTF-8 `Span` (contiguous for native and small strings): the enumerated
        // `UTF8View` iteration this replaces was ≈ 1.4 % of the FIX round trip's loop.
        let utf8 = string.utf8.span
        let count = utf8.count
        guard count <= inlineCapacity else { return .string(string) }
        var low: UInt64 = 0, high: UInt64 = 0, any: UInt8 = 0
        for i in 0..<count {
            let b = utf8[i]
            any |= b
            if i < 8 { low |= UInt64(b) &<< UInt64(8 * i) } else { high |= UInt64(b) &<< UInt64(8 * (i - 8)) }
        }
        guard any < 0x80 else { return .string(string) }
        return .inline(low: low, high: high | UInt64(count) &<< 56)
    }

    /// `bytes[range]` as UTF-8 (invalid sequences repaired, as `String(decoding:as:)` does).
    /// Short ASCII values are read as two words, which needs 16 bytes from the range's start (a
    /// parsed frame's body always has them: CheckSum follows it); otherwise through a `String`.
    init(_ bytes: borrowing [UInt8], _ range: Range<Int>) {
        let count = range.count
        let start = range.lowerBound
        let span = bytes.span
        if count <= Self.inlineCapacity, start >= 0, start <= span.count - 16 {
            let lowMask = count >= 8 ? UInt64.max : (1 &<< UInt64(8 * count)) &- 1
            let highMask = count <= 8 ? 0 : (1 &<< UInt64(8 * (count - 8))) &- 1
            let low = FIXWord.load(span, start) & lowMask
            let high = FIXWord.load(span, start + 8) & highMask
            if (low | high) & 0x8080_8080_8080_8080 == 0 {
                storage = .inline(low: low, high: high | UInt64(count) &<< 56)
                return
            }
        }
        storage = Self.storage(String(decoding: bytes[range], as: UTF8.self))
    }

    var string: String {
        switch storage {
        case .string(let s):
            return s
        case .inline(let low, let high):
            let count = Int(high >> 56)
            // The one unsafe step: `String(unsafeUninitializedCapacity:)` hands out a buffer to
            // fill, the cheapest public way to make a small String (≈ 18 ns, against ≈ 22 ns for
            // `String(decoding:)` and ≈ 28 ns through `UTF8Span`). Only indices below `count`
            // (≤ 15, the capacity asked for) are written.
            return String(unsafeUninitializedCapacity: count) { buffer in
                for i in 0..<count {
                    buffer[i] = UInt8(truncatingIfNeeded: i < 8 ? low >> UInt64(8 * i) : high >> UInt64(8 * (i - 8)))
                }
                return count
            }
        }
    }

    var description: String { string }

    /// Appends the UTF-8 bytes (a field writer has reserved `utf8Count` of them).
    @inline(__always)
    func write(to out: inout OutputSpan<UInt8>) {
        switch storage {
        case .string(let s):
            FIXValues.write(s, to: &out)
        case .inline(let low, let high):
            let count = Int(high >> 56)
            var word = low
            for i in 0..<count {
                if i == 8 { word = high }
                out.append(UInt8(truncatingIfNeeded: word))
                word &>>= 8
            }
        }
    }

    var utf8Count: Int {
        switch storage {
        case .string(let s): s.utf8.count
        case .inline(_, let high): Int(high >> 56)
        }
    }

    static func == (a: FIXText, b: FIXText) -> Bool {
        if case .inline(let al, let ah) = a.storage, case .inline(let bl, let bh) = b.storage {
            return al == bl && ah == bh
        }
        return a.string == b.string
    }

    func hash(into hasher: inout Hasher) { hasher.combine(string) }
}

extension FIXMessage {
    /// A text field as ``FIXText``: no `String` built for short ASCII values.
    func text(_ f: FIXField) -> FIXText { FIXText(bytes, f.valueRange) }
}

extension FIXWriter {
    mutating func append(_ tag: Int, _ value: FIXText) {
        field(tag, maxValueLength: value.utf8Count) { out in value.write(to: &out) }
    }
}
