import Foundation
import TandemCore
import TandemJournal
import TandemNode
import TandemPostgres
import TandemPostgresTestKit
import Testing

/// `tandem journal snapshot` as an operator runs it (e.g. from a timer): the binary against a journal
/// written here, then `tandem status` starting past a damaged newest snapshot.
@Suite("tandem journal snapshot", .embeddedPostgres, .serialized, .timeLimit(.minutes(3)))
struct JournalSnapshotCommandTests {
    static func run(_ arguments: [String]) -> (status: Int32, output: String) {
        (try? Child.run("journal-snapshot", arguments: arguments)) ?? (-1, "could not start tandem \(arguments)")
    }

    static func storedSeqs(_ dsn: String) async throws -> [Int64] {
        let conn = try await PostgresConnection.connect(dsn)
        let seqs = try await conn.query("SELECT seq FROM tandem.snapshots ORDER BY seq").rows.map { try $0.decode(Int64.self, at: 0) }
        await conn.close()
        return seqs
    }

    @Test("each run stores the state at the head from the newest snapshot; --keep prunes; status passes a damaged newest one")
    func snapshotsFromTheCommandLine() async throws {
        let dsn = try await freshClusterDatabase()
        let events = SyntheticJournal.events(count: 1_000, seed: 7, instrumentCount: 2)
        for (i, chunk) in stride(from: 0, to: 900, by: 300).enumerated() {
            try await appendAsLeader(dsn, holder: "node-a") { _ in Array(events[chunk..<chunk + 300]) }
            let run = Self.run(["journal", "snapshot", "--dsn", dsn])
            #expect(run.status == 0, "\(run.output)")
            let from = i == 0 ? "seq 1" : "the snapshot at seq \(chunk)"
            #expect(run.output.contains("snapshot at seq \(chunk + 300)") && run.output.contains("folded 300 events from \(from)"), "\(run.output)")
        }
        #expect(try await Self.storedSeqs(dsn) == [300, 600, 900])

        let refused = Self.run(["journal", "snapshot", "--dsn", dsn, "--keep", "0"])
        #expect(refused.status == 64 && refused.output.contains("--keep must be at least 1"), "\(refused.output)")
        #expect(try await Self.storedSeqs(dsn) == [300, 600, 900])

        try await appendAsLeader(dsn, holder: "node-a") { _ in Array(events[900...]) }
        let kept = Self.run(["journal", "snapshot", "--dsn", dsn, "--keep", "2"])
        #expect(kept.status == 0 && kept.output.contains("deleted 2 older snapshot(s); the newest 2 kept"), "\(kept.output)")
        #expect(try await Self.storedSeqs(dsn) == [900, 1_000])

        // The newest damaged: status warns and starts from the one before, with the same figures.
        let sound = Self.run(["status", "--dsn", dsn, "--json"])
        #expect(sound.status == 0, "\(sound.output)")
        let conn = try await PostgresConnection.connect(dsn)
        try await conn.query("UPDATE tandem.snapshots SET state = set_byte(state, 10, get_byte(state, 10) # 1) WHERE seq = 1000")
        await conn.close()
        let damaged = Self.run(["status", "--dsn", dsn, "--json"])
        #expect(damaged.status == 0, "\(damaged.output)")
        #expect(damaged.output.contains("trying the next older one"), "\(damaged.output)")
        #expect(Self.positions(sound.output) != nil && Self.positions(sound.output) == Self.positions(damaged.output))
        // The command itself refuses to build on it, naming the seq, and --full repairs it.
        let strict = Self.run(["journal", "snapshot", "--dsn", dsn])
        #expect(strict.status == 1 && strict.output.contains("at seq 1000") && strict.output.contains("--full"), "\(strict.output)")
        let repaired = Self.run(["journal", "snapshot", "--dsn", dsn, "--full"])
        #expect(repaired.status == 0 && repaired.output.contains("folded 1000 events from seq 1"), "\(repaired.output)")
        #expect(!Self.run(["status", "--dsn", dsn, "--json"]).output.contains("failed its checks"))
    }

    /// The `positions` of `tandem status --json`, re-serialized with sorted keys (the log lines on stderr
    /// share the output file, so the JSON object is found by its braces).
    static func positions(_ output: String) -> String? {
        guard let start = output.firstIndex(of: "{"), let end = output.lastIndex(of: "}"),
              let json = try? JSONSerialization.jsonObject(with: Data(output[start...end].utf8)) as? [String: Any],
              let positions = json["positions"],
              let data = try? JSONSerialization.data(withJSONObject: positions, options: [.sortedKeys]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
