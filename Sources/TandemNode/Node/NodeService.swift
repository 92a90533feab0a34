#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import TandemCluster
import TandemCore
import TandemCrypto
import TandemExecution
import TandemFIX
import TandemJournal
import TandemMarketData
import TandemPostgres
import TandemStrategy

/// Deliberate failures for the write-ahead and failover tests. Never set in production.
public struct NodeFaults: Sendable, Hashable {
    /// Exit the process (status 86) right after the first NewOrderSingle is durable in the journal and
    /// before its bytes are written: the crash the write-ahead rule exists for.
    public var crashAfterFirstOrderJournaled: Bool
    public init(crashAfterFirstOrderJournaled: Bool = false) {
        self.crashAfterFirstOrderJournaled = crashAfterFirstOrderJournaled
    }
    public static let none = NodeFaults()
}

/// One engine node, `tandem node`: a hot standby that folds the journal until it wins the lease, then a
/// leader that trades — market data in, strategy, risk hook, write-ahead journal, FIX out, reports back —
/// until it loses the lease, is fenced, or is shut down; then a standby again (rebuilding its state
/// from the journal, since a leader's ledger may be ahead of what became durable).
///
/// Graceful shutdown (SIGTERM): the strategy stops (no new orders), open orders are cancelled if
/// configured, FIX sessions log out, queued journal events are committed, and the lease is released.
public final class NodeService: Service, Sendable {
    public let configuration: NodeConfiguration
    public let dsn: String
    public let lease: LeaseService
    public let follower: JournalFollower
    private let logger: Logger
    private let faults: NodeFaults
    private let shared = Mutex(Shared())
    private let metrics: NodeMetrics

    private struct Shared {
        var shuttingDown = false
        var term: Term?
    }

    /// What a leader term exposes to status and tests.
    struct Term: Sendable {
        var epoch: UInt64
        var pipeline: JournalPipeline
        var engine: ExecutionEngine
        var slippage: FillSlippage
    }

    public init(configuration: NodeConfiguration, dsn: String, faults: NodeFaults = .none, logger: Logger) throws {
        self.configuration = configuration
        // Every session of this node carries its name, so a standby can see whether any still lives.
        let dsn = LeaseService.tagged(dsn: dsn, nodeID: configuration.nodeID)
        self.dsn = dsn
        self.faults = faults
        var logger = logger
        logger[metadataKey: "node.id"] = "\(configuration.nodeID)"
        self.logger = logger
        let t = configuration.timing
        // Labelled metrics from the configuration only (bounded): sessions, and the strategy's account
        // on every configured instrument.
        let sessions = configuration.venues.flatMap { v in v.sessions.map { FIXSessionID.make(sender: $0.senderCompID, target: $0.targetCompID) } }
        let account = AccountID(configuration.strategy.account)
        let positions = configuration.venues.flatMap { v in v.instruments.map { (PositionKey(account: account, instrument: $0.id), symbol: $0.symbol) } }
        let metrics = NodeMetrics(sessions: sessions, positions: positions)
        self.metrics = metrics
        let leaseConfig = try LeaseMachine.Configuration(nodeID: configuration.nodeID, heartbeat: t.heartbeat,
                                                         leaseDuration: t.lease, safetyMargin: t.selfFenceMargin)
        self.lease = LeaseService(dsn: dsn, configuration: .init(lease: leaseConfig, crashDetection: true,
                                                                 onRenewed: { metrics.leaseRenew.recordNanoseconds($0.nanoseconds) }),
                                  logger: logger)
        self.follower = JournalFollower(dsn: dsn, snapshotEvery: UInt64(configuration.journal.snapshotEveryEvents),
                                        snapshotsKept: configuration.journal.snapshotsKept, logger: logger)
    }

    /// The buckets of the node's histograms, by metric name, for the metrics backend (swift-prometheus
    /// takes them per label: `durationHistogramBuckets`, `valueHistogramBuckets`).
    public static var histogramBuckets: (durations: [String: [Duration]], values: [String: [Double]]) {
        (NodeMetrics.durationBuckets, NodeMetrics.valueBuckets)
    }

    /// The role as the lease sees it.
    public var role: LeaseRole { lease.currentRole }

    /// Whether this node can do its job now (`/readyz`): a leader with its venues logged on and its
    /// open orders reconciled; a standby within `timing.standbyMaxLag` of the journal.
    public func readiness() -> (ready: Bool, detail: String) {
        if let term = shared.withLock({ $0.term }) {
            let up = term.engine.sessionsUp
            let sessions = configuration.venues.reduce(0) { $0 + $1.sessions.count }
            if up < sessions { return (false, "leader at epoch \(term.epoch): \(up) of \(sessions) FIX sessions logged on") }
            if !term.engine.isReconciled { return (false, "leader at epoch \(term.epoch): reconciling \(term.engine.reconcilingCount) orders") }
            return (true, "leader at epoch \(term.epoch), \(up) FIX sessions logged on, reconciled")
        }
        let lag = follower.lag
        let max = configuration.timing.standbyMaxLag.milliseconds
        switch lease.currentRole {
        case .standby:
            return lag.milliseconds <= max
                ? (true, "standby, \(lag.seqs) events / \(lag.milliseconds) ms behind")
                : (false, "standby \(lag.milliseconds) ms behind (more than \(max) ms)")
        case let role:
            return (false, "\(role)")
        }
    }

    /// The ledger this node acts on: the leader's (including events not yet durable) or the standby's fold.
    public func read<R>(_ body: (borrowing ExecutionLedger) -> R) -> R {
        if let term = shared.withLock({ $0.term }) { return term.pipeline.read(body) }
        return follower.read(body)
    }

    public func run() async throws {
        let admin = try await PostgresConnection.connect(dsn, logger: logger)
        do {
            _ = try await JournalSchema.migrate(admin, logger: logger)
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
        logger.info("node starting", metadata: ["node.cluster": "\(configuration.cluster)"])

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.lease.run() }
                group.addTask { await self.publishStatus() }
                try await self.roles()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.shared.withLock { $0.shuttingDown = true }
        }
        logger.info("node stopped")
    }

    private var shuttingDown: Bool { shared.withLock { $0.shuttingDown } || Task.isCancelled }

    /// Standby until elected, leader until not, again and again, until shutdown.
    private func roles() async throws {
        while !shuttingDown {
            guard let epoch = try await standby() else { return }
            let started = ContinuousClock.now
            let ledger: ExecutionLedger
            do {
                ledger = try await follower.catchUp()
            } catch {
                logger.error("could not read the journal to its end after election; standing by", metadata: ["error": "\(error)"])
                follower.reset()
                try? await Task.sleep(for: configuration.timing.heartbeat)
                continue
            }
            logger.info("elected: journal read to its end", metadata: [
                "lease.epoch": "\(epoch)", "journal.seq": "\(ledger.lastSeq)",
                "takeover.catch_up_ms": "\((ContinuousClock.now - started).milliseconds)",
            ])
            do {
                try await lead(epoch: epoch, ledger: ledger, elected: started)
            } catch {
                logger.error("leader term ended by an error", metadata: ["lease.epoch": "\(epoch)", "error": "\(error)"])
                // Still holding the lease, the next term would start at once: not in a tight loop.
                try? await Task.sleep(for: configuration.timing.heartbeat)
            }
            shared.withLock { $0.term = nil }
            follower.reset()
        }
    }

    /// Folds the journal until this node may lead; returns the epoch (nil on shutdown).
    private func standby() async throws -> UInt64? {
        try await withThrowingTaskGroup(of: UInt64?.self) { group in
            group.addTask {
                while true {
                    do {
                        try await self.follower.follow()
                    } catch is CancellationError {
                        return nil
                    } catch {
                        if Task.isCancelled { return nil }
                        self.logger.error("journal tail failed; restarting it", metadata: ["error": "\(error)"])
                        if (error as? FoldError) != nil { self.follower.reset() }
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                    if Task.isCancelled { return nil }
                }
            }
            group.addTask {
                while !self.shuttingDown {
                    if let epoch = self.lease.gate.mayAct() { return epoch }
                    try? await Task.sleep(for: .milliseconds(5))
                }
                return nil
            }
            var result: UInt64?
            while let r = try await group.next() {
                if let r { result = r }
                break
            }
            group.cancelAll()
            return result
        }
    }

    private enum Ended: Sendable { case watcher, part(String) }

    /// One leader term under `epoch`, from the caught-up `ledger`.
    private func lead(epoch: UInt64, ledger: ExecutionLedger, elected: ContinuousClock.Instant) async throws {
        let steps = TakeoverSteps(elected: elected)
        steps.mark("catch_up")
        let config = configuration
        let logger = self.logger
        let writerConnection = try await PostgresConnection.connect(dsn, logger: logger)
        let writer = JournalWriter(connection: writerConnection, epoch: epoch, logger: logger)
        let appendTimer = metrics.journalAppend
        // The order metrics (counters, slippage) read each folded order event's effect as the pipeline
        // folds it: plain values, without copying the event (docs/monitoring.md, "Metrics on the order path").
        let metrics = self.metrics
        let slippage = FillSlippage(recorder: metrics.slippage)
        let pipeline = JournalPipeline(writer: writer, ledger: ledger, logger: logger,
                                       onCommit: { duration, _ in appendTimer.recordNanoseconds(duration.nanoseconds) },
                                       onOrderEffect: { effect, event in metrics.observe(effect, event, slippage: slippage) })
        let lease = self.lease
        let leadership: @Sendable () -> Bool = { lease.gate.mayAct() == epoch }

        // Routing, rate limits and the order manager.
        var venues: [OrderManager.Venue] = []
        var routes: [InstrumentID: String] = [:]
        for v in config.venues {
            let ids = v.sessions.map { FIXSessionID.make(sender: $0.senderCompID, target: $0.targetCompID) }
            var rates: [String: OrderManager.Rate] = [:]
            for (id, s) in zip(ids, v.sessions) { rates[id] = .init(ordersPerSecond: s.rateLimit.ordersPerSecond, burst: s.rateLimit.burst) }
            venues.append(.init(name: v.name, sessions: ids,
                                venueRate: .init(ordersPerSecond: v.rateLimit.ordersPerSecond, burst: v.rateLimit.burst), sessionRate: rates))
            for i in v.instruments { routes[i.id] = v.name }
        }
        let x = config.execution
        // In the journaled risk mode (HALTED stays HALTED across a restart or takeover).
        let risk = try NodeRisk.forTerm(limitsFile: x.riskLimitsFile, ledger: ledger.state, dayRoll: config.risk.dayRollUTC, logger: logger)
        let manager = OrderManager(configuration: .init(
            account: AccountID(config.strategy.account), epoch: epoch, venues: venues, routes: routes,
            risk: risk.map { $0 as any PreTradeRisk } ?? AcceptAllRisk(),
            statusRequestTimeout: x.statusRequestTimeout, retryInitial: x.retryInitial, retryMax: x.retryMax, retryAttempts: x.retryAttempts))
        let runnerBox = Mutex<StrategyRunner?>(nil)
        // One event loop for the feed, the strategy, the order manager and the FIX sessions: a market
        // update becomes an order on the wire without a thread hop. The engine's wake-ups (pacing,
        // status checks) are scheduled on it too, not polled.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let engine = ExecutionEngine(manager: manager, pipeline: pipeline, logger: logger, wakeLoop: loop) { events in
            if let risk {
                for case .orderRejected(let id, let reason, let at) in events { risk.record(.venueRejected(clOrdID: id, reason: reason, at: at)) }
            }
            runnerBox.withLock { $0 }?.onEvents(events)
        }

        // Leadership and reference data are journaled first.
        let now = FIXClock.now().utc
        // A term restarted under the same epoch (the lease survived, e.g. a PostgreSQL restart ended the
        // last term's appends) journals no second LeaderElected: the fold refuses a repeated epoch.
        var opening: [JournalEvent] = ledger.state.leader?.epoch == epoch ? [] : [.leaderElected(epoch: epoch, nodeID: config.nodeID, at: now)]
        for v in config.venues {
            for i in v.instruments where ledger.state.instruments[i.id] != i { opening.append(.instrumentDefined(i, at: now)) }
        }
        let opened = pipeline.submit(opening) { result in if case .success = result { steps.mark("leader_elected") } }
        for (event, error) in opened.refused {
            logger.error("an opening event of the term was refused by the fold", metadata: ["journal.event": "\(event.kind)", "error": "\(error)"])
        }

        // FIX sessions through the journal gate.
        var sharedGate: any FIXOutboundGate = JournalFIXGate(pipeline: pipeline, leadership: leadership)
        if faults.crashAfterFirstOrderJournaled { sharedGate = CrashingGate(inner: sharedGate) }
        var initiators: [FIXInitiator<InMemoryFIXStore>] = []
        for v in config.venues {
            for s in v.sessions {
                let id = FIXSessionID.make(sender: s.senderCompID, target: s.targetCompID)
                let fixMetrics = metrics.fix[id]
                let sent = fixMetrics?.messagesOut
                let gate: any FIXOutboundGate = risk == nil && fixMetrics == nil ? sharedGate : ObservedGate(inner: sharedGate, roundTrips: fixMetrics?.roundTrips) { _ in
                    risk?.record(.messageSent(at: FIXClock.now().utc))
                    sent?.increment()
                }
                let store = pipeline.read { JournalFIXStore.seeded(sessionID: id, from: $0) }
                var session = FIXSessionConfig(role: .initiator, senderCompID: s.senderCompID, targetCompID: s.targetCompID,
                                               heartBtInt: s.heartBtInt)
                session.resetSeqNumOnLogon = s.resetOnLogon
                session.maxSendingTimeSkew = s.maxSendingTimeSkewSeconds > 0 ? .seconds(s.maxSendingTimeSkewSeconds) : nil
                if let user = s.username { session.credentials = FIXCredentials(username: user, password: s.password ?? "") }
                let initiator = FIXInitiator(
                    // Reconnect quickly (50 ms doubling to 250 ms): after a takeover the venue may still hold
                    // the old leader's session for a moment, and every refused Logon costs RTO.
                    configuration: .init(host: s.host, port: s.port, session: session, reconnectBase: .milliseconds(50),
                                         reconnectCap: .milliseconds(250), connectTimeout: .seconds(2), gate: gate,
                                         publishesEvents: false),
                    store: store, group: loop, logger: logger,
                    application: {
                        var handlers: [any ChannelHandler] = [ExecutionChannelHandler(engine: engine, session: id)]
                        if let fixMetrics { handlers.append(FIXMetricsHandler(metrics: fixMetrics)) }
                        if let risk { handlers.append(RiskSessionWatcher(risk: risk, venue: v.name)) }
                        return handlers
                    })
                engine.attach(session: id) { initiator.write($0) }
                initiators.append(initiator)
            }
        }

        // The strategy and its market data.
        let strategy = try StrategyCatalog.make(name: config.strategy.name, parameters: config.strategy.parameters,
                                                instruments: pipeline.read { $0.state.instruments })
        let runner = StrategyRunner(strategy: strategy, account: AccountID(config.strategy.account), pipeline: pipeline) { command in
            engine.handle(.command(command))
        }
        runnerBox.withLock { $0 = runner }
        let bridge = MarketBridge(runner: runner, risk: risk, slippage: slippage)
        let feed = config.strategyVenue?.feed.map {
            FeedClient(configuration: .init(host: $0.host, recoveryPort: $0.recoveryPort, onDeliver: { bridge.deliver($0) },
                                            publishesEvents: false),
                       group: loop, logger: logger)
        }
        shared.withLock { $0.term = Term(epoch: epoch, pipeline: pipeline, engine: engine, slippage: slippage) }
        logger.info("leading", metadata: ["lease.epoch": "\(epoch)", "journal.seq": "\(ledger.lastSeq)"])

        do {
            try await term(pipeline: pipeline, engine: engine, initiators: initiators, steps: steps, risk: risk, feed: feed, runner: runner,
                           leadership: leadership, epoch: epoch)
        } catch {
            await writerConnection.close()
            throw error
        }
        await writerConnection.close()
    }

    private func term(pipeline: JournalPipeline, engine: ExecutionEngine, initiators: [FIXInitiator<InMemoryFIXStore>], steps: TakeoverSteps,
                      risk: NodeRisk?,
                      feed: FeedClient?, runner: StrategyRunner, leadership: @escaping @Sendable () -> Bool, epoch: UInt64) async throws {
        let logger = self.logger
        let metrics = self.metrics
        let feedMetrics = feed.map { _ in FeedMetrics() }
        defer { feedMetrics?.destroy() }
        try await withThrowingTaskGroup(of: Ended.self) { group in
            group.addTask { try await pipeline.run(); return .part("journal pipeline") }
            group.addTask { try await engine.run(); return .part("execution engine") }
            for i in initiators { group.addTask { try await i.run(); return .part("FIX session") } }
            if let feed {
                group.addTask { try await feed.run(); return .part("feed client") }
            }
            group.addTask {
                var started = false
                var lastRiskCheck = ContinuousClock.now
                var lastFeedCheck = ContinuousClock.now - .seconds(1)
                var feedCounted = (gaps: 0, retransmissions: 0, snapshots: 0)
                var haltHandled = false
                while true {
                    if self.shuttingDown {
                        await self.drain(runner: runner, engine: engine, pipeline: pipeline, initiators: initiators)
                        return .watcher
                    }
                    guard leadership() else {
                        logger.warning("leadership lost; stepping down", metadata: ["lease.epoch": "\(epoch)"])
                        runner.stop()
                        return .watcher
                    }
                    if let failure = pipeline.failure {
                        logger.error("journal pipeline failed; stepping down", metadata: ["error": "\(failure)"])
                        return .watcher
                    }
                    if engine.sessionsUp > 0 { steps.mark("fix_logged_on") }
                    // DESIGN step 7: the strategy trades only once the venue confirmed every open order.
                    if !started, engine.sessionsUp > 0, engine.isReconciled {
                        started = true
                        steps.mark("reconciled")
                        if risk?.mode == .halted {
                            logger.error("risk HALTED: the strategy stays stopped until an operator resumes")
                        } else {
                            runner.start()
                        }
                        logger.info("takeover complete: trading", metadata: steps.metadata(epoch: epoch))
                        metrics.takeovers.increment()
                        metrics.lastTakeoverSeconds.record(steps.seconds)
                        for (step, at) in steps.durations { metrics.takeoverSteps[step]?.record(at.seconds) }
                    }
                    runner.tick(mono: FIXClock.now().monotonic)
                    if let risk, ContinuousClock.now - lastRiskCheck >= .milliseconds(250) {
                        lastRiskCheck = .now
                        let outputs = risk.evaluate(pipeline: pipeline, now: FIXClock.now().utc)  // journals mode changes
                        let day = risk.dayFigures()
                        metrics.riskDay.record(day.figures, limits: day.limits)
                        for o in outputs {
                            switch o {
                            case .breach(let rule, _, _), .modeChanged(_, _, let rule, _, _), .positionRestricted(_, let rule, _, _):
                                metrics.breach(rule: rule)
                            case .positionReleased:
                                break
                            }
                        }
                        if risk.mode == .halted, !haltHandled {
                            // HALTED: no new orders from the strategy; what is open is cancelled. Reducing
                            // orders (the way out) still pass the engine.
                            haltHandled = true
                            runner.stop()
                            let open = pipeline.read { $0.state.openOrders.map(\.clOrdID) }
                            for id in open { engine.handle(.command(.cancel(id))) }
                            logger.error("risk HALTED: strategy stopped, open orders cancelled", metadata: ["orders.count": "\(open.count)"])
                        }
                    }
                    if let feed, let feedMetrics, ContinuousClock.now - lastFeedCheck >= .milliseconds(250) {
                        lastFeedCheck = .now
                        if let h = try? await feed.health() {
                            feedMetrics.lineA.record(h.lineAUp ? 1 : 0)
                            feedMetrics.lineB.record(h.lineBUp ? 1 : 0)
                            feedMetrics.lastMessageAge.record(h.lastMessageAge.seconds)
                            metrics.feedGaps.increment(by: max(0, h.gaps - feedCounted.gaps))
                            metrics.feedRecoveries["retransmission"]?.increment(by: max(0, h.retransmitRecoveries - feedCounted.retransmissions))
                            metrics.feedRecoveries["snapshot"]?.increment(by: max(0, h.snapshotRecoveries - feedCounted.snapshots))
                            feedCounted = (h.gaps, h.retransmitRecoveries, h.snapshotRecoveries)
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            while let ended = try await group.next() {
                if case .part(let name) = ended, !self.shuttingDown {
                    logger.warning("\(name) ended; leaving the leader term")
                }
                break
            }
            group.cancelAll()
        }
    }

    /// Graceful shutdown of a leader: no new orders, optional cancels, Logout, journal flushed.
    private func drain(runner: StrategyRunner, engine: ExecutionEngine, pipeline: JournalPipeline,
                       initiators: [FIXInitiator<InMemoryFIXStore>]) async {
        runner.stop()
        if configuration.execution.cancelOnShutdown {
            let open = pipeline.read { $0.state.openOrders.map(\.clOrdID) }
            for id in open { engine.handle(.command(.cancel(id))) }
            logger.info("shutdown: cancelling open orders", metadata: ["orders.count": "\(open.count)"])
            try? await Task.sleep(for: .milliseconds(300))
        }
        for i in initiators { i.logout(text: "node shutting down") }
        try? await Task.sleep(for: .milliseconds(200))
        pipeline.stop()
    }

    /// Writes this node's role, position in the journal and lag every 250 ms (read by `tandem status`).
    private func publishStatus() async {
        var conn: PostgresConnection?
        var lastHash: (seq: UInt64, hash: String?) = (UInt64.max, nil)
        while !Task.isCancelled {
            do {
                if conn == nil { conn = try await PostgresConnection.connect(dsn, logger: logger) }
                let term = shared.withLock { $0.term }
                let role = lease.currentRole.description
                let snapshot: Snapshot
                let marks = term?.slippage.marks() ?? [:]
                if let term {
                    snapshot = term.pipeline.read { ledger in
                        metrics.fold(ledger.state, marks: marks)
                        return Snapshot(ledger, lag: JournalFollower.Lag(seqs: 0, milliseconds: 0), last: &lastHash)
                    }
                } else {
                    let lag = follower.lag
                    snapshot = follower.read { ledger in
                        metrics.fold(ledger.state, marks: marks)
                        return Snapshot(ledger, lag: lag, last: &lastHash)
                    }
                }
                metrics.leaseAge.record(term != nil ? (lease.renewalAge?.seconds ?? 0) : 0)
                metrics.leader.record(term != nil ? 1 : 0)
                metrics.epoch.record(Int64(term?.epoch ?? 0))
                metrics.appliedSeq.record(Int64(snapshot.seq))
                metrics.lagEvents.record(Int64(snapshot.lag.seqs))
                metrics.lagSeconds.record(Double(snapshot.lag.milliseconds) / 1000)
                metrics.openOrders.record(snapshot.openOrders)
                metrics.sessionsUp.record(term?.engine.sessionsUp ?? 0)
                try await NodeStatusTable.publish(conn!, node: configuration.nodeID, role: role, epoch: term?.epoch,
                                                  appliedSeq: snapshot.seq, lagSeqs: snapshot.lag.seqs, lagMs: snapshot.lag.milliseconds,
                                                  openOrders: snapshot.openOrders, stateSHA256: snapshot.hash)
            } catch {
                if let c = conn { await c.close() }
                conn = nil
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        if let c = conn { await c.close() }
    }
}

/// Market data into the strategy, on the feed client's event loop (`onDeliver`): the node's own book
/// from the feed, then the top of book of each instrument a delivery touched, with its last trade.
/// Confined to that loop (only `deliver` touches it, only from there), hence `@unchecked Sendable`.
final class MarketBridge: @unchecked Sendable {
    private var book = FeedBook()
    private let runner: StrategyRunner
    private let risk: NodeRisk?

    private let slippage: FillSlippage?

    init(runner: StrategyRunner, risk: NodeRisk? = nil, slippage: FillSlippage? = nil) {
        self.runner = runner
        self.risk = risk
        self.slippage = slippage
    }

    func deliver(_ messages: [(seq: UInt64, message: FeedMessage)]) {
        var touched: [InstrumentID: PriceLevel?] = [:]
        var at = Timestamp(nanosecondsSinceEpoch: 0)
        for (_, m) in messages {
            try? book.apply(m)
            at = m.time
            if m.kind == .trade {
                touched[m.instrument] = PriceLevel(price: m.price, quantity: m.quantity)
            } else if touched[m.instrument] == nil {
                touched[m.instrument] = .some(nil)
            }
        }
        for (instrument, trade) in touched.sorted(by: { $0.key < $1.key }) {
            let top = book.topOfBook(instrument)
            let update = MarketUpdate(
                instrument: instrument, bestBid: top.bid.map { PriceLevel(price: $0.price, quantity: $0.quantity) },
                bestAsk: top.ask.map { PriceLevel(price: $0.price, quantity: $0.quantity) }, lastTrade: trade, at: at)
            risk?.mark(update)
            if let b = update.twoSidedBook { slippage?.mark(instrument, bid: b.bid.price, ask: b.ask.price) }
            runner.onMarket(update)
        }
    }
}

/// When each takeover step finished, from the election (the lease gate opening), for the log line an
/// operator reads to see where the takeover time went. First mark of each step wins.
final class TakeoverSteps: Sendable {
    private let elected: ContinuousClock.Instant
    private let marks = Mutex<[(String, Duration)]>([])

    init(elected: ContinuousClock.Instant) { self.elected = elected }

    func mark(_ step: String) {
        let at = ContinuousClock.now - elected
        marks.withLock { m in if !m.contains(where: { $0.0 == step }) { m.append((step, at)) } }
    }

    func metadata(epoch: UInt64) -> Logger.Metadata {
        var out: Logger.Metadata = ["lease.epoch": "\(epoch)"]
        for (step, at) in marks.withLock({ $0 }) { out["takeover.\(step)_ms"] = "\(at.milliseconds)" }
        return out
    }

    /// Each step marked, from the election.
    var durations: [(String, Duration)] { marks.withLock { $0 } }

    /// From the election to the last step marked, in seconds.
    var seconds: Double {
        let last = marks.withLock { $0.map(\.1).max() } ?? .zero
        return Double(last.components.seconds) + Double(last.components.attoseconds) / 1e18
    }
}

/// What `publishStatus` writes, read under the ledger's lock.
private struct Snapshot {
    var seq: UInt64
    var lag: JournalFollower.Lag
    var openOrders: Int
    var hash: String?

    /// The state's hash is computed only when the seq moved, and only when every applied event is
    /// durable (`eventCount == lastSeq`): otherwise the leader's state is ahead of its seq.
    init(_ ledger: borrowing ExecutionLedger, lag: JournalFollower.Lag, last: inout (seq: UInt64, hash: String?)) {
        seq = ledger.lastSeq
        self.lag = lag
        openOrders = ledger.state.openOrders.count
        if last.seq == seq {
            hash = last.hash
        } else if ledger.state.eventCount == ledger.lastSeq {
            hash = SHA256.hash(ledger.state.snapshotBytes()).hexString
            last = (seq, hash)
        } else {
            hash = nil
        }
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

/// The write-ahead crash fault: once the first NewOrderSingle is durable, the process exits before
/// the FIX shell writes it.
struct CrashingGate: FIXOutboundGate {
    let inner: any FIXOutboundGate
    func persist(_ message: FIXPersistedMessage, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let isOrder = message.msgType == .newOrderSingle
        return inner.persist(message, on: eventLoop).map {
            if isOrder {
                let note = "tandem node: fault injection: exiting after journaling order MsgSeqNum \(message.msgSeqNum), before writing it\n"
                try? FileHandle.standardError.write(contentsOf: Array(note.utf8))
                _exit(86)
            }
        }
    }
    func mayWrite() -> Bool { inner.mayWrite() }
}
