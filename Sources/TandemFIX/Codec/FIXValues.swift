import TandemCore

/// Byte-level conversions for FIX value types, so neither parse nor encode builds a `String` for a
/// number. Decimal text follows the core's grammar (`-?[0-9]+(\.[0-9]+)?`, exact, never rounded).
enum FIXValues {
    static let soh: UInt8 = 0x01
    static let equals: UInt8 = 0x3D

    /// Unsigned decimal integer; nil when empty, not all digits, or above `Int64.max`.
    static func parseInt(_ b: borrowing [UInt8], _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return range.count > 18 ? parseIntSlow(b, range) : nil }
        var v = 0
        for i in range {
            let d = b[i] &- 48
            guard d < 10 else { return nil }
            v = v &* 10 &+ Int(d)
        }
        return v
    }

    private static func parseIntSlow(_ b: borrowing [UInt8], _ range: Range<Int>) -> Int? {
        var v = 0
        for i in range {
            let d = b[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(d))
            if o1 || o2 { return nil }
            v = s
        }
        return v
    }

    static func appendInt(_ value: Int, to out: inout [UInt8]) {
        out.append(addingCapacity: maxIntLength) { span in writeInt(value, to: &span) }
    }

    static func appendUInt(_ value: UInt, to out: inout [UInt8]) {
        out.append(addingCapacity: maxIntLength) { span in writeUInt(value, to: &span) }
    }

    /// The byte sum modulo 256 (CheckSum), in a loop the compiler vectorises: the indices are the
    /// span's own, so there are no bounds checks to keep it scalar, and a `UInt8` accumulator adds
    /// 16 bytes per instruction (wrapping is exactly the modulo; wider accumulators were 2–3× slower).
    @inline(__always)
    static func byteSum(_ s: Span<UInt8>) -> Int {
        var sum: UInt8 = 0
        for k in s.indices { sum &+= s[k] }
        return Int(sum)
    }

    // MARK: Writers into a reserved `OutputSpan`
    //
    // The writer reserves a whole field (tag, `=`, value, SOH) in one capacity step and fills it with
    // these: no uniqueness or growth check per byte or per number.

    /// `-` and 19 digits, or 20 digits unsigned.
    static let maxIntLength = 20
    /// `YYYYMMDD-HH:MM:SS.sss`.
    static let timestampLength = 21

    @inline(__always)
    static func writeInt(_ value: Int, to out: inout OutputSpan<UInt8>) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        writeUInt(value.magnitude, to: &out)
    }

    /// Counts the digits, then forms them eight at a time in a register (divisions by constants,
    /// which compile to multiplications) and appends them in order.
    @inline(__always)
    static func writeUInt(_ value: UInt, to out: inout OutputSpan<UInt8>) {
        let v = UInt64(value)
        if v < 10 { out.append(48 &+ UInt8(truncatingIfNeeded: v)); return }
        var count = 2
        var bound: UInt64 = 100
        while count < 20, v >= bound { count += 1; bound &*= 10 }
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

    /// `count` (1…8) digits of `v` (< 10^count), built least significant first into the high end
    /// of one word so its bytes from the low end are the text in order.
    @inline(__always)
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

    /// `tag=`. Tags below 1000 (every standard tag) take no loop; when the tag is a constant at the
    /// call site this folds to the literal bytes.
    @inline(__always)
    static func writeTag(_ tag: Int, to out: inout OutputSpan<UInt8>) {
        if tag > 0, tag < 1000 {
            if tag >= 100 { out.append(48 &+ UInt8(truncatingIfNeeded: tag / 100)) }
            if tag >= 10 { out.append(48 &+ UInt8(truncatingIfNeeded: tag / 10 % 10)) }
            out.append(48 &+ UInt8(truncatingIfNeeded: tag % 10))
        } else {
            writeUInt(UInt(truncatingIfNeeded: tag), to: &out)
        }
        out.append(equals)
    }

    /// Copies a string's UTF-8 bytes.
    @inline(__always)
    static func write(_ value: String, to out: inout OutputSpan<UInt8>) {
        let bytes = value.utf8.span
        for i in bytes.indices { out.append(bytes[i]) }
    }

    // MARK: UTCTimestamp `YYYYMMDD-HH:MM:SS.sss`

    static func appendTimestamp(_ t: Timestamp, to out: inout [UInt8]) {
        out.append(addingCapacity: timestampLength) { span in writeTimestamp(t, to: &span) }
    }

    /// 21 bytes, `YYYYMMDD-HH:MM:SS.sss` (milliseconds, truncated).
    static func writeTimestamp(_ t: Timestamp, to out: inout OutputSpan<UInt8>) {
        let (day, nanoOfDay) = utcDay(t)
        writeTimestamp(date: dateWord(day: day), nanoOfDay: nanoOfDay, to: &out)
    }

    /// Days since the epoch (floor) and nanoseconds into that day.
    @inline(__always)
    static func utcDay(_ t: Timestamp) -> (day: Int64, nanoOfDay: Int64) {
        let nanosPerDay: Int64 = 86_400_000_000_000
        let ns = t.nanosecondsSinceEpoch
        let day = ns / nanosPerDay, nanoOfDay = ns % nanosPerDay
        return nanoOfDay < 0 ? (day - 1, nanoOfDay + nanosPerDay) : (day, nanoOfDay)
    }

    /// `YYYYMMDD` of a day as eight ASCII bytes in a word (first character in the low byte).
    /// The year is written as four digits `y / 10ᵏ % 10`, so a year past 9999 keeps its last four.
    static func dateWord(day: Int64) -> UInt64 {
        let (y, m, d) = CivilCalendar.date(days: day)
        func digit(_ v: Int, _ at: UInt64) -> UInt64 { UInt64(48 &+ UInt8(truncatingIfNeeded: v)) &<< (8 * at) }
        return digit(y / 1000 % 10, 0) | digit(y / 100 % 10, 1) | digit(y / 10 % 10, 2) | digit(y % 10, 3)
            | digit(m / 10, 4) | digit(m % 10, 5) | digit(d / 10, 6) | digit(d % 10, 7)
    }

    static func writeTimestamp(date: UInt64, nanoOfDay: Int64, to out: inout OutputSpan<UInt8>) {
        var word = date
        for _ in 0..<8 { out.append(UInt8(truncatingIfNeeded: word)); word &>>= 8 }
        let ms = Int(nanoOfDay / 1_000_000)
        let sec = ms / 1000
        func two(_ v: Int) {
            out.append(48 &+ UInt8(truncatingIfNeeded: v / 10))
            out.append(48 &+ UInt8(truncatingIfNeeded: v % 10))
        }
        out.append(UInt8(ascii: "-"))
        two(sec / 3600); out.append(UInt8(ascii: ":"))
        two(sec / 60 % 60); out.append(UInt8(ascii: ":"))
        two(sec % 60); out.append(UInt8(ascii: "."))
        let milli = ms % 1000
        out.append(48 &+ UInt8(truncatingIfNeeded: milli / 100))
        two(milli % 100)
    }

    /// Accepts `YYYYMMDD-HH:MM:SS` with an optional fraction of 1–9 digits; nil on anything else.
    static func parseTimestamp(_ b: borrowing [UInt8], _ range: Range<Int>) -> Timestamp? {
        parseTimestamp(b.span.extracting(range))
    }

    static func parseTimestamp(_ t: Span<UInt8>) -> Timestamp? {
        let n = t.count
        guard n >= 17, t[8] == UInt8(ascii: "-"), t[11] == UInt8(ascii: ":"), t[14] == UInt8(ascii: ":") else { return nil }
        // YYYYMMDD as one word: all digits, then its value in three multiplications.
        let date = FIXWord.load(t, 0)
        guard date & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030,
              (date &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030 else { return nil }
        let ymd = FIXWord.eightDigitsValue(date)
        let y = ymd / 10_000, mo = ymd / 100 % 100, d = ymd % 100
        // HH, MM, SS: a digit pair is valid when neither byte minus '0' reaches 10.
        let h0 = t[9] &- 48, h1 = t[10] &- 48, m0 = t[12] &- 48, m1 = t[13] &- 48, s0 = t[15] &- 48, s1 = t[16] &- 48
        guard max(h0, h1, m0, m1, s0, s1) < 10 else { return nil }
        let h = Int(h0) * 10 + Int(h1), mi = Int(m0) * 10 + Int(m1), sec = Int(s0) * 10 + Int(s1)
        guard (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, sec <= 60 else { return nil }
        var nanos: Int64 = 0
        if n > 17 {
            let fracDigits = n - 18
            guard t[17] == UInt8(ascii: "."), (1...9).contains(fracDigits) else { return nil }
            var f: Int64 = 0
            for i in 18..<n {
                let digit = t[i] &- 48
                guard digit < 10 else { return nil }
                f = f * 10 + Int64(digit)
            }
            for _ in fracDigits..<9 { f *= 10 }
            nanos = f
        }
        let days = Int64(CivilCalendar.days(year: y, month: mo, day: d))
        let seconds = days * 86_400 + Int64(h * 3600 + mi * 60 + sec)
        let (ns, o1) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, o2) = ns.addingReportingOverflow(nanos)
        return o1 || o2 ? nil : Timestamp(nanosecondsSinceEpoch: total)
    }

}

/// Eight frame bytes as one little-endian word, and the bit tricks that search and convert them.
///
/// Built from `Span` reads behind one range check, which the compiler turns into a single
/// unaligned load: no unsafe pointers.
enum FIXWord {
    /// The 8 bytes at `i`, or 0 (no SOH, no `=`, not digits) when they do not all lie inside `s`.
    @inline(__always)
    static func load(_ s: Span<UInt8>, _ i: Int) -> UInt64 {
        guard i >= 0, i <= s.count - 8 else { return 0 }
        return UInt64(s[i]) | UInt64(s[i + 1]) << 8 | UInt64(s[i + 2]) << 16 | UInt64(s[i + 3]) << 24
            | UInt64(s[i + 4]) << 32 | UInt64(s[i + 5]) << 40 | UInt64(s[i + 6]) << 48 | UInt64(s[i + 7]) << 56
    }

    static let ones: UInt64 = 0x0101_0101_0101_0101

    /// Byte `i` (0–7) of the word.
    @inline(__always)
    static func byte(_ w: UInt64, _ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: w &>> UInt64(i &* 8)) }

    /// How many bytes at the start of the word are ASCII digits (0–8). `x = b ^ '0'` is 0–9
    /// exactly for digits; adding 0x76 to its low seven bits sets bit 7 for 10–127, and `| x`
    /// catches 128–255, with no carry between bytes.
    @inline(__always)
    static func leadingDigits(_ w: UInt64) -> Int {
        let x = w ^ 0x3030_3030_3030_3030
        let nonDigit = (((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080
        return nonDigit.trailingZeroBitCount &>> 3
    }

    /// The value of the first `count` (1–4) bytes, all digits: shifted up within 32 bits so the
    /// missing leading digits read as zeros, then pairs, then the four (Lemire's conversion).
    @inline(__always)
    static func fourDigitsValue(_ w: UInt64, count: Int) -> Int {
        var v = UInt32(truncatingIfNeeded: w) &<< UInt32(truncatingIfNeeded: 32 &- 8 &* count)
        v = ((v & 0x0F0F_0F0F) &* 2561) &>> 8
        v = ((v & 0x00FF_00FF) &* 6_553_601) &>> 16
        return Int(v)
    }

    /// Bit j set where byte j equals `c`, exactly (no carries between bytes: each byte's low seven
    /// bits plus 0x7F stay within the byte), then gathered from the bytes' high bits by one multiply.
    @inline(__always)
    static func matchBits(_ w: UInt64, _ c: UInt8) -> UInt64 {
        let x = w ^ (ones &* UInt64(c))
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        let flags = ~(((x & low7) &+ low7) | x | low7)
        return ((flags >> 7) &* 0x0102_0408_1020_4080) >> 56
    }

    /// The value of eight digit bytes (Lemire's conversion: pairs, then quads, then the whole).
    @inline(__always)
    static func eightDigitsValue(_ w: UInt64) -> Int {
        var v = ((w & 0x0F0F_0F0F_0F0F_0F0F) &* 2561) >> 8
        v = ((v & 0x00FF_00FF_00FF_00FF) &* 6_553_601) >> 16
        v = ((v & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) >> 32
        return Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: v))
    }

}
