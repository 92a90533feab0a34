import Foundation
import Logging
import Testing

@testable import TandemOps

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    func line(_ message: String, _ metadata: Logger.Metadata = [:], at ns: Int64 = 1_795_654_609_586_316_638) -> [String: Any] {
        var out: [UInt8] = []
        JSONLogHandler.format(level: .warning, message: message, metadata: metadata, source: "TandemNode", label: "tandem.node",
                              process: "node", now: ns, into: &out)
        #expect(out.last == UInt8(ascii: "\n"))
        return (try? JSONSerialization.jsonObject(with: Data(out.dropLast())) as? [String: Any]) ?? [:]
    }

    /// A log file path of this process for one test (`tag`), in the temporary directory.
    func logFile(_ tag: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tandem-log-\(tag)-\(getpid()).jsonl").path
    }

    /// Each line of the file at `path`, parsed as a JSON object.
    func objects(inFile path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test("one JSON object per line with UTC time to the nanosecond, level, process, message, and dotted metadata keys as fields")
    func fields() {
        let j = line("order sent", ["order.clOrdID": "3-1042", "journal.seq": "1042"])
        #expect(j["ts"] as? String == "2026-11-26T00:56:49.586316638Z")
        #expect((j["ts_ns"] as? NSNumber)?.int64Value == 1_795_654_609_586_316_638)
        #expect(j["level"] as? String == "warning")
        #expect(j["process"] as? String == "node")
        #expect(j["msg"] as? String == "order sent")
        #expect(j["order.clOrdID"] as? String == "3-1042")
        #expect(j["journal.seq"] as? String == "1042")
    }

    @Test("quotes, backslashes, newlines and control characters are escaped; the line still parses")
    func escaping() {
        let j = line("a \"quoted\" \\ path\nnext\tline \u{01}", ["key\"x": "v\u{1F}"])
        #expect(j["msg"] as? String == "a \"quoted\" \\ path\nnext\tline \u{01}")
        #expect(j["key\"x"] as? String == "v\u{1F}")
    }

    @Test("RFC 3339 dates across the calendar: epoch, leap day, before 1970", arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000000Z"),
        (Int64(951_782_400_000_000_001), "2000-02-29T00:00:00.000000001Z"),
        (Int64(-1), "1969-12-31T23:59:59.999999999Z"),
        (Int64(4_102_444_799_999_999_999), "2099-12-31T23:59:59.999999999Z"),
    ])
    func dates(ns: Int64, text: String) {
        var out: [UInt8] = []
        JSONLogHandler.appendRFC3339(ns, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == text)
    }

    @Test("the per-second cache gives the same ts and ts_ns as formatting each line afresh, across second boundaries")
    func lineClock() {
        var clock = LineClock()
        let instants: [Int64] = [1_795_654_609_586_316_638, 1_795_654_609_999_999_999, 1_795_654_610_000_000_000,
                                 1_795_654_610_000_000_001, 1_795_654_609_000_000_007, 0, 5, 999_999_999, 1_000_000_000,
                                 1_000_000_001, -1, -1_000_000_001, 4_102_444_799_999_999_999]
        for ns in instants {
            var out: [UInt8] = []
            clock.appendTimestamps(ns, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == JSONLogHandler.rfc3339(ns) + #"","ts_ns":"# + String(ns), "at \(ns)")
        }
    }

    @Test("through a Logger: handler metadata, call metadata (the call's value wins a shared key), no fixed field overwritten")
    func handlerLine() throws {
        let path = logFile("h")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try JSONLogSink(path: path)
        var handler = JSONLogHandler(label: "tandem.node", process: "node", sink: sink)
        handler[metadataKey: "node.id"] = "node-a"
        handler[metadataKey: "lease.epoch"] = "7"
        let logger = Logger(label: "tandem.node", factory: { _ in handler })
        logger.info("order sent", metadata: ["order.clOrdID": "3-1042", "journal.seq": "1042"])
        logger.info("epoch moved", metadata: ["lease.epoch": "8", "level": "bogus", "msg": "bogus"])
        sink.flush()
        let lines = try objects(inFile: path)
        try #require(lines.count == 2)
        #expect(lines[0]["node.id"] as? String == "node-a")
        #expect(lines[0]["lease.epoch"] as? String == "7")
        #expect(lines[0]["order.clOrdID"] as? String == "3-1042")
        #expect(lines[0]["journal.seq"] as? String == "1042")
        #expect(lines[0]["process"] as? String == "node" && lines[0]["label"] as? String == "tandem.node")
        #expect(lines[0]["source"] as? String == "TandemOpsTests")
        #expect(lines[1]["lease.epoch"] as? String == "8")
        #expect(lines[1]["node.id"] as? String == "node-a")
        #expect(lines[1]["level"] as? String == "info" && lines[1]["msg"] as? String == "epoch moved")
        let ts = try #require(lines[0]["ts"] as? String)
        let ns = try #require((lines[0]["ts_ns"] as? NSNumber)?.int64Value)
        #expect(ts == JSONLogHandler.rfc3339(ns))
        // One key each: a shared key is not written twice.
        let raw = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")[1]
        #expect(raw.components(separatedBy: "\"lease.epoch\"").count == 2)
    }

    @Test("a value that describes itself differently each time is described once: the line stays whole and parses")
    func changingDescription() {
        final class Growing: CustomStringConvertible, @unchecked Sendable {
            var n = 0
            var description: String { n += 1; return String(repeating: "x", count: n * 100) }
        }
        let j = line("m", ["grows": .stringConvertible(Growing()), "list": .array(["a", "b"])])
        #expect((j["grows"] as? String)?.count == 100)
        #expect(j["list"] as? String == #"["a", "b"]"#)
    }

    @Test("a file sink rotates at its size limit, keeping the previous file as .1")
    func rotation() throws {
        let path = logFile("rot")
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: path + ".1") }
        let sink = try JSONLogSink(path: path, maxBytes: 300)
        for i in 0..<10 { sink.write(Array("{\"n\":\(i),\"pad\":\"\(String(repeating: "x", count: 40))\"}\n".utf8)) }
        sink.flush()
        let current = try String(contentsOfFile: path, encoding: .utf8)
        let previous = try String(contentsOfFile: path + ".1", encoding: .utf8)
        #expect(current.utf8.count <= 300 && previous.utf8.count <= 300)
        #expect(current.contains("\"n\":9"))
        #expect((current + previous).split(separator: "\n").allSatisfy { $0.hasPrefix("{\"n\":") })
    }

    @Test("lines are written by the flusher within its interval; a warning is written before log returns")
    func buffered() async throws {
        let path = logFile("buf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try JSONLogSink(path: path, flushInterval: .milliseconds(20))
        let logger = Logger(label: "t", factory: { _ in JSONLogHandler(label: "t", process: "test", sink: sink) })
        logger.warning("urgent")
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("\"msg\":\"urgent\""))
        logger.info("later")
        var seen = false
        for _ in 0..<50 where !seen {
            try await Task.sleep(for: .milliseconds(20))
            seen = try String(contentsOfFile: path, encoding: .utf8).contains("\"msg\":\"later\"")
        }
        #expect(seen, "the flusher wrote the info line within a second")
    }

    @Test("records of two handlers and raw lines, interleaved in one flush, come out in order, each with its own handler's fields")
    func interleaved() throws {
        let path = logFile("mix")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try JSONLogSink(path: path, flushInterval: .seconds(60))
        var a = JSONLogHandler(label: "a", process: "node", sink: sink)
        a[metadataKey: "node.id"] = "node-a"
        var b = JSONLogHandler(label: "b", process: "node", sink: sink)
        b[metadataKey: "node.id"] = "node-b"
        let la = Logger(label: "a", factory: { _ in a }), lb = Logger(label: "b", factory: { _ in b })
        la.info("1")
        lb.info("2", metadata: ["n": .stringConvertible(2)])
        sink.write(Array(#"{"msg":"3"}"#.utf8) + [UInt8(ascii: "\n")])
        la.info("4", metadata: ["node.id": "override"])
        sink.flush()
        let lines = try objects(inFile: path)
        try #require(lines.count == 4)
        #expect(lines.map { $0["msg"] as? String } == ["1", "2", "3", "4"])
        #expect(lines[0]["node.id"] as? String == "node-a" && lines[0]["label"] as? String == "a")
        #expect(lines[1]["node.id"] as? String == "node-b" && lines[1]["label"] as? String == "b" && lines[1]["n"] as? String == "2")
        #expect(lines[3]["node.id"] as? String == "override")
    }

    @Test("a metadata provider's fields: after the handler's, the provider winning a shared key and the call winning over both")
    func provided() throws {
        let path = logFile("prov")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try JSONLogSink(path: path)
        var handler = JSONLogHandler(label: "t", process: "node", sink: sink)
        handler[metadataKey: "node.id"] = "node-a"
        handler[metadataKey: "trace.id"] = "handler"
        handler.metadataProvider = Logger.MetadataProvider { ["trace.id": "provider", "span.id": "s1", "ts": "bogus"] }
        let logger = Logger(label: "t", factory: { _ in handler })
        logger.info("x")
        logger.info("y", metadata: ["span.id": "call"])
        sink.flush()
        let raw = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let lines = try raw.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        try #require(lines.count == 2)
        #expect(lines[0]["node.id"] as? String == "node-a" && lines[0]["trace.id"] as? String == "provider")
        #expect(lines[0]["span.id"] as? String == "s1" && lines[0]["ts"] as? String != "bogus")
        #expect(lines[1]["span.id"] as? String == "call")
        #expect(raw[1].components(separatedBy: "\"span.id\"").count == 2 && raw[1].components(separatedBy: "\"trace.id\"").count == 2)
    }

    @Test("a burst of lines past 64 KiB wakes the flusher: every line is written, whole and in order, without a flush call")
    func burst() async throws {
        let path = logFile("burst")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try JSONLogSink(path: path, flushInterval: .seconds(60))
        let logger = Logger(label: "t", factory: { _ in JSONLogHandler(label: "t", process: "test", sink: sink) })
        let count = 5_000
        for i in 0..<count { logger.info("line", metadata: ["i": "\(i)", "pad": "\(String(repeating: "x", count: 40))"]) }
        var lines: [Substring] = []
        for _ in 0..<100 {
            lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            if lines.count >= count - 1_000 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        // The flusher was woken at 64 KiB, well before its 60 s interval; what it has not swapped out
        // yet (under 64 KiB of records) is written by the flush.
        #expect(lines.count >= count - 1_000)
        sink.flush()
        lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let numbers = try lines.map { try #require((JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["i"] as? String) }
        #expect(numbers == (0..<count).map { "\($0)" })
    }
}
