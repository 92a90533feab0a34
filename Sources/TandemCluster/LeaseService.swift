import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TandemJournal
import TandemPostgres

/// The shell around `LeaseMachine`: a swift-service-lifecycle `Service` that runs the machine on
/// `ContinuousClock` ticks with a database session of its own, and publishes the result through `gate`
/// (checked by the execution layer before every send) and `roleChanges`.
///
/// `run()` is one task group: a timer child per scheduled tick, one child per database request, and one
/// waiting for graceful shutdown or cancellation. Requests run concurrently with the timer, so a hung
/// database call cannot delay the self-fence. Graceful shutdown and cancellation both stop the machine,
/// release the lease if this node leads, and return once the release has finished.
public final class LeaseService: Service, Sendable {
    public struct Configuration: Sendable {
        public var lease: LeaseMachine.Configuration
        /// After being fenced, go back to standby at once (the node restarts its execution under the new
        /// epoch if re-elected). When false, the node stays fenced until `requestRejoin()`.
        public var rejoinAfterFencing: Bool
        /// libpq's connect timeout for the lease session (libpq treats values below 2 as 2).
        public var connectTimeoutSeconds: Int
        /// Reconnect backoff: starts at `initialReconnectBackoff`, doubles per failed attempt up to
        /// `maxReconnectBackoff` (default: the heartbeat, so a leader retries within its deadline).
        public var initialReconnectBackoff: Duration
        public var maxReconnectBackoff: Duration
        /// Watch the leader's crash lock and take over as soon as its session ends (DESIGN failover
        /// step 3), instead of waiting for the lease to expire.
        public var crashDetection: Bool
        /// Called with each successful acquire's or renew's round trip (request sent → answer handled),
        /// on the service's task; it must not block (a metrics observation).
        public var onRenewed: (@Sendable (Duration) -> Void)?

        public init(
            lease: LeaseMachine.Configuration, rejoinAfterFencing: Bool = true, connectTimeoutSeconds: Int = 2,
            initialReconnectBackoff: Duration = .milliseconds(50), maxReconnectBackoff: Duration? = nil,
            crashDetection: Bool = false, onRenewed: (@Sendable (Duration) -> Void)? = nil
        ) {
            self.crashDetection = crashDetection
            self.onRenewed = onRenewed
            self.lease = lease
            self.rejoinAfterFencing = rejoinAfterFencing
            self.connectTimeoutSeconds = connectTimeoutSeconds
            self.initialReconnectBackoff = initialReconnectBackoff
            self.maxReconnectBackoff = maxReconnectBackoff ?? lease.heartbeat
        }
    }

    private struct Shared {
        var role: LeaseRole = .starting
        var started = false
        var rejoinRequested = false
        var suspendedUntil: ContinuousClock.Instant?
        /// When the last successful acquire or renew was sent (on the gate's clock).
        var lastRenewalSentAt: Duration?
    }

    private enum Event: Sendable {
        case crashWatch(LeaseMachine.Input?)
        case tick
        case acquireDue
        case timerCancelled
        case outcome(LeaseStore.Outcome)
        case shutdown
    }

    public let configuration: Configuration
    /// Open while this node leads and is within its self-fence deadline.
    public let gate: LeadershipGate
    /// Every role change, in order. Finishes when `run()` returns. One consumer.
    public let roleChanges: AsyncStream<RoleChange>
    private let roleChangesContinuation: AsyncStream<RoleChange>.Continuation
    private let dsn: String
    private let logger: Logger
    private let shared = Mutex(Shared())

    /// - Parameters:
    ///   - dsn: the lease session's PostgreSQL DSN (multi-host forms allowed).
    ///   - logger: used as given plus `cluster.node` metadata; never bootstrapped here.
    public init(dsn: String, configuration: Configuration, logger: Logger) {
        self.dsn = dsn
        self.configuration = configuration
        self.gate = LeadershipGate()
        var logger = logger
        logger[metadataKey: "cluster.node"] = "\(configuration.lease.nodeID)"
        self.logger = logger
        (roleChanges, roleChangesContinuation) = AsyncStream.makeStream(of: RoleChange.self)
    }

    public var currentRole: LeaseRole {
        shared.withLock { $0.role }
    }

    /// Time since the request of this node's last successful acquire or renew was sent (what its lease
    /// runs from); nil before the first.
    public var renewalAge: Duration? {
        shared.withLock { $0.lastRenewalSentAt }.map { gate.now() - $0 }
    }

    /// Leave `fenced` for `standby` on the next event (only needed when `rejoinAfterFencing` is false).
    /// Ignored unless the node is fenced now, so an early call cannot pre-approve a later fence.
    public func requestRejoin() {
        shared.withLock { shared in
            if shared.role == .fenced { shared.rejoinRequested = true }
        }
    }

    /// For tests: the loop handles nothing for `duration` (like SIGSTOP): no ticks, no replies, no new
    /// requests, no role changes. A request already sent completes and waits to be handled. The gate keeps
    /// closing on its own deadline.
    public func suspendForTesting(_ duration: Duration) {
        shared.withLock { $0.suspendedUntil = ContinuousClock.now + duration }
    }

    /// Runs until graceful shutdown or cancellation, then releases the lease if held. Throws only for a
    /// second call or an unusable DSN; database failures are retried, never thrown.
    public func run() async throws {
        let first = shared.withLock { shared in
            defer { shared.started = true }
            return !shared.started
        }
        guard first else { throw ClusterError(.misuse, "LeaseService.run() was called more than once") }
        defer { roleChangesContinuation.finish() }
        do {
            try PGConnection.validate(dsn: dsn)
        } catch {
            throw ClusterError(.configuration, "the lease DSN is not valid: \(error.message)", cause: error)
        }
        let lease = configuration.lease
        let store = LeaseStore(
            dsn: dsn, holder: lease.nodeID, leaseDuration: lease.leaseDuration,
            connectTimeoutSeconds: configuration.connectTimeoutSeconds, origin: gate.origin,
            initialBackoff: configuration.initialReconnectBackoff, maxBackoff: configuration.maxReconnectBackoff,
            logger: logger)
        var machine = LeaseMachine(configuration: lease)
        logger.info("lease service starting", metadata: [
            "lease.heartbeat": "\(lease.heartbeat)", "lease.duration": "\(lease.leaseDuration)",
            "lease.safety_margin": "\(lease.safetyMargin)",
        ])

        await withTaskGroup(of: Event.self) { group in
            group.addTask {
                do { try await gracefulShutdown() } catch {}
                return .shutdown
            }
            var inFlight = 0
            var failing = false
            if configuration.crashDetection {
                group.addTask { .crashWatch(await self.watchForCrash()) }
            }
            let started = machine.handle(.start(now: gate.now()))
            inFlight += perform(started, leadership: machine.leadership, group: &group, store: store)

            while let event = await group.next() {
                await waitWhileSuspended()
                let now = gate.now()
                let input: LeaseMachine.Input?
                switch event {
                case .shutdown:
                    input = .stop(now: now)
                case .tick:
                    input = .tick(now: now)
                case .acquireDue:
                    input = .acquireDue(now: now)
                case .timerCancelled:
                    input = nil
                case .crashWatch(let reported):
                    input = reported
                    if machine.role != .stopping {
                        group.addTask { .crashWatch(await self.watchForCrash()) }
                    }
                case .outcome(let outcome):
                    inFlight -= 1
                    input = translate(outcome, now: now, failing: &failing)
                }
                if let input {
                    let actions = machine.handle(input)
                    inFlight += perform(actions, leadership: machine.leadership, group: &group, store: store)
                }
                if machine.role == .fenced, consumeRejoin() {
                    let actions = machine.handle(.rejoin(now: gate.now()))
                    inFlight += perform(actions, leadership: machine.leadership, group: &group, store: store)
                }
                if machine.role == .stopping, inFlight == 0 { break }
            }
            group.cancelAll()
        }
        await store.close()
        logger.info("lease service stopped")
    }

    private func consumeRejoin() -> Bool {
        if configuration.rejoinAfterFencing { return true }
        return shared.withLock { shared in
            defer { shared.rejoinRequested = false }
            return shared.rejoinRequested
        }
    }

    private func waitWhileSuspended() async {
        while let until = shared.withLock({ $0.suspendedUntil }), ContinuousClock.now < until {
            logger.warning("suspended for testing", metadata: ["lease.suspended_for": "\(until - ContinuousClock.now)"])
            do {
                try await ContinuousClock().sleep(until: until)
            } catch {
                return
            }
        }
    }

    /// Updates the gate first (so it closes before anyone hears of a lost leadership, and is open before
    /// anyone hears of a won one), then carries out the actions. Returns the number of requests started.
    private func perform(
        _ actions: [LeaseMachine.Action], leadership: LeaseMachine.Leadership?, group: inout TaskGroup<Event>,
        store: LeaseStore
    ) -> Int {
        gate.update(leadership)
        var started = 0
        for action in actions {
            switch action {
            case .tryAcquire:
                started += 1
                group.addTask { .outcome(await store.perform(.tryAcquire)) }
            case .takeOver(let from):
                started += 1
                logger.warning("the leader's database session ended; taking the lease over", metadata: ["lease.dead_epoch": "\(from)"])
                group.addTask { .outcome(await store.perform(.takeOver(fromEpoch: from))) }
            case .renew(let epoch):
                started += 1
                group.addTask { .outcome(await store.perform(.renew(epoch: epoch))) }
            case .release(let epoch):
                started += 1
                logger.info("releasing the lease", metadata: ["lease.epoch": "\(epoch)"])
                group.addTask { .outcome(await store.perform(.release(epoch: epoch))) }
            case .scheduleTick(let at):
                let deadline = gate.origin + at
                group.addTask {
                    do {
                        try await ContinuousClock().sleep(until: deadline)
                        return .tick
                    } catch {
                        return .timerCancelled
                    }
                }
            case .scheduleAcquire(let at):
                let deadline = gate.origin + at
                group.addTask {
                    do {
                        try await ContinuousClock().sleep(until: deadline)
                        return .acquireDue
                    } catch {
                        return .timerCancelled
                    }
                }
            case .roleChanged(let change):
                shared.withLock { $0.role = change.to }
                var metadata: Logger.Metadata = [
                    "lease.role": "\(change.to)", "lease.previous_role": "\(change.from)", "lease.reason": "\(change.reason)",
                ]
                if let epoch = change.epoch { metadata["lease.epoch"] = "\(epoch)" }
                if change.to == .fenced {
                    logger.warning("role changed", metadata: metadata)
                } else {
                    logger.info("role changed", metadata: metadata)
                }
                roleChangesContinuation.yield(change)
            }
        }
        return started
    }

    private func translate(_ outcome: LeaseStore.Outcome, now: Duration, failing: inout Bool) -> LeaseMachine.Input {
        switch outcome {
        case .failed(let request, let error):
            if case .release(let epoch) = request {
                logger.warning("releasing the lease failed", metadata: [
                    "lease.epoch": "\(epoch)", "lease.error": "\(error)",
                ])
                return .releaseFinished(now: now)
            }
            if !failing {
                logger.warning("lease database request failed; retrying every heartbeat", metadata: ["lease.error": "\(error)"])
                failing = true
            } else {
                logger.debug("lease database request failed", metadata: ["lease.error": "\(error)"])
            }
            return .databaseFailed(error.description, now: now)
        case .acquired(let epoch, let sentAt):
            recovered(&failing)
            renewed(sentAt: sentAt, now: now)
            return .acquireSucceeded(epoch: epoch, requestSentAt: sentAt, now: now)
        case .refused(let state):
            recovered(&failing)
            return .acquireRefused(state, now: now)
        case .renewed(let epoch, let sentAt):
            recovered(&failing)
            renewed(sentAt: sentAt, now: now)
            return .renewSucceeded(epoch: epoch, requestSentAt: sentAt, now: now)
        case .lost(let state):
            recovered(&failing)
            return .renewLost(state, now: now)
        case .released(let epoch, let releasedAnything):
            logger.info(releasedAnything ? "lease released" : "lease was no longer ours to release", metadata: [
                "lease.epoch": "\(epoch)",
            ])
            return .releaseFinished(now: now)
        }
    }

    private func renewed(sentAt: Duration, now: Duration) {
        shared.withLock { $0.lastRenewalSentAt = sentAt }
        configuration.onRenewed?(now - sentAt)
    }

    private func recovered(_ failing: inout Bool) {
        if failing {
            logger.info("lease database requests succeed again")
            failing = false
        }
    }

    /// The standby's crash watch, on a session of its own: poll (every 5 ms) the crash lock of the
    /// epoch another node leads; when it comes free and none of that node's sessions is left (its
    /// process is gone), report `leaderSessionEnded`. Returns nil (to be started again) when there is
    /// nothing to watch, on errors, when this node is not a standby, or when the leader turned out
    /// alive — then only after its epoch moved.
    private func watchForCrash() async -> LeaseMachine.Input? {
        let heartbeat = configuration.lease.heartbeat
        guard shared.withLock({ $0.role }) == .standby,
              let conn = try? await PostgresConnection.connect(dsn, connectTimeoutSeconds: configuration.connectTimeoutSeconds, logger: logger)
        else {
            try? await Task.sleep(for: heartbeat)
            return nil
        }
        let result = await watch(conn)
        await conn.close()
        return result
    }

    private func watch(_ conn: PostgresConnection) async -> LeaseMachine.Input? {
        let heartbeat = configuration.lease.heartbeat
        let me = configuration.lease.nodeID
        guard let lease = try? await conn.withConnection({ c in try Lease.read(c) }), let holder = lease.holder, holder != me,
              !lease.halted, (lease.millisecondsToExpiry ?? -1) > 0 else {
            try? await Task.sleep(for: heartbeat)
            return nil
        }
        let watched = lease.epoch
        var polls = 0
        while true {
            if Task.isCancelled || shared.withLock({ $0.role }) != .standby { return nil }
            guard let free = try? await conn.withConnection({ c in try Lease.crashLockIsFree(c, epoch: watched) }) else { return nil }
            if free { break }
            polls += 1
            if polls % 40 == 0 {
                // Every 200 ms: still the same epoch? (a takeover or a release moves on without us)
                guard let now = try? await conn.withConnection({ c in try Lease.read(c) }), now.epoch == watched else { return nil }
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        // The lock is free. A dead leader's process took all its sessions with it; a live one whose
        // lease session alone was reset still has the others (nodes tag their sessions with
        // `application_name = tandem-node:<id>`, see `LeaseService.tagged(dsn:nodeID:)`). A killed
        // process's backends notice their closed sockets within milliseconds, unless busy in a query:
        // look a few times over 100 ms.
        let name = Self.applicationName(nodeID: holder)
        for wait in [20, 30, 50] {
            try? await Task.sleep(for: .milliseconds(wait))
            guard let others = try? await conn.withConnection({ c in
                try c.query("SELECT count(*)::bigint FROM pg_stat_activity WHERE application_name = $1", [name])[0].decode(Int64.self, at: 0)
            }) else { return nil }
            if others == 0 {
                logger.warning("the leader's database sessions are all gone: taking over", metadata: [
                    "lease.dead_epoch": "\(watched)", "lease.holder": "\(holder)",
                ])
                return .leaderSessionEnded(epoch: watched, now: gate.now())
            }
        }
        // Some of its sessions live: the process is alive (a reset lease session, or a pause). Pauses
        // and partitions wait for the lease (DESIGN step 3).
        logger.info("the leader's crash lock came free but its process still has sessions; waiting for its lease",
                    metadata: ["lease.epoch": "\(watched)", "lease.holder": "\(holder)"])
        await waitForEpochToMove(from: watched, conn: conn)
        return nil
    }

    private func waitForEpochToMove(from epoch: UInt64, conn: PostgresConnection) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.lease.heartbeat)
            guard let lease = try? await conn.withConnection({ c in try Lease.read(c) }) else { return }
            if lease.epoch != epoch { return }
        }
    }

    /// The `application_name` a node's sessions carry, so a standby can tell whether any of them lives.
    public static func applicationName(nodeID: String) -> String { "tandem-node:\(nodeID)" }

    /// `dsn` with this node's `application_name` added (key=value or URI form).
    public static func tagged(dsn: String, nodeID: String) -> String {
        let name = applicationName(nodeID: nodeID)
        if dsn.hasPrefix("postgres://") || dsn.hasPrefix("postgresql://") {
            let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
            let encoded = name.addingPercentEncoding(withAllowedCharacters: unreserved) ?? name
            return dsn + (dsn.contains("?") ? "&" : "?") + "application_name=" + encoded
        }
        return dsn + " application_name='" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}
