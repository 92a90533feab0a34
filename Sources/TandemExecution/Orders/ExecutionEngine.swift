import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TandemCore
import TandemFIX

/// The shell around ``OrderManager``: feeds it commands, execution reports and session changes,
/// carries out its actions (journal submissions through the ``JournalPipeline``, FIX writes through
/// each session's initiator), and wakes it for pacing and status checks. One per leader term.
///
/// Locking: the manager is behind one mutex; the ledger is read and submitted to while it is held
/// (pipeline lock nested inside, never the other way), so decisions and their events are applied in
/// one order. FIX writes happen after the mutex is released: a write can run the FIX handler inline,
/// which takes the pipeline's lock.
public final class ExecutionEngine: Service, Sendable {
    /// Where the engine writes a session's messages.
    public typealias Writer = @Sendable (FIXOutbound) -> EventLoopFuture<Void>

    private struct State {
        var manager: OrderManager
        var writers: [String: Writer] = [:]
        var nextWake: Duration?
        /// The wake-up scheduled on `wakeLoop`, and when it is due.
        var scheduledWake: (at: Duration, task: Scheduled<Void>)?
    }

    private let state: Mutex<State>
    public let pipeline: JournalPipeline
    private let logger: Logger
    /// Called (outside every lock) with the events each input caused, in the order they were folded.
    private let observer: @Sendable ([JournalEvent]) -> Void
    /// Where wake-ups (pacing, status checks) are scheduled; nil: `run()` polls for them every 2 ms.
    private let wakeLoop: (any EventLoop)?

    /// - Parameter wakeLoop: the event loop the engine's inputs mostly come from (the node's loop). The
    ///   manager's wake-ups are then scheduled on it at their time, and `run()` only polls every 100 ms
    ///   as a safety net, instead of waking a thread every 2 ms to look.
    public init(manager: OrderManager, pipeline: JournalPipeline, logger: Logger, wakeLoop: (any EventLoop)? = nil,
                observer: @escaping @Sendable ([JournalEvent]) -> Void = { _ in }) {
        self.state = Mutex(State(manager: manager))
        self.pipeline = pipeline
        self.logger = logger
        self.wakeLoop = wakeLoop
        self.observer = observer
    }

    /// Registers a session's writer (its initiator's ``FIXInitiator/write(_:)``).
    public func attach(session: String, writer: @escaping Writer) {
        state.withLock { $0.writers[session] = writer }
    }

    public var sessionsUp: Int { state.withLock { $0.manager.sessionsUp } }
    /// See ``OrderManager/isReconciled``.
    public var isReconciled: Bool { state.withLock { $0.manager.isReconciled } }
    public var reconcilingCount: Int { state.withLock { $0.manager.reconcilingCount } }
    public var pacedCount: Int { state.withLock { $0.manager.pacedCount } }
    public var unconfirmedCount: Int { state.withLock { $0.manager.unconfirmedCount } }

    /// Handles one input now, on the caller's thread.
    public func handle(_ input: OrderManager.Input) {
        let clock = FIXClock.now()
        var sends: [(Writer?, String, any FIXMessageBody, JournalPipeline.Hold?, ClOrdID)] = []
        var folded: [JournalEvent] = []
        var wake: Duration?
        let logs = state.withLock { st -> [OrderManager.Action] in
            let actions = pipeline.read { st.manager.handle(input, ledger: $0, now: clock.utc, mono: clock.monotonic) }
            var logs: [OrderManager.Action] = []
            for action in actions {
                switch action {
                case .journal(let events, let inbound):
                    guard !events.isEmpty || inbound != nil else { continue }
                    let r = pipeline.submit(completion: decisionLog(events)) { ledger in
                        guard let inbound, !events.isEmpty else { return events }
                        let seqs = ledger.sequences(of: inbound.session)
                        return events + [.fixSessionState(FixSessionState(
                            sessionID: inbound.session, lastInboundSequence: UInt64(inbound.seq),
                            lastOutboundSequence: seqs.lastOutbound, at: clock.utc))]
                    }
                    folded += r.accepted
                case .send(let session, let message, let writeAhead, let order):
                    var hold: JournalPipeline.Hold?
                    if !writeAhead.isEmpty {
                        let r = pipeline.submit(writeAhead, held: true, completion: decisionLog(writeAhead))
                        folded += r.accepted
                        hold = r.hold
                        guard r.refused.isEmpty else {
                            if let hold { pipeline.release(hold) }
                            continue
                        }
                    }
                    sends.append((st.writers[session], session, message, hold, order))
                case .wake(let at):
                    wake = at
                case .log:
                    logs.append(action)
                }
            }
            if let wake { st.nextWake = wake }
            return logs
        }
        for case .log(let level, let text, let order) in logs {
            var metadata: Logger.Metadata = [:]
            if let order { metadata["order.clOrdID"] = "\(order)" }
            switch level {
            case .info: logger.info("\(text)", metadata: metadata)
            case .warning: logger.warning("\(text)", metadata: metadata)
            case .error: logger.error("\(text)", metadata: metadata)
            }
        }
        if !folded.isEmpty { observer(folded) }
        if let wake { scheduleWake(at: wake) }
        for (writer, session, message, hold, order) in sends {
            send(writer, session: session, message: message, hold: hold, order: order)
        }
    }

    /// Schedules a tick on `wakeLoop` at `at` (monotonic, NIO's uptime clock), unless one is already
    /// scheduled no later. A tick that finds nothing due is harmless: the manager checks each time.
    private func scheduleWake(at: Duration) {
        guard let loop = wakeLoop else { return }
        state.withLock { st in
            if let current = st.scheduledWake, current.at <= at { return }
            st.scheduledWake?.task.cancel()
            let (seconds, attos) = at.components
            let nanos = max(0, seconds * 1_000_000_000 + attos / 1_000_000_000)
            let task = loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(nanos))) { [self] in wakeFired() }
            st.scheduledWake = (at, task)
        }
    }

    private func wakeFired() {
        let now = FIXClock.now().monotonic
        // A later due time to wait for, or nil: tick now (also when nothing is due: the run() safety
        // net took it, or it moved; a tick with nothing due does nothing).
        let later = state.withLock { st -> Duration? in
            st.scheduledWake = nil
            if let due = st.nextWake, due > now { return due }
            st.nextWake = nil
            return nil
        }
        if let later { scheduleWake(at: later) } else { handle(.tick) }
    }

    /// Logs each order decision among `events` (an intent and its risk verdict, a cancel or replace
    /// request, a venue's reject) with the `journal.seq` it landed at, once durable, so a log line joins
    /// the journal in a post-mortem. nil (no closure) when there is none. Runs on the pipeline's commit
    /// loop, off the event loop.
    private func decisionLog(_ events: [JournalEvent]) -> JournalPipeline.Completion? {
        guard events.contains(where: \.isOrderDecision) else { return nil }
        let logger = self.logger
        return { result in
            guard case .success(let seqs?) = result else { return }
            // The seqs are the accepted events'; the fold refuses none in practice (a refusal is logged
            // by the pipeline). If it did, name the batch's range instead of guessing a seq.
            let exact = seqs.count == events.count
            for (i, event) in events.enumerated() where event.isOrderDecision {
                var m: Logger.Metadata = exact ? ["journal.seq": "\(seqs.lowerBound + UInt64(i))"] : ["journal.seqs": "\(seqs)"]
                switch event {
                case .orderIntent(let intent):
                    m["order.clOrdID"] = "\(intent.request.clOrdID)"
                    switch intent.decision {
                    case .accepted:
                        logger.info("order intent journaled", metadata: m)
                    case .rejected(let rule, let reason):
                        m["risk.rule"] = "\(rule)"
                        m["risk.reason"] = "\(reason)"
                        logger.warning("order intent refused by pre-trade risk", metadata: m)
                    }
                case .cancelRequested(let id, _):
                    m["order.clOrdID"] = "\(id)"
                    logger.info("cancel requested", metadata: m)
                case .replaceRequested(let id, let replacement, _):
                    m["order.clOrdID"] = "\(id)"
                    m["order.newClOrdID"] = "\(replacement.newClOrdID)"
                    logger.info("replace requested", metadata: m)
                case .replaceRejected(let id, let reason, _):
                    m["order.clOrdID"] = "\(id)"
                    m["order.reason"] = "\(reason)"
                    logger.warning("replace rejected", metadata: m)
                case .orderRejected(let id, let reason, _):
                    m["order.clOrdID"] = "\(id)"
                    m["order.reason"] = "\(reason)"
                    logger.warning("order rejected by the venue", metadata: m)
                default:
                    break
                }
            }
        }
    }

    private func send(_ writer: Writer?, session: String, message: any FIXMessageBody, hold: JournalPipeline.Hold?, order: ClOrdID) {
        guard let writer else {
            if let hold { pipeline.release(hold) }
            handle(.sendFailed(session: session, order, reason: "no writer for session \(session)"))
            return
        }
        let outbound: FIXOutbound = hold.map { .gated(message, context: $0) } ?? .application(message)
        writer(outbound).whenFailure { [self] error in
            // Releasing an already released hold is a no-op; the order is then confirmed by status request.
            if let hold { pipeline.release(hold) }
            handle(.sendFailed(session: session, order, reason: "\(error)"))
        }
    }

    /// Wakes the manager for pacing and status checks until cancelled or shut down. Without a
    /// `wakeLoop` it polls its next wake-up time every 2 ms at most (pacing needs no finer grain), so
    /// inputs never wait on it; with one, the wake-ups are scheduled on that loop and this polls every
    /// 100 ms only in case one was missed.
    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                let now = FIXClock.now().monotonic
                let due = state.withLock { $0.nextWake }
                if let due, due <= now {
                    state.withLock { $0.nextWake = nil }
                    handle(.tick)
                    continue
                }
                let poll: Duration = wakeLoop == nil ? .milliseconds(2) : .milliseconds(100)
                let sleep = min(due.map { $0 - now } ?? poll, poll)
                try? await Task.sleep(for: sleep)
            }
        }
    }
}

/// The FIX pipeline handler that turns a session's reports and state changes into engine inputs.
/// Sits behind the FIX handler in each order-entry session's pipeline.
public final class ExecutionChannelHandler: ChannelInboundHandler, Sendable {
    public typealias InboundIn = FIXInbound
    public typealias InboundOut = FIXInbound

    private let engine: ExecutionEngine
    private let session: String

    public init(engine: ExecutionEngine, session: String) {
        self.engine = engine
        self.session = session
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let inbound = unwrapInboundIn(data)
        let seq = inbound.message.msgSeqNum ?? 0
        switch inbound.typed {
        case .executionReport(let r): engine.handle(.executionReport(session: session, seq: seq, r))
        case .orderCancelReject(let r): engine.handle(.cancelReject(session: session, seq: seq, r))
        default: break
        }
        context.fireChannelRead(data)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let notice = event as? FIXSessionNotice {
            switch notice.event {
            case .loggedOn: engine.handle(.sessionUp(session))
            case .loggedOut: engine.handle(.sessionDown(session))
            default: break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        engine.handle(.sessionDown(session))
        context.fireChannelInactive()
    }
}

extension JournalEvent {
    /// An intent (with its risk verdict), a cancel or replace request, or a reject of one.
    var isOrderDecision: Bool {
        switch self {
        case .orderIntent, .cancelRequested, .replaceRequested, .replaceRejected, .orderRejected: true
        default: false
        }
    }
}
