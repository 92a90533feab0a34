import Logging
import TandemCore
import TandemPostgres

/// The journal's one writer for one lease epoch: concurrent callers' appends are grouped into one
/// fenced, durable commit.
///
/// **Why an actor driven by its callers** (not a Service with a queue-draining `run()`): an append
/// already has a caller waiting for it, so that caller's task can do the work. The first caller to
/// find the writer idle becomes the *leader*: it takes what is queued (`GroupCommitPlanner`), commits
/// it in one statement on the writer's connection (its own thread), resumes every caller of that
/// batch, and, if more arrived meanwhile, hands the lead to the oldest of them. While a commit is in
/// flight the actor is free, so new callers queue up and form the next batch: batches grow with load,
/// and an idle writer commits a lone append at once. No background task exists to leak or to cancel.
///
/// Each `append` returns only when its events are committed (durable with `synchronous_commit` on),
/// with their seqs. If a batch is fenced, every caller in it gets `FencedError`, nothing of it is
/// stored, and the writer refuses every later append (it is a zombie). After any other failure the
/// writer re-reads the head before its next commit, so an ambiguous commit cannot fork the chain.
public actor JournalWriter {
    public nonisolated let epoch: UInt64
    private let connection: PostgresConnection
    private let planner: GroupCommitPlanner
    private let logger: Logger

    private var head: ChainHead?
    private var needsReconnect = false
    private var fenced: FencedError?

    private struct Queued {
        var id: UInt64
        var events: [EncodedEvent]
    }

    private enum Turn: Sendable {
        case committed(ClosedRange<UInt64>)
        case lead
    }

    private var queue: [Queued] = []
    private var waiters: [UInt64: CheckedContinuation<Turn, any Error>] = [:]
    private var nextID: UInt64 = 0
    private var leading = false

    /// Commits so far and events in them (for logs and the benchmark).
    public private(set) var commits = 0
    public private(set) var committedEvents = 0

    /// Each commit's start and duration on the writer's thread (statement sent → answer read, the
    /// database's share of an append's latency) and its events, kept only when `recordingCommits` is
    /// set (the benchmark's breakdown).
    public private(set) var commitLog: [(started: ContinuousClock.Instant, duration: Duration, events: Int)] = []
    public private(set) var recordingCommits = false

    public func setRecordingCommits(_ on: Bool) { recordingCommits = on }

    /// The writer runs on its connection's thread (the connection actor's `DedicatedThreadExecutor`).
    ///
    /// Why: each commit used to cost two thread hops on top of the database round trip — writer
    /// (cooperative pool) → connection thread for the statement, and back to the pool to resume the
    /// callers and hand on the lead — and on two shared cores each wake-up is tens to hundreds of µs,
    /// which is what the latency tail is made of. Sharing the executor makes `withConnection` a
    /// same-executor call (no hop). Batching is unchanged: while a commit blocks the thread, arriving
    /// appends wait as jobs in the executor's queue, which it runs (FIFO) before the next leader's
    /// turn, so they still form the next batch.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { connection.unownedExecutor }

    /// Which `FencedAppend.Method` commits a batch of at least `minEvents` events; smaller batches
    /// use the server function (one round trip, the cheapest for small batches).
    public struct LargeBatchPolicy: Sendable, Hashable {
        public var method: FencedAppend.Method
        public var minEvents: Int

        public init(method: FencedAppend.Method, minEvents: Int) {
            self.method = method
            self.minEvents = minEvents
        }

        /// The measured choice (docs/journal.md, "Append alternatives").
        public static let measured: LargeBatchPolicy? = nil
    }

    private let largeBatch: LargeBatchPolicy?

    /// `connection` must be dedicated to this writer. `epoch` is the lease epoch the node holds.
    public init(
        connection: PostgresConnection, epoch: UInt64, maxBatchEvents: Int = 4096, logger: Logger,
        largeBatch: LargeBatchPolicy? = LargeBatchPolicy.measured
    ) {
        self.connection = connection
        self.epoch = epoch
        self.planner = GroupCommitPlanner(maxEvents: maxBatchEvents)
        self.logger = logger
        self.largeBatch = largeBatch
    }

    /// Appends one event; returns its seq once it is durable.
    public nonisolated func append(_ event: JournalEvent) async throws -> UInt64 {
        try await enqueue([EncodedEvent(event)]).lowerBound
    }

    /// Appends `events` contiguously and atomically; returns their seqs once durable. Throws
    /// `FencedError` if this writer's epoch is no longer the lease's, `JournalError` otherwise.
    /// Encoding happens on the caller's task, before the queue.
    public nonisolated func append(_ events: [JournalEvent]) async throws -> ClosedRange<UInt64> {
        try await enqueue(events.map(EncodedEvent.init))
    }

    /// Appends already-encoded events (tools and tests).
    public func enqueue(_ events: [EncodedEvent]) async throws -> ClosedRange<UInt64> {
        if let fenced { throw fenced }
        guard !events.isEmpty else {
            throw JournalError(.invalidArgument, "an append needs at least one event", epoch: epoch)
        }
        let id = nextID
        nextID += 1
        queue.append(Queued(id: id, events: events))
        if leading {
            let turn = try await withCheckedThrowingContinuation { waiters[id] = $0 }
            switch turn {
            case .committed(let seqs): return seqs
            case .lead: break
            }
        } else {
            leading = true
        }
        return try await lead(myID: id)
    }

    /// Commits batches from the front of the queue until this caller's own append is done, then hands
    /// the lead on (or goes idle). Precondition: `leading` and our append is in the queue.
    private func lead(myID: UInt64) async throws -> ClosedRange<UInt64> {
        var mine: Result<ClosedRange<UInt64>, any Error>?
        while mine == nil {
            // Appends that arrived while the thread was blocked in the last commit are still jobs in
            // the executor's queue, not yet in `queue`: yield once so they run (FIFO) and join this batch.
            await Task.yield()
            let count = planner.take(waiting: queue.lazy.map(\.events.count))
            let batch = Array(queue.prefix(count))
            queue.removeFirst(count)
            let outcome = await commit(batch)
            for (item, result) in zip(batch, outcome) {
                if item.id == myID {
                    mine = result
                } else if let waiter = waiters.removeValue(forKey: item.id) {
                    waiter.resume(with: result.map { Turn.committed($0) })
                }
            }
            if let fenced {
                // A zombie: fail everything still queued; nothing more will be committed.
                for item in queue {
                    if item.id == myID { mine = .failure(fenced) }
                    waiters.removeValue(forKey: item.id)?.resume(throwing: fenced)
                }
                queue.removeAll()
            }
        }
        if let next = queue.first, let waiter = waiters.removeValue(forKey: next.id) {
            waiter.resume(returning: .lead)
        } else {
            leading = false
        }
        guard let result = mine else {
            throw JournalError(.database, "internal: the append finished without a result", epoch: epoch)
        }
        return try result.get()
    }

    /// One commit for the whole batch; the result per append.
    private func commit(_ batch: [Queued]) async -> [Result<ClosedRange<UInt64>, any Error>] {
        let events = batch.flatMap(\.events)
        let epoch = self.epoch
        let knownHead = head
        let reconnect = needsReconnect
        let method = largeBatch.flatMap { events.count >= $0.minEvents ? $0.method : nil } ?? .function
        let started = recordingCommits ? ContinuousClock.now : nil
        do {
            let newHead = try await connection.withConnection { conn in
                if reconnect { try conn.reconnect() }
                let start = try knownHead ?? FencedAppend.readHead(conn)
                return try FencedAppend.append(conn, epoch: epoch, head: start, events: events, method: method)
            }
            needsReconnect = false
            if let started { commitLog.append((started, ContinuousClock.now - started, events.count)) }
            let firstSeq = newHead.seq - UInt64(events.count) + 1
            head = newHead
            commits += 1
            committedEvents += events.count
            var next = firstSeq
            return batch.map { item in
                let range = next...(next + UInt64(item.events.count) - 1)
                next += UInt64(item.events.count)
                return .success(range)
            }
        } catch let error as FencedError {
            fenced = error
            logger.error("append fenced; this writer is stopped", metadata: [
                "journal.epoch": "\(epoch)", "journal.lease_epoch": "\(error.leaseEpoch.map(String.init) ?? "?")",
                "journal.batch_events": "\(events.count)",
            ])
            return batch.map { _ in .failure(error) }
        } catch {
            // Unknown outcome (e.g. the connection dropped around COMMIT): forget the head so the next
            // commit re-reads it and chains onto whatever really committed.
            head = nil
            if let pg = (error as? JournalError)?.cause as? PostgresError, pg.isConnectionLoss { needsReconnect = true }
            if let pg = error as? PostgresError, pg.isConnectionLoss { needsReconnect = true }
            logger.warning("append failed", metadata: [
                "journal.epoch": "\(epoch)", "journal.after_seq": "\(knownHead.map { String($0.seq) } ?? "?")",
                "journal.error": "\(error)",
            ])
            return batch.map { _ in .failure(error) }
        }
    }

    /// The head as this writer last committed it (nil before its first commit or after a failure).
    public var lastCommittedHead: ChainHead? { head }
}
