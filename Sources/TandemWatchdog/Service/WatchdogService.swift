import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import TandemCore
import TandemCrypto
import TandemFIX
import TandemJournal
import TandemMarketData
import TandemOps
import TandemPostgres
import TandemVenue

/// `tandem watchdog`: the shell around ``WatchdogMachine``. Each cycle it reads the journal (the engine's
/// view), the lease and the operator command queue from PostgreSQL, takes the venue's view from the drop
/// copy and marks from its own feed, evaluates, and performs the directives: HALT through the lease,
/// BLOCK and CANCEL_ALL through the venue's risk session, offsetting orders through its own session.
///
/// It keeps nothing of its own beyond PostgreSQL and the venue: the mode is in `tandem.watchdog_state`,
/// the venue view is rebuilt from the drop copy (which the venue resends in full at every logon), so a
/// watchdog restarted mid-FLATTEN finishes the job.
public final class WatchdogService: Service, Sendable {
    public let configuration: WatchdogConfiguration
    private let logger: Logger
    private let shared: Mutex<Shared>
    private let metrics = WatchdogMetrics()
    private let startNanos: Int64
    private let alert: @Sendable (DirectAlert) -> Void

    struct Shared: Sendable {
        var venue: VenueView
        var dropCopyLoggedOn = false
        var dropCopyLogonAt: ContinuousClock.Instant?
        var dropCopyGapOpen = false
        var riskLoggedOn = false
        var orderLoggedOn = false
        /// Kill-switch answers by request id (20003 → 20004).
        var killSwitchAnswers: [String: String] = [:]
        var lastMarketData: ContinuousClock.Instant?
        var ready = (false, "starting")
        var status = WatchdogStatus()
    }

    /// `alert` receives the alerts that must not depend on Prometheus (takeover, HALT, FLATTEN, both
    /// nodes down, refused commands); `tandem watchdog` hands them to a ``DirectAlertSender``.
    public init(configuration: WatchdogConfiguration, logger: Logger, alert: @escaping @Sendable (DirectAlert) -> Void = { _ in }) {
        self.configuration = configuration
        self.logger = logger
        self.alert = alert
        let start = FIXClock.now().utc.nanosecondsSinceEpoch
        self.startNanos = start
        self.shared = Mutex(Shared(venue: VenueView(instruments: configuration.instruments)))
    }

    /// For `/readyz`: ready when the drop copy is caught up, the risk session is logged on and the journal was read this cycle.
    public var readiness: (ready: Bool, detail: String) { shared.withLock { $0.ready } }

    /// The latest evaluation, for the status endpoint and tests.
    public var status: WatchdogStatus { shared.withLock { $0.status } }

    public func run() async throws {
        let config = configuration
        let logger = self.logger
        // PostgreSQL down at start is waited out, not a reason to exit: a supervisor restarting a
        // watchdog in a loop helps no one.
        let opened: PostgresConnection? = await cancelWhenGracefulShutdown {
            var attempt = 0
            while !Task.isCancelled {
                do {
                    return try await PostgresConnection.connect(config.dsn, logger: logger)
                } catch {
                    attempt += 1
                    if attempt == 1 || attempt % 10 == 0 {
                        logger.error("cannot connect to PostgreSQL; retrying every second", metadata: [
                            "watchdog.attempt": "\(attempt)", "error": "\(error)"])
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            return nil
        }
        guard let connection = opened else { return }  // shut down before PostgreSQL came
        let store = WatchdogStore(connection: connection, dsn: config.dsn, logger: logger)
        let saved = try await store.loadState()
        let seqs = try await store.sessionSeqs()
        let prefix = "WD-\(startNanos / 1_000_000)-"
        let machine = WatchdogMachine(limits: config.limits, mode: saved.mode, blocked: saved.blocked, instruments: config.instruments,
                                      collarTicks: config.collarTicks, clOrdPrefix: prefix)
        logger.notice("watchdog starting", metadata: [
            "watchdog.id": "\(config.id)", "watchdog.mode": "\(saved.mode.rawValue)", "watchdog.blocked": "\(saved.blocked)",
            "watchdog.reason": "\(saved.reason ?? "-")",
        ])

        let group = MultiThreadedEventLoopGroup.singleton
        let gate = SessionSeqGate(dsn: config.dsn, logger: logger)
        func initiator(_ compID: String) -> FIXInitiator<InMemoryFIXStore> {
            let session = FIXSessionConfig(role: .initiator, senderCompID: compID, targetCompID: config.venue.targetCompID,
                                           heartBtInt: config.venue.heartBtInt)
            let next = seqs["\(compID)->\(config.venue.targetCompID)"] ?? 1
            return FIXInitiator(configuration: .init(host: config.venue.host, port: config.venue.port, session: session,
                                                     reconnectBase: .milliseconds(100), reconnectCap: .seconds(1), gate: gate),
                                store: InMemoryFIXStore(nextSenderSeq: next, nextTargetSeq: 1), group: group, logger: logger)
        }
        let dropCopy = initiator(config.venue.dropCopyCompID)
        let risk = initiator(config.venue.riskCompID)
        let orders = initiator(config.venue.orderCompID)
        let feed = config.venue.feedRecoveryPort.map { port in
            FeedClient(configuration: .init(host: config.venue.feedHost, recoveryPort: port, onDeliver: { _ in
                self.shared.withLock { $0.lastMarketData = .now }
            }), group: group, logger: logger)
        }

        // What a restarted watchdog must re-assert: the venue forgets nothing, but our queue of kill-switch
        // requests was in memory.
        var killSwitch = KillSwitchQueue(prefix: prefix)
        if saved.mode != .normal { killSwitch.enqueue(.cancelAll, config.venue.engineSessions) }
        if saved.blocked { killSwitch.enqueue(.block, config.venue.engineSessions) }
        let machineStart = machine
        let killSwitchStart = killSwitch

        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await dropCopy.run() }
                tasks.addTask { try await risk.run() }
                tasks.addTask { try await orders.run() }
                if let feed { tasks.addTask { try await feed.run() } }
                tasks.addTask { await self.consumeDropCopy(dropCopy) }
                tasks.addTask { await self.consumeRisk(risk) }
                tasks.addTask { await self.consumeOrders(orders) }
                tasks.addTask {
                    try await self.cycle(machine: machineStart, killSwitch: killSwitchStart, store: store, feed: feed, risk: risk, orders: orders)
                }
                try await tasks.next()
                tasks.cancelAll()
            }
        }
        await connection.close()
        logger.notice("watchdog stopped", metadata: ["watchdog.id": "\(config.id)"])
    }

    // MARK: FIX event consumers

    private func consumeDropCopy(_ initiator: FIXInitiator<InMemoryFIXStore>) async {
        for await event in initiator.events {
            switch event.kind {
            case .message(let inbound):
                guard case .executionReport(let r) = inbound.typed else { continue }
                let nanos = Int64(ContinuousClock.now.nanosecondsSinceReference)
                do {
                    let resent = inbound.message.possDupFlag
                    try shared.withLock { s throws(ArithmeticError) in try s.venue.apply(r, nanos: nanos, resent: resent) }
                } catch {
                    logger.error("drop copy: a report could not be applied", metadata: ["fix.execID": "\(r.execID)", "error": "\(error)"])
                }
            case .session(.loggedOn):
                shared.withLock { $0.dropCopyLoggedOn = true; $0.dropCopyLogonAt = .now; $0.dropCopyGapOpen = false }
                logger.info("drop copy logged on")
            case .session(.gapDetected):
                shared.withLock { $0.dropCopyGapOpen = true }
            case .session(.gapFilled), .session(.sequenceReset):
                shared.withLock { $0.dropCopyGapOpen = false }
            case .disconnected:
                shared.withLock { $0.dropCopyLoggedOn = false }
            default: break
            }
        }
    }

    private func consumeRisk(_ initiator: FIXInitiator<InMemoryFIXStore>) async {
        for await event in initiator.events {
            switch event.kind {
            case .message(let inbound):
                guard case .unknown(let m) = inbound.typed, m.msgType.wireValue == KillSwitch.response.wireValue,
                      let id = m.string(20003) else { continue }
                let result = m.string(20004) ?? "?"
                shared.withLock { $0.killSwitchAnswers[id] = result }
            case .session(.loggedOn): shared.withLock { $0.riskLoggedOn = true }
            case .disconnected: shared.withLock { $0.riskLoggedOn = false }
            default: break
            }
        }
    }

    private func consumeOrders(_ initiator: FIXInitiator<InMemoryFIXStore>) async {
        for await event in initiator.events {
            switch event.kind {
            case .message(let inbound):
                if case .executionReport(let r) = inbound.typed, r.execType == .rejected, !inbound.message.possDupFlag {
                    logger.warning("watchdog order rejected by the venue", metadata: [
                        "order.clOrdID": "\(r.clOrdID?.rawValue ?? "?")", "order.reason": "\(r.text ?? "-")"])
                }
            case .session(.loggedOn): shared.withLock { $0.orderLoggedOn = true }
            case .disconnected: shared.withLock { $0.orderLoggedOn = false }
            default: break
            }
        }
    }

    // MARK: The cycle

    private func cycle(machine start: WatchdogMachine, killSwitch start2: KillSwitchQueue, store: WatchdogStore, feed: FeedClient?,
                       risk: FIXInitiator<InMemoryFIXStore>, orders: FIXInitiator<InMemoryFIXStore>) async throws {
        let config = configuration
        var machine = start
        var killSwitch = start2
        var journal = TradingState()
        var journalSeq: UInt64 = 0
        var lastEventNanos: Int64?
        if let start = await store.foldFromNewestSnapshot() { (journal, journalSeq, lastEventNanos) = start }
        var lastView = ContinuousClock.now - .seconds(10)
        var lastLeader: (holder: String, epoch: UInt64)?
        var bothDownRaised = false
        let holder = "watchdog:\(config.id)"
        let instrumentIDs = config.instruments.map(\.id)
        metrics.mode(machine.mode, blocked: machine.blocked)

        while !Task.isCancelled {
            let began = ContinuousClock.now
            do {
                // The engine's view: the journal, folded.
                while true {
                    let batch = try await store.events(after: journalSeq)
                    for (seq, nanos, event) in batch {
                        lastEventNanos = nanos
                        do { try journal.apply(event) } catch {
                            logger.error("journal: the fold refused an event", metadata: ["journal.seq": "\(seq)", "error": "\(error)"])
                        }
                        journalSeq = seq
                    }
                    if batch.count < 5_000 { break }
                }
                // Operator commands.
                for pending in try await store.pendingCommands() {
                    guard let command = pending.command else {
                        try await store.answer(pending.id, done: false, result: "refused: \(pending.malformed ?? "malformed")")
                        metrics.refusedCommand()
                        continue
                    }
                    let now = FIXClock.now().utc.nanosecondsSinceEpoch
                    let used = try await store.nonceUsed(command.nonce)
                    if let refusal = command.verify(key: config.key, nowNanos: now, window: config.commandWindow, nonceUsed: used) {
                        logger.critical("refused an operator command", metadata: [
                            "command.id": "\(pending.id)", "command.action": "\(command.action.rawValue)", "command.issuedBy": "\(command.issuedBy)",
                            "command.refusal": "\(refusal)"])
                        metrics.refusedCommand()
                        alert(DirectAlert(name: "TandemRiskCommandRefused", severity: "warning", labels: ["action": command.action.rawValue],
                                          summary: "the watchdog refused a \(command.action.rawValue.uppercased()) command",
                                          description: "issued by \(command.issuedBy): \(refusal)"))
                        try await store.answer(pending.id, done: false, result: "refused: \(refusal)")
                        continue
                    }
                    logger.notice("operator command accepted", metadata: [
                        "command.id": "\(pending.id)", "command.action": "\(command.action.rawValue)", "command.issuedBy": "\(command.issuedBy)",
                        "command.reason": "\(command.reason)"])
                    // Carried out before it is answered: a command answered "done" is done (the mode is persisted).
                    let out = machine.command(command.action, reason: "\(command.reason) (by \(command.issuedBy))")
                    let lease = try await store.lease()
                    for d in out {
                        try await perform(d, machine: machine, store: store, killSwitch: &killSwitch, orders: orders, holder: holder, lease: lease)
                    }
                    try await store.answer(pending.id, done: true, result: Self.describe(command.action, out))
                }

                // Evaluate the combined view.
                let lease = try await store.lease()
                try await watchLeadership(lease, store: store, holder: holder, last: &lastLeader, down: &bothDownRaised)
                let marks = (try? await feed?.marks(instrumentIDs)) ?? [:]
                let journalNet = journal.positions.compactMapValues { $0.netQuantity.isZero ? nil : $0.netQuantity }
                let leaderAlive = lease.holder != nil && !lease.halted && (lease.millisecondsToExpiry ?? -1) > 0
                    && lease.millisecondsSinceUpdate < config.limits.staleLeaderMillis
                // Evaluated under the lock, on the view in place: a copy taken out of it would be shared
                // with the drop-copy consumer, whose next report would then copy the whole view (its
                // ExecID set grows all day) — every cycle.
                let (directives, status, synced, ownUp) = shared.withLock { s in
                    let settled = s.dropCopyLogonAt.map { ContinuousClock.now - $0 > .milliseconds(200) } ?? false
                    let synced = s.dropCopyLoggedOn && settled && !s.dropCopyGapOpen
                    let observation = WatchdogObservation(
                        nanos: Int64(ContinuousClock.now.nanosecondsSinceReference), venue: s.venue, venueSynced: synced,
                        journalNet: journalNet, marks: marks, marketDataAgeMillis: s.lastMarketData.map { (ContinuousClock.now - $0).milliseconds },
                        leaseHalted: lease.halted, leaderAlive: leaderAlive,
                        leaderHeartbeatAgeMillis: lease.halted ? nil : lease.millisecondsSinceUpdate)
                    let directives = machine.evaluate(observation)
                    let status = WatchdogStatus(machine: machine, venue: s.venue, synced: synced, journalSeq: journalSeq, journalNet: journalNet,
                                                lease: lease, marks: marks)
                    return (directives, status, synced, s.orderLoggedOn && s.riskLoggedOn)
                }
                for d in directives {
                    try await perform(d, machine: machine, store: store, killSwitch: &killSwitch, orders: orders, holder: holder, lease: lease)
                }
                try await killSwitch.pump(risk: risk, answers: { id in self.shared.withLock { $0.killSwitchAnswers.removeValue(forKey: id) } },
                                          logger: logger)

                metrics.update(machine: machine, status: status, synced: synced,
                               journalAgeSeconds: lastEventNanos.map { Double(FIXClock.now().utc.nanosecondsSinceEpoch - $0) / 1e9 })
                shared.withLock {
                    $0.status = status
                    $0.ready = synced && ownUp ? (true, "drop copy caught up, risk and order sessions logged on, journal at seq \(journalSeq)")
                        : (false, synced ? "risk or order session not logged on" : "drop copy not logged on or not caught up")
                }
                if ContinuousClock.now - lastView > .milliseconds(500) {
                    try await store.saveView(status.json)
                    lastView = .now
                }
            } catch let error as WatchdogError {
                logger.error("watchdog cycle failed; retrying", metadata: ["error": "\(error)"])
                shared.withLock { $0.ready = (false, "cycle failed: \(error)") }
            }
            let next = began + config.cycle
            try await Task.sleep(until: next, clock: .continuous)
        }
    }

    private func perform(_ d: WatchdogDirective, machine: WatchdogMachine, store: WatchdogStore, killSwitch: inout KillSwitchQueue,
                         orders: FIXInitiator<InMemoryFIXStore>, holder: String, lease: WatchdogStore.LeaseView) async throws {
        let config = configuration
        switch d {
        case .halt(let rule, let reason):
            let epoch = try await store.halt(by: holder, reason: "\(rule): \(reason)")
            logger.critical("HALT: the lease is halted; the leader is fenced", metadata: [
                "watchdog.rule": "\(rule)", "watchdog.reason": "\(reason)", "lease.epoch": "\(epoch)"])
            let seq = try await store.journal(riskEvent(.halt, "\(holder) \(rule): \(reason)"), epoch: epoch)
            logger.notice("HALT journaled", metadata: ["journal.seq": "\(seq)", "lease.epoch": "\(epoch)"])
            alert(DirectAlert(name: "TandemWatchdogHalt", labels: ["rule": rule], summary: "the watchdog HALTED trading (\(rule))",
                              description: "\(reason). The lease is halted at epoch \(epoch); no node may lead until an operator resumes."))
        case .resume(let reason):
            if lease.halted {
                let seq = try await store.journal(riskEvent(.resume, "\(holder): \(reason)"), epoch: lease.epoch)
                _ = try await store.resume(by: holder)
                logger.notice("RESUME: the lease is free; a node may lead again", metadata: [
                    "watchdog.reason": "\(reason)", "journal.seq": "\(seq)", "lease.epoch": "\(lease.epoch)"])
            }
        case .cancelEngineOrders:
            killSwitch.enqueue(.cancelAll, config.venue.engineSessions)
        case .block(let on):
            killSwitch.enqueue(on ? .block : .unblock, config.venue.engineSessions)
            try await store.saveState(machine.mode, blocked: on, reason: on ? "blocked" : "unblocked", by: holder)
        case .send(let order):
            guard let symbol = config.instruments.first(where: { $0.id == order.instrument })?.symbol else { return }
            let nos = NewOrderSingle(clOrdID: ClOrdID(order.clOrdID), account: order.account, symbol: symbol, side: order.side,
                                     transactTime: FIXClock.now().utc,
                                     orderQty: order.quantity, orderType: order.limit.map { .limit($0) } ?? .market,
                                     timeInForce: .immediateOrCancel)
            do {
                try await orders.send(nos)
                logger.warning("FLATTEN: offsetting order sent", metadata: [
                    "order.clOrdID": "\(order.clOrdID)", "order.account": "\(order.account)", "order.instrument": "\(order.instrument)",
                    "order.side": "\(order.side)", "order.quantity": "\(order.quantity)", "order.limit": "\(order.limit.map { "\($0)" } ?? "market")"])
            } catch {
                logger.error("FLATTEN: could not send an offsetting order; retried next round", metadata: [
                    "order.clOrdID": "\(order.clOrdID)", "error": "\(error)"])
            }
        case .setMode(let mode, let reason):
            try await store.saveState(mode, blocked: machine.blocked, reason: reason, by: holder)
            logger.notice("watchdog mode", metadata: ["watchdog.mode": "\(mode.rawValue)", "watchdog.reason": "\(reason)"])
            if mode == .flattening {
                alert(DirectAlert(name: "TandemWatchdogFlatten", summary: "the watchdog is FLATTENING every position",
                                  description: "\(reason). Engine sessions blocked; offsetting orders go out through the watchdog's session."))
            }
        case .alert(let rule, let severity, let message):
            metrics.breach(rule)
            let level: Logger.Level = switch severity { case .critical: .critical; case .warning: .warning; case .info: .notice }
            logger.log(level: level, "watchdog alert", metadata: ["watchdog.rule": "\(rule)", "alert.severity": "\(severity.rawValue)",
                                                                 "alert.message": "\(message)"])
        }
    }

    /// Raises TandemTakeover when a node takes the lease from another, and TandemBothNodesDown when
    /// no node has written its status for `staleLeaderMillis` and none holds a live lease.
    private func watchLeadership(_ lease: WatchdogStore.LeaseView, store: WatchdogStore, holder: String,
                                 last: inout (holder: String, epoch: UInt64)?, down: inout Bool) async throws {
        if let h = lease.holder, h != holder, !lease.halted {
            if let previous = last, previous.holder != h, lease.epoch > previous.epoch {
                logger.warning("takeover seen", metadata: ["lease.from": "\(previous.holder)", "lease.to": "\(h)", "lease.epoch": "\(lease.epoch)"])
                alert(DirectAlert(name: "TandemTakeover", labels: ["from": previous.holder, "to": h],
                                  summary: "\(h) took over from \(previous.holder)",
                                  description: "The lease moved from \(previous.holder) (epoch \(previous.epoch)) to \(h) (epoch \(lease.epoch))."))
            }
            last = (h, lease.epoch)
        }
        let stale = configuration.limits.staleLeaderMillis
        let live = lease.holder != nil && !lease.halted && (lease.millisecondsToExpiry ?? -1) > 0
        let nodes = try await store.nodeAges()
        let allSilent = !nodes.isEmpty && nodes.allSatisfy { $0.ageMillis > stale }
        if allSilent && !live && !lease.halted {
            if !down {
                down = true
                let names = nodes.map(\.id).joined(separator: ", ")
                logger.critical("both engine nodes are down", metadata: ["nodes": "\(names)"])
                alert(DirectAlert(name: "TandemBothNodesDown", labels: ["nodes": names], summary: "no engine node is alive (\(names))",
                                  description: "No node has written its status for \(stale) ms and no one holds a live lease. Positions at the venue are unattended."))
            }
        } else {
            down = false
        }
    }

    /// A journal record of the watchdog's own HALT or RESUME, signed with the shared key so an auditor
    /// can tell it from a forgery.
    private func riskEvent(_ action: RiskAction, _ issuedBy: String) -> JournalEvent {
        let at = FIXClock.now().utc
        let signature = HMACSHA256.authenticationCode(key: configuration.key, message: Array("\(action)|\(issuedBy)|\(at.nanosecondsSinceEpoch)".utf8))
        return .riskCommand(RiskCommand(action: action, scope: .global, issuedBy: issuedBy, signature: signature, at: at))
    }

    private static func describe(_ action: SignedCommand.Action, _ out: [WatchdogDirective]) -> String {
        if out.isEmpty { return "accepted: nothing to do (already in that state)" }
        return "accepted: " + out.map { d -> String in
            switch d {
            case .halt: "lease halted"
            case .resume: "lease resumed"
            case .cancelEngineOrders: "engine orders cancelled"
            case .block(let on): on ? "engine sessions blocked" : "engine sessions unblocked"
            case .send: "offsetting order sent"
            case .setMode(let m, _): "mode \(m.rawValue)"
            case .alert(let rule, _, _): "alert \(rule)"
            }
        }.joined(separator: ", ")
    }
}

/// Kill-switch requests to the venue's risk session, retried every cycle until the venue answers OK
/// (the risk session may be down when the decision is made).
struct KillSwitchQueue: Sendable {
    private struct Request: Sendable {
        var action: KillSwitch.Action
        var target: String
        var id: String?
        var sentAt: ContinuousClock.Instant?
    }
    private var queue: [Request] = []
    private var count = 0
    private let prefix: String

    init(prefix: String) { self.prefix = prefix }

    mutating func enqueue(_ action: KillSwitch.Action, _ targets: [String]) {
        for t in targets {
            // A later BLOCK/UNBLOCK for the same target replaces an unsent earlier one.
            if action == .block || action == .unblock {
                queue.removeAll { ($0.action == .block || $0.action == .unblock) && $0.target == t && $0.id == nil }
            }
            queue.append(Request(action: action, target: t))
        }
    }

    var isEmpty: Bool { queue.isEmpty }

    mutating func pump(risk: FIXInitiator<InMemoryFIXStore>, answers: (String) -> String?, logger: Logger) async throws {
        var i = 0
        while i < queue.count {
            if let id = queue[i].id {
                if let answer = answers(id) {
                    if answer == "OK" {
                        logger.notice("venue kill switch done", metadata: ["venue.action": "\(queue[i].action.rawValue)",
                                                                           "venue.session": "\(queue[i].target)"])
                        queue.remove(at: i)
                        continue
                    }
                    logger.error("venue kill switch refused; retrying", metadata: [
                        "venue.action": "\(queue[i].action.rawValue)", "venue.session": "\(queue[i].target)", "venue.answer": "\(answer)"])
                    queue[i].id = nil
                } else if let sent = queue[i].sentAt, ContinuousClock.now - sent > .seconds(2) {
                    queue[i].id = nil  // no answer: ask again
                } else {
                    i += 1
                    continue
                }
            }
            count += 1
            let id = "\(prefix)K\(count)"
            do {
                try await risk.send(KillSwitch.message(target: queue[i].target, action: queue[i].action, requestID: id))
                queue[i].id = id
                queue[i].sentAt = .now
            } catch {
                break  // the risk session is down; next cycle
            }
            i += 1
        }
    }
}

extension ContinuousClock.Instant {
    /// Nanoseconds since an arbitrary fixed origin (for differences only).
    var nanosecondsSinceReference: Int64 {
        let d = self - ContinuousClock.Instant.reference
        return d.components.seconds &* 1_000_000_000 &+ d.components.attoseconds / 1_000_000_000
    }
    static let reference = ContinuousClock.now
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
