import Logging
import TandemCore
import TandemPostgres

/// The state folded from the journal up to `head`.
public struct ReplayResult: Sendable {
    public var state: TradingState
    /// The last event folded (and verified).
    public var head: ChainHead
    public var lastEpoch: UInt64
    /// Events read and folded in this replay (not counting those inside a snapshot it started from).
    public var eventsReplayed: UInt64
    /// The snapshot it started from, if any.
    public var startedFromSnapshot: UInt64?
}

/// Rebuilds the trading state from the journal: from seq 1, or from a verified snapshot, verifying the
/// hash chain on every row as it reads (a replay never folds an event that fails the chain).
///
/// The loop per row is sans-I/O (`ReplayFolder`); this type streams rows in binary format and feeds it.
public enum Replayer {
    public struct Options: Sendable {
        /// Stop after this seq (inclusive); nil = to the head.
        public var throughSeq: UInt64?
        /// Start from the latest snapshot at or before `throughSeq` (bounded cold start).
        public var useSnapshot: Bool
        /// Write a snapshot every this many events while replaying (nil = never).
        public var snapshotEvery: UInt64?
        /// Most rows per read statement. Reads are streamed (see `JournalReader.forEachRow`), so a large
        /// value costs no memory; it only bounds how long one statement runs.
        public var batchSize: Int
        /// Read and check the chain on the calling thread while a second thread decodes and folds
        /// (`ReplayPipeline`); false (the default) does everything on the calling thread. Same rows,
        /// same order, same result and same errors either way. Off by default: on the 2-core
        /// benchmark machine, where the embedded server's backend takes the second core, the one-thread
        /// replay is the more efficient (a quiet run: 829 k vs 693 k events/s); two threads only won
        /// under load, by taking a bigger share of cores from other processes (docs/journal.md,
        /// "journal-perf-2"). For hosts with cores to spare, e.g. the database on another machine.
        public var pipelined: Bool

        public init(
            throughSeq: UInt64? = nil, useSnapshot: Bool = false, snapshotEvery: UInt64? = nil, batchSize: Int = 1_000_000,
            pipelined: Bool = false
        ) {
            self.throughSeq = throughSeq
            self.useSnapshot = useSnapshot
            self.snapshotEvery = snapshotEvery
            self.batchSize = batchSize
            self.pipelined = pipelined
        }
    }

    /// With `useSnapshot`, a newest snapshot that fails its checks is an error (code `.snapshot`, its
    /// seq): the caller asked for that start. ``replayFromNewestSnapshot(_:logger:)`` falls back instead.
    public static func replay(_ conn: PGConnection, options: Options = .init(), logger: Logger) throws(JournalError) -> ReplayResult {
        var start: RestoredSnapshot?
        if options.useSnapshot, let snapshot = try SnapshotStore.latest(conn, atOrBefore: options.throughSeq) {
            start = try RestoredSnapshot(conn, snapshot)
        }
        return try replay(conn, from: start, options: options, logger: logger)
    }

    /// A snapshot that passed ``SnapshotStore/restore(_:_:)``: where a replay starts.
    struct RestoredSnapshot {
        var seq: UInt64
        var chainHash: [UInt8]
        var state: TradingState
        var epoch: UInt64

        init(_ conn: PGConnection, _ snapshot: StoredSnapshot) throws(JournalError) {
            (seq, chainHash) = (snapshot.seq, snapshot.chainHash)
            (state, epoch) = try SnapshotStore.restore(conn, snapshot)
        }
    }

    private static func replay(_ conn: PGConnection, from start: RestoredSnapshot?, options: Options, logger: Logger) throws(JournalError) -> ReplayResult {
        var folder = ReplayFolder()
        var fromSnapshot: UInt64?
        if let start {
            folder = ReplayFolder(state: start.state, after: ChainHead(seq: start.seq, hash: start.chainHash), lastEpoch: start.epoch)
            fromSnapshot = start.seq
            logger.debug("replay starts from snapshot", metadata: ["journal.seq": "\(start.seq)"])
        }
        let through = options.throughSeq ?? UInt64(Int64.max)
        var policy = options.snapshotEvery.map { SnapshotPolicy(everyEvents: $0) }
        let batchSize = max(1, options.batchSize)
        while folder.head.seq < through {
            // One streamed read per stretch; a stretch ends where a snapshot is due, because the
            // connection is busy while it streams and the snapshot must hold the state at exactly that seq.
            var limit = batchSize
            if let policy { limit = Int(min(UInt64(limit), policy.everyEvents - policy.sinceLast)) }
            if !options.pipelined {
                var snapshotDue = false
                let read = try JournalReader.forEachRow(conn, after: folder.head.seq, through: through, limit: limit) { (row) throws(JournalError) in
                    try folder.apply(row)
                    if policy?.eventFolded() == true { snapshotDue = true }
                }
                if snapshotDue { try SnapshotStore.write(conn, state: folder.state, head: folder.head) }
                if read == 0 { break }
                continue
            }
            // Read + chain check on this thread, decode + fold on a second one (`ReplayPipeline`). The folder
            // is moved into the work box (not copied: a second reference would make the fold copy the
            // whole state on its first write) and moved back once the folding thread has stopped.
            let work = ReplayPipeline.Work(folder: ReplayFolder(), policy: policy)
            swap(&folder, &work.folder)
            let read: Int
            do {
                read = try ReplayPipeline.run(conn, after: work.folder.head.seq, through: through, limit: limit, work: work)
            } catch {
                swap(&folder, &work.folder)
                throw error
            }
            swap(&folder, &work.folder)
            policy = work.policy
            if work.snapshotDue { try SnapshotStore.write(conn, state: folder.state, head: folder.head) }
            if read == 0 { break }
        }
        if let throughSeq = options.throughSeq, folder.head.seq < throughSeq {
            throw JournalError(.notFound, "the journal ends at seq \(folder.head.seq), before the requested seq \(throughSeq)", seq: throughSeq)
        }
        return ReplayResult(
            state: folder.state, head: folder.head, lastEpoch: folder.verifier.lastEpoch,
            eventsReplayed: folder.verifier.verifiedCount, startedFromSnapshot: fromSnapshot)
    }

    /// The state at the head for a reader that wants it quickly: from the newest snapshot that passes
    /// its checks — a damaged one (logged) makes it try the next older, up to
    /// ``SnapshotStore/fallbackAttempts`` — or from seq 1 when none is stored or none of those passed.
    public static func replayFromNewestSnapshot(_ conn: PGConnection, logger: Logger) throws(JournalError) -> ReplayResult {
        let found = try SnapshotStore.newestPassing(conn, logger: logger) { snapshot throws -> RestoredSnapshot in
            try RestoredSnapshot(conn, snapshot)
        }
        return try replay(conn, from: found?.value, options: .init(), logger: logger)
    }

    /// Async convenience: the whole replay in one hop to the connection's thread.
    public static func replay(_ connection: PostgresConnection, options: Options = .init(), logger: Logger) async throws -> ReplayResult {
        try await connection.withConnection { conn in try replay(conn, options: options, logger: logger) }
    }
}

/// Verify, decode, fold: one row at a time, with the error naming the seq. Sans-I/O.
public struct ReplayFolder: Sendable {
    public private(set) var state: TradingState
    public private(set) var verifier: ChainVerifier
    private var chain = HashChain()

    public init(state: TradingState = TradingState(), after head: ChainHead = .genesis, lastEpoch: UInt64 = 0) {
        self.state = state
        self.verifier = ChainVerifier(after: head, lastEpoch: lastEpoch)
    }

    public var head: ChainHead { verifier.head }

    /// Verifies `row` against the chain, decodes it and folds it. Throws naming `row.seq`; on a throw
    /// nothing of the row is applied.
    @discardableResult
    public mutating func apply(_ row: JournalRow) throws(JournalError) -> JournalEvent {
        let event = try Self.check(row, verifier: &verifier, chain: &chain)
        do {
            try state.apply(event)
        } catch {
            throw JournalError(.fold, "the fold rejected \(event.kind.name): \(error.message)", seq: row.seq, epoch: row.epoch, cause: error)
        }
        return event
    }

    /// `apply` for a row whose chain check another verifier (following the same head) already passed:
    /// decode and fold, with the same errors, and the head advanced as `apply` would.
    mutating func applyVerified(_ row: JournalRow) throws(JournalError) {
        verifier.accept(verified: row)
        let event = try Self.decode(row)
        do {
            try state.apply(event)
        } catch {
            throw JournalError(.fold, "the fold rejected \(event.kind.name): \(error.message)", seq: row.seq, epoch: row.epoch, cause: error)
        }
    }

    /// The chain verifier's violation as the replay's error.
    static func chainError(_ violation: ChainViolation, _ row: JournalRow) -> JournalError {
        JournalError(.chainBroken, violation.description, seq: row.seq, epoch: row.epoch)
    }

    static func decode(_ row: JournalRow) throws(JournalError) -> JournalEvent {
        do {
            return try EventCodec.decode(row.payload)
        } catch {
            throw JournalError(
                .corruptPayload, "the payload (\(row.payload.count) bytes) is not a valid event: \(error.description)",
                seq: row.seq, epoch: row.epoch, cause: error)
        }
    }

    /// Verifies and decodes without folding (audit).
    static func check(_ row: JournalRow, verifier: inout ChainVerifier, chain: inout HashChain) throws(JournalError) -> JournalEvent {
        if let violation = verifier.verify(row, chain: &chain) { throw chainError(violation, row) }
        return try decode(row)
    }
}
