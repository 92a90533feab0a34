import Logging
import TandemCore
import TandemPostgres

/// The journal's one writer for one lease epoch: concurrent callers' appends are grouped into one
/// fenced, durable commit.
///
/// **How a batch forms.** Appends queue up in the actor; the first to find the writer idle schedules a
/// *drain* on the writer's thread (its connection's, `PostgresConnection.perform`) behind whatever is
/// already waiting there, so the appends that arrived meanwhile join it. The drain takes what is
/// queued (`GroupCommitPlanner`), commits it in one statement, tells every append of the batch its
/// seqs, and, if more arrived while it was committing, schedules the next drain. While a commit blocks
/// the thread, new appends wait in the executor's queue and form the next batch: batches grow with
/// load, and an idle writer commits a lone append at once. No background task exists to leak or to
/// cancel: a drain is scheduled only when there is work.
///
/// **Two ways in.** `append` (async) returns only when its events are committed (durable with
/// `synchronous_commit` on), with their seqs. `submit` is the same append for a caller that is not a
/// task: no `Task` per append, and its completion runs on the writer's thread right after the commit
/// (no thread woken to resume a task), in batch order.
///
/// If a batch is fenced, every append in it gets `FencedError`, nothing of it is stored, and the
/// writer refuses every later append (it is a zombie). After any other failure the writer re-reads the
/// head before its next commit, so an ambiguous commit cannot fork the chain.
public actor JournalWriter {
    public nonisolated let epoch: UInt64
    private let connection: PostgresConnection
    private let planner: GroupCommitPlanner
    private let logger: Logger

    private var head: ChainHead?
    private var needsReconnect = false
    private var fenced: FencedError?

    /// The outcome of a `submit`: the seqs of its events once durable, or why not. Called on the
    /// writer's thread, in commit order; it must not block (the next commit waits for it).
    public typealias Completion = @Sendable (Result<ClosedRange<UInt64>, any Error>) -> Void

    private enum Waiter {
        case task(CheckedContinuation<ClosedRange<UInt64>, any Error>)
        case callback(Completion)

        func resolve(_ result: Result<ClosedRange<UInt64>, any Error>) {
            switch self {
            case .task(let continuation): continuation.resume(with: result)
            case .callback(let completion): completion(result)
            }
        }
    }

    private struct Queued {
        var events: [EncodedEvent]
        var waiter: Waiter
    }

    private var queue: [Queued] = []
    private var draining = false

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
    /// Why: a commit used to cost two thread hops on top of the database round trip — writer
    /// (cooperative pool) → connection thread for the statement, and back to the pool to resume the
    /// callers — and on two shared cores each wake-up is tens to hundreds of µs, which is what the
    /// latency tail is made of. Sharing the executor makes the statement a same-thread call (no hop).
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
        try await withCheckedThrowingContinuation { accept(events, .task($0)) }
    }

    /// `append` for a caller that is not a task (a thread, a callback-driven pipeline): queues `events`
    /// (contiguous and atomic, as one append) and returns at once; `completion` gets their seqs once
    /// durable, or the error (`FencedError` for every append of a fenced batch and every later one).
    /// Appends submitted from one thread commit in that order. Encoding happens on the caller's thread.
    ///
    /// Why: an async caller per append costs a task, and each commit then wakes a pool thread per
    /// caller to resume it; at thousands of appends a second that client CPU competes with the
    /// database's own processes for the cores (docs/journal.md, "Client CPU per append").
    public nonisolated func submit(_ events: [JournalEvent], completion: @escaping Completion) {
        let encoded = events.map(EncodedEvent.init)
        connection.perform { [self] in
            self.assumeIsolated { $0.accept(encoded, .callback(completion)) }
        }
    }

    private func accept(_ events: [EncodedEvent], _ waiter: Waiter) {
        if let fenced { return waiter.resolve(.failure(fenced)) }
        guard !events.isEmpty else {
            return waiter.resolve(.failure(JournalError(.invalidArgument, "an append needs at least one event", epoch: epoch)))
        }
        queue.append(Queued(events: events, waiter: waiter))
        if !draining {
            draining = true
            scheduleDrain()
        }
    }

    /// Behind what is already queued on the writer's thread, so the appends waiting there join the batch.
    private nonisolated func scheduleDrain() {
        connection.perform { [self] in
            self.assumeIsolated { $0.drain() }
        }
    }

    /// Commits one batch from the front of the queue and tells its appends; schedules the next drain
    /// if more are queued. Precondition: `draining`.
    private func drain() {
        guard !queue.isEmpty else {
            draining = false
            return
        }
        let count = planner.take(waiting: queue.lazy.map(\.events.count))
        let batch = Array(queue.prefix(count))
        queue.removeFirst(count)
        let outcome = commit(batch)
        for (item, result) in zip(batch, outcome) { item.waiter.resolve(result) }
        if let fenced {
            // A zombie: fail everything still queued; nothing more will be committed.
            let rest = queue
            queue.removeAll()
            for item in rest { item.waiter.resolve(.failure(fenced)) }
        }
        if queue.isEmpty {
            draining = false
        } else {
            scheduleDrain()
        }
    }

    /// One commit for the whole batch; the result per append.
    private func commit(_ batch: [Queued]) -> [Result<ClosedRange<UInt64>, any Error>] {
        let events = batch.flatMap(\.events)
        let epoch = self.epoch
        let knownHead = head
        let reconnect = needsReconnect
        let method = largeBatch.flatMap { events.count >= $0.minEvents ? $0.method : nil } ?? .function
        let started = recordingCommits ? ContinuousClock.now : nil
        do {
            // Same executor as this actor: the connection is entered synchronously, on this thread.
            let newHead = try connection.assumeIsolated { connection in
                try connection.withConnection { conn in
                    if reconnect { try conn.reconnect() }
                    let start = try knownHead ?? FencedAppend.readHead(conn)
                    return try FencedAppend.append(conn, epoch: epoch, head: start, events: events, method: method)
                }
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
