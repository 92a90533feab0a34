import TandemJournal

/// A node's role in the cluster.
public enum LeaseRole: String, Sendable, Hashable, CustomStringConvertible {
    /// Not started yet.
    case starting
    /// Not leading; trying to take the lease every heartbeat (it succeeds only once the lease is free).
    case standby
    /// Holds the lease and may act until its self-fence deadline.
    case leader
    /// Was leader and stopped being one (lost the lease, or self-fenced). Left only by `rejoin`.
    case fenced
    /// Shutting down; the lease, if held, is being released. Final.
    case stopping

    public var description: String { rawValue }
}

/// One role transition, as reported to the shell (which logs it and publishes it; on becoming leader
/// the node journals `LeaderElected` itself).
public struct RoleChange: Sendable, Hashable, CustomStringConvertible {
    public var from: LeaseRole
    public var to: LeaseRole
    /// The epoch won (to leader) or given up (from leader); nil for transitions that involve no lease.
    public var epoch: UInt64?
    public var reason: String
    /// The input's monotonic time (the shell's clock origin).
    public var at: Duration

    public init(from: LeaseRole, to: LeaseRole, epoch: UInt64?, reason: String, at: Duration) {
        self.from = from
        self.to = to
        self.epoch = epoch
        self.reason = reason
        self.at = at
    }

    public var description: String {
        "\(from) → \(to)" + (epoch.map { " (epoch \($0))" } ?? "") + ": \(reason)"
    }
}

/// The lease election as a sans-I/O state machine: inputs (timer ticks and database replies, each with
/// the monotonic time it is handled at) in, actions (database requests, role changes, the next tick) out.
/// It reads no clock and does no I/O, so every transition is unit-testable; `LeaseService` is the shell
/// that performs the actions and feeds the replies back.
///
/// Timing (invariant 4): the leader may act until `sentAt + leaseDuration − safetyMargin`, where
/// `sentAt` is when the last *successful* renew (or the acquire) request was sent. The database set its
/// expiry to `clock_timestamp() + leaseDuration` when it ran that statement, which is no earlier than
/// `sentAt`, so the leader stops at least `safetyMargin` before any other node can take the lease. A late
/// reply therefore never buys more time than its request's send time allows.
///
/// A failed renew (connection error) changes nothing: it is retried on the next heartbeat, and only the
/// deadline passing or a `lost` answer ends leadership, so a database blip shorter than the slack
/// (`leaseDuration − safetyMargin − heartbeat`) causes no role change.
///
/// At most one acquire or renew is in flight; a tick that finds one pending sends nothing new (a hung
/// connection must not pile up requests) but still checks the deadline.
public struct LeaseMachine: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// This node's name, written to the lease row as the holder.
        public let nodeID: String
        /// How often the leader renews and the standby tries to acquire.
        public let heartbeat: Duration
        /// How long an acquire or renew holds the lease, by the database's clock.
        public let leaseDuration: Duration
        /// How much earlier than the database expiry the leader stops acting: covers clock-rate
        /// differences and the time between the gate check and the bytes reaching the venue.
        public let safetyMargin: Duration

        /// Throws `.configuration` unless `0 < heartbeat`, `0 < safetyMargin` and
        /// `safetyMargin < leaseDuration − heartbeat` (a renew sent one heartbeat after the last must
        /// still land before the deadline).
        public init(
            nodeID: String, heartbeat: Duration = .milliseconds(200), leaseDuration: Duration = .seconds(1),
            safetyMargin: Duration = .milliseconds(200)
        ) throws(ClusterError) {
            guard !nodeID.isEmpty else { throw ClusterError(.configuration, "the node ID is empty") }
            guard heartbeat > .zero else { throw ClusterError(.configuration, "heartbeat \(heartbeat) must be positive") }
            guard safetyMargin > .zero else {
                throw ClusterError(.configuration, "safety margin \(safetyMargin) must be positive")
            }
            guard safetyMargin < leaseDuration - heartbeat else {
                throw ClusterError(.configuration, """
                    safety margin \(safetyMargin) must be less than lease duration \(leaseDuration) minus heartbeat \
                    \(heartbeat), or the leader would self-fence between two healthy renews
                    """)
            }
            self.nodeID = nodeID
            self.heartbeat = heartbeat
            self.leaseDuration = leaseDuration
            self.safetyMargin = safetyMargin
        }
    }

    /// The right to act: the epoch to act with, until `deadline` (monotonic, exclusive).
    public struct Leadership: Sendable, Hashable {
        public var epoch: UInt64
        public var deadline: Duration

        public init(epoch: UInt64, deadline: Duration) {
            self.epoch = epoch
            self.deadline = deadline
        }
    }

    /// Everything that happens to the machine; `now` is the monotonic time the shell handles it at.
    public enum Input: Sendable, Hashable {
        case start(now: Duration)
        case tick(now: Duration)
        /// `tryAcquire` won `epoch`; `requestSentAt` is when the request was sent.
        case acquireSucceeded(epoch: UInt64, requestSentAt: Duration, now: Duration)
        /// `tryAcquire` found the lease held or halted.
        case acquireRefused(LeaseState, now: Duration)
        /// The time asked for by `scheduleAcquire` has come.
        case acquireDue(now: Duration)
        /// The crash lock of `epoch` came free and the lease was not renewed since: its leader's database
        /// session ended (a crashed process). A standby takes the lease over at once.
        case leaderSessionEnded(epoch: UInt64, now: Duration)
        case renewSucceeded(epoch: UInt64, requestSentAt: Duration, now: Duration)
        /// The renew found the lease no longer ours (or halted).
        case renewLost(LeaseState, now: Duration)
        /// The pending acquire or renew failed without an answer (connection lost, timeout).
        case databaseFailed(String, now: Duration)
        /// A release finished, whether it released anything or failed.
        case releaseFinished(now: Duration)
        /// Leave `fenced` for `standby` (the node has wound its execution down).
        case rejoin(now: Duration)
        case stop(now: Duration)
    }

    public enum Action: Sendable, Hashable {
        /// Run `Lease.tryAcquire`, then feed `acquireSucceeded`, `acquireRefused` or `databaseFailed`.
        case tryAcquire
        /// Run `Lease.takeOver` from `fromEpoch`, then feed `acquireSucceeded` or `acquireRefused`.
        case takeOver(fromEpoch: UInt64)
        /// Run `Lease.renew` for `epoch`, then feed `renewSucceeded`, `renewLost` or `databaseFailed`.
        case renew(epoch: UInt64)
        /// Run `Lease.release` for `epoch`, then feed `releaseFinished`.
        case release(epoch: UInt64)
        case roleChanged(RoleChange)
        /// Feed `tick` at this monotonic time. Exactly one tick is outstanding from `start` to `stop`.
        case scheduleTick(at: Duration)
        /// Feed `acquireDue` at this monotonic time: a standby's extra acquire, timed for the moment the
        /// database said the lease expires when that comes before the next tick. At most one outstanding.
        case scheduleAcquire(at: Duration)
    }

    private enum Pending: Sendable, Hashable {
        case acquire
        case renew
    }

    public let configuration: Configuration
    public private(set) var role: LeaseRole = .starting
    /// The epoch held as leader, or last held (kept while fenced or stopping, for release and reports).
    public private(set) var epoch: UInt64?
    private var deadline: Duration = .zero
    private var lastSuccessfulSend: Duration = .zero
    private var pending: Pending?
    /// When the outstanding tick is due, and the outstanding `scheduleAcquire`, if any.
    private var nextTick: Duration = .zero
    private var acquireDue: Duration?

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The right to act, while leader; nil otherwise. The deadline still has to be checked by the caller
    /// (`LeadershipGate` does), since the machine only sees time when an input arrives.
    public var leadership: Leadership? {
        guard role == .leader, let epoch else { return nil }
        return Leadership(epoch: epoch, deadline: deadline)
    }

    private var grace: Duration { configuration.leaseDuration - configuration.safetyMargin }

    public mutating func handle(_ input: Input) -> [Action] {
        var actions: [Action] = []
        switch input {
        case .start(let now):
            guard role == .starting else { return [] }
            change(to: .standby, epoch: nil, reason: "started", at: now, &actions)
            pending = .acquire
            actions.append(.tryAcquire)
            schedule(tickAt: now + configuration.heartbeat, &actions)

        case .tick(let now):
            selfFenceIfExpired(now, &actions)
            switch role {
            case .starting, .stopping:
                break
            case .standby:
                if pending == nil {
                    pending = .acquire
                    actions.append(.tryAcquire)
                }
                schedule(tickAt: now + configuration.heartbeat, &actions)
            case .leader:
                if pending == nil, let epoch {
                    pending = .renew
                    actions.append(.renew(epoch: epoch))
                }
                schedule(tickAt: min(now + configuration.heartbeat, deadline), &actions)
            case .fenced:
                schedule(tickAt: now + configuration.heartbeat, &actions)
            }

        case .acquireSucceeded(let won, let sentAt, let now):
            if pending == .acquire { pending = nil }
            selfFenceIfExpired(now, &actions)
            guard role == .standby else {
                actions.append(.release(epoch: won))
                break
            }
            let wonDeadline = sentAt + grace
            guard now < wonDeadline else {
                // The reply came too late to act on; give the lease back rather than hold it unused.
                actions.append(.release(epoch: won))
                break
            }
            epoch = won
            deadline = wonDeadline
            lastSuccessfulSend = sentAt
            change(to: .leader, epoch: won, reason: "acquired the lease", at: now, &actions)

        case .acquireRefused(let state, let now):
            if pending == .acquire { pending = nil }
            selfFenceIfExpired(now, &actions)
            // Held, not halted, and expiring (by the database's clock, as of the refusal: the reply came
            // later, so this errs late) before the next tick: ask again right then instead of up to one
            // heartbeat later. A leader that is alive renews long before, so this only happens when renews
            // stopped (a paused or cut-off leader) and shortens the takeover by up to one heartbeat.
            if role == .standby, !state.halted, state.holder != nil, acquireDue == nil,
               let ms = state.millisecondsToExpiry, ms >= 0 {
                let at = now + .milliseconds(ms + 1)
                if at < nextTick {
                    acquireDue = at
                    actions.append(.scheduleAcquire(at: at))
                }
            }

        case .acquireDue(let now):
            acquireDue = nil
            selfFenceIfExpired(now, &actions)
            if role == .standby, pending == nil {
                pending = .acquire
                actions.append(.tryAcquire)
            }

        case .leaderSessionEnded(let dead, _):
            // Only a standby acts; the take-over is conditional on the epoch, so a stale report is harmless.
            if role == .standby { actions.append(.takeOver(fromEpoch: dead)) }

        case .renewSucceeded(let renewed, let sentAt, let now):
            if pending == .renew { pending = nil }
            if role == .leader, renewed == epoch {
                if sentAt + grace > deadline {
                    deadline = sentAt + grace
                    lastSuccessfulSend = sentAt
                }
            } else if renewed == epoch, role != .leader {
                // Extended after we let go (a reply that raced the fence, maybe after a rejoin): hand it back.
                actions.append(.release(epoch: renewed))
            }
            selfFenceIfExpired(now, &actions)

        case .renewLost(let state, let now):
            if pending == .renew { pending = nil }
            selfFenceIfExpired(now, &actions)
            if role == .leader {
                let who = state.halted
                    ? "the lease is halted (epoch \(state.epoch))"
                    : "the lease is now held by \(state.holder ?? "nobody") at epoch \(state.epoch)"
                change(to: .fenced, epoch: epoch, reason: "lost the lease: \(who)", at: now, &actions)
            }

        case .databaseFailed(_, let now):
            pending = nil
            selfFenceIfExpired(now, &actions)

        case .releaseFinished(let now):
            selfFenceIfExpired(now, &actions)

        case .rejoin(let now):
            guard role == .fenced else { return [] }
            change(to: .standby, epoch: nil, reason: "rejoined after fencing", at: now, &actions)
            if pending == nil {
                pending = .acquire
                actions.append(.tryAcquire)
            }

        case .stop(let now):
            switch role {
            case .stopping:
                break
            case .leader:
                change(to: .stopping, epoch: epoch, reason: "stopping; releasing the lease", at: now, &actions)
                if let epoch { actions.append(.release(epoch: epoch)) }
            case .starting, .standby, .fenced:
                change(to: .stopping, epoch: nil, reason: "stopping", at: now, &actions)
            }
        }
        return actions
    }

    private mutating func schedule(tickAt at: Duration, _ actions: inout [Action]) {
        nextTick = at
        actions.append(.scheduleTick(at: at))
    }

    private mutating func selfFenceIfExpired(_ now: Duration, _ actions: inout [Action]) {
        guard role == .leader, now >= deadline, let epoch else { return }
        change(to: .fenced, epoch: epoch, reason: """
            self-fenced at \(now): the last successful renew or acquire was sent at \(lastSuccessfulSend), \
            so the right to act ended at \(deadline) (sent + lease − margin)
            """, at: now, &actions)
        // Best effort: if the database is reachable and the lease still ours, a standby need not wait it out.
        actions.append(.release(epoch: epoch))
    }

    private mutating func change(
        to new: LeaseRole, epoch: UInt64?, reason: String, at now: Duration, _ actions: inout [Action]
    ) {
        let old = role
        role = new
        actions.append(.roleChanged(RoleChange(from: old, to: new, epoch: epoch, reason: reason, at: now)))
    }
}
