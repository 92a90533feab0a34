/// A currency or settlement asset code: 1–8 characters from `A–Z` and `0–9` (`USD`, `JPY`, `USDT`).
///
/// Stored packed in a `UInt64` (ASCII, left-aligned, zero-padded) so it hashes and compares as one word;
/// `rawValue` is also its stable wire form.
public struct Currency: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    /// Validates a packed code (used by decoding); nil unless it is 1–8 allowed characters, left-aligned.
    public init?(rawValue: UInt64) {
        guard rawValue != 0 else { return nil }
        var seenPad = false
        for shift in stride(from: 56, through: 0, by: -8) {
            let byte = UInt8(truncatingIfNeeded: rawValue >> UInt64(shift))
            if byte == 0 { seenPad = true; continue }
            if seenPad || !Currency.isAllowed(byte) { return nil }
        }
        self.rawValue = rawValue
    }

    public init?(code: String) {
        let bytes = Array(code.utf8)
        guard (1...8).contains(bytes.count), bytes.allSatisfy(Currency.isAllowed) else { return nil }
        var raw: UInt64 = 0
        for (i, b) in bytes.enumerated() { raw |= UInt64(b) << UInt64(56 - 8 * i) }
        self.rawValue = raw
    }

    private init(unchecked code: StaticString) {
        var raw: UInt64 = 0
        code.withUTF8Buffer { buf in
            for (i, b) in buf.enumerated() { raw |= UInt64(b) << UInt64(56 - 8 * i) }
        }
        self.rawValue = raw
    }

    private static func isAllowed(_ b: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }

    public var code: String {
        var bytes: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) {
            let byte = UInt8(truncatingIfNeeded: rawValue >> UInt64(shift))
            if byte != 0 { bytes.append(byte) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public var description: String { code }
    public static func < (lhs: Currency, rhs: Currency) -> Bool { lhs.rawValue < rhs.rawValue }

    public static let usd = Currency(unchecked: "USD")
    public static let eur = Currency(unchecked: "EUR")
    public static let gbp = Currency(unchecked: "GBP")
    public static let jpy = Currency(unchecked: "JPY")
    public static let chf = Currency(unchecked: "CHF")
    public static let usdt = Currency(unchecked: "USDT")
}
