import Logging
import TandemCore
import TandemCrypto
import TandemPostgres

/// A stored snapshot: the fold's state after `seq`, with the chain hash of `seq` (so a restore is tied
/// to exactly that journal) and a SHA-256 of the state bytes.
public struct StoredSnapshot: Sendable, Hashable {
    public var seq: UInt64
    public var chainHash: [UInt8]
    public var state: [UInt8]
    public var stateSHA256: [UInt8]
    /// The node ledger's extra bytes (its FIX resend log and booked ExecIDs), when a standby stored it.
    public var ledger: [UInt8]?
    public var ledgerSHA256: [UInt8]?
}

/// Snapshots bound a cold start: restore the latest, then replay only what follows it.
public enum SnapshotStore {
    /// Stores the state after `head.seq`. The state at a seq is a pure function of the journal, so a
    /// snapshot already stored at that seq is replaced by this one: equal if both are sound, and a
    /// damaged one (which fails its check on restore) is repaired.
    ///
    /// - Parameter ledger: the node ledger's extra bytes, stored beside the state; nil keeps whatever a
    ///   snapshot already stored at this seq had (a core-state-only writer does not erase a standby's).
    public static func write(_ conn: PGConnection, state: TradingState, head: ChainHead, ledger: [UInt8]? = nil) throws(JournalError) {
        let bytes = state.snapshotBytes()
        do {
            try conn.query(
                """
                INSERT INTO tandem.snapshots (seq, chain_hash, state, state_sha256, ledger, ledger_sha256) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (seq) DO UPDATE SET chain_hash = EXCLUDED.chain_hash, state = EXCLUDED.state,
                    state_sha256 = EXCLUDED.state_sha256, created_at = clock_timestamp(),
                    ledger = COALESCE(EXCLUDED.ledger, tandem.snapshots.ledger),
                    ledger_sha256 = COALESCE(EXCLUDED.ledger_sha256, tandem.snapshots.ledger_sha256)
                """,
                [Int64(bitPattern: head.seq), head.hash, bytes, SHA256.hash(bytes), ledger, ledger.map { SHA256.hash($0) }])
        } catch {
            throw JournalError.database(error, "writing the snapshot at seq \(head.seq)", seq: head.seq)
        }
    }

    /// Folds the journal to its head — from the latest verified snapshot, or from seq 1 when
    /// `fromSeq1` (e.g. when the latest snapshot fails its check) — verifying the chain on every row
    /// read, and stores the state at the head, so the next cold start replays only what follows.
    /// Returns the replay (its `head` is the snapshot's seq), or nil when the journal is empty.
    /// Idempotent: run again at the same head, it folds nothing and stores the same state.
    public static func writeAtHead(_ conn: PGConnection, fromSeq1: Bool = false, logger: Logger) throws(JournalError) -> ReplayResult? {
        let result = try Replayer.replay(conn, options: .init(useSnapshot: !fromSeq1), logger: logger)
        guard result.head.seq > 0 else { return nil }
        try write(conn, state: result.state, head: result.head)
        logger.info("snapshot written", metadata: [
            "journal.seq": "\(result.head.seq)", "journal.events_replayed": "\(result.eventsReplayed)",
            "journal.from_snapshot": "\(result.startedFromSnapshot.map { "\($0)" } ?? "none")",
        ])
        return result
    }

    /// Async convenience for ``writeAtHead(_:fromSeq1:logger:)``: one hop to the connection's thread.
    public static func writeAtHead(_ connection: PostgresConnection, fromSeq1: Bool = false, logger: Logger) async throws -> ReplayResult? {
        try await connection.withConnection { conn in try writeAtHead(conn, fromSeq1: fromSeq1, logger: logger) }
    }

    /// Deletes all but the newest `keep` snapshots (at least one is kept); returns how many it deleted.
    @discardableResult
    public static func prune(_ conn: PGConnection, keep: Int) throws(JournalError) -> Int {
        do {
            return try conn.query(
                "DELETE FROM tandem.snapshots WHERE seq < (SELECT seq FROM tandem.snapshots ORDER BY seq DESC OFFSET $1 LIMIT 1)",
                [max(1, keep) - 1]).affectedRows
        } catch {
            throw JournalError.database(error, "pruning snapshots to the newest \(keep)")
        }
    }

    /// The snapshot's ledger bytes (for the node to decode) once they match their checksum; a
    /// snapshot without them (the core state alone) is refused too.
    public static func verifiedLedger(_ snapshot: StoredSnapshot) throws(JournalError) -> [UInt8] {
        guard let ledger = snapshot.ledger else {
            throw JournalError(.snapshot, "the snapshot carries no ledger (the core state alone)", seq: snapshot.seq)
        }
        guard SHA256.hash(ledger) == snapshot.ledgerSHA256 else {
            throw JournalError(.snapshot, "the snapshot's ledger bytes do not match their SHA-256", seq: snapshot.seq)
        }
        return ledger
    }

    /// How many stored snapshots, newest first, a reader tries before it folds from seq 1
    /// (``newestPassing(_:atOrBefore:withLedger:attempts:logger:check:)``): a damaged newest snapshot
    /// then costs one snapshot interval's replay instead of the whole journal's, and a fault that spoils
    /// every snapshot (a state layout this binary cannot decode) costs at most this many reads.
    public static let fallbackAttempts = 3

    /// The newest snapshot (at or before `seq`; carrying a ledger when `withLedger`) that `check`
    /// accepts, with what `check` returned; at most `attempts` are tried, newest first, each refusal
    /// logged with its seq and reason. nil: none stored, or none of those tried passed (logged too: the
    /// caller then folds from seq 1).
    ///
    /// `check` refuses a snapshot by throwing. A ``JournalError`` with code `.database` from it, like any
    /// error reading the table, is thrown instead: a lost connection is not a damaged snapshot, and the
    /// next one would fail the same way.
    public static func newestPassing<T>(
        _ conn: PGConnection, atOrBefore seq: UInt64? = nil, withLedger: Bool = false, attempts: Int = fallbackAttempts,
        logger: Logger, check: (StoredSnapshot) throws -> T
    ) throws(JournalError) -> (snapshot: StoredSnapshot, value: T)? {
        var bound = seq
        for attempt in 1...max(1, attempts) {
            guard let snapshot = try latest(conn, atOrBefore: bound, withLedger: withLedger) else {
                if attempt > 1 { logger.warning("no older snapshot is stored; the reader starts from seq 1") }
                return nil
            }
            do {
                return (snapshot, try check(snapshot))
            } catch let error as JournalError where error.code == .database {
                throw error
            } catch {
                let more = attempt < attempts && snapshot.seq > 1
                logger.warning(more ? "snapshot failed its checks; trying the next older one"
                                    : "snapshot failed its checks, the last of \(attempt) tried; the reader starts from seq 1",
                               metadata: ["journal.seq": "\(snapshot.seq)", "error": "\(error)"])
                guard more else { return nil }
                bound = snapshot.seq - 1
            }
        }
        return nil
    }

    /// The newest snapshot at or before `seq` (any when nil); with `withLedger`, the newest that
    /// carries a node ledger's bytes.
    public static func latest(_ conn: PGConnection, atOrBefore seq: UInt64? = nil, withLedger: Bool = false) throws(JournalError) -> StoredSnapshot? {
        do {
            var found: StoredSnapshot?
            try conn.forEachBinaryRow(Statement(
                """
                SELECT seq, chain_hash, state, state_sha256, ledger, ledger_sha256 FROM tandem.snapshots
                WHERE seq <= $1 AND (NOT $2 OR ledger IS NOT NULL) ORDER BY seq DESC LIMIT 1
                """,
                [Int64(bitPattern: min(seq ?? UInt64(Int64.max), UInt64(Int64.max))), withLedger])
            ) { r in
                if let s = r.int64(0), let h = r.bytes(1), let st = r.bytes(2), let sum = r.bytes(3) {
                    found = StoredSnapshot(seq: UInt64(s), chainHash: h, state: st, stateSHA256: sum, ledger: r.bytes(4), ledgerSHA256: r.bytes(5))
                }
            }
            return found
        } catch let error as PostgresError {
            throw JournalError.database(error, "reading the latest snapshot")
        } catch {
            throw JournalError(.snapshot, "reading the latest snapshot failed: \(error)")
        }
    }

    /// Checks a snapshot's core state (checksum; its chain hash equals the journal's hash at its seq)
    /// and decodes it. Returns the state and the epoch of the event at its seq. The ledger bytes are
    /// not looked at: readers of the core state do not need them (see ``verifiedLedger(_:)``).
    public static func restore(_ conn: PGConnection, _ snapshot: StoredSnapshot) throws(JournalError) -> (TradingState, UInt64) {
        guard SHA256.hash(snapshot.state) == snapshot.stateSHA256 else {
            throw JournalError(.snapshot, "the snapshot's state bytes do not match their SHA-256", seq: snapshot.seq)
        }
        guard let row = try JournalReader.row(conn, seq: snapshot.seq) else {
            throw JournalError(.snapshot, "the snapshot refers to seq \(snapshot.seq), which is not in the journal", seq: snapshot.seq)
        }
        guard row.hash == snapshot.chainHash else {
            throw JournalError(.snapshot, "the snapshot's chain hash differs from the journal's hash at its seq", seq: snapshot.seq)
        }
        do {
            return (try TradingState(snapshotBytes: snapshot.state), row.epoch)
        } catch {
            throw JournalError(.snapshot, "the snapshot's state does not decode: \(error.description)", seq: snapshot.seq, cause: error)
        }
    }
}

/// When to write a snapshot (sans-I/O): every `everyEvents` events folded.
public struct SnapshotPolicy: Sendable, Hashable {
    public var everyEvents: UInt64
    public private(set) var sinceLast: UInt64 = 0

    public init(everyEvents: UInt64) { self.everyEvents = max(1, everyEvents) }

    /// Counts one folded event; true when a snapshot is due (and restarts the count).
    public mutating func eventFolded() -> Bool {
        sinceLast += 1
        if sinceLast >= everyEvents { sinceLast = 0; return true }
        return false
    }
}
