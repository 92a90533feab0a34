import Synchronization

/// The check the execution layer makes synchronously right before putting bytes on a venue socket.
///
/// It holds the current leadership (epoch and self-fence deadline), set by `LeaseService` on every role
/// change and successful renew, and compares the deadline with the caller's monotonic `now` itself, so it
/// closes on time even when the service's loop is stalled and has not processed the expiry yet.
/// Times are `Duration`s since `origin` on `ContinuousClock`.
public final class LeadershipGate: Sendable {
    public let origin: ContinuousClock.Instant
    private let grant: Mutex<LeaseMachine.Leadership?>

    public init(origin: ContinuousClock.Instant = .now) {
        self.origin = origin
        self.grant = Mutex(nil)
    }

    /// The epoch to act with, if this node is leader and `now` is before its deadline; else nil.
    /// Callers compare it with the epoch their execution started under: a different epoch means a new
    /// leadership, and the old execution must not act on it.
    public func mayAct(now: Duration) -> UInt64? {
        grant.withLock { grant in
            guard let grant, now < grant.deadline else { return nil }
            return grant.epoch
        }
    }

    /// `mayAct(now:)` at the current time of this gate's clock.
    public func mayAct() -> UInt64? {
        mayAct(now: now())
    }

    /// The current time on this gate's clock (since `origin`).
    public func now() -> Duration {
        ContinuousClock.now - origin
    }

    /// The leadership as last set, without checking the deadline.
    public var leadership: LeaseMachine.Leadership? {
        grant.withLock { $0 }
    }

    func update(_ leadership: LeaseMachine.Leadership?) {
        grant.withLock { $0 = leadership }
    }
}
