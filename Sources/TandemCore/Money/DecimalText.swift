/// Exact conversion between decimal text and a signed count of 10⁻ˢᶜᵃˡᵉ units.
///
/// Grammar: `-?[0-9]+(\.[0-9]+)?`. No exponent, whitespace, grouping or leading `+`; digits past
/// the scale are accepted only when they are zeros, so parsing never rounds.
@usableFromInline
enum DecimalText {
    static let powersOfTen: [Int64] = (0...18).map { n in (0..<n).reduce(Int64(1)) { acc, _ in acc * 10 } }

    /// 10ⁿ for 0 ≤ n ≤ 18, without a global's lazy initialisation: constant-folds when `n` is known.
    @inlinable @inline(__always)
    static func pow10(_ n: Int) -> Int64 {
        switch n {
        case 0: 1
        case 1: 10
        case 2: 100
        case 3: 1_000
        case 4: 10_000
        case 5: 100_000
        case 6: 1_000_000
        case 7: 10_000_000
        case 8: 100_000_000
        case 9: 1_000_000_000
        case 10: 10_000_000_000
        case 11: 100_000_000_000
        case 12: 1_000_000_000_000
        case 13: 10_000_000_000_000
        case 14: 100_000_000_000_000
        case 15: 1_000_000_000_000_000
        case 16: 10_000_000_000_000_000
        case 17: 100_000_000_000_000_000
        default: 1_000_000_000_000_000_000
        }
    }

    static func parse(_ text: String, scale: Int, type: StaticString) throws(ArithmeticError) -> Int64 {
        var contiguous = text
        contiguous.makeContiguousUTF8()
        switch parseUnits(contiguous.utf8.span, scale: scale) {
        case .success(let units): return units
        case .failure(let code): throw describe(code, text, scale, type)
        }
    }

    /// The same grammar over ASCII bytes (a FIX field, a CSV cell), without building a String.
    ///
    /// Inlined: text of at most 18 digits with no more fraction digits than the scale (prices and
    /// quantities as venues send them) is read without per-digit overflow checks; anything else —
    /// longer text, excess zeros, errors — goes through the fully checked reader.
    @inlinable
    static func parse(_ bytes: Span<UInt8>, scale: Int, type: StaticString) throws(ArithmeticError) -> Int64 {
        if let units = parseShort(bytes, scale: scale) { return units }
        return try parseChecked(bytes, scale: scale, type: type)
    }

    /// `-?[0-9]{1,18}` with an optional `.` and 1…`scale` fraction digits, at most 18 digits in all,
    /// whose units fit `Int64`; nil for anything else (the checked reader then decides).
    /// At most 18 digits accumulate below 10¹⁸, so only the final scaling can overflow.
    @inlinable @inline(__always)
    static func parseShort(_ b: Span<UInt8>, scale: Int) -> Int64? {
        let n = b.count
        guard n > 0, n <= 20 else { return nil }
        let negative = b[0] == UInt8(ascii: "-")
        var i = negative ? 1 : 0
        let intStart = i
        var acc: Int64 = 0
        while i < n {
            let d = b[i] &- 48
            if d >= 10 { break }
            acc = acc &* 10 &+ Int64(d)
            i += 1
        }
        var digits = i - intStart
        guard digits > 0 else { return nil }
        var fractionDigits = 0
        if i < n {
            guard b[i] == UInt8(ascii: ".") else { return nil }
            i += 1
            fractionDigits = n - i
            guard fractionDigits > 0, fractionDigits <= scale else { return nil }
            while i < n {
                let d = b[i] &- 48
                if d >= 10 { return nil }
                acc = acc &* 10 &+ Int64(d)
                i += 1
            }
            digits += fractionDigits
        }
        guard digits <= 18 else { return nil }
        let (units, overflow) = acc.multipliedReportingOverflow(by: pow10(scale - fractionDigits))
        if overflow { return nil }
        return negative ? -units : units
    }

    /// The full grammar with every check, and the error that names what is wrong.
    @usableFromInline
    static func parseChecked(_ bytes: Span<UInt8>, scale: Int, type: StaticString) throws(ArithmeticError) -> Int64 {
        switch parseUnits(bytes, scale: scale) {
        case .success(let units): return units
        case .failure(let code):
            var text: [UInt8] = []
            for i in bytes.indices.prefix(65) { text.append(bytes[i]) }
            throw describe(code, String(decoding: text, as: UTF8.self), scale, type)
        }
    }

    private static func describe(_ code: ArithmeticError.Code, _ text: String, _ scale: Int, _ type: StaticString) -> ArithmeticError {
        let shown = text.utf8.count > 64 ? String(text.prefix(64)) + "…" : text
        switch code {
        case .excessPrecision:
            return ArithmeticError(code, "\(type) \"\(shown)\" has non-zero digits beyond \(scale) decimal places")
        case .overflow:
            return ArithmeticError(code, "\(type) \"\(shown)\" is outside the 64-bit range at scale \(scale)")
        default:
            return ArithmeticError(.invalidDecimal, "\(type) \"\(shown)\" is not decimal text of the form -?digits[.digits]")
        }
    }

    /// Accumulates as a non-positive number so that `Int64.min` units parse.
    private enum Parsed { case success(Int64), failure(ArithmeticError.Code) }

    private static func parseUnits(_ bytes: Span<UInt8>, scale: Int) -> Parsed {
        var i = 0
        let n = bytes.count
        var negative = false
        if i < n, bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var acc: Int64 = 0
        var intDigits = 0
        while i < n, bytes[i] &- 48 < 10 {
            let d = Int64(bytes[i] &- 48)
            let (m, o1) = acc.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(d)
            if o1 || o2 { return .failure(.overflow) }
            acc = s
            i += 1
            intDigits += 1
        }
        if intDigits == 0 { return .failure(.invalidDecimal) }
        var fracDigits = 0
        if i < n {
            guard bytes[i] == UInt8(ascii: ".") else { return .failure(.invalidDecimal) }
            i += 1
            let start = i
            while i < n, bytes[i] &- 48 < 10 {
                let d = Int64(bytes[i] &- 48)
                if fracDigits < scale {
                    let (m, o1) = acc.multipliedReportingOverflow(by: 10)
                    let (s, o2) = m.subtractingReportingOverflow(d)
                    if o1 || o2 { return .failure(.overflow) }
                    acc = s
                    fracDigits += 1
                } else if d != 0 {
                    return .failure(.excessPrecision)
                }
                i += 1
            }
            if i == start || i != n { return .failure(.invalidDecimal) }
        }
        if fracDigits < scale {
            let (m, o) = acc.multipliedReportingOverflow(by: powersOfTen[scale - fracDigits])
            if o { return .failure(.overflow) }
            acc = m
        }
        if negative { return .success(acc) }
        if acc == .min { return .failure(.overflow) }
        return .success(-acc)
    }

    /// Canonical text: no trailing fractional zeros, no `.` for whole numbers, `-` only when negative.
    static func format(_ units: Int64, scale: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(units, scale: scale, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the canonical text as ASCII in one capacity step.
    @inlinable
    static func append(_ units: Int64, scale: Int, to out: inout [UInt8]) {
        out.append(addingCapacity: 24) { span in write(units, scale: scale, to: &span) }
    }

    /// Writes the canonical text into `out`, which must have room for it (at most 21 bytes).
    /// Digits are formed with divisions by constants (which compile to multiplications), eight at a
    /// time in a register, and appended in order: no scratch buffer to clear, no second pass.
    @inlinable
    static func write(_ units: Int64, scale: Int, to out: inout OutputSpan<UInt8>) {
        let magnitude = units.magnitude
        let divisor = UInt64(pow10(scale))
        let whole = magnitude / divisor
        var fraction = magnitude % divisor
        var fractionDigits = scale
        if fraction == 0 {
            fractionDigits = 0
        } else {
            while fraction % 10 == 0 { fraction /= 10; fractionDigits -= 1 }
        }
        if units < 0 { out.append(UInt8(ascii: "-")) }
        var wholeDigits = 1
        var bound: UInt64 = 10
        while wholeDigits < 20, whole >= bound { wholeDigits += 1; bound &*= 10 }
        writeDigits(whole, count: wholeDigits, to: &out)
        if fractionDigits > 0 {
            out.append(UInt8(ascii: "."))
            writeDigits(fraction, count: fractionDigits, to: &out)
        }
    }

    /// Exactly `count` (1…20) decimal digits of `v`, most significant first, zero-padded.
    @inlinable @inline(__always)
    static func writeDigits(_ v: UInt64, count: Int, to out: inout OutputSpan<UInt8>) {
        if count <= 8 {
            writeDigitWord(v, count: count, to: &out)
        } else if count <= 16 {
            writeDigitWord(v / 100_000_000, count: count - 8, to: &out)
            writeDigitWord(v % 100_000_000, count: 8, to: &out)
        } else {
            let high = v / 10_000_000_000_000_000, low = v % 10_000_000_000_000_000
            writeDigitWord(high, count: count - 16, to: &out)
            writeDigitWord(low / 100_000_000, count: 8, to: &out)
            writeDigitWord(low % 100_000_000, count: 8, to: &out)
        }
    }

    /// `count` (1…8) digits of `v` (< 10^count) built in one word, least significant digit first
    /// into the high end, so the word's bytes from the low end are the text in order.
    @inlinable @inline(__always)
    static func writeDigitWord(_ v: UInt64, count: Int, to out: inout OutputSpan<UInt8>) {
        var v = v
        var word: UInt64 = 0
        for _ in 0..<count {
            word = word &<< 8 | (48 &+ v % 10)
            v /= 10
        }
        for _ in 0..<count {
            out.append(UInt8(truncatingIfNeeded: word))
            word &>>= 8
        }
    }
}
