import Logging
import Synchronization
import TandemCore
import TandemExecution
import TandemJournal
import TandemPostgres

/// The hot standby's half of a node: tails the journal and folds every event into an
/// ``ExecutionLedger``, so its state equals the leader's within the tail lag, which it exposes.
///
/// With snapshots on (`snapshotEvery`), it stores its fold every `snapshotEvery` events
/// (``SnapshotStore``: the core state, and beside it the ledger's FIX resend log and booked ExecIDs),
/// and an empty follower starts from the newest such snapshot instead of seq 1 — a cold start bounded
/// by the interval. Readers of the core state (`tandem status` and its page, replays with
/// `--from-snapshot`) start there too. Both are best effort: a snapshot is stored beside the tail
/// (which never waits for it), and one that cannot be stored is logged; one that fails its checks
/// (checksums, the journal's chain hash at its seq, decoding) is logged and the next older one is tried
/// (``SnapshotStore/fallbackAttempts`` in all), then seq 1.
public final class JournalFollower: Sendable {
    public struct Lag: Sendable, Hashable {
        public var seqs: UInt64
        public var milliseconds: Int64
    }

    private struct State {
        var ledger = ExecutionLedger()
        var lag = Lag(seqs: 0, milliseconds: 0)
        var startedFromSnapshot: UInt64?
    }

    private let state = Mutex(State())
    private let dsn: String
    private let snapshotEvery: UInt64?
    private let snapshotsKept: Int?
    private let logger: Logger

    /// - Parameters:
    ///   - snapshotEvery: events folded between stored snapshots; nil or 0: none.
    ///   - snapshotsKept: after storing one, all but the newest this many are deleted; nil: all kept.
    public init(dsn: String, snapshotEvery: UInt64? = nil, snapshotsKept: Int? = nil, logger: Logger) {
        self.dsn = dsn
        self.snapshotEvery = snapshotEvery.flatMap { $0 > 0 ? $0 : nil }
        self.snapshotsKept = snapshotsKept.map { max(1, $0) }
        self.logger = logger
    }

    public func read<R>(_ body: (borrowing ExecutionLedger) -> R) -> R { state.withLock { body($0.ledger) } }
    public var lag: Lag { state.withLock { $0.lag } }
    public var lastSeq: UInt64 { state.withLock { $0.ledger.lastSeq } }
    /// The seq of the snapshot the current fold started from (nil: from seq 1).
    public var startedFromSnapshot: UInt64? { state.withLock { $0.startedFromSnapshot } }

    /// Starts over from an empty ledger (after a leader term whose ledger may be ahead of the journal).
    public func reset() { state.withLock { $0 = State() } }

    /// Tails from the last folded seq until cancelled. A fold error is fatal: the journal holds an event
    /// the fold refuses, which a leader never journals, so this node must not lead on that state.
    public func follow(pollInterval: Duration = .milliseconds(50)) async throws {
        var options = JournalTail.Options()
        options.pollInterval = pollInterval
        var policy = snapshotEvery.map { SnapshotPolicy(everyEvents: $0) }
        let writerConnection = policy != nil && lastSeq == 0 ? await startFromSnapshot() : nil
        let tail = JournalTail(dsn: dsn, after: lastSeq, options: options, logger: logger)
        // Snapshots are encoded and stored by a child task, so the tail never waits for one (a large
        // state takes a good part of a second to store); if one is still being stored when the next
        // falls due, only the newest waits.
        let (due, dueSink) = AsyncStream.makeStream(of: (ExecutionLedger, ChainHead).self, bufferingPolicy: .bufferingNewest(1))
        try await withThrowingDiscardingTaskGroup { group in
            defer { dueSink.finish() }
            if policy != nil { group.addTask { await self.storeSnapshots(due, on: writerConnection) } }
            for try await e in tail {
                let snapshot = try state.withLock { st throws(FoldError) -> ExecutionLedger? in
                    try st.ledger.apply(e.event, seq: e.seq)
                    st.lag = Lag(seqs: e.lag.seqs, milliseconds: e.lag.milliseconds)
                    return policy?.eventFolded() == true ? st.ledger : nil
                }
                if let snapshot { dueSink.yield((snapshot, ChainHead(seq: e.seq, hash: e.hash))) }
            }
        }
    }

    /// Stores each snapshot that falls due until the stream ends, on one connection (reopened after a
    /// failure), then closes it.
    private func storeSnapshots(_ due: AsyncStream<(ExecutionLedger, ChainHead)>, on connection: PostgresConnection?) async {
        var connection = connection
        for await (ledger, head) in due { connection = await storeSnapshot(ledger, head: head, on: connection) }
        await connection?.close()
    }

    /// Replaces the empty ledger with the newest snapshot that carries a ledger and passes every check
    /// (a damaged one makes it try the next older: ``SnapshotStore/newestPassing``); returns the
    /// connection it used, for the snapshots to come (nil if it failed).
    private func startFromSnapshot() async -> PostgresConnection? {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(dsn, logger: logger)
        } catch {
            logger.warning("cannot read the newest snapshot; folding from seq 1", metadata: ["error": "\(error)"])
            return nil
        }
        do {
            let logger = self.logger
            let restored = try await connection.withConnection { c throws -> ExecutionLedger? in
                try SnapshotStore.newestPassing(c, withLedger: true, logger: logger) { snapshot throws -> ExecutionLedger in
                    let extras = try SnapshotStore.verifiedLedger(snapshot)
                    let (core, _) = try SnapshotStore.restore(c, snapshot)
                    return try ExecutionLedger(state: core, extras: extras, lastSeq: snapshot.seq)
                }?.value
            }
            guard let restored else { return connection }
            state.withLock { st in
                guard st.ledger.lastSeq == 0 else { return }
                st.ledger = restored
                st.startedFromSnapshot = restored.lastSeq
            }
            logger.info("standby starts from a snapshot", metadata: ["journal.seq": "\(restored.lastSeq)"])
        } catch {
            logger.warning("cannot read the stored snapshots; folding from seq 1", metadata: ["error": "\(error)"])
        }
        return connection
    }

    /// Stores `ledger` as the snapshot at `head` on `connection` (opened if nil); returns the
    /// connection to reuse, nil after a failure (logged; the next snapshot reconnects).
    private func storeSnapshot(_ ledger: ExecutionLedger, head: ChainHead, on connection: PostgresConnection?) async -> PostgresConnection? {
        var connection = connection
        do {
            if connection == nil { connection = try await PostgresConnection.connect(dsn, logger: logger) }
            let kept = snapshotsKept
            let pruned = try await connection!.withConnection { c in
                try SnapshotStore.write(c, state: ledger.state, head: head, ledger: ledger.extrasSnapshotBytes())
                return try kept.map { keep throws(JournalError) in try SnapshotStore.prune(c, keep: keep) } ?? 0
            }
            logger.info("snapshot stored", metadata: ["journal.seq": "\(head.seq)", "journal.snapshots_pruned": "\(pruned)"])
            return connection
        } catch {
            logger.warning("could not store a snapshot; the tail goes on", metadata: ["journal.seq": "\(head.seq)", "error": "\(error)"])
            await connection?.close()
            return nil
        }
    }

    /// Reads and folds what is left after the last folded seq (the new leader, after taking the lease:
    /// no one else can append now). Returns the ledger, which the caller now owns.
    public func catchUp() async throws -> ExecutionLedger {
        let conn = try await PostgresConnection.connect(dsn, logger: logger)
        do {
            while true {
                let after = lastSeq
                let rows = try await conn.withConnection { c in try JournalReader.rows(c, after: after, limit: 10_000) }
                if rows.isEmpty { break }
                for row in rows {
                    let event = try EventCodec.decode(row.payload)
                    try state.withLock { st throws(FoldError) in try st.ledger.apply(event, seq: row.seq) }
                }
            }
        } catch {
            await conn.close()
            throw error
        }
        await conn.close()
        state.withLock { $0.lag = Lag(seqs: 0, milliseconds: 0) }
        return state.withLock { $0.ledger }
    }
}
