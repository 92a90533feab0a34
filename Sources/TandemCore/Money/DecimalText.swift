/// Exact conversion between decimal text and a signed count of 10⁻ˢᶜᵃˡᵉ units.
///
/// Grammar: `-?[0-9]+(\.[0-9]+)?`. No exponent, whitespace, grouping or leading `+`; digits past
/// the scale are accepted only when they are zeros, so parsing never rounds.
enum DecimalText {
    static let powersOfTen: [Int64] = (0...18).map { n in (0..<n).reduce(Int64(1)) { acc, _ in acc * 10 } }

    static func parse(_ text: String, scale: Int, type: StaticString) throws(ArithmeticError) -> Int64 {
        var contiguous = text
        contiguous.makeContiguousUTF8()
        let result = contiguous.utf8.withContiguousStorageIfAvailable { parseUnits($0, scale: scale) }
            ?? Parsed.failure(.invalidDecimal)
        switch result {
        case .success(let units): return units
        case .failure(let code): throw describe(code, text, scale, type)
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

    private static func parseUnits(_ bytes: UnsafeBufferPointer<UInt8>, scale: Int) -> Parsed {
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
        let magnitude = units.magnitude
        let divisor = UInt64(powersOfTen[scale])
        let whole = magnitude / divisor
        var fraction = magnitude % divisor
        var text = units < 0 ? "-" : ""
        text += String(whole)
        guard fraction != 0 else { return text }
        var digits = scale
        while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        let fractionText = String(fraction)
        text += "."
        text += String(repeating: "0", count: digits - fractionText.utf8.count)
        text += fractionText
        return text
    }
}
