#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import TandemCore
import Synchronization

/// A swift-log handler writing one JSON object per line: UTC time (RFC 3339 with nanoseconds, and
/// integer `ts_ns`), level, process, label, message, source, and every metadata key as its own field
/// (dotted keys such as `order.clOrdID` kept as they are), so a log line can be joined with the
/// journal (`journal.seq`) in a post-mortem. Lines go to stderr or to a file rotated by size.
///
/// A log call only copies the event's text (message, source, metadata keys and values, each value
/// described once, at the call) into the sink's buffer as a compact record; the sink's flusher
/// (``JSONLogSink``) turns records into JSON lines and writes them. The order path pays for the
/// copy and one lock, not for the JSON formatting or a system call. Warnings and worse are
/// formatted and written before the call returns.
///
/// Executables bootstrap it (`LoggingSystem.bootstrap`); libraries only take a `Logger`.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    /// The handler's own fields (e.g. `node.id`), encoded once here, when set, not on every line.
    public var metadata: Logger.Metadata = [:] {
        didSet { context = LogContext(process: context.process, label: context.label, metadata: metadata) }
    }
    public var metadataProvider: Logger.MetadataProvider?
    private var context: LogContext
    private let sink: JSONLogSink

    public init(label: String, process: String, sink: JSONLogSink) {
        self.sink = sink
        context = LogContext(process: process, label: label, metadata: [:])
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let now = JSONLogHandler.now()
        sink.append(ns: now, level: event.level, message: event.message.description, source: event.source,
                    call: event.metadata, provided: metadataProvider?.get(), context: context, now: event.level >= .warning)
    }

    /// One line, newline-terminated, appended to `out`, for a caller without a handler (tests, tools).
    public static func format(level: Logger.Level, message: String, metadata: Logger.Metadata, source: String,
                              label: String, process: String, now: Int64, into out: inout [UInt8]) {
        var records: [UInt8] = []
        LogRecords.append(ns: now, level: level, message: message, source: source, call: metadata, provided: nil,
                          context: 0, into: &records)
        var clock = LineClock()
        var ends: [Int] = []
        LogRecords.format(records, contexts: [LogContext(process: process, label: label, metadata: [:])], clock: &clock,
                          into: &out, ends: &ends)
    }

    /// `metadata` with every value a `.string` (unchanged, and not copied, when all already are).
    static func textual(_ metadata: Logger.Metadata?) -> Logger.Metadata? {
        guard let metadata, metadata.values.contains(where: { if case .string = $0 { false } else { true } }) else { return metadata }
        return metadata.mapValues { if case .string = $0 { $0 } else { .string($0.description) } }
    }

    static func bound(_ key: String, _ value: Logger.MetadataValue) -> Int {
        let v: Int
        switch value {
        case .string(let s): v = s.utf8.count
        case .stringConvertible(let c): v = c.description.utf8.count
        default: v = value.description.utf8.count
        }
        return 6 + 6 * (key.utf8.count + v)
    }

    static func put(_ s: String, _ o: inout OutputSpan<UInt8>) {
        let span = s.utf8.span
        for i in span.indices { o.append(span[i]) }
    }

    static func putBytes(_ bytes: [UInt8], _ o: inout OutputSpan<UInt8>) {
        let span = bytes.span
        for i in span.indices { o.append(span[i]) }
    }

    /// `,"key":"value"` for each field, as bytes to copy into every line.
    static func encode(_ fields: [(String, Logger.MetadataValue)], reservedAllowed: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.append(addingCapacity: fields.reduce(0) { $0 + bound($1.0, $1.1) }) { o in
            for (k, v) in fields { putField(k, v, &o, reservedAllowed: reservedAllowed) }
        }
        return out
    }

    /// `,"key":"value"`; nothing for a key naming a fixed field (the fixed field wins).
    static func putField(_ key: String, _ value: Logger.MetadataValue, _ o: inout OutputSpan<UInt8>, reservedAllowed: Bool = false) {
        guard reservedAllowed || !isReserved(key) else { return }
        o.append(UInt8(ascii: ","))
        putString(key, &o)
        o.append(UInt8(ascii: ":"))
        switch value {
        case .string(let s): putString(s, &o)
        case .stringConvertible(let c): putString(c.description, &o)
        default: putString(value.description, &o)
        }
    }

    static func putString(_ s: String, _ o: inout OutputSpan<UInt8>) {
        o.append(UInt8(ascii: "\""))
        let span = s.utf8.span
        for i in span.indices { putEscaped(span[i], &o) }
        o.append(UInt8(ascii: "\""))
    }

    /// One byte of a JSON string: as it is, or escaped (quote, backslash, control characters).
    @inline(__always)
    static func putEscaped(_ b: UInt8, _ o: inout OutputSpan<UInt8>) {
        if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
            o.append(b)
            return
        }
        o.append(UInt8(ascii: "\\"))
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): o.append(b)
        case 0x0A: o.append(UInt8(ascii: "n"))
        case 0x0D: o.append(UInt8(ascii: "r"))
        case 0x09: o.append(UInt8(ascii: "t"))
        default:
            o.append(UInt8(ascii: "u")); o.append(UInt8(ascii: "0")); o.append(UInt8(ascii: "0"))
            o.append(hexDigit(b >> 4)); o.append(hexDigit(b & 0xF))
        }
    }

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? UInt8(ascii: "0") &+ v : UInt8(ascii: "a") &+ (v &- 10) }

    /// UTC nanoseconds since the Unix epoch.
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// The fixed fields' names: a metadata key equal to one is left out (the fixed field wins).
    static let reservedKeys = ["ts", "msg", "ts_ns", "level", "label", "source", "process"]

    private static func isReserved(_ key: String) -> Bool { reservedKeys.contains(key) }

    static func appendInteger(_ v: Int64, _ out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var buf = InlineArray<20, UInt8>(repeating: 0)
        var n = 0
        repeat {
            buf[n] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10)
            m /= 10
            n += 1
        } while m > 0
        for i in stride(from: n - 1, through: 0, by: -1) { out.append(buf[i]) }
    }

    /// `2026-11-26T00:56:16.123456789Z`, from UTC nanoseconds.
    public static func rfc3339(_ ns: Int64) -> String {
        var out: [UInt8] = []
        appendRFC3339(ns, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `2026-11-26T00:56:16.123456789Z`, from UTC nanoseconds (proleptic Gregorian, civil-from-days).
    static func appendRFC3339(_ ns: Int64, to out: inout [UInt8]) {
        let seconds = floorSeconds(ns)
        appendSecondPrefix(seconds, to: &out)
        appendNanos(ns - seconds * 1_000_000_000, to: &out)
    }

    static func floorSeconds(_ ns: Int64) -> Int64 {
        ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000
    }

    /// `2026-11-26T00:56:16.`
    static func appendSecondPrefix(_ seconds: Int64, to out: inout [UInt8]) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secOfDay = seconds - days * 86_400
        let (y, m, d) = CivilCalendar.date(days: days)
        func digits(_ v: Int64, _ n: Int) {
            var divisor: Int64 = 1
            for _ in 1..<n { divisor &*= 10 }
            var x = v
            while divisor > 0 {
                out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: (x / divisor) % 10))
                x %= divisor
                divisor /= 10
            }
        }
        digits(Int64(y), 4); out.append(UInt8(ascii: "-"))
        digits(Int64(m), 2); out.append(UInt8(ascii: "-"))
        digits(Int64(d), 2); out.append(UInt8(ascii: "T"))
        digits(secOfDay / 3600, 2); out.append(UInt8(ascii: ":"))
        digits(secOfDay % 3600 / 60, 2); out.append(UInt8(ascii: ":"))
        digits(secOfDay % 60, 2); out.append(UInt8(ascii: "."))
    }

    /// Nine digits (`nanos` < 10⁹), then `Z`.
    static func appendNanos(_ nanos: Int64, to out: inout [UInt8]) {
        var buf = InlineArray<10, UInt8>(repeating: UInt8(ascii: "Z"))
        var x = UInt32(truncatingIfNeeded: nanos)
        for i in stride(from: 8, through: 0, by: -1) {
            buf[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: x % 10)
            x /= 10
        }
        for i in 0..<10 { out.append(buf[i]) }
    }
}

/// A handler's fixed part of every line, encoded once (when the handler is made or its metadata set).
final class LogContext: Sendable {
    let process: String
    let label: String
    /// `,"process":…,"label":…`
    let encodedIdentity: [UInt8]
    let sortedMetadata: [(String, Logger.MetadataValue)]
    let keys: [String]
    /// The handler's metadata as fields, sorted by key.
    let encodedMetadata: [UInt8]

    init(process: String, label: String, metadata: Logger.Metadata) {
        self.process = process
        self.label = label
        let fixed: [(String, Logger.MetadataValue)] = [("process", .string(process)), ("label", .string(label))]
        encodedIdentity = JSONLogHandler.encode(fixed, reservedAllowed: true)
        sortedMetadata = (JSONLogHandler.textual(metadata) ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        keys = sortedMetadata.map(\.0)
        encodedMetadata = JSONLogHandler.encode(sortedMetadata, reservedAllowed: false)
    }
}

/// Log events as the sink queues them, and their formatting into JSON lines.
///
/// A record is the event's text copied as it is: `0`, UTC nanoseconds (8 bytes, little-endian), the
/// level (1), the handler context's index (4), the message and the source, then the metadata
/// provider's fields and the call's (a count, then key and value), each string a 4-byte length and
/// its UTF-8 bytes. A raw line (``JSONLogSink/write(_:now:)``) is `1` and one string. Values are
/// described at the call, once, so a line shows the value as it was then.
enum LogRecords {
    /// Appends one event's record to `out`.
    static func append(ns: Int64, level: Logger.Level, message: String, source: String, call: Logger.Metadata?,
                       provided: Logger.Metadata?, context: Int, into out: inout [UInt8]) {
        out.append(addingCapacity: 14) { o in
            o.append(0)
            putInteger(UInt64(bitPattern: ns), bytes: 8, &o)
            o.append(levelCode(level))
            putInteger(UInt64(context), bytes: 4, &o)
        }
        appendString(message, &out)
        appendString(source, &out)
        appendFields(provided, &out)
        appendFields(call, &out)
    }

    /// Appends a finished line (newline-terminated) to be written as it is.
    static func appendRaw(_ line: [UInt8], into out: inout [UInt8]) {
        out.append(addingCapacity: 5) { o in
            o.append(1)
            putInteger(UInt64(line.count), bytes: 4, &o)
        }
        out.append(contentsOf: line)
    }

    private static func appendFields(_ fields: Logger.Metadata?, _ out: inout [UInt8]) {
        out.append(addingCapacity: 4) { putInteger(UInt64(fields?.count ?? 0), bytes: 4, &$0) }
        guard let fields else { return }
        for (key, value) in fields {
            appendString(key, &out)
            switch value {
            case .string(let s): appendString(s, &out)
            case .stringConvertible(let c): appendString(c.description, &out)
            default: appendString(value.description, &out)
            }
        }
    }

    private static func appendString(_ s: String, _ out: inout [UInt8]) {
        let span = s.utf8.span
        out.append(addingCapacity: 4 + span.count) { o in
            putInteger(UInt64(span.count), bytes: 4, &o)
            for i in span.indices { o.append(span[i]) }
        }
    }

    @inline(__always)
    private static func putInteger(_ v: UInt64, bytes: Int, _ o: inout OutputSpan<UInt8>) {
        var v = v
        for _ in 0..<bytes {
            o.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    private static func levelCode(_ level: Logger.Level) -> UInt8 {
        switch level {
        case .trace: 0
        case .debug: 1
        case .info: 2
        case .notice: 3
        case .warning: 4
        case .error: 5
        case .critical: 6
        }
    }

    private static func level(_ code: UInt64) -> Logger.Level {
        switch code {
        case 0: .trace
        case 1: .debug
        case 3: .notice
        case 4: .warning
        case 5: .error
        case 6: .critical
        default: .info
        }
    }

    /// A string in a record: where its bytes are.
    private struct Text {
        var start: Int
        var count: Int
        var range: Range<Int> { start..<(start + count) }
    }

    private static func integer(_ span: Span<UInt8>, _ at: inout Int, _ n: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(span[at + i]) << (8 * UInt64(i)) }
        at += n
        return v
    }

    private static func text(_ span: Span<UInt8>, _ at: inout Int) -> Text {
        let count = Int(integer(span, &at, 4))
        defer { at += count }
        return Text(start: at, count: count)
    }

    /// Formats every record in `records` as one JSON line appended to `out`, each line's end offset
    /// in `out` appended to `ends` (so rotation can split between lines). `contexts` are the handler
    /// contexts the records name by index.
    ///
    /// A line has the fixed fields, then the handler's (sorted by key), then the metadata provider's
    /// and the call's, in their dictionary's order; a key given by more than one source appears once,
    /// with the value of the last (handler, provider, call); a key naming a fixed field is left out.
    static func format(_ records: [UInt8], contexts: [LogContext], clock: inout LineClock, into out: inout [UInt8],
                       ends: inout [Int]) {
        let span = records.span
        var at = 0
        func integer(_ n: Int) -> UInt64 { Self.integer(span, &at, n) }
        func text() -> Text { Self.text(span, &at) }
        // Reused across records: where the provider's and the call's keys and values are.
        var provided: [(Text, Text)] = []
        var call: [(Text, Text)] = []
        while at < span.count {
            if integer(1) == 1 {
                let line = text()
                for i in line.range { out.append(span[i]) }
                ends.append(out.count)
                continue
            }
            let ns = Int64(bitPattern: integer(8))
            let level = Self.level(integer(1))
            let context = contexts[Int(integer(4))]
            let message = text()
            let source = text()
            provided.removeAll(keepingCapacity: true)
            call.removeAll(keepingCapacity: true)
            for _ in 0..<integer(4) { provided.append((text(), text())) }
            for _ in 0..<integer(4) { call.append((text(), text())) }

            func named(_ key: String, in fields: [(Text, Text)]) -> Bool { fields.contains { equal(span, $0.0, key) } }
            let overridden = !context.keys.isEmpty && (!provided.isEmpty || context.keys.contains { named($0, in: call) })
            var bound = 160 + context.encodedIdentity.count + 6 * (message.count + source.count)
            for f in provided { bound += 6 + 6 * (f.0.count + f.1.count) }
            for f in call { bound += 6 + 6 * (f.0.count + f.1.count) }
            if overridden {
                for (k, v) in context.sortedMetadata { bound += JSONLogHandler.bound(k, v) }
            } else {
                bound += context.encodedMetadata.count
            }
            out.append(addingCapacity: bound) { (o: inout OutputSpan<UInt8>) in
                JSONLogHandler.put(#"{"ts":""#, &o)
                clock.putTimestamps(ns, to: &o)
                JSONLogHandler.put(#","level":""#, &o)
                JSONLogHandler.put(level.rawValue, &o)
                o.append(UInt8(ascii: "\""))
                JSONLogHandler.putBytes(context.encodedIdentity, &o)
                JSONLogHandler.put(#","msg":"#, &o)
                putString(span, message, &o)
                JSONLogHandler.put(#","source":"#, &o)
                putString(span, source, &o)
                if !overridden {
                    JSONLogHandler.putBytes(context.encodedMetadata, &o)
                } else {
                    for (k, v) in context.sortedMetadata where !named(k, in: call) && !named(k, in: provided) {
                        JSONLogHandler.putField(k, v, &o)
                    }
                }
                for f in provided where !call.contains(where: { equal(span, $0.0, f.0) }) { putField(span, f, &o) }
                for f in call { putField(span, f, &o) }
                o.append(UInt8(ascii: "}"))
                o.append(UInt8(ascii: "\n"))
            }
            ends.append(out.count)
        }
    }

    /// `,"key":"value"`; nothing for a key naming a fixed field (the fixed field wins).
    private static func putField(_ span: Span<UInt8>, _ field: (Text, Text), _ o: inout OutputSpan<UInt8>) {
        guard !isReserved(span, field.0) else { return }
        o.append(UInt8(ascii: ","))
        putString(span, field.0, &o)
        o.append(UInt8(ascii: ":"))
        putString(span, field.1, &o)
    }

    private static func putString(_ span: Span<UInt8>, _ text: Text, _ o: inout OutputSpan<UInt8>) {
        o.append(UInt8(ascii: "\""))
        for i in text.range { JSONLogHandler.putEscaped(span[i], &o) }
        o.append(UInt8(ascii: "\""))
    }

    /// A key naming a fixed field (``JSONLogHandler/reservedKeys``).
    private static func isReserved(_ span: Span<UInt8>, _ key: Text) -> Bool {
        key.count <= 7 && JSONLogHandler.reservedKeys.contains { equal(span, key, $0) }
    }

    /// Whether the record's text has `string`'s UTF-8 bytes.
    private static func equal(_ span: Span<UInt8>, _ text: Text, _ string: String) -> Bool {
        guard string.utf8.count == text.count else { return false }
        var i = text.start
        for b in string.utf8 {
            if b != span[i] { return false }
            i += 1
        }
        return true
    }

    /// Whether two of the record's texts have the same bytes.
    private static func equal(_ span: Span<UInt8>, _ a: Text, _ b: Text) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where span[a.start + i] != span[b.start + i] { return false }
        return true
    }
}

/// The second of the last line, formatted once per second both ways (RFC 3339 up to the second, and
/// the decimal seconds of `ts_ns`): a line's timestamps then cost nine digits, not a calendar
/// computation and a 19-digit conversion.
public struct LineClock: Sendable {
    private var second = Int64.min
    private var rfc3339: [UInt8] = []
    private var decimalSeconds: [UInt8] = []

    /// `2026-11-26T00:56:16.123456789Z","ts_ns":1795654576123456789` — the `ts` value, the closing
    /// quote, the `ts_ns` key and its value.
    mutating func putTimestamps(_ ns: Int64, to o: inout OutputSpan<UInt8>) {
        let seconds = JSONLogHandler.floorSeconds(ns)
        if seconds != second {
            rfc3339.removeAll(keepingCapacity: true)
            JSONLogHandler.appendSecondPrefix(seconds, to: &rfc3339)
            decimalSeconds.removeAll(keepingCapacity: true)
            JSONLogHandler.appendInteger(seconds, &decimalSeconds)
            second = seconds
        }
        var digits = InlineArray<9, UInt8>(repeating: 0)
        var x = UInt32(truncatingIfNeeded: ns - seconds * 1_000_000_000)
        for i in stride(from: 8, through: 0, by: -1) {
            digits[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: x % 10)
            x /= 10
        }
        JSONLogHandler.putBytes(rfc3339, &o)
        for i in 0..<9 { o.append(digits[i]) }
        JSONLogHandler.put(#"Z","ts_ns":"#, &o)
        if ns >= 1_000_000_000 {
            JSONLogHandler.putBytes(decimalSeconds, &o)
            for i in 0..<9 { o.append(digits[i]) }
        } else {
            var small: [UInt8] = []
            JSONLogHandler.appendInteger(ns, &small)
            JSONLogHandler.putBytes(small, &o)
        }
    }

    mutating func appendTimestamps(_ ns: Int64, to out: inout [UInt8]) {
        out.append(addingCapacity: 64) { putTimestamps(ns, to: &$0) }
    }
}

/// Where JSON lines go: standard error, or a file rotated when it passes `maxBytes` (renamed to
/// `<path>.1`, the previous `.1` dropped).
///
/// A log call copies its event into the sink's pending buffer as a record (``LogRecords``), under
/// that buffer's lock only; the sink's own flusher thread swaps the buffer out every `flushInterval`
/// (10 ms) or, woken, when 64 KiB are pending, formats the records into JSON lines and writes them under a
/// separate output lock, so callers never wait behind the formatting, the `write` system call or a
/// rotation. Warnings and worse are written at once, before `log` returns (the caller formats
/// everything pending, in order, then its own line). A process killed with SIGKILL loses at most the
/// last `flushInterval` of info and debug lines; a process that ends normally calls ``flushAll()``.
///
/// (Queueing the event itself, its metadata dictionary and strings, was measured earlier and was
/// slower per call on two cores: the caller's allocations were freed on the other thread. A record
/// is bytes in a buffer that is reused, so nothing crosses threads but the buffer.)
public final class JSONLogSink: Sendable {
    /// What callers append to: the only lock a log call takes.
    private struct Pending {
        var bytes: [UInt8] = []
        /// The handler contexts the records name by index (consecutive records of one handler share one).
        var contexts: [LogContext] = []
        /// The flusher was woken for these records (at 64 KiB) and has not swapped them out yet.
        var wokeFlusher = false
    }
    /// The file side, used by `flush` alone; held while writing, so flushes keep line order, and
    /// never while a caller appends.
    private struct Output {
        var handle: FileHandle
        var written: Int
        /// The previous flush's buffers, emptied, swapped in for the callers' (no allocation per flush).
        var spare = Pending()
        var clock = LineClock()
        /// The formatted lines of one flush, and the end offset of each, so rotation splits between lines.
        var lines: [UInt8] = []
        var ends: [Int] = []
    }
    private let pending = Mutex(Pending())
    private let output: Mutex<Output>
    /// Wakes the flusher before its interval when 64 KiB are pending.
    private let wake = DispatchSemaphore(value: 0)
    /// Pending bytes at which a caller formats and writes them itself: the flusher has fallen this far
    /// behind, and memory stays bounded.
    private static let callerFlushBytes = 4 << 20
    private let path: String?
    private let maxBytes: Int
    private let flushInterval: Duration
    private static let registry = Mutex<[WeakSink]>([])
    private struct WeakSink: @unchecked Sendable { weak var sink: JSONLogSink? }

    /// Lines to standard error.
    public static let standardError = JSONLogSink(handle: .standardError)

    private init(handle: FileHandle) {
        output = Mutex(Output(handle: handle, written: 0))
        path = nil
        maxBytes = .max
        flushInterval = .milliseconds(10)
        startFlusher()
    }

    /// Lines appended to `path`, rotated at `maxBytes`.
    public init(path: String, maxBytes: Int = 64 << 20, flushInterval: Duration = .milliseconds(10)) throws {
        let handle = try Self.open(path)
        let size = (try? handle.seekToEnd()).map(Int.init) ?? 0
        output = Mutex(Output(handle: handle, written: size))
        self.path = path
        self.maxBytes = maxBytes
        self.flushInterval = flushInterval
        startFlusher()
    }

    public struct LogFileError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "cannot open the log file \(path): \(reason)" }
    }

    private static func open(_ path: String) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw LogFileError(path: path, reason: "it cannot be created (does the directory exist, may we write there?)")
            }
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            _ = try handle.seekToEnd()
            return handle
        } catch {
            throw LogFileError(path: path, reason: "\(error)")
        }
    }

    /// The flusher: a plain thread (not a task: it must run even when every executor is busy), holding
    /// the sink weakly so a dropped sink ends it.
    private func startFlusher() {
        Self.registry.withLock { $0.removeAll { $0.sink == nil }; $0.append(WeakSink(sink: self)) }
        let interval = flushInterval
        let thread = Thread { [weak self] in
            let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
            while let sink = self {
                sink.flush()
                _ = sink.wake.wait(timeout: .now() + seconds)
            }
        }
        thread.name = "tandem-log-flush"
        thread.start()
    }

    /// Queues one line (newline-terminated); with `now`, writes it and everything before it before returning.
    public func write(_ line: [UInt8], now: Bool = false) {
        let fill = pending.withLock { p in
            LogRecords.appendRaw(line, into: &p.bytes)
            return Self.fill(&p)
        }
        afterAppend(fill, now: now)
    }

    /// Queues one event; with `now`, writes it and everything before it before returning.
    func append(ns: Int64, level: Logger.Level, message: String, source: String, call: Logger.Metadata?,
                provided: Logger.Metadata?, context: LogContext, now: Bool) {
        let fill = pending.withLock { p in
            var index = p.contexts.count - 1
            if index < 0 || p.contexts[index] !== context {
                p.contexts.append(context)
                index += 1
            }
            LogRecords.append(ns: ns, level: level, message: message, source: source, call: call, provided: provided,
                              context: index, into: &p.bytes)
            return Self.fill(&p)
        }
        afterAppend(fill, now: now)
    }

    private enum Fill { case low, wakeFlusher, flushHere }

    private static func fill(_ p: inout Pending) -> Fill {
        if p.bytes.count >= callerFlushBytes { return .flushHere }
        if p.bytes.count >= 64 << 10 && !p.wokeFlusher {
            p.wokeFlusher = true
            return .wakeFlusher
        }
        return .low
    }

    private func afterAppend(_ fill: Fill, now: Bool) {
        if now || fill == .flushHere {
            flush()
        } else if fill == .wakeFlusher {
            wake.signal()
        }
    }

    /// Formats and writes every queued line, in as few writes as rotation allows (a file passing
    /// `maxBytes` is rotated between two lines). The callers' buffer is swapped out under their lock;
    /// the formatting and writing happen under the output lock only.
    public func flush() {
        output.withLock { out in
            pending.withLock { p in
                swap(&p.bytes, &out.spare.bytes)
                swap(&p.contexts, &out.spare.contexts)
                p.wokeFlusher = false
            }
            guard !out.spare.bytes.isEmpty else { return }
            LogRecords.format(out.spare.bytes, contexts: out.spare.contexts, clock: &out.clock, into: &out.lines, ends: &out.ends)
            var chunkStart = 0
            var lineStart = 0
            for end in out.ends {
                let length = end - lineStart
                if let path, out.written + length > maxBytes, out.written > 0 {
                    if lineStart > chunkStart { try? out.handle.write(contentsOf: out.lines[chunkStart..<lineStart]) }
                    chunkStart = lineStart
                    try? out.handle.close()
                    try? FileManager.default.removeItem(atPath: path + ".1")
                    try? FileManager.default.moveItem(atPath: path, toPath: path + ".1")
                    if let fresh = try? Self.open(path) { out.handle = fresh }
                    out.written = 0
                }
                out.written += length
                lineStart = end
            }
            if lineStart > chunkStart { try? out.handle.write(contentsOf: out.lines[chunkStart..<lineStart]) }
            out.spare.bytes.removeAll(keepingCapacity: true)
            out.spare.contexts.removeAll(keepingCapacity: true)
            out.lines.removeAll(keepingCapacity: true)
            out.ends.removeAll(keepingCapacity: true)
        }
    }

    /// Flushes every live sink: call before a process exits normally.
    public static func flushAll() {
        for weak in registry.withLock({ $0 }) { weak.sink?.flush() }
    }
}
