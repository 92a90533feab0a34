/// Cuts a TCP byte stream into FIX frames.
///
/// Feed it bytes as they arrive with ``append(_:)``, then call ``next()`` until it returns nil
/// (needs more bytes). A frame is sized from its `8=…␁9=len␁` prefix; it is not verified here
/// (``FIXParser`` does that). Bytes that cannot start a frame are skipped up to the next `8=FIX`
/// and reported once as `.garbage`, so one bad byte never loses the frames behind it.
public struct FIXFrameSplitter: Sendable {
    public enum Output: Sendable {
        case frame([UInt8])
        /// Bytes skipped; the error says how many and why.
        case skipped(FIXError)
    }

    public let maxFrameSize: Int
    private var buffer: [UInt8] = []
    private var start = 0
    /// Bytes discarded so far, so garbage offsets are stream offsets.
    private var consumedBase = 0

    public init(maxFrameSize: Int = 1 << 20) { self.maxFrameSize = maxFrameSize }

    /// Bytes buffered and not yet returned.
    public var bufferedCount: Int { buffer.count - start }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            consumedBase += start
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func next() -> Output? {
        let n = buffer.count
        guard start < n else { return nil }
        if !startsFrame(at: start) {
            if n - start < 5, isPrefixOfFrameStart(at: start) { return nil }
            return skipFrom(start, "they do not start with 8=FIX")
        }
        // 8=FIX.4.4␁9=digits␁
        var i = start + 2
        let limit = min(n, start + 32)
        while i < limit, buffer[i] != FIXValues.soh { i += 1 }
        if i == limit { return limit == n ? nil : skipFrom(start, "BeginString(8) has no SOH within 32 bytes") }
        i += 1
        if i + 2 > n { return nil }
        guard buffer[i] == UInt8(ascii: "9"), buffer[i + 1] == FIXValues.equals else {
            return skipFrom(start, "BodyLength(9) does not follow BeginString(8)")
        }
        var j = i + 2
        var length = 0
        while j < n, buffer[j] != FIXValues.soh {
            let d = buffer[j] &- 48
            guard d < 10, j - (i + 2) < 9 else { return skipFrom(start, "BodyLength(9) is not a number") }
            length = length * 10 + Int(d)
            j += 1
        }
        if j == n { return nil }
        guard j > i + 2 else { return skipFrom(start, "BodyLength(9) is empty") }
        let end = j + 1 + length + 7
        guard end - start <= maxFrameSize else {
            return skipFrom(start, "BodyLength \(length) exceeds the \(maxFrameSize)-byte frame limit")
        }
        if end > n { return nil }
        let frame = Array(buffer[start..<end])
        start = end
        return .frame(frame)
    }

    private mutating func skipFrom(_ from: Int, _ why: String) -> Output {
        let to = nextFrameStart(after: from) ?? keepPartialPrefix(from: max(from + 1, buffer.count - 4))
        start = to
        return .skipped(FIXError(.garbage, offset: consumedBase + from, "skipped \(to - from) bytes: \(why)"))
    }

    /// Keeps a trailing partial `8=FIX` so a frame split across reads is not lost.
    private func keepPartialPrefix(from: Int) -> Int {
        var k = from
        while k < buffer.count, !isPrefixOfFrameStart(at: k) { k += 1 }
        return k
    }

    private static let frameStart: [UInt8] = Array("8=FIX".utf8)

    private func startsFrame(at i: Int) -> Bool {
        guard i + 5 <= buffer.count else { return false }
        return buffer[i..<(i + 5)].elementsEqual(Self.frameStart)
    }

    private func isPrefixOfFrameStart(at i: Int) -> Bool {
        let avail = min(5, buffer.count - i)
        return buffer[i..<(i + avail)].elementsEqual(Self.frameStart[0..<avail])
    }

    private func nextFrameStart(after i: Int) -> Int? {
        var k = i + 1
        while k + 5 <= buffer.count {
            if buffer[k] == UInt8(ascii: "8"), startsFrame(at: k) { return k }
            k += 1
        }
        return nil
    }
}
