import Logging
import Synchronization
import TandemCore
import TandemExecution
import TandemJournal
import TandemPostgres

/// The hot standby's half of a node: tails the journal and folds every event into an
/// ``ExecutionLedger``, so its state equals the leader's within the tail lag, which it exposes.
///
/// Every `snapshotEvery` events it folds, it stores the core state it has folded
/// (``SnapshotStore``), so readers of the whole state — `tandem status` and its page, replays with
/// `--from-snapshot` — fold from there instead of seq 1. Storing one is best effort: a failure is
/// logged and the tail goes on. (The follower itself still starts from seq 1: a snapshot holds the
/// core state, not the ledger's resend log and booked ExecIDs.)
public final class JournalFollower: Sendable {
    public struct Lag: Sendable, Hashable {
        public var seqs: UInt64
        public var milliseconds: Int64
    }

    private struct State {
        var ledger = ExecutionLedger()
        var lag = Lag(seqs: 0, milliseconds: 0)
    }

    private let state = Mutex(State())
    private let dsn: String
    private let snapshotEvery: UInt64?
    private let logger: Logger

    /// - Parameter snapshotEvery: events folded between stored snapshots; nil or 0: none.
    public init(dsn: String, snapshotEvery: UInt64? = nil, logger: Logger) {
        self.dsn = dsn
        self.snapshotEvery = snapshotEvery.flatMap { $0 > 0 ? $0 : nil }
        self.logger = logger
    }

    public func read<R>(_ body: (borrowing ExecutionLedger) -> R) -> R { state.withLock { body($0.ledger) } }
    public var lag: Lag { state.withLock { $0.lag } }
    public var lastSeq: UInt64 { state.withLock { $0.ledger.lastSeq } }

    /// Starts over from an empty ledger (after a leader term whose ledger may be ahead of the journal).
    public func reset() { state.withLock { $0 = State() } }

    /// Tails from the last folded seq until cancelled. A fold error is fatal: the journal holds an event
    /// the fold refuses, which a leader never journals, so this node must not lead on that state.
    public func follow(pollInterval: Duration = .milliseconds(50)) async throws {
        var options = JournalTail.Options()
        options.pollInterval = pollInterval
        let tail = JournalTail(dsn: dsn, after: lastSeq, options: options, logger: logger)
        var policy = snapshotEvery.map { SnapshotPolicy(everyEvents: $0) }
        var snapshots: PostgresConnection?
        do {
            for try await e in tail {
                let due = try state.withLock { st throws(FoldError) -> TradingState? in
                    try st.ledger.apply(e.event, seq: e.seq)
                    st.lag = Lag(seqs: e.lag.seqs, milliseconds: e.lag.milliseconds)
                    return policy?.eventFolded() == true ? st.ledger.state : nil
                }
                if let due { snapshots = await storeSnapshot(due, head: ChainHead(seq: e.seq, hash: e.hash), on: snapshots) }
            }
        } catch {
            await snapshots?.close()
            throw error
        }
        await snapshots?.close()
    }

    /// Stores `state` as the snapshot at `head` on `connection` (opened if nil); returns the
    /// connection to reuse, nil after a failure (logged; the next snapshot reconnects).
    private func storeSnapshot(_ state: TradingState, head: ChainHead, on connection: PostgresConnection?) async -> PostgresConnection? {
        var connection = connection
        do {
            if connection == nil { connection = try await PostgresConnection.connect(dsn, logger: logger) }
            try await connection!.withConnection { c in try SnapshotStore.write(c, state: state, head: head) }
            logger.info("snapshot stored", metadata: ["journal.seq": "\(head.seq)"])
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
