import Foundation
import Testing

/// `tandem drill` end to end: the binary starts its own cluster (PostgreSQL, venue, two nodes), strikes
/// the fault, and reports its figures and checks as JSON.
@Suite("tandem drill", .serialized, .timeLimit(.minutes(3)))
struct DrillTests {
    struct Summary: Decodable {
        var scenario: String
        var runs: Int
        var rtoMsP50: Int64?
        var rtoMsMax: Int64?
        var lostFills: Int
        var duplicateOrders: Int
        var positionsMatch: Bool
        var auditOk: Bool
        var perRun: [Run]
        struct Run: Decodable {
            var rtoMs: Int64?
            var takeoverMs: Int64?
            var epochBefore: UInt64
            var epochAfter: UInt64?
            var notes: [String]
        }
    }

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }()

    /// Runs `tandem drill ARGS --json` and decodes its summary (stdout); stderr is kept for failure messages.
    func drill(_ arguments: [String], timeout: Duration = .seconds(150)) async throws -> (status: Int32, summary: Summary?, log: String) {
        // The logs stay when the drill fails (their path is in the failure message), and go when it passes.
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-drill-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))")
        let process = Process()
        process.executableURL = try drillBinary()
        process.arguments = ["drill"] + arguments + ["--json", "--log-directory", logs.path]
        let out = logs.appendingPathExtension("out"), err = logs.appendingPathExtension("err")
        for f in [out, err] { _ = FileManager.default.createFile(atPath: f.path, contents: nil) }
        defer { for f in [out, err] { try? FileManager.default.removeItem(at: f) } }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { kill(process.processIdentifier, SIGINT) }
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        let stdout = try Data(contentsOf: out)
        if process.terminationStatus == 0 { try? FileManager.default.removeItem(at: logs) }
        let log = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        return (process.terminationStatus, try? Self.decoder.decode(Summary.self, from: stdout), log + String(decoding: stdout, as: UTF8.self))
    }

    @Test("kill-leader twice: the standby takes over each time, nothing lost or doubled, positions match, the journal verifies")
    func killLeader() async throws {
        let (status, summary, log) = try await drill(["kill-leader", "--runs", "2"])
        let s = try #require(summary, "no JSON summary:\n\(log.suffix(4000))")
        #expect(status == 0, "\(log.suffix(4000))")
        #expect(s.scenario == "kill-leader" && s.runs == 2 && s.perRun.count == 2)
        #expect(s.lostFills == 0, "\(log.suffix(4000))")
        #expect(s.duplicateOrders == 0, "\(log.suffix(4000))")
        #expect(s.positionsMatch, "\(log.suffix(4000))")
        #expect(s.auditOk)
        #expect(s.rtoMsP50 != nil && s.rtoMsMax != nil, "RTO not measured:\n\(log.suffix(4000))")
        for run in s.perRun {
            #expect(run.rtoMs != nil && run.takeoverMs != nil)
            #expect(run.epochAfter.map { $0 > run.epochBefore } ?? false, "the epoch did not move")
        }
    }

    @Test("pause-leader: the stopped leader is replaced after its lease; resumed, it steps down and sends nothing")
    func pauseLeader() async throws {
        let (status, summary, log) = try await drill(["pause-leader", "--runs", "1"])
        let s = try #require(summary, "no JSON summary:\n\(log.suffix(4000))")
        #expect(status == 0, "\(log.suffix(4000))")
        #expect(s.lostFills == 0 && s.duplicateOrders == 0 && s.positionsMatch && s.auditOk, "\(log.suffix(4000))")
        #expect(s.rtoMsP50 != nil)
        // A takeover after a pause waits for the lease (1 s by default): it cannot be fast.
        #expect((s.perRun.first?.takeoverMs ?? 0) >= 500)
    }

    /// The `tandem` executable next to the test bundle (as `tandemBinary()` in ProcessSupport.swift).
    func drillBinary() throws -> URL {
        let buildDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidate = [buildDir, buildDir.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("tandem") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        return try #require(candidate, "no `tandem` executable next to \(buildDir.path); run `swift build` first")
    }
}
