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
/// The line is formatted into the sink's buffer and written by the sink's flusher (``JSONLogSink``):
/// the order path pays for the formatting and one lock, not for a system call. Warnings and worse
/// are written before the call returns.
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
        sink.append(LogRecord(ns: now, level: event.level, message: event.message.description, source: event.source,
                               call: event.metadata, provided: metadataProvider?.get(), context: context),
                     now: event.level >= .warning)
    }

    /// One line, newline-terminated, appended to `out`: the fixed fields, then the handler's
    /// (sorted by key), then the metadata provider's and the call's, in their dictionary's order; a
    /// key given by more than one source appears once, with the value of the last (handler,
    /// provider, call).
    static func format(_ r: LogRecord, clock: inout LineClock, into out: inout [UInt8]) {
        // One pass over the call's fields measures them, finds a non-string value and a key the handler
        // also has. Values other than strings are described once, before the capacity is reserved: a
        // description must not change between measuring and writing.
        var r = r
        let handlerKeys = r.context.keys
        var callBound = 0
        var allStrings = true
        var overridden = !handlerKeys.isEmpty && r.provided != nil
        if let call = r.call {
            for (k, v) in call {
                guard case .string(let text) = v else { allStrings = false; break }
                callBound += 6 + 6 * (k.utf8.count + text.utf8.count)
                if !overridden && !handlerKeys.isEmpty && handlerKeys.contains(k) { overridden = true }
            }
        }
        if !allStrings {
            r.call = textual(r.call)
            callBound = r.call.map { $0.reduce(0) { $0 + Self.bound($1.key, $1.value) } } ?? 0
            overridden = !handlerKeys.isEmpty && (r.provided != nil || (r.call?.keys.contains { handlerKeys.contains($0) } ?? false))
        }
        r.provided = textual(r.provided)
        var bound = 160 + r.context.encodedIdentity.count + 6 * (r.message.utf8.count + r.source.utf8.count) + callBound
        if overridden {
            for (k, v) in r.context.sortedMetadata { bound += Self.bound(k, v) }
        } else {
            bound += r.context.encodedMetadata.count
        }
        if let provided = r.provided { for (k, v) in provided { bound += Self.bound(k, v) } }
        out.append(addingCapacity: bound) { (o: inout OutputSpan<UInt8>) in
            put(#"{"ts":""#, &o)
            clock.putTimestamps(r.ns, to: &o)
            put(#","level":""#, &o)
            put(r.level.rawValue, &o)
            o.append(UInt8(ascii: "\""))
            putBytes(r.context.encodedIdentity, &o)
            put(#","msg":"#, &o)
            putString(r.message, &o)
            put(#","source":"#, &o)
            putString(r.source, &o)
            if !overridden {
                putBytes(r.context.encodedMetadata, &o)
            } else {
                for (k, v) in r.context.sortedMetadata where r.call?[k] == nil && r.provided?[k] == nil { putField(k, v, &o) }
            }
            if let provided = r.provided { for (k, v) in provided where r.call?[k] == nil { putField(k, v, &o) } }
            if let call = r.call { for (k, v) in call { putField(k, v, &o) } }
            o.append(UInt8(ascii: "}"))
            o.append(UInt8(ascii: "\n"))
        }
    }

    /// `metadata` with every value a `.string` (unchanged, and not copied, when all already are).
    static func textual(_ metadata: Logger.Metadata?) -> Logger.Metadata? {
        guard let metadata, metadata.values.contains(where: { if case .string = $0 { false } else { true } }) else { return metadata }
        return metadata.mapValues { if case .string = $0 { $0 } else { .string($0.description) } }
    }

    private static func bound(_ key: String, _ value: Logger.MetadataValue) -> Int {
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
        for i in span.indices {
            let b = span[i]
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                o.append(b)
                continue
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
        o.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? UInt8(ascii: "0") &+ v : UInt8(ascii: "a") &+ (v &- 10) }

    /// UTC nanoseconds since the Unix epoch.
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// One line, newline-terminated, appended to `out`, for a caller without a handler (tests, tools).
    public static func format(level: Logger.Level, message: String, metadata: Logger.Metadata, source: String,
                              label: String, process: String, now: Int64, into out: inout [UInt8]) {
        var clock = LineClock()
        format(LogRecord(ns: now, level: level, message: message, source: source, call: metadata, provided: nil,
                         context: LogContext(process: process, label: label, metadata: [:])),
               clock: &clock, into: &out)
    }

    /// The fixed fields' names: a metadata key equal to one is left out (the fixed field wins).
    private static func isReserved(_ key: String) -> Bool {
        switch key.utf8.count {
        case 2: return key == "ts"
        case 3: return key == "msg"
        case 5: return key == "ts_ns" || key == "level" || key == "label"
        case 6: return key == "source"
        case 7: return key == "process"
        default: return false
        }
    }

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

/// A log event as the formatter takes it: what the line needs, taken at the call.
struct LogRecord: Sendable {
    var ns: Int64
    var level: Logger.Level
    var message: String
    var source: String
    var call: Logger.Metadata?
    var provided: Logger.Metadata?
    var context: LogContext
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
/// A log call formats its line straight into the sink's pending buffer, under that buffer's lock
/// only; the sink's own flusher thread swaps the buffer out every `flushInterval` (10 ms) or when
/// 64 KiB are pending, and writes it under a separate output lock, so callers never wait behind the
/// `write` system call or a rotation. Warnings and worse are written at once, before `log` returns.
/// A process killed with SIGKILL loses at most the last `flushInterval` of info and debug lines; a
/// process that ends normally calls ``flushAll()``.
///
/// (Formatting on the flusher thread instead, with the call only queueing the event, was measured
/// and was slower per call on two cores: the caller's allocations were freed on the other thread.)
public final class JSONLogSink: Sendable {
    /// What callers append to: the only lock a log call takes.
    private struct Pending {
        var bytes: [UInt8] = []
        /// End offset in `bytes` of each line, so rotation splits between lines.
        var ends: [Int] = []
        var clock = LineClock()
    }
    /// The file side, used by `flush` alone; held while writing, so flushes keep line order, and
    /// never while a caller appends.
    private struct Output {
        var handle: FileHandle
        var written: Int
        /// The previous flush's buffers, emptied, swapped in for the callers' (no allocation per flush).
        var spare = Pending()
    }
    private let pending = Mutex(Pending())
    private let output: Mutex<Output>
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
                Thread.sleep(forTimeInterval: seconds)
            }
        }
        thread.name = "tandem-log-flush"
        thread.start()
    }

    /// Queues one line (newline-terminated); with `now`, writes it and everything before it before returning.
    public func write(_ line: [UInt8], now: Bool = false) {
        append(now: now) { out, _ in out.append(contentsOf: line) }
    }

    /// Formats one event into the pending buffer; with `now`, writes it and everything before it
    /// before returning.
    func append(_ record: LogRecord, now: Bool) {
        append(now: now) { out, clock in JSONLogHandler.format(record, clock: &clock, into: &out) }
    }

    private func append(now: Bool, _ format: (inout [UInt8], inout LineClock) -> Void) {
        let full = pending.withLock { p in
            format(&p.bytes, &p.clock)
            p.ends.append(p.bytes.count)
            return p.bytes.count >= 64 << 10
        }
        if now || full { flush() }
    }

    /// Writes every queued line, in as few writes as rotation allows (a file passing `maxBytes` is
    /// rotated between two lines). The callers' buffer is swapped out under their lock; the writing
    /// happens under the output lock only.
    public func flush() {
        output.withLock { out in
            pending.withLock { p in
                swap(&p.bytes, &out.spare.bytes)
                swap(&p.ends, &out.spare.ends)
            }
            guard !out.spare.bytes.isEmpty else { return }
            var chunkStart = 0
            var lineStart = 0
            for end in out.spare.ends {
                let length = end - lineStart
                if let path, out.written + length > maxBytes, out.written > 0 {
                    if lineStart > chunkStart { try? out.handle.write(contentsOf: out.spare.bytes[chunkStart..<lineStart]) }
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
            if lineStart > chunkStart { try? out.handle.write(contentsOf: out.spare.bytes[chunkStart..<lineStart]) }
            out.spare.bytes.removeAll(keepingCapacity: true)
            out.spare.ends.removeAll(keepingCapacity: true)
        }
    }

    /// Flushes every live sink: call before a process exits normally.
    public static func flushAll() {
        for weak in registry.withLock({ $0 }) { weak.sink?.flush() }
    }
}
