/// Exact conversion between decimal text and a signed count of 10⁻ˢᶜᵃˡᵉ units.
///
/// Grammar: `-?[0-9]+(\.[0-9]+)?`. No exponent, whitespace, grouping or leading `+`; digits past
/// the scale are accepted only when they are zeros, so parsing never rounds.
@usableFromInline
enum DecimalText {
    static let powersOfTen: [Int64] = (0...18).map { n in (0..<n).reduce(Int64(1)) { acc, _ in acc * 10 } }

    static func parse(_ text: String, scale: Int, type: StaticString) throws(ArithmeticError) -> Int64 {
        var contiguous = text
        contiguous.makeContiguousUTF8()
        switch parseUnits(contiguous.utf8.span, scale: scale) {
        case .success(let units): return units
        case .failure(let code): throw describe(code, text, scale, type)
        }
    }

    /// The same grammar over ASCII bytes (a FIX field, a CSV cell), without building a String.
    @usableFromInline
    static func parse(_ bytes: Span<UInt8>, scale: Int, type: StaticString) throws(ArithmeticError) -> Int64 {
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

    /// Appends the canonical text as ASCII in one capacity step: the digits are formed with divisions
    /// by the constant 10 into a fixed buffer, then copied in order.
    @usableFromInline
    static func append(_ units: Int64, scale: Int, to out: inout [UInt8]) {
        let magnitude = units.magnitude
        let divisor = UInt64(powersOfTen[scale])
        var whole = magnitude / divisor
        var fraction = magnitude % divisor
        var fractionDigits = scale
        while fraction != 0 && fraction % 10 == 0 { fraction /= 10; fractionDigits -= 1 }
        // Reversed: fraction digits (with leading zeros), '.', whole digits, '-'. At most 1+19+1+18.
        var reversed = InlineArray<40, UInt8>(repeating: 0)
        var count = 0
        if fraction != 0 {
            for _ in 0..<fractionDigits {
                reversed[count] = 48 &+ UInt8(truncatingIfNeeded: fraction % 10)
                fraction /= 10
                count += 1
            }
            reversed[count] = UInt8(ascii: ".")
            count += 1
        }
        repeat {
            reversed[count] = 48 &+ UInt8(truncatingIfNeeded: whole % 10)
            whole /= 10
            count += 1
        } while whole > 0
        if units < 0 {
            reversed[count] = UInt8(ascii: "-")
            count += 1
        }
        out.append(addingCapacity: count) { span in
            var i = count
            while i > 0 { i -= 1; span.append(reversed[i]) }
        }
    }
}
