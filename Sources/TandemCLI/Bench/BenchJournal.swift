import ArgumentParser
import Foundation
import Logging
import Synchronization
import TandemCore
import TandemJournal
import TandemPostgres

/// `tandem bench journal`: durable append throughput per batch size, latency under an open-loop
/// offered load, replay throughput, and the pgbench anchor, all on one private server with fsync on.
struct BenchJournal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Measure journal appends (durable), append latency at a fixed rate, and replay.",
        discussion: """
            Starts its own PostgreSQL (fsync on, synchronous_commit on) in a temporary directory and \
            removes it afterwards. Run it in release: swift run -c release tandem bench journal --json
            """)

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Seconds per append batch size.")
    var seconds = 3.0

    @Option(help: "Offered load for the latency phase, events per second.")
    var rate = 5_000

    @Option(help: "Seconds of the latency phase.")
    var latencySeconds = 4.0

    @Option(help: "Seconds of pgbench for the anchor.")
    var pgbenchSeconds = 5

    @Option(help: "Workload seed.")
    var seed: UInt64 = 42

    @Option(name: .customLong("server-setting"),
            help: "An extra setting for the embedded PostgreSQL, NAME=VALUE (repeatable), for tuning experiments, e.g. autovacuum=off.")
    var serverSettings: [String] = []

    @Option(name: .customLong("commit-log"), help: "Write the latency phase's commits to this file, one per line: start (CLOCK_MONOTONIC ns, as perf -k monotonic), duration ns, events.")
    var commitLogPath: String?

    enum Generator: String, ExpressibleByArgument, CaseIterable {
        case thread, tasks
    }

    @Option(name: .customLong("generator"), help: "The latency phase's open-loop generator: 'thread' (one thread sleeps to each event's scheduled time and hands it to JournalWriter.submit; latency when the writer reports it durable) or 'tasks' (Task.sleep per event, one task per append awaiting JournalWriter.append; latency when the task resumes).")
    var openLoop: Generator = .thread

    @Flag(help: "Stop after the latency phase (for experiments on it): no replay, alternatives or pgbench, whose figures print as 0.")
    var throughLatency = false

    @Option(help: "Copy the embedded server's log to this file at the end (e.g. with --server-setting log_min_duration_statement=2).")
    var serverLog: String?

    func run() async throws {
        var logger = Logger(label: "tandem.bench")
        logger.logLevel = .warning
        var config = EmbeddedPostgres.Configuration(durability: .full)
        for setting in serverSettings {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--server-setting \(setting): expected NAME=VALUE, e.g. wal_sync_method=open_datasync")
            }
            config.settings[parts[0]] = parts[1]
        }
        let output = try await EmbeddedPostgres.withServer(config, logger: logger) { server in
            let output = try await measure(server: server, logger: logger)
            if let serverLog {
                try? FileManager.default.removeItem(atPath: serverLog)
                try FileManager.default.copyItem(atPath: server.logFile, toPath: serverLog)
            }
            return output
        }
        print(output)
    }

    private func measure(server: EmbeddedPostgres, logger: Logger) async throws -> String {
        let admin = try await PostgresConnection.connect(server.dsn(), logger: logger)
        try await admin.execute("CREATE DATABASE bench_append")
        try await admin.execute("CREATE DATABASE bench_latency")

        // 1. Durable append throughput, one caller, one batch per commit, per batch size. The events
        //    are one continuous synthetic stream, so the same database is then replayed.
        let dsn = server.dsn(database: "bench_append")
        let writerConnection = try await PostgresConnection.connect(dsn, logger: logger)
        _ = try await JournalSchema.migrate(writerConnection, logger: logger)
        let epoch = try await writerConnection.withConnection { c in try Lease.acquire(c, holder: "bench", duration: .seconds(3600)) }
        let writer = JournalWriter(connection: writerConnection, epoch: epoch, maxBatchEvents: 10_000, logger: logger)
        var generator = SyntheticJournal(seed: seed, instrumentCount: 100)
        var throughput: [(Int, Int)] = []
        let clock = ContinuousClock()
        for batchSize in [1, 10, 100, 1000] {
            var events = 0
            let start = clock.now
            let deadline = start + .milliseconds(Int(seconds * 1000))
            while clock.now < deadline {
                var batch: [JournalEvent] = []
                batch.reserveCapacity(batchSize)
                for _ in 0..<batchSize { batch.append(generator.next()) }
                _ = try await writer.append(batch)
                events += batchSize
            }
            throughput.append((batchSize, Int(Double(events) / (clock.now - start).seconds)))
        }

        FileHandle.standardError.write(Data("append: \(throughput)\n".utf8))

        // 2. Latency at an offered load: events scheduled every 1/rate s, each its own append call,
        //    measured from its scheduled time (open loop: a slow commit delays nothing that follows).
        let latencyDSN = server.dsn(database: "bench_latency")
        let latencyConnection = try await PostgresConnection.connect(latencyDSN, logger: logger)
        _ = try await JournalSchema.migrate(latencyConnection, logger: logger)
        let latencyEpoch = try await latencyConnection.withConnection { c in try Lease.acquire(c, holder: "bench", duration: .seconds(3600)) }
        let latencyWriter = JournalWriter(connection: latencyConnection, epoch: latencyEpoch, logger: logger)
        await latencyWriter.setRecordingCommits(true)
        // For tracing the phase from outside (perf, strace): the writer's server process.
        let backendPID = try await latencyConnection.query("SELECT pg_backend_pid()")[0].text(0) ?? "?"
        FileHandle.standardError.write(Data("latency phase: writer backend pid \(backendPID)\n".utf8))
        // Phase 1 wrote hundreds of MB of WAL; checkpoint now so its flush does not land inside this
        // phase's window (a production writer has checkpoints too, but not this one's backlog).
        try await admin.execute("CHECKPOINT")
        // The floors under the latency phase, measured just before it (same disk, same load): the
        // disk's write + fdatasync latency (PostgreSQL's default wal_sync_method; every durable commit
        // waits for one), and how late a thread wakes from a 200 µs sleep (the CPU's queue).
        let fsync = try FsyncAnchor.measure(directory: server.rootDirectory, seconds: 2)
        let wakeup = FsyncAnchor.wakeupLateness(seconds: 1)
        FileHandle.standardError.write(Data(
            "fsync: p50 \(fsync.p50) us, p99 \(fsync.p99) us over \(fsync.count); wake-up lateness p50 \(wakeup.p50) us, p99 \(wakeup.p99) us\n".utf8))
        // The WAL the phase writes and flushes (server-wide, pg_stat_wal + the insert position).
        let walBefore = try await WALFigures.read(admin)
        let total = Int(Double(rate) * latencySeconds)
        let pool = SyntheticJournal.events(count: total, seed: seed &+ 1, instrumentCount: 100)
        // The process's CPU during the phase (all its threads: generator, timers, pool, the writer's
        // thread), per append: what the client takes from the CPUs the server's backends also need.
        let cpuBefore = BenchClock.processCPUNanos()
        let latencies: [Int64]
        switch openLoop {
        case .thread:
            latencies = try await OpenLoopThread.run(writer: latencyWriter, events: pool, rate: rate)
        case .tasks:
            latencies = try await OpenLoopTasks.run(writer: latencyWriter, events: pool, rate: rate)
        }
        let clientCPUPerAppend = (BenchClock.processCPUNanos() - cpuBefore) / Int64(max(1, total)) / 1000
        let commits = await latencyWriter.commits
        // Backends flush their WAL statistics at most once a second, when idle: wait, then one statement.
        try await Task.sleep(for: .milliseconds(1200))
        _ = try await latencyConnection.query("SELECT 1")
        let wal = try await WALFigures.read(admin).since(walBefore, admin)
        FileHandle.standardError.write(Data("wal: \(wal.description(commits: commits))\n".utf8))
        // Where an append's latency goes: the commits themselves (statement → answer on the writer's
        // thread) against the whole (scheduled time → the caller resumed).
        let commitLog = await latencyWriter.commitLog
        let commitMicros = commitLog.map(\.duration.wholeMicroseconds).sorted()
        let batchSizes = commitLog.map(\.events).sorted()
        let slowCommits = commitMicros.filter { $0 > 2000 }.count
        func commitPercentile(_ p: Double) -> Int64 { percentileValue(p, in: commitMicros) }
        FileHandle.standardError.write(Data(
            "commits: p50 \(commitPercentile(0.5)) us, p99 \(commitPercentile(0.99)) us, max \(commitMicros.last ?? 0) us; events per commit p50 \(batchSizes.isEmpty ? 0 : batchSizes[batchSizes.count / 2]), max \(batchSizes.last ?? 0); over 2 ms: \(slowCommits)\n".utf8))
        func percentile(_ p: Double) -> Int64 { percentileValue(p, in: latencies) }
        if let commitLogPath {
            let bootNanos = BenchClock.monotonicNanos()
            let reference = clock.now
            let lines = commitLog.map { c in
                "\(bootNanos + (c.started - reference).wholeNanoseconds) \(c.duration.wholeNanoseconds) \(c.events)"
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: commitLogPath, atomically: true, encoding: .utf8)
        }

        FileHandle.standardError.write(Data("latency: p50 \(percentile(0.5)) us, p99 \(percentile(0.99)) us, \(commits) commits; client CPU \(clientCPUPerAppend) us per append\n".utf8))

        // With --server-setting track_functions=pl, the server's own time in the append function.
        if serverSettings.contains(where: { $0.hasPrefix("track_functions=") }) {
            let stats = try await latencyConnection.withConnection { c in
                try c.query("SELECT calls, round(total_time::numeric * 1000 / greatest(calls, 1))::text FROM pg_stat_user_functions WHERE funcname = 'append_events'")
            }
            if let row = stats.rows.first {
                FileHandle.standardError.write(Data("server: append_events \(row.text(0) ?? "?") calls, mean \(row.text(1) ?? "?") us inside the function\n".utf8))
            }
        }

        // 3. Replay: read (binary) + verify the chain + decode + fold, everything appended in phase 1.
        let replayConnection = try await PostgresConnection.connect(dsn, logger: logger)
        //    The default (everything on the connection's thread) and, for comparison, pipelined (read +
        //    chain check on one thread, decode + fold on a second one), alternating, best of three each.
        var replayBest = 0.0
        var replayPipelinedBest = 0.0
        var replayed: UInt64 = 0
        for _ in 0..<(throughLatency ? 0 : 3) {
            for pipelined in [true, false] {
                let start = clock.now
                let result = try await Replayer.replay(replayConnection, options: .init(pipelined: pipelined), logger: logger)
                let rate = Double(result.eventsReplayed) / (clock.now - start).seconds
                replayed = result.eventsReplayed
                if pipelined { replayPipelinedBest = max(replayPipelinedBest, rate) } else { replayBest = max(replayBest, rate) }
            }
        }

        FileHandle.standardError.write(Data(
            "replay: \(Int(replayBest)) events/s over \(replayed) (pipelined: \(Int(replayPipelinedBest)))\n".utf8))

        // 3b. Replay by stage, so the next reader sees where the time goes: the same chunked read with
        //     progressively more of the work (each the best of two runs, over the same rows).
        var stages: [ReplayStage: Int] = [:]
        for stage in ReplayStage.allCases where !throughLatency {
            var best = 0.0
            for _ in 0..<2 {
                let start = clock.now
                let rows = try await replayConnection.withConnection { c in try stage.run(c) }
                best = max(best, Double(rows) / (clock.now - start).seconds)
            }
            stages[stage] = Int(best)
        }
        FileHandle.standardError.write(Data("replay stages: \(ReplayStage.allCases.map { "\($0.rawValue) \(stages[$0] ?? 0)" })\n".utf8))

        // 3c. Append alternatives: the same fenced, chained batch by each `FencedAppend.Method`, one
        //     caller, one batch per commit, at batch 100 and 1000, each in its own database (the methods
        //     alternate so that load drifting over the run hits them alike).
        var alternatives: [FencedAppend.Method: [Int: Int]] = [:]
        var altConnections: [FencedAppend.Method: (PostgresConnection, UInt64)] = [:]
        for method in FencedAppend.Method.allCases where !throughLatency {
            try await admin.execute("CREATE DATABASE bench_alt_\(method.rawValue.lowercased())")
            let c = try await PostgresConnection.connect(server.dsn(database: "bench_alt_\(method.rawValue.lowercased())"), logger: logger)
            _ = try await JournalSchema.migrate(c, logger: logger)
            let e = try await c.withConnection { conn in try Lease.acquire(conn, holder: "bench", duration: .seconds(3600)) }
            altConnections[method] = (c, e)
        }
        var altGenerator = SyntheticJournal(seed: seed &+ 2, instrumentCount: 100)
        for round in 0..<(throughLatency ? 0 : 2) {
            for batchSize in [100, 1000] {
                for method in FencedAppend.Method.allCases {
                    guard let (c, e) = altConnections[method] else { continue }
                    var batch: [EncodedEvent] = []
                    for _ in 0..<batchSize { batch.append(EncodedEvent(altGenerator.next())) }
                    let fixed = batch
                    let seconds = self.seconds / 2
                    let events = try await c.withConnection { conn in
                        var head = try FencedAppend.readHead(conn)
                        var events = 0
                        let start = ContinuousClock.now
                        while ContinuousClock.now - start < .milliseconds(Int(seconds * 1000)) {
                            head = try FencedAppend.append(conn, epoch: e, head: head, events: fixed, method: method)
                            events += fixed.count
                        }
                        return Double(events) / (ContinuousClock.now - start).seconds
                    }
                    let best = max(alternatives[method]?[batchSize] ?? 0, Int(events))
                    alternatives[method, default: [:]][batchSize] = round == 0 ? Int(events) : best
                }
            }
        }
        for (c, _) in altConnections.values { await c.close() }
        FileHandle.standardError.write(Data("append alternatives: \(alternatives)\n".utf8))

        // 4. The anchor: pgbench, one client, one-row INSERT per transaction, same server.
        var tps = 0.0
        if !throughLatency {
            try await PGBenchAnchor.prepare(admin)
            tps = try await PGBenchAnchor.singleInsertTPS(server: server, seconds: pgbenchSeconds)
        }

        for c in [admin, writerConnection, latencyConnection, replayConnection] { await c.close() }

        let figures: [(String, String)] = [
            ("append_events_per_s", "{" + throughput.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"),
            ("append_p50_us", "\(percentile(0.50))"),
            ("append_p99_us", "\(percentile(0.99))"),
            ("append_max_us", "\(latencies.last ?? 0)"),
            ("latency_offered_events_per_s", "\(rate)"),
            ("latency_events", "\(latencies.count)"),
            ("latency_commits", "\(commits)"),
            ("latency_client_cpu_us_per_append", "\(clientCPUPerAppend)"),
            ("latency_commit_p50_us", "\(commitPercentile(0.50))"),
            ("latency_commit_p99_us", "\(commitPercentile(0.99))"),
            ("latency_commit_max_us", "\(commitMicros.last ?? 0)"),
            ("latency_commits_over_2ms", "\(slowCommits)"),
            ("latency_events_per_commit_max", "\(batchSizes.last ?? 0)"),
            ("latency_wal_bytes_per_commit", "\(wal.bytesPerCommit(commits))"),
            ("latency_wal_fpi", "\(wal.fullPageImages)"),
            ("latency_wal_writes", "\(wal.writes)"),
            ("latency_wal_syncs", "\(wal.syncs)"),
            ("replay_events_per_s", "\(Int(replayBest))"),
            ("replay_events", "\(replayed)"),
            ("replay_pipelined_events_per_s", "\(Int(replayPipelinedBest))"),
            ("replay_fetch_rows_per_s", "\(stages[.fetch] ?? 0)"),
            ("replay_read_rows_per_s", "\(stages[.read] ?? 0)"),
            ("replay_read_verify_per_s", "\(stages[.verify] ?? 0)"),
            ("replay_read_verify_decode_per_s", "\(stages[.decode] ?? 0)"),
            ("append_alternatives", "{" + FencedAppend.Method.allCases.map { m in
                "\"\(m.rawValue)\":{" + [100, 1000].map { "\"\($0)\":\(alternatives[m]?[$0] ?? 0)" }.joined(separator: ",") + "}"
            }.joined(separator: ",") + "}"),
            ("fsync_p50_us", "\(fsync.p50)"),
            ("fsync_p99_us", "\(fsync.p99)"),
            ("fsync_max_us", "\(fsync.max)"),
            ("fsync_ops", "\(fsync.count)"),
            ("wakeup_late_p50_us", "\(wakeup.p50)"),
            ("wakeup_late_p99_us", "\(wakeup.p99)"),
            ("pgbench_single_insert_tps", "\(Int(tps))"),
        ]
        if json {
            return "{" + figures.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
        }
        return (["tandem bench journal (fsync on, synchronous_commit on)"]
            + figures.map { $0.0 + String(repeating: " ", count: max(1, 30 - $0.0.count)) + $0.1 }).joined(separator: "\n")
    }
}



/// The session-7 open loop (`--generator tasks`): `Task.sleep(until:)` to each event's scheduled time
/// and one task per append awaiting `JournalWriter.append`; latency from the scheduled time to the
/// task's resumption.
enum OpenLoopTasks {
    static func run(writer: JournalWriter, events: [JournalEvent], rate: Int) async throws -> [Int64] {
        let clock = ContinuousClock()
        let interval = Duration.nanoseconds(1_000_000_000 / max(1, rate))
        return try await withThrowingTaskGroup(of: Int64.self, returning: [Int64].self) { group in
            let begin = clock.now + .milliseconds(20)
            var next = 0
            while next < events.count {
                let now = clock.now
                while next < events.count, begin + interval * next <= now {
                    let scheduled = begin + interval * next
                    let event = events[next]
                    group.addTask {
                        _ = try await writer.append(event)
                        return (clock.now - scheduled).wholeMicroseconds
                    }
                    next += 1
                }
                if next < events.count { try await Task.sleep(until: begin + interval * next, clock: clock) }
            }
            var all: [Int64] = []
            all.reserveCapacity(events.count)
            for try await l in group { all.append(l) }
            return all.sorted()
        }
    }
}

/// The latency phase's open loop without a task per event: one thread sleeps (absolute
/// `CLOCK_MONOTONIC`) to each event's scheduled time and submits every event then due, each as an
/// append of its own, to `JournalWriter.submit`. Latency is from the event's *scheduled* time to the
/// writer's completion, so a late generator counts against us, as in the task generator.
enum OpenLoopThread {
    private final class Sink: Sendable {
        struct State {
            var latencies: [Int64] = []
            var failure: (any Error)?
            var remaining: Int
            var waiter: CheckedContinuation<Void, Never>?
        }

        let state: Mutex<State>

        init(total: Int) {
            var st = State(remaining: total)
            st.latencies.reserveCapacity(total)
            state = Mutex(st)
        }

        func record(_ result: Result<ClosedRange<UInt64>, any Error>, scheduled: Int64) {
            let micros = (BenchClock.monotonicNanos() - scheduled) / 1000
            let waiter = state.withLock { st -> CheckedContinuation<Void, Never>? in
                switch result {
                case .success: st.latencies.append(micros)
                case .failure(let error): if st.failure == nil { st.failure = error }
                }
                st.remaining -= 1
                guard st.remaining == 0 else { return nil }
                defer { st.waiter = nil }
                return st.waiter
            }
            waiter?.resume()
        }

        func wait() async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let done = state.withLock { st -> Bool in
                    if st.remaining == 0 { return true }
                    st.waiter = c
                    return false
                }
                if done { c.resume() }
            }
        }
    }

    static func run(writer: JournalWriter, events: [JournalEvent], rate: Int) async throws -> [Int64] {
        let total = events.count
        let sink = Sink(total: total)
        let interval = Int64(1_000_000_000 / max(1, rate))
        let begin = BenchClock.monotonicNanos() + 20_000_000
        let thread = Thread {
            var next = 0
            while next < total {
                let now = BenchClock.monotonicNanos()
                while next < total, begin + interval * Int64(next) <= now {
                    let scheduled = begin + interval * Int64(next)
                    writer.submit([events[next]]) { sink.record($0, scheduled: scheduled) }
                    next += 1
                }
                if next < total {
                    let at = begin + interval * Int64(next)
                    var ts = timespec(tv_sec: Int(at / 1_000_000_000), tv_nsec: Int(at % 1_000_000_000))
                    _ = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil)
                }
            }
        }
        thread.name = "bench-open-loop"
        thread.start()
        await sink.wait()
        let (latencies, failure) = sink.state.withLock { ($0.latencies, $0.failure) }
        if let failure { throw failure }
        return latencies.sorted()
    }
}

/// Server-wide WAL counters (`pg_stat_wal`) and the insert position, to difference around a phase.
struct WALFigures: Sendable {
    var lsn: String
    var bytes: Int64
    var records: Int64
    var fullPageImages: Int64
    var buffersFull: Int64
    var writes: Int64
    var syncs: Int64
    /// Milliseconds; zero unless `track_wal_io_timing` is on.
    var writeMillis: Double
    var syncMillis: Double

    static func read(_ c: PostgresConnection) async throws -> WALFigures {
        let r = try await c.query(
            "SELECT pg_current_wal_insert_lsn()::text, wal_records, wal_fpi, wal_buffers_full, wal_write, wal_sync, "
                + "wal_write_time, wal_sync_time FROM pg_stat_wal")[0]
        func int(_ i: Int) -> Int64 { Int64(r.text(i) ?? "") ?? 0 }
        return WALFigures(
            lsn: r.text(0) ?? "0/0", bytes: 0, records: int(1), fullPageImages: int(2), buffersFull: int(3),
            writes: int(4), syncs: int(5), writeMillis: Double(r.text(6) ?? "") ?? 0, syncMillis: Double(r.text(7) ?? "") ?? 0)
    }

    /// The difference from `before`; `bytes` from the insert positions.
    func since(_ before: WALFigures, _ c: PostgresConnection) async throws -> WALFigures {
        let bytes = try await c.query("SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint", [lsn, before.lsn])[0].text(0)
        return WALFigures(
            lsn: lsn, bytes: Int64(bytes ?? "") ?? 0, records: records - before.records,
            fullPageImages: fullPageImages - before.fullPageImages, buffersFull: buffersFull - before.buffersFull,
            writes: writes - before.writes, syncs: syncs - before.syncs,
            writeMillis: writeMillis - before.writeMillis, syncMillis: syncMillis - before.syncMillis)
    }

    func bytesPerCommit(_ commits: Int) -> Int64 { commits > 0 ? bytes / Int64(commits) : 0 }

    func description(commits: Int) -> String {
        "\(bytes) bytes (\(bytesPerCommit(commits)) per commit), \(records) records, \(fullPageImages) full-page images, "
            + "\(writes) writes, \(syncs) syncs, buffers full \(buffersFull), write \(Int(writeMillis)) ms, sync \(Int(syncMillis)) ms"
    }
}

/// The replay's stages, cumulatively: each reads every row (streamed, binary) and does the work of the
/// stages before it plus its own. The full replay (with the fold) is `Replayer.replay` itself.
enum ReplayStage: String, CaseIterable, Sendable {
    /// libpq and the server only: the same cursor read, each row's seq taken, no row built.
    case fetch
    /// Read into `JournalRow`s only.
    case read
    /// Read + chain verification (SHA-256 per row).
    case verify
    /// Read + verify + `EventCodec.decode`.
    case decode

    /// Runs the stage over the whole journal; returns the rows processed.
    func run(_ conn: PGConnection) throws(JournalError) -> Int {
        var verifier = ChainVerifier()
        var chain = HashChain()
        var checksum = 0
        if self == .fetch {
            return try JournalReader.forEachRawSeq(conn) { seq in checksum &+= Int(truncatingIfNeeded: seq) }
        }
        let rows = try JournalReader.forEachRow(conn, after: 0) { (row) throws(JournalError) in
            switch self {
            case .fetch, .read:
                checksum &+= row.payload.count
            case .verify:
                if let violation = verifier.verify(row, chain: &chain) {
                    throw JournalError(.chainBroken, violation.description, seq: row.seq)
                }
            case .decode:
                if let violation = verifier.verify(row, chain: &chain) {
                    throw JournalError(.chainBroken, violation.description, seq: row.seq)
                }
                do throws(CodecError) {
                    checksum &+= Int(try EventCodec.decode(row.payload).kind.rawValue)
                } catch {
                    throw JournalError(.corruptPayload, error.description, seq: row.seq)
                }
            }
        }
        // Keeps the optimizer from discarding the read-only stage's work.
        return checksum == Int.min ? 0 : rows
    }
}

/// The disk's write-and-flush latency, the floor under every durable commit: an 8 KiB block (a WAL
/// page) overwritten at offset 0 and `fdatasync`ed, again and again, one at a time.
enum FsyncAnchor {
    struct Figures: Sendable {
        var p50: Int64
        var p99: Int64
        var max: Int64
        var count: Int
    }

    static func measure(directory: String, seconds: Double) throws -> Figures {
        let path = directory + "/tandem-fsync-anchor"
        guard FileManager.default.createFile(atPath: path, contents: Data(count: 8192)) else {
            throw BenchError("could not create \(path)")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let block = Data(repeating: 0x5A, count: 8192)
        let clock = ContinuousClock()
        var samples: [Int64] = []
        let end = clock.now + .milliseconds(Int(seconds * 1000))
        while clock.now < end {
            let start = clock.now
            try handle.seek(toOffset: 0)
            try handle.write(contentsOf: block)
            guard fdatasync(handle.fileDescriptor) == 0 else { throw BenchError("fdatasync failed: errno \(errno)") }
            let d = clock.now - start
            samples.append(d.wholeMicroseconds)
        }
        return figures(samples)
    }

    /// Sleeps 200 µs again and again on a fresh thread and records how much later than asked it woke:
    /// on a machine whose cores are all busy this is the wait for a core, which every commit's wake-up
    /// (the writer's thread, the server process) pays too.
    static func wakeupLateness(seconds: Double) -> Figures {
        let clock = ContinuousClock()
        var samples: [Int64] = []
        let end = clock.now + .milliseconds(Int(seconds * 1000))
        while clock.now < end {
            let start = clock.now
            Thread.sleep(forTimeInterval: 0.0002)
            let late = clock.now - start - .microseconds(200)
            samples.append(max(0, late.wholeMicroseconds))
        }
        return figures(samples)
    }

    private static func figures(_ samples: [Int64]) -> Figures {
        let samples = samples.sorted()
        return Figures(p50: percentileValue(0.5, in: samples), p99: percentileValue(0.99, in: samples), max: samples.last ?? 0,
                       count: samples.count)
    }
}
