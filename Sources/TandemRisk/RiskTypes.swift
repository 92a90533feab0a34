import TandemCore

/// Something the caller tells the engine. Fills and positions reach it through the `TradingState`
/// passed to ``RiskEngine/check(_:state:marks:now:)`` and ``RiskEngine/evaluate(state:marks:now:)``.
public enum RiskInput: Sendable, Hashable {
    /// One outbound message to a venue (new order, cancel, replace, …) was sent.
    case messageSent(at: Timestamp)
    /// The venue rejected an order (feeds the reject breaker).
    case venueRejected(clOrdID: ClOrdID, reason: String, at: Timestamp)
    /// A venue session went down (feeds the disconnect-storm breaker).
    case venueDisconnected(venue: String, at: Timestamp)
    /// A new mark (last trade or mid) for an instrument (feeds the stale-data breaker and ``RiskEngine/marks``).
    case mark(InstrumentID, Price, at: Timestamp)
    /// A new trading day: the day's P&L is measured from `startOfDayPnL` (per currency, realized −
    /// fees + unrealized at the roll); `nil` takes the P&L at the next evaluation as the start.
    case dayRolled(startOfDayPnL: [Currency: Money]?, at: Timestamp)
}

/// Something the engine tells the caller, who journals it.
public enum RiskOutput: Sendable, Hashable {
    /// The trading state changed; `rule` names what caused it and `reason` says why, with numbers.
    case modeChanged(from: TradingMode, to: TradingMode, rule: String, reason: String, at: Timestamp)
    /// One (account, instrument) became reducing-only (per-trade loss).
    case positionRestricted(PositionKey, rule: String, reason: String, at: Timestamp)
    /// A reducing-only restriction was lifted (the position is flat).
    case positionReleased(PositionKey, at: Timestamp)
    /// A limit was breached and only reported (e.g. per-trade loss with action `report`).
    case breach(rule: String, reason: String, at: Timestamp)
}

/// Counts events in the sliding window (now − length, now].
struct SlidingWindow: Sendable, Hashable {
    let length: Int64
    private var times: [Int64] = []
    private var head = 0

    init(milliseconds: Int64) {
        let (ns, o) = milliseconds.multipliedReportingOverflow(by: 1_000_000)
        length = o ? .max : ns
    }

    mutating func count(at now: Timestamp) -> Int {
        let (start, o) = now.nanosecondsSinceEpoch.subtractingReportingOverflow(length)
        let cutoff = o ? Int64.min : start
        while head < times.count, times[head] <= cutoff { head += 1 }
        if head > 64, head * 2 > times.count {
            times.removeFirst(head)
            head = 0
        }
        return times.count - head
    }

    mutating func record(at now: Timestamp) {
        // Keep the times non-decreasing so pruning from the front stays correct.
        times.append(Swift.max(now.nanosecondsSinceEpoch, times.last ?? .min))
    }
}
