import Logging
import Synchronization
import TandemCore
import TandemExecution
import TandemJournal
import TandemPostgres

/// The hot standby's half of a node: tails the journal and folds every event into an
/// ``ExecutionLedger``, so its state equals the leader's within the tail lag, which it exposes.
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
    private let logger: Logger

    public init(dsn: String, logger: Logger) {
        self.dsn = dsn
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
        for try await e in tail {
            try state.withLock { st throws(FoldError) in
                try st.ledger.apply(e.event, seq: e.seq)
                st.lag = Lag(seqs: e.lag.seqs, milliseconds: e.lag.milliseconds)
            }
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
