/// A token bucket on a monotonic clock: `rate` tokens per second, at most `burst` banked. Sans-I/O:
/// the caller passes the time.
public struct TokenBucket: Sendable, Hashable {
    public let rate: Int
    public let burst: Int
    /// Tokens in millionths, so refills stay exact in integers.
    private var micros: Int64
    private var last: Duration?

    public init(rate: Int, burst: Int) {
        precondition(rate > 0 && burst > 0, "a token bucket needs a positive rate and burst")
        self.rate = rate
        self.burst = burst
        self.micros = Int64(burst) * 1_000_000
    }

    private mutating func refill(_ now: Duration) {
        defer { last = now }
        guard let last, now > last else { return }
        let (s, a) = (now - last).components
        let elapsedMicros = s * 1_000_000 + a / 1_000_000_000_000
        micros = min(Int64(burst) * 1_000_000, micros + elapsedMicros * Int64(rate))
    }

    /// Takes a token if one is there.
    public mutating func take(now: Duration) -> Bool {
        refill(now)
        guard micros >= 1_000_000 else { return false }
        micros -= 1_000_000
        return true
    }

    /// Whether a token is there, without taking it.
    public mutating func available(now: Duration) -> Bool {
        refill(now)
        return micros >= 1_000_000
    }

    /// When the next token will be there (now, if one is).
    public mutating func nextToken(now: Duration) -> Duration {
        refill(now)
        if micros >= 1_000_000 { return now }
        let missing = 1_000_000 - micros
        return now + .microseconds((missing + Int64(rate) - 1) / Int64(rate))
    }
}
