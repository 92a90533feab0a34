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
/// Executables bootstrap it (`LoggingSystem.bootstrap`); libraries only take a `Logger`.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let process: String
    private let sink: JSONLogSink

    public init(label: String, process: String, sink: JSONLogSink) {
        self.label = label
        self.process = process
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(256)
        Self.format(level: event.level, message: "\(event.message)", fields: mergedFields(event.metadata),
                    source: event.source, label: label, process: process, now: JSONLogHandler.now(), into: &line)
        sink.write(line, now: event.level >= .warning)
    }

    /// Handler, provider and call metadata as (key, value) pairs sorted by key; later sources win.
    private func mergedFields(_ explicit: Logger.Metadata?) -> [(String, Logger.MetadataValue)] {
        var pairs: [(String, Logger.MetadataValue)] = []
        pairs.reserveCapacity(metadata.count + (explicit?.count ?? 0))
        let provided = metadataProvider?.get()
        for (k, v) in metadata where explicit?[k] == nil && provided?[k] == nil { pairs.append((k, v)) }
        if let provided { for (k, v) in provided where explicit?[k] == nil { pairs.append((k, v)) } }
        if let explicit { for (k, v) in explicit { pairs.append((k, v)) } }
        pairs.sort { $0.0 < $1.0 }
        return pairs
    }

    /// UTC nanoseconds since the Unix epoch.
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// One line, newline-terminated, appended to `out`. Keys in a fixed order, then metadata keys sorted.
    public static func format(level: Logger.Level, message: String, metadata: Logger.Metadata, source: String,
                              label: String, process: String, now: Int64, into out: inout [UInt8]) {
        format(level: level, message: message, fields: metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
               source: source, label: label, process: process, now: now, into: &out)
    }

    /// `fields` sorted by key.
    static func format(level: Logger.Level, message: String, fields: [(String, Logger.MetadataValue)], source: String,
                       label: String, process: String, now: Int64, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"ts":""#.utf8)
        appendRFC3339(now, to: &out)
        out.append(contentsOf: #"","ts_ns":"#.utf8)
        appendInteger(now, &out)
        field("level", level.rawValue, &out)
        field("process", process, &out)
        field("label", label, &out)
        field("msg", message, &out)
        field("source", source, &out)
        for (key, value) in fields where key.utf8.count > 7 || !reserved.contains(key) {
            field(key, value.description, &out)
        }
        out.append(contentsOf: "}\n".utf8)
    }

    private static let reserved: Set<String> = ["ts", "ts_ns", "level", "process", "label", "msg", "source"]

    private static func field(_ key: String, _ value: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        appendString(key, &out)
        out.append(UInt8(ascii: ":"))
        appendString(value, &out)
    }

    private static func appendInteger(_ v: Int64, _ out: inout [UInt8]) {
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

    private static func needsEscaping(_ s: String) -> Bool {
        let span = s.utf8.span
        for i in span.indices {
            let b = span[i]
            if b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { return true }
        }
        return false
    }

    /// A JSON string literal (RFC 8259 escapes; control characters as \u00XX). Strings with nothing to
    /// escape (nearly all) are copied in one piece.
    static func appendString(_ s: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        if !needsEscaping(s) {
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
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
        out.append(UInt8(ascii: "\""))
    }

    /// `2026-11-26T00:56:16.123456789Z`, from UTC nanoseconds.
    public static func rfc3339(_ ns: Int64) -> String {
        var out: [UInt8] = []
        appendRFC3339(ns, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `2026-11-26T00:56:16.123456789Z`, from UTC nanoseconds (proleptic Gregorian, civil-from-days).
    static func appendRFC3339(_ ns: Int64, to out: inout [UInt8]) {
        let seconds = ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000
        let nanos = ns - seconds * 1_000_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secOfDay = seconds - days * 86_400
        let (y, m, d) = CivilCalendar.date(days: days)
        let (year, month, day) = (Int64(y), Int64(m), Int64(d))
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
        digits(year, 4); out.append(UInt8(ascii: "-"))
        digits(month, 2); out.append(UInt8(ascii: "-"))
        digits(day, 2); out.append(UInt8(ascii: "T"))
        digits(secOfDay / 3600, 2); out.append(UInt8(ascii: ":"))
        digits(secOfDay % 3600 / 60, 2); out.append(UInt8(ascii: ":"))
        digits(secOfDay % 60, 2); out.append(UInt8(ascii: "."))
        digits(nanos, 9); out.append(UInt8(ascii: "Z"))
    }
}

/// Where JSON lines go: standard error, or a file rotated when it passes `maxBytes` (renamed to
/// `<path>.1`, the previous `.1` dropped).
///
/// Lines are buffered and written by the sink's own flusher thread every `flushInterval` (10 ms) or
/// when 64 KiB are pending, so a log call on the order path costs the formatting and one locked
/// append, not a system call. Warnings and worse are written at once, before `log` returns. A process
/// killed with SIGKILL loses at most the last `flushInterval` of info and debug lines; a process that
/// ends normally calls ``flushAll()``.
public final class JSONLogSink: Sendable {
    /// What callers append to: the only lock a log call takes.
    private struct Pending {
        var bytes: [UInt8] = []
        /// End offset in `bytes` of each line, so rotation splits between lines.
        var ends: [Int] = []
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

    /// Queues one line; with `now`, writes it and everything before it before returning.
    public func write(_ line: [UInt8], now: Bool = false) {
        let full = pending.withLock { p in
            p.bytes.append(contentsOf: line)
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
            pending.withLock { swap(&$0, &out.spare) }
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
