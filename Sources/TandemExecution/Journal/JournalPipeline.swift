import Logging
import ServiceLifecycle
import Synchronization
import TandemCore
import TandemJournal

/// The leader's one way into the journal: events are folded into the ``ExecutionLedger`` first (so
/// the fold vets them and the leader's state includes what it just decided) and queued in that same
/// order; `run()` commits the queue front in batches through the epoch's ``JournalWriter`` and
/// reports each submission durable, in order.
///
/// **Holds.** An order intent is submitted *held*: it and everything queued behind it wait until the
/// FIX shell queues the NewOrderSingle's stored message (``release(_:)``), so the intent and the
/// message it is sent as become durable in one commit — the write-ahead costs one round trip, not two.
///
/// **Failure.** A failed commit (fenced, or an ambiguous outcome) leaves the ledger ahead of the
/// journal: the pipeline then fails every pending and later submission and `run()` throws, and the
/// node must rebuild its state from the journal before it may lead again.
public final class JournalPipeline: Service, Sendable {
    /// The journal seqs of a submission's events once durable (nil when it had none), or why not.
    public typealias Completion = @Sendable (Result<ClosedRange<UInt64>?, any Error>) -> Void

    /// Identifies a held submission.
    public struct Hold: Sendable, Hashable { let id: UInt64 }

    /// What a submission did: the events the fold accepted (those, and only those, are journaled) and
    /// the ones it refused, with why.
    public struct Submitted: Sendable {
        public var accepted: [JournalEvent]
        public var refused: [(event: JournalEvent, error: FoldError)]
        public var hold: Hold?
    }

    fileprivate struct Entry {
        var events: [JournalEvent]
        var completion: Completion?
        var held: UInt64?
    }

    fileprivate struct State {
        var ledger: ExecutionLedger
        var queue: [JournalPipeline.Entry] = []
        var waiter: CheckedContinuation<Void, Never>?
        var failure: (any Error)?
        var nextHold: UInt64 = 1
        var stopping = false
    }

    public let writer: JournalWriter
    fileprivate let state: Mutex<State>
    fileprivate let logger: Logger
    fileprivate let maxBatchEvents: Int
    fileprivate let onCommit: (@Sendable (Duration, Int) -> Void)?
    fileprivate let onOrderEffect: (@Sendable (OrderEffect, borrowing JournalEvent) -> Void)?

    /// - Parameter onCommit: called after each durable commit (one fenced append of a batch) with how
    ///   long the append took and how many events it carried, on the commit loop, before the batch's
    ///   completions; it must not block (a metrics observation).
    /// - Parameter onOrderEffect: called for each submitted event the fold accepted that changed an
    ///   order's life (``TradingState/lastOrderEffect`` is not `.none`), with that effect and the
    ///   event, in fold order, under the pipeline's lock: it must not block or call back into the
    ///   pipeline (the node's metrics, whose own lock is a leaf). It reads the effect's plain values;
    ///   binding the event's payload copies it, so the event is for rare cases (a reject's reason).
    public init(writer: JournalWriter, ledger: ExecutionLedger, maxBatchEvents: Int = 4096, logger: Logger,
                onCommit: (@Sendable (Duration, Int) -> Void)? = nil,
                onOrderEffect: (@Sendable (OrderEffect, borrowing JournalEvent) -> Void)? = nil) {
        self.writer = writer
        self.state = Mutex(State(ledger: ledger))
        self.maxBatchEvents = maxBatchEvents
        self.logger = logger
        self.onCommit = onCommit
        self.onOrderEffect = onOrderEffect
    }

    public var epoch: UInt64 { writer.epoch }

    /// Reads the ledger (including applied, not yet durable events).
    public func read<R>(_ body: (borrowing ExecutionLedger) -> R) -> R {
        state.withLock { body($0.ledger) }
    }

    /// The error that stopped the pipeline, if it has stopped.
    public var failure: (any Error)? { state.withLock { $0.failure } }

    /// Folds `events` into the ledger in order and queues the accepted ones. `completion` runs (on the
    /// pipeline's task) once they are durable, or with the error that stopped the pipeline; with no
    /// accepted events it runs at once with an empty range at the head.
    ///
    /// `held`: the submission waits for a later `releasing:` (or ``release(_:)``) before it, and
    /// everything behind it, is committed. `releasing`: releases that hold in the same step, after
    /// these events are queued, so both go in one commit.
    @discardableResult
    public func submit(_ events: [JournalEvent], held: Bool = false, releasing: Hold? = nil,
                       completion: Completion? = nil) -> Submitted {
        submit(held: held, releasing: releasing, completion: completion) { _ in events }
    }

    /// ``submit(_:held:releasing:completion:)`` with the events built from the ledger under the same
    /// lock: for events that restate the ledger (a FIX session's sequence numbers), which must not
    /// interleave with another thread's submission.
    @discardableResult
    public func submit(held: Bool = false, releasing: Hold? = nil, completion: Completion? = nil,
                       building build: (borrowing ExecutionLedger) -> [JournalEvent]) -> Submitted {
        var result = Submitted(accepted: [], refused: [], hold: nil)
        let (waiter, failed) = state.withLock { st -> (CheckedContinuation<Void, Never>?, (any Error)?) in
            if let failure = st.failure { return (nil, failure) }
            defer {
                if let releasing, let i = st.queue.firstIndex(where: { $0.held == releasing.id }) { st.queue[i].held = nil }
            }
            let events = build(st.ledger)
            for event in events {
                do throws(FoldError) {
                    try st.ledger.apply(event)
                    if let onOrderEffect {
                        let effect = st.ledger.state.lastOrderEffect
                        if effect.kind != .none { onOrderEffect(effect, event) }
                    }
                    result.accepted.append(event)
                } catch {
                    result.refused.append((event, error))
                }
            }
            guard !result.accepted.isEmpty || held else {
                guard releasing != nil else { return (nil, nil) }
                let w = st.waiter
                st.waiter = nil
                return (w, nil)
            }
            var holdID: UInt64?
            if held {
                holdID = st.nextHold
                st.nextHold += 1
                result.hold = Hold(id: holdID!)
            }
            st.queue.append(Entry(events: result.accepted, completion: completion, held: holdID))
            let w = st.waiter
            st.waiter = nil
            return (w, nil)
        }
        for (event, error) in result.refused {
            logger.error("event refused by the fold; not journaled", metadata: ["journal.event": "\(event.kind)", "error": "\(error)"])
        }
        if let failed {
            completion?(.failure(failed))
        } else if result.accepted.isEmpty && !held {
            completion?(.success(nil))
        }
        waiter?.resume()
        return result
    }

    /// Lets a held submission (and what queued behind it) be committed.
    public func release(_ hold: Hold) {
        submit([], releasing: hold)
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await Committer(writer: writer).drain(self)
        } onGracefulShutdown: {
            let w = self.state.withLock { st -> CheckedContinuation<Void, Never>? in
                st.stopping = true
                let w = st.waiter
                st.waiter = nil
                return w
            }
            w?.resume()
        }
    }

    /// Stops after committing what is queued and not held.
    public func stop() {
        let w = state.withLock { st -> CheckedContinuation<Void, Never>? in
            st.stopping = true
            let w = st.waiter
            st.waiter = nil
            return w
        }
        w?.resume()
    }

}

/// Runs the pipeline's commit loop on the journal writer's executor (its connection's thread), so a
/// commit costs no thread hop between the loop and the writer: a submission wakes this thread, the
/// statement runs on it, and completions are issued from it.
private actor Committer {
    let writer: JournalWriter
    nonisolated var unownedExecutor: UnownedSerialExecutor { writer.unownedExecutor }

    init(writer: JournalWriter) { self.writer = writer }

    func drain(_ p: JournalPipeline) async throws {
        while true {
            let batch: [JournalPipeline.Entry]? = await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = p.state.withLock { st -> Bool in
                        if st.stopping || Task.isCancelled || st.queue.first.map({ $0.held == nil }) == true { return true }
                        st.waiter = c
                        return false
                    }
                    if ready { c.resume() }
                }
                return p.state.withLock { st -> [JournalPipeline.Entry]? in
                    var count = 0
                    var events = 0
                    for e in st.queue {
                        if e.held != nil { break }
                        if count > 0 && events + e.events.count > p.maxBatchEvents { break }
                        count += 1
                        events += e.events.count
                    }
                    if count == 0 { return st.stopping || Task.isCancelled ? nil : [] }
                    let b = Array(st.queue.prefix(count))
                    st.queue.removeFirst(count)
                    return b
                }
            } onCancel: {
                let w = p.state.withLock { st -> CheckedContinuation<Void, Never>? in
                    st.stopping = true
                    let w = st.waiter
                    st.waiter = nil
                    return w
                }
                w?.resume()
            }
            guard let batch else { return }
            if batch.isEmpty { continue }
            let events = batch.flatMap(\.events)
            do {
                let started = ContinuousClock.now
                let seqs = try await writer.enqueue(events.map(EncodedEvent.init))
                p.onCommit?(ContinuousClock.now - started, events.count)
                p.logger.trace("journal batch durable", metadata: ["journal.seqs": "\(seqs)", "journal.entries": "\(batch.count)"])
                p.state.withLock { $0.ledger.lastSeq = seqs.upperBound }
                var next = seqs.lowerBound
                for entry in batch {
                    let n = UInt64(entry.events.count)
                    entry.completion?(.success(n == 0 ? nil : next...(next + n - 1)))
                    next += n
                }
            } catch {
                let pending = p.state.withLock { st -> [JournalPipeline.Entry] in
                    st.failure = error
                    let q = st.queue
                    st.queue.removeAll()
                    return q
                }
                p.logger.error("journal commit failed; the pipeline stops and the ledger must be rebuilt",
                             metadata: ["journal.epoch": "\(writer.epoch)", "journal.batch_events": "\(events.count)", "error": "\(error)"])
                for entry in batch + pending { entry.completion?(.failure(error)) }
                throw error
            }
        }
    }
}
