import Foundation
import TandemPostgres

/// The anchor every database benchmark is compared to: PostgreSQL's own `pgbench`, run in the same
/// invocation against the same server, with a one-row INSERT per transaction.
enum PGBenchAnchor {
    /// The table `insertScript` writes to; `prepare` creates it.
    static let table = "bench_pgbench"

    /// Creates (or empties) the anchor's table: `(id bigint, payload bytea)`, the shape of a journal row.
    static func prepare(_ connection: PostgresConnection) async throws {
        try await connection.execute(
            "SET client_min_messages = warning; DROP TABLE IF EXISTS \(table); CREATE TABLE \(table) (id bigint NOT NULL, payload bytea NOT NULL)")
    }

    /// Runs pgbench for `seconds` with one client, prepared statements, one committed INSERT per
    /// transaction, and returns its TPS ("without initial connection time").
    ///
    /// pgbench ends a timed run (`-T`) on SIGALRM. A child inherits the signal mask of the thread that
    /// spawns it, and Swift's pool threads block nearly every signal, so pgbench spawned from one never
    /// sees its alarm (measured: it ran for minutes and ignored SIGTERM). So it is spawned from a fresh
    /// thread that first unblocks the signals pgbench relies on.
    static func singleInsertTPS(server: EmbeddedPostgres, database: String = "postgres", seconds: Int) async throws -> Double {
        try await runOnDedicatedThread(name: "tandem-pgbench") {
            var signals = sigset_t()
            sigemptyset(&signals)
            for signal in [SIGALRM, SIGTERM, SIGINT] { sigaddset(&signals, signal) }
            pthread_sigmask(SIG_UNBLOCK, &signals, nil)
            return try runPGBench(server: server, database: database, seconds: seconds)
        }
    }

    private static func runPGBench(server: EmbeddedPostgres, database: String, seconds: Int) throws -> Double {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-pgbench-\(UUID().uuidString).sql")
        try """
            \\set id random(1, 1000000000)
            INSERT INTO \(table) (id, payload) VALUES (:id, '\\x000102030405060708090a0b0c0d0e0f');
            """.write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: server.binaries.pgbench)
        process.arguments = [
            "-n", "-c", "1", "-j", "1", "-M", "prepared", "-T", String(seconds), "-f", script.path,
            "-h", server.host, "-p", String(server.port), "-U", server.user, database,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw BenchError("pgbench failed (exit \(process.terminationStatus)): \(text.suffix(400))")
        }
        // "tps = 1234.567890 (without initial connection time)"
        for line in text.split(separator: "\n") where line.hasPrefix("tps = ") {
            let number = line.dropFirst("tps = ".count).prefix { $0 == "." || $0.isNumber }
            if let tps = Double(number) { return tps }
        }
        throw BenchError("could not find the TPS in pgbench's output: \(text.suffix(400))")
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
