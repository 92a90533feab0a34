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
/// A log call takes the time, resolves the metadata provider, and queues the event (its message and
/// metadata are retained, not copied) for the sink, which formats and writes it off the caller's
/// thread (``JSONLogSink``): the order path pays for the swift-log call and one locked append, not
/// for the formatting. Warnings and worse are formatted and written before the call returns.
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
        sink.enqueue(LogRecord(ns: now, level: event.level, message: event.message.description, source: event.source,
                               call: event.metadata, provided: metadataProvider?.get(), context: context),
                     now: event.level >= .warning)
    }

    /// One line, newline-terminated, appended to `out`: the fixed fields, then the handler's
    /// (sorted by key), then the metadata provider's and the call's, in their dictionary's order; a
    /// key given by more than one source appears once, with the value of the last (handler,
    /// provider, call).
    static func format(_ r: LogRecord, clock: inout LineClock, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"ts":""#.utf8)
        clock.appendTimestamps(r.ns, to: &out)
        field("level", r.level.rawValue, &out)
        out.append(contentsOf: r.context.encodedIdentity)
        field("msg", r.message, &out)
        field("source", r.source, &out)
        let handlerKeys = r.context.keys
        if !handlerKeys.isEmpty {
            let overridden = r.provided != nil || (r.call.map { call in call.keys.contains { handlerKeys.contains($0) } } ?? false)
            if !overridden {
                out.append(contentsOf: r.context.encodedMetadata)
            } else {
                for (k, v) in r.context.sortedMetadata where r.call?[k] == nil && r.provided?[k] == nil { field(k, v, &out) }
            }
        }
        if let provided = r.provided { for (k, v) in provided where r.call?[k] == nil { field(k, v, &out) } }
        if let call = r.call { for (k, v) in call { field(k, v, &out) } }
        out.append(contentsOf: "}\n".utf8)
    }

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

    static func field(_ key: String, _ value: Logger.MetadataValue, _ out: inout [UInt8]) {
        guard !isReserved(key) else { return }
        switch value {
        case .string(let s): field(key, s, &out)
        case .stringConvertible(let c): field(key, c.description, &out)
        default: field(key, value.description, &out)
        }
    }

    static func field(_ key: String, _ value: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        appendString(key, &out)
        out.append(UInt8(ascii: ":"))
        appendString(value, &out)
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

    /// A JSON string literal (RFC 8259 escapes; control characters as \u00XX). Strings with nothing to
    /// escape (nearly all) are scanned once and copied in one piece.
    static func appendString(_ s: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let copied: Bool? = s.utf8.withContiguousStorageIfAvailable { bytes in
            for b in bytes where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if copied != true { appendEscaped(s, &out) }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ s: String, _ out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            default: out.append(b)
            }
        }
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

    /// Nine digits (`nanos` < 10⁹), then `Z` with `zulu`.
    static func appendNanos(_ nanos: Int64, to out: inout [UInt8], zulu: Bool = true) {
        var buf = InlineArray<10, UInt8>(repeating: UInt8(ascii: "Z"))
        var x = UInt32(truncatingIfNeeded: nanos)
        for i in stride(from: 8, through: 0, by: -1) {
            buf[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: x % 10)
            x /= 10
        }
        for i in 0..<(zulu ? 10 : 9) { out.append(buf[i]) }
    }
}

/// A handler's fixed part of every line, encoded once (when the handler is made or its metadata set),
/// shared by its queued records.
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
        var identity: [UInt8] = []
        JSONLogHandler.field("process", process, &identity)
        JSONLogHandler.field("label", label, &identity)
        encodedIdentity = identity
        sortedMetadata = metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        keys = sortedMetadata.map(\.0)
        var fields: [UInt8] = []
        for (k, v) in sortedMetadata { JSONLogHandler.field(k, v, &fields) }
        encodedMetadata = fields
    }
}

/// A log event as queued for the sink: what the line needs, taken at the call.
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
    mutating func appendTimestamps(_ ns: Int64, to out: inout [UInt8]) {
        let seconds = JSONLogHandler.floorSeconds(ns)
        if seconds != second {
            rfc3339.removeAll(keepingCapacity: true)
            JSONLogHandler.appendSecondPrefix(seconds, to: &rfc3339)
            decimalSeconds.removeAll(keepingCapacity: true)
            JSONLogHandler.appendInteger(seconds, &decimalSeconds)
            second = seconds
        }
        let nanos = ns - seconds * 1_000_000_000
        out.append(contentsOf: rfc3339)
        JSONLogHandler.appendNanos(nanos, to: &out)
        out.append(contentsOf: #"","ts_ns":"#.utf8)
        if ns >= 1_000_000_000 {
            out.append(contentsOf: decimalSeconds)
            JSONLogHandler.appendNanos(nanos, to: &out, zulu: false)
        } else {
            JSONLogHandler.appendInteger(ns, &out)
        }
    }
}

/// Where JSON lines go: standard error, or a file rotated when it passes `maxBytes` (renamed to
/// `<path>.1`, the previous `.1` dropped).
///
/// Events are queued and formatted and written by the sink's own flusher thread every
/// `flushInterval` (10 ms), so a log call on the order path costs one locked append, not the
/// formatting or a system call. While a backlog remains after a flush (a flood of lines), the flusher
/// goes again at once instead of sleeping; past `maxPending` queued events the caller flushes them
/// itself (backpressure, so a flood the flusher cannot keep up with cannot grow the queue without
/// bound: at most `maxPending` events, a few MiB, are held). Warnings and worse are written at
/// once, before `log` returns. A process killed with SIGKILL loses at most the last `flushInterval`
/// of info and debug lines; a process that ends normally calls ``flushAll()``.
public final class JSONLogSink: Sendable {
    private enum Entry: Sendable {
        case record(LogRecord)
        /// A line already formatted, newline-terminated.
        case line([UInt8])
    }
    /// What callers append to: the only lock a log call takes.
    private struct Pending {
        var entries: [Entry] = []
    }
    /// The file side, used by `flush` alone; held while formatting and writing, so flushes keep line
    /// order, and never while a caller appends.
    private struct Output {
        var handle: FileHandle
        var written: Int
        var clock = LineClock()
        /// The previous flush's queue, emptied, swapped in for the callers' (no allocation per flush).
        var spare = Pending()
        var bytes: [UInt8] = []
        /// End offset in `bytes` of each line, so rotation splits between lines.
        var ends: [Int] = []
    }
    /// Queued events past which the caller flushes.
    static let maxPending = 65_536
    /// Queued events at which the flusher does not sleep between flushes.
    static let backlog = 1_024
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
                if sink.pending.withLock({ $0.entries.count }) < Self.backlog { Thread.sleep(forTimeInterval: seconds) }
            }
        }
        thread.name = "tandem-log-flush"
        thread.start()
    }

    /// Queues one line (newline-terminated); with `now`, writes it and everything before it before returning.
    public func write(_ line: [UInt8], now: Bool = false) {
        enqueue(.line(line), now: now)
    }

    /// Queues one event; with `now`, formats and writes it and everything before it before returning.
    func enqueue(_ record: LogRecord, now: Bool) {
        enqueue(.record(record), now: now)
    }

    private func enqueue(_ entry: Entry, now: Bool) {
        let full = pending.withLock { p in
            p.entries.append(entry)
            return p.entries.count >= Self.maxPending
        }
        if now || full { flush() }
    }

    /// Formats and writes every queued line, in as few writes as rotation allows (a file passing
    /// `maxBytes` is rotated between two lines). The callers' queue is swapped out under their lock;
    /// formatting and writing happen under the output lock only.
    public func flush() {
        output.withLock { out in
            pending.withLock { swap(&$0.entries, &out.spare.entries) }
            guard !out.spare.entries.isEmpty else { return }
            for entry in out.spare.entries {
                switch entry {
                case .record(let r): JSONLogHandler.format(r, clock: &out.clock, into: &out.bytes)
                case .line(let l): out.bytes.append(contentsOf: l)
                }
                out.ends.append(out.bytes.count)
            }
            out.spare.entries.removeAll(keepingCapacity: true)
            var chunkStart = 0
            var lineStart = 0
            for end in out.ends {
                let length = end - lineStart
                if let path, out.written + length > maxBytes, out.written > 0 {
                    if lineStart > chunkStart { try? out.handle.write(contentsOf: out.bytes[chunkStart..<lineStart]) }
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
            if lineStart > chunkStart { try? out.handle.write(contentsOf: out.bytes[chunkStart..<lineStart]) }
            out.bytes.removeAll(keepingCapacity: true)
            out.ends.removeAll(keepingCapacity: true)
        }
    }

    /// Flushes every live sink: call before a process exits normally.
    public static func flushAll() {
        for weak in registry.withLock({ $0 }) { weak.sink?.flush() }
    }
}

/// What the flusher spends per line, for `tandem bench ops`: formatting queued events of the
/// benchmark's shape (three call fields, one handler field) into the output buffer, off the caller's
/// thread. The events are built before the clock starts.
public enum JSONLogFormatBenchmark {
    public static func run(iterations: Int) -> Duration {
        let context = LogContext(process: "node", label: "tandem.node", metadata: ["node.id": "node-a"])
        let start = JSONLogHandler.now()
        let records = (0..<iterations).map { i in
            LogRecord(ns: start + Int64(i) * 1_000, level: .info, message: "order sent", source: "TandemNode",
                      call: ["order.clOrdID": "3-\(i)", "journal.seq": "\(i)", "fix.msgSeqNum": "\(i)"],
                      provided: nil, context: context)
        }
        var clock = LineClock()
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        var written = 0
        let t0 = ContinuousClock.now
        for record in records {
            JSONLogHandler.format(record, clock: &clock, into: &out)
            if out.count > 1 << 19 { written &+= out.count; out.removeAll(keepingCapacity: true) }
        }
        let elapsed = ContinuousClock.now - t0
        precondition(written + out.count > 0)
        return elapsed
    }
}
