import TandemCore

/// Pre-trade checks, trading states and circuit breakers as one sans-I/O value: no clock, no I/O,
/// no randomness; every time is passed in and every state change comes back as a ``RiskOutput``
/// for the caller to journal.
///
/// - ``check(_:state:marks:now:)`` decides one new order (and first runs ``evaluate(state:marks:now:)``);
///   ``checkReplace(_:with:state:marks:now:)`` decides a cancel/replace the same way.
/// - ``evaluate(state:marks:now:)`` runs the P&L, per-trade loss and stale-data checks; call it after
///   fills, mark updates and on a timer (the stale-data breaker needs time to pass).
/// - ``handle(_:)`` takes messages sent, venue rejects, disconnects, marks and day rolls.
///
/// **A reducing order is never blocked by notional, quantity, position, exposure, open-order, rate
/// or loss rules, in any state.** An order is *reducing* when it is on the opposite side of its
/// (account, instrument) net position and, together with the open orders already on that side, does
/// not exceed |net| (it reduces |position| without crossing zero even if everything fills). Only
/// the structural checks (positive quantity, known instrument, lot and tick) and the price collar
/// (for orders with a limit price, when a mark exists) apply to it.
public struct RiskEngine: Sendable {
    public private(set) var limits: RiskLimits
    public private(set) var mode: TradingMode
    /// (account, instrument) pairs that are reducing-only after a per-trade loss breach, with the reason.
    public private(set) var restrictedPositions: [PositionKey: String] = [:]
    /// The last mark received through ``handle(_:)`` per instrument (callers may pass these to `check`).
    public private(set) var marks: [InstrumentID: Price] = [:]
    /// When each instrument's last mark arrived.
    public private(set) var markTimes: [InstrumentID: Timestamp] = [:]

    private var orders: SlidingWindow
    private var messages: SlidingWindow
    private var rejects: SlidingWindow
    private var disconnects: SlidingWindow
    private var reportedLosses: Set<PositionKey> = []
    private var dayStart: [Currency: Int64]?
    private var dayPeak: [Currency: Int64] = [:]
    private var pnlSeries: [Currency: PnLSeries] = [:]
    /// P&L and gross/net exposure per currency, per-trade losses and positions that cannot be valued,
    /// as of the last evaluation, kept up to date incrementally from the positions and marks that
    /// changed since (``check(_:state:marks:now:)`` evaluates the same state and marks just before
    /// deciding, so the exposure rules read it too).
    private(set) var book = PositionBook()
    /// The oldest time in `markTimes` (nil: not known, recomputed at the next evaluation).
    private var oldestMarkTime: Int64?

    /// `limits` should have passed ``RiskLimits/validate()``. `mode` and `restrictedPositions`
    /// restore journaled state (the last `modeChanged` and the `positionRestricted` not yet released).
    public init(limits: RiskLimits, mode: TradingMode = .active, restrictedPositions: [PositionKey: String] = [:]) {
        self.limits = limits
        self.mode = mode
        self.restrictedPositions = restrictedPositions
        orders = SlidingWindow(milliseconds: limits.orderRateWindowMs)
        messages = SlidingWindow(milliseconds: limits.messageRateWindowMs)
        rejects = SlidingWindow(milliseconds: limits.rejectWindowMs)
        disconnects = SlidingWindow(milliseconds: limits.disconnectWindowMs)
    }

    // MARK: - Operator

    /// Back to ACTIVE (an operator's decision, e.g. a journaled `resume` risk command).
    public mutating func resume(at now: Timestamp, by who: String) -> [RiskOutput] {
        guard mode != .active else { return [] }
        let from = mode
        mode = .active
        return [.modeChanged(from: from, to: .active, rule: "operator_resume", reason: "resumed by \(who)", at: now)]
    }

    /// Takes a mode that is already in the journal (a node restoring the fold's
    /// ``TradingState/riskMode`` after it becomes leader, or a global command another writer
    /// journaled). Unlike ``resume(at:by:)`` and ``halt(at:reason:)`` it returns nothing to journal:
    /// the change is journaled already, and journaling it again would double it in the audit trail.
    public mutating func restore(mode: TradingMode) {
        self.mode = mode
    }

    /// To HALTED on an operator's (or the watchdog's) command.
    public mutating func halt(at now: Timestamp, reason: String) -> [RiskOutput] {
        var out: [RiskOutput] = []
        escalate(.halted, rule: "operator_halt", reason: reason, at: now, &out)
        return out
    }

    private mutating func escalate(_ to: TradingMode, rule: String, reason: String, at now: Timestamp, _ out: inout [RiskOutput]) {
        guard to > mode else { return }
        out.append(.modeChanged(from: mode, to: to, rule: rule, reason: reason, at: now))
        mode = to
    }

    // MARK: - Inputs

    public mutating func handle(_ input: RiskInput) -> [RiskOutput] {
        var out: [RiskOutput] = []
        switch input {
        case .messageSent(let at):
            messages.record(at: at)
        case .venueRejected(let id, let reason, let at):
            rejects.record(at: at)
            let n = rejects.count(at: at)
            if n >= limits.maxRejectsPerWindow {
                escalate(.halted, rule: "reject_storm",
                         reason: "\(n) venue rejects within \(limits.rejectWindowMs) ms (limit \(limits.maxRejectsPerWindow)); last \(id): \(reason)",
                         at: at, &out)
            }
        case .venueDisconnected(let venue, let at):
            disconnects.record(at: at)
            let n = disconnects.count(at: at)
            if n >= limits.maxDisconnectsPerWindow {
                escalate(.halted, rule: "disconnect_storm",
                         reason: "\(n) venue disconnects within \(limits.disconnectWindowMs) ms (limit \(limits.maxDisconnectsPerWindow)); last \(venue)",
                         at: at, &out)
            }
        case .mark(let instrument, let price, let at):
            marks[instrument] = price
            let previous = markTimes.updateValue(at, forKey: instrument)
            // The oldest mark time moves only when this instrument's was the oldest (or it went back).
            if let oldest = oldestMarkTime {
                if at.nanosecondsSinceEpoch < oldest {
                    oldestMarkTime = at.nanosecondsSinceEpoch
                } else if let previous, previous.nanosecondsSinceEpoch == oldest {
                    oldestMarkTime = nil
                }
            }
        case .dayRolled(let start, _):
            dayStart = start.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.key, $0.value.units) }) }
            dayPeak = [:]
            pnlSeries = [:]
        }
        return out
    }

    // MARK: - Evaluation (P&L, per-trade loss, stale data)

    /// Runs the state-based checks: stale marks, day P&L against the daily loss and drawdown limits,
    /// the K-sigma P&L breaker, and the per-trade loss of each position (restricting or reporting,
    /// and lifting restrictions of positions that are flat).
    public mutating func evaluate(state: borrowing TradingState, marks: [InstrumentID: Price], now: Timestamp) -> [RiskOutput] {
        var out: [RiskOutput] = []
        checkStaleMarks(now, &out)

        // The figures of every position at these marks, brought up to date from the last evaluation
        // (only positions that changed, or whose instrument's mark moved, are valued again).
        book.sync(state: state, marks: marks, limits: limits)

        // Per-trade losses and flat positions to release, emitted in key order so the outputs do not
        // depend on the storage order (creation order, or key order after a snapshot restore).
        let releasable = !restrictedPositions.isEmpty || !reportedLosses.isEmpty
        if !book.lossSlots.isEmpty || releasable {
            var noted: [(key: PositionKey, loss: Money?)] = book.lossSlots.map { (book.key($0), book.loss($0)) }
            if releasable {
                var keys = Set(restrictedPositions.keys)
                keys.formUnion(reportedLosses)
                for key in keys where state.position(account: key.account, instrument: key.instrument)?.isFlat == true {
                    noted.append((key, nil))
                }
            }
            noted.sort { $0.key < $1.key }
            for (key, loss) in noted {
                if let loss {
                    perTradeLoss(key, unrealized: loss, now, &out)
                } else {
                    reportedLosses.remove(key)
                    if restrictedPositions.removeValue(forKey: key) != nil { out.append(.positionReleased(key, at: now)) }
                }
            }
        }
        var overflow: ArithmeticError?
        if let key = book.firstMarkFailure() {
            overflow = ArithmeticError(.overflow, "position \(key) cannot be valued at its mark")
        } else if let currency = book.firstOverflowingCurrency() {
            overflow = ArithmeticError(.overflow, "P&L total in \(currency) overflows")
        }
        if let overflow {
            escalate(.halted, rule: "pnl_overflow", reason: "P&L cannot be computed: \(overflow.message)", at: now, &out)
            return out
        }
        if dayStart == nil {
            dayStart = Dictionary(uniqueKeysWithValues: book.totals.lazy.filter { $0.positions > 0 }.map { ($0.currency, Int64($0.pnl)) })
        }
        for t in book.totals where t.positions > 0 {  // ascending by currency; every total fits Int64 (checked above)
            let currency = t.currency
            let (day, peak) = dayAndPeak(t)
            if dayPeak[currency].map({ Int128($0) != peak }) ?? true { dayPeak[currency] = Int64(clamping: peak) }
            if -day > Int128(limits.maxDailyLoss.units) {
                escalate(.halted, rule: "max_daily_loss",
                         reason: "day P&L \(text(day, currency)) is a loss beyond the limit \(limits.maxDailyLoss) \(currency)",
                         at: now, &out)
            }
            if peak - day > Int128(limits.maxDrawdown.units) {
                escalate(.reducing, rule: "max_drawdown",
                         reason: "day P&L \(text(day, currency)) is \(text(peak - day, currency)) below the day's peak \(text(peak, currency)), beyond the limit \(limits.maxDrawdown) \(currency)",
                         at: now, &out)
            }
            sigmaCheck(currency, day: day, now, &out)
        }
        return out
    }

    /// Each currency's day P&L and drawdown from the day's peak (≥ 0), in price units (10⁻⁸), as of
    /// the last ``evaluate(state:marks:now:)`` — what the daily-loss and drawdown limits are checked
    /// against. Ascending by currency; empty before the first evaluation.
    public func dayFigures() -> [(currency: Currency, pnl: Int128, drawdown: Int128)] {
        guard dayStart != nil else { return [] }
        return book.totals.filter { $0.positions > 0 }.map { t in
            let (day, peak) = dayAndPeak(t)
            return (t.currency, day, peak - day)
        }
    }

    /// A currency's day P&L (against the day's start) and the day's peak counting it: what the
    /// daily-loss and drawdown checks use, and what ``dayFigures()`` reports.
    private func dayAndPeak(_ t: BookFigures.Totals) -> (day: Int128, peak: Int128) {
        let day = t.pnl - Int128(dayStart?[t.currency] ?? 0)
        return (day, Swift.max(Int128(dayPeak[t.currency] ?? 0), day))
    }

    /// The first instrument (by id) whose mark is older than the limit halts; no sorting, no allocation.
    private mutating func checkStaleMarks(_ now: Timestamp, _ out: inout [RiskOutput]) {
        guard limits.staleMarkAfterMs > 0 else { return }
        let limitNs = Int128(limits.staleMarkAfterMs) * 1_000_000
        // Nothing is stale while the oldest mark is not (no walk over the marks).
        if oldestMarkTime == nil { oldestMarkTime = markTimes.values.lazy.map(\.nanosecondsSinceEpoch).min() }
        guard let oldest = oldestMarkTime, Int128(now.nanosecondsSinceEpoch) - Int128(oldest) > limitNs else { return }
        var stale: (instrument: InstrumentID, age: Int128)?
        for (instrument, at) in markTimes {
            let age = Int128(now.nanosecondsSinceEpoch) - Int128(at.nanosecondsSinceEpoch)
            if age > limitNs, stale.map({ instrument < $0.instrument }) ?? true { stale = (instrument, age) }
        }
        if let (instrument, age) = stale {
            escalate(.halted, rule: "stale_market_data",
                     reason: "no mark for instrument \(instrument.rawValue) for \(age / 1_000_000) ms (limit \(limits.staleMarkAfterMs) ms)",
                     at: now, &out)
        }
    }

    private mutating func perTradeLoss(_ key: PositionKey, unrealized u: Money, _ now: Timestamp, _ out: inout [RiskOutput]) {
        let limit = limits.overrides(for: key.instrument)?.perTradeLossLimit ?? limits.perTradeLossLimit
        guard -Int128(u.units) > Int128(limit.units) else { return }
        let reason = "position \(key) has an unrealized loss of \(Amount(units: u.units == .min ? .max : -u.units)) \(u.currency), beyond the per-trade limit \(limit) \(u.currency)"
        switch limits.perTradeLossAction {
        case .reduceOnly:
            guard restrictedPositions[key] == nil else { return }
            restrictedPositions[key] = reason
            out.append(.positionRestricted(key, rule: "per_trade_loss", reason: reason, at: now))
        case .report:
            guard reportedLosses.insert(key).inserted else { return }
            out.append(.breach(rule: "per_trade_loss", reason: reason, at: now))
        }
    }

    private mutating func sigmaCheck(_ currency: Currency, day: Int128, _ now: Timestamp, _ out: inout [RiskOutput]) {
        guard limits.pnlSigmaLimit > 0 else { return }
        // Between samples nothing changes: return before copying the series out of the dictionary.
        if let last = pnlSeries[currency]?.lastAt,
           Int128(now.nanosecondsSinceEpoch) - Int128(last.nanosecondsSinceEpoch) < Int128(limits.pnlSampleIntervalMs) * 1_000_000 {
            return
        }
        var series = pnlSeries[currency] ?? PnLSeries()
        defer { pnlSeries[currency] = series }
        guard let last = series.lastAt else {
            series.lastAt = now
            series.lastValue = day
            return
        }
        let elapsed = Int128(now.nanosecondsSinceEpoch) - Int128(last.nanosecondsSinceEpoch)
        guard elapsed >= Int128(limits.pnlSampleIntervalMs) * 1_000_000 else { return }
        // Statistics in Double (allowed: a volatility estimate); only the comparison leaves this block.
        let change = Double(day - series.lastValue) / 1e8
        if series.changes.count >= limits.pnlSigmaMinimumSamples {
            let n = Double(series.changes.count)
            let mean = series.changes.reduce(0, +) / n
            let variance = series.changes.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
            let sd = variance.squareRoot()
            if sd > 0, abs(change - mean) > Double(limits.pnlSigmaLimit) * sd {
                let z = (change - mean) / sd
                escalate(.halted, rule: "pnl_sigma",
                         reason: "day P&L in \(currency) moved \(text(day - series.lastValue, currency)) in \(elapsed / 1_000_000) ms: \(rounded(z)) sigma of the last \(series.changes.count) changes (mean \(rounded(mean)), sd \(rounded(sd))), limit \(limits.pnlSigmaLimit)",
                         at: now, &out)
            }
        }
        series.changes.append(change)
        if series.changes.count > limits.pnlSigmaWindow { series.changes.removeFirst(series.changes.count - limits.pnlSigmaWindow) }
        series.lastAt = now
        series.lastValue = day
    }

    // MARK: - Pre-trade check

    /// The largest quantity of a `side` order that reduces the (account, instrument) position without
    /// crossing zero, counting the open orders already on that side: what a flatten may send, and
    /// what a refused flip can be cut to (rounded down to the lot by the caller if needed). Zero when
    /// flat or when `side` would add to the position.
    public static func largestReducingQuantity(
        account: AccountID, instrument: InstrumentID, side: Side, state: borrowing TradingState
    ) -> Quantity {
        let net = Int128(state.position(account: account, instrument: instrument)?.netQuantity.units ?? 0)
        let dir = Int128(side.direction)
        guard net != 0, net.signum() == -dir else { return .zero }
        let leaves = state.openLeaves(account: account, instrument: instrument)
        let open = dir > 0 ? leaves.buy : leaves.sell
        return Quantity(units: Int64(clamping: Swift.max(0, abs(net) - open)))
    }

    /// Decides one new order. Runs ``evaluate(state:marks:now:)`` first (its outputs come back with
    /// the decision), then the rules in the order of docs/risk.md; an accepted order counts toward
    /// the order rate (the caller records each message it sends with ``RiskInput/messageSent(at:)``).
    public mutating func check(
        _ request: OrderRequest, state: borrowing TradingState, marks: [InstrumentID: Price], now: Timestamp
    ) -> (RiskDecision, [RiskOutput]) {
        let outputs = evaluate(state: state, marks: marks, now: now)
        let decision = decide(request, replacing: nil, state: state, marks: marks, now: now)
        if decision == .accepted { orders.record(at: now) }
        return (decision, outputs)
    }

    /// Decides a cancel/replace of the working `order` into `replacement` (its new ClOrdID, total
    /// quantity and, if given, new type), with the same rules as a new order applied to the order it
    /// would become: quantity and notional on the new total quantity, the collar on the new price,
    /// position and exposure with the order's new leaves in place of its old ones. It does not count
    /// toward the order rate (it adds no order) and skips `max_open_orders`; `message_rate` applies.
    ///
    /// **A replace that reduces is never refused** by notional, quantity, position, exposure, rate or
    /// loss rules, in any state: one that only lowers the quantity and keeps the type (less exposure,
    /// whatever the position), and one whose resulting order is reducing in the sense of a new order
    /// (opposite the position, its leaves plus the other open orders on that side at most |net|) —
    /// the latter still meets the collar when it has a limit price and a mark exists. A shrink-only
    /// replace skips the collar as well: its price is the one the order already rests at. Runs
    /// ``evaluate(state:marks:now:)`` first, like ``check(_:state:marks:now:)``.
    public mutating func checkReplace(
        _ order: Order, with replacement: ReplaceRequest, state: borrowing TradingState, marks: [InstrumentID: Price], now: Timestamp
    ) -> (RiskDecision, [RiskOutput]) {
        let outputs = evaluate(state: state, marks: marks, now: now)
        var request = order.request
        request.clOrdID = replacement.newClOrdID
        request.quantity = replacement.quantity
        if let type = replacement.type { request.type = type }
        return (decide(request, replacing: order, state: state, marks: marks, now: now), outputs)
    }

    /// The mode a decision runs under: the engine's, raised to HALTED while the fold holds a global
    /// `halt` or `flatten` command (``TradingState/restrictions``), whoever journaled it.
    public func effectiveMode(state: borrowing TradingState) -> TradingMode {
        switch state.restrictions[.global] {
        case .halt?, .flatten?: .halted
        default: mode
        }
    }

    private mutating func decide(
        _ r: OrderRequest, replacing old: Order?, state: borrowing TradingState, marks: [InstrumentID: Price], now: Timestamp
    ) -> RiskDecision {
        guard r.quantity.units > 0 else {
            return .rejected(rule: "invalid_quantity", reason: "order quantity \(r.quantity) must be positive")
        }
        if let old, r.quantity <= old.filledQuantity {
            return .rejected(rule: "invalid_quantity", reason: "replacement quantity \(r.quantity) of \(old.clOrdID) must exceed its filled \(old.filledQuantity)")
        }
        guard let instrument = state.instruments[r.instrument] else {
            return .rejected(rule: "unknown_instrument", reason: "instrument \(r.instrument.rawValue) is not defined")
        }
        guard r.quantity.isMultiple(of: instrument.lotSize) else {
            return .rejected(rule: "lot_size", reason: "order quantity \(r.quantity) is not a multiple of the lot size \(instrument.lotSize) of \(instrument.symbol)")
        }
        func offTick(_ p: Price?) -> Price? { p.flatMap { $0.units > 0 && $0.isMultiple(of: instrument.tickSize) ? nil : $0 } }
        if let p = offTick(r.type.limitPrice) ?? offTick(r.type.stopPrice) {
            return .rejected(rule: "tick_size", reason: "price \(p) is not a positive multiple of the tick size \(instrument.tickSize) of \(instrument.symbol)")
        }

        // The order's position and the open orders of its (account, instrument), in 128 bits.
        let key = PositionKey(account: r.account, instrument: r.instrument)
        let position = state.position(account: r.account, instrument: r.instrument)
        let net = Int128(position?.netQuantity.units ?? 0)
        let openCount = state.openOrderCount
        // A replace takes the place of its order: the order's old leaves do not count.
        let (openBuy, openSell) = state.openLeaves(account: r.account, instrument: r.instrument, excluding: old?.clOrdID)
        let dir = Int128(r.side.direction)
        // What may still fill: the whole order, or for a replace its new leaves.
        let q = Int128(r.quantity.units) - Int128(old?.filledQuantity.units ?? 0)
        let sameSideOpen = dir > 0 ? openBuy : openSell
        // A replace that only lowers the quantity at the same price and type adds no risk.
        let shrinkOnly = old.map { r.quantity <= $0.request.quantity && r.type == $0.request.type } ?? false
        if shrinkOnly { return .accepted }
        let reducing = net != 0 && net.signum() == -dir && q + sameSideOpen <= abs(net)
        let maxReducing = (net != 0 && net.signum() == -dir) ? Swift.max(0, abs(net) - sameSideOpen) : 0
        // Built only for a refusal's reason (string work is most of a check's cost otherwise).
        func exposureText() -> String {
            "\(instrument.symbol) net \(qtext(net)), open \(r.side == .buy ? "buys" : "sells") \(qtext(sameSideOpen)), largest reducing \(r.side == .buy ? "buy" : "sell") \(qtext(maxReducing))"
        }

        if !reducing {
            switch effectiveMode(state: state) {
            case .halted:
                let by = mode == .halted ? "" : " by a global \(state.restrictions[.global].map { "\($0)" } ?? "") command"
                return .rejected(rule: "halted", reason: "trading is HALTED\(by): only orders that reduce a position without crossing zero are accepted; \(r.side) \(r.quantity) does not (\(exposureText()))")
            case .reducing:
                return .rejected(rule: "reducing_only", reason: "trading is REDUCING: only orders that reduce a position without crossing zero are accepted; \(r.side) \(r.quantity) does not (\(exposureText()))")
            case .active:
                if let why = restrictedPositions[key] {
                    return .rejected(rule: "position_reducing_only", reason: "\(key) is reducing-only (\(why)); \(r.side) \(r.quantity) does not reduce it (\(exposureText()))")
                }
            }
        }

        // Price collar: the aggressive side of a limit price, against the reference.
        let overrides = limits.instruments.isEmpty ? nil : limits.overrides(for: r.instrument)
        let bps = Int128(overrides?.priceCollarBasisPoints ?? limits.priceCollarBasisPoints)
        let reference = marks[r.instrument]
        var worst: Price?
        if let ref = reference {
            let bound: Price
            if dir > 0 {
                bound = Price(units: Int64(clamping: RoundingRule.down.divide(Int128(ref.units) * (10_000 + bps), by: 10_000)))
            } else {
                bound = Price(units: Int64(clamping: RoundingRule.up.divide(Int128(ref.units) * (10_000 - bps), by: 10_000)))
            }
            worst = bound
            if let limit = r.type.limitPrice, dir > 0 ? limit > bound : limit < bound {
                return .rejected(rule: "price_collar", reason: "\(r.side) limit \(limit) is beyond the collar \(bound) (\(bps) bps from the reference \(ref)) of \(instrument.symbol)")
            }
        }
        if reducing { return .accepted }

        guard reference != nil || !limits.requireReferencePrice else {
            return .rejected(rule: "no_reference_price", reason: "no mark for \(instrument.symbol) (instrument \(r.instrument.rawValue)) to check the order against")
        }
        let maxQty = overrides?.maxOrderQuantity ?? limits.maxOrderQuantity
        guard r.quantity <= maxQty else {
            return .rejected(rule: "max_order_quantity", reason: "order quantity \(r.quantity) of \(instrument.symbol) exceeds the limit \(maxQty)")
        }
        // Market and stop orders are valued at the collar's worst price; a limit at its limit.
        guard let price = r.type.limitPrice ?? worst else {
            return .rejected(rule: "no_reference_price", reason: "\(r.type) order for \(instrument.symbol) has no limit price and there is no mark to value it")
        }
        let notional: Money
        do {
            notional = try instrument.notional(price: price, quantity: r.quantity)
        } catch {
            return .rejected(rule: "arithmetic_overflow", reason: "order notional of \(r.quantity) at \(price): \(error.message)")
        }
        let maxNotional = overrides?.maxOrderNotional ?? limits.maxOrderNotional
        guard notional.units <= maxNotional.units else {
            return .rejected(rule: "max_order_notional", reason: "order notional \(notional) (\(r.quantity) at \(price)) exceeds the limit \(maxNotional) \(notional.currency)")
        }

        let after = net + dir * (sameSideOpen + q)  // q: the new leaves for a replace
        let maxPos = Int128((overrides?.maxPosition ?? limits.maxPosition).units)
        guard abs(after) <= maxPos else {
            return .rejected(rule: "max_position", reason: "\(key) would reach \(qtext(after)) if this order and the open \(r.side == .buy ? "buys" : "sells") fill (net \(qtext(net)), open \(qtext(sameSideOpen)), order \(r.quantity)); limit ±\(qtext(maxPos))")
        }
        guard old != nil || openCount + 1 <= limits.maxOpenOrders else {
            return .rejected(rule: "max_open_orders", reason: "\(openCount) orders are open; one more exceeds the limit \(limits.maxOpenOrders)")
        }

        // Exposure in the order's currency, the order's position at its worst case.
        // Every position's exposure comes from the evaluation `check` just ran over the same state and
        // marks; this order's own position is taken out and counted at its worst case instead.
        var gross: Int128 = 0, netExposure: Int128 = 0
        do throws(ArithmeticError) {
            if let failure = book.exposureFailure(excluding: key) { throw failure }
            (gross, netExposure) = book.exposure(instrument.currency)
            if let own = position, !own.isFlat, own.currency == instrument.currency, let px = marks[r.instrument] ?? own.averagePrice,
               let v = try? Money.notional(price: px, quantity: own.netQuantity, multiplier: own.multiplier, currency: own.currency) {
                gross -= abs(Int128(v.units))
                netExposure -= Int128(v.units)
            }
            guard let afterUnits = Int64(exactly: after) else {
                throw ArithmeticError(.overflow, "position \(qtext(after)) overflows Quantity")
            }
            let v = try instrument.notional(price: reference ?? price, quantity: Quantity(units: afterUnits))  // worst case
            gross += abs(Int128(v.units))
            netExposure += Int128(v.units)
        } catch {
            return .rejected(rule: "arithmetic_overflow", reason: "exposure of \(instrument.currency) positions: \(error.message)")
        }
        guard gross <= Int128(limits.maxGrossExposure.units) else {
            return .rejected(rule: "max_gross_exposure", reason: "gross exposure would be \(text(gross, instrument.currency)), beyond the limit \(limits.maxGrossExposure) \(instrument.currency)")
        }
        guard abs(netExposure) <= Int128(limits.maxNetExposure.units) else {
            return .rejected(rule: "max_net_exposure", reason: "net exposure would be \(text(netExposure, instrument.currency)), beyond the limit ±\(limits.maxNetExposure) \(instrument.currency)")
        }

        let sentOrders = orders.count(at: now)
        guard old != nil || sentOrders + 1 <= limits.maxOrdersPerWindow else {
            return .rejected(rule: "order_rate", reason: "\(sentOrders) orders accepted in the last \(limits.orderRateWindowMs) ms; one more exceeds the limit \(limits.maxOrdersPerWindow)")
        }
        let sentMessages = messages.count(at: now)
        guard sentMessages + 1 <= limits.maxMessagesPerWindow else {
            return .rejected(rule: "message_rate", reason: "\(sentMessages) messages sent in the last \(limits.messageRateWindowMs) ms; one more exceeds the limit \(limits.maxMessagesPerWindow)")
        }
        return .accepted
    }
}

/// One position's value (net × price × multiplier in its currency) at its mark, else its average
/// price: a pure function of its inputs (``PositionBook`` remembers it per position).
enum PositionValue {
    struct Inputs: Sendable, Equatable {
        var net: Int64
        var cost: Int64
        var mark: Price?
        var multiplier: Ratio
        var currency: Currency
    }
    /// Trivially copyable (no error payload), so the book is plain memory; a failure's error is
    /// recomputed by ``error(_:averagePrice:)`` when it is reported, which is rare.
    enum Result: Sendable {
        case value(Int64)
        case noPrice
        case failed
    }
    static func compute(_ i: Inputs, averagePrice: @autoclosure () -> Price?) -> Result {
        guard let px = i.mark ?? averagePrice() else { return .noPrice }
        do throws(ArithmeticError) {
            return .value(try Money.notional(price: px, quantity: Quantity(units: i.net), multiplier: i.multiplier, currency: i.currency).units)
        } catch {
            return .failed
        }
    }

    /// Why ``compute(_:averagePrice:)`` failed for these inputs.
    static func error(_ i: Inputs, averagePrice: Price?) -> ArithmeticError {
        guard let px = i.mark ?? averagePrice else { return ArithmeticError(.overflow, "no price") }
        do throws(ArithmeticError) {
            _ = try Money.notional(price: px, quantity: Quantity(units: i.net), multiplier: i.multiplier, currency: i.currency)
            return ArithmeticError(.overflow, "notional overflows")
        } catch {
            return error
        }
    }
}

private struct PnLSeries: Sendable {
    var lastAt: Timestamp?
    var lastValue: Int128 = 0
    var changes: [Double] = []
}

/// Decimal text of a 128-bit count of 10⁻⁸ units (quantities in messages).
private func qtext(_ units: Int128) -> String {
    if let u = Int64(exactly: units) { return Quantity(units: u).description }
    return "\(units)e-8"
}

/// Decimal text of a 128-bit money amount with its currency.
private func text(_ units: Int128, _ currency: Currency) -> String {
    if let u = Int64(exactly: units) { return Money(units: u, currency: currency).description }
    return "\(units)e-8 \(currency)"
}

/// A statistic for a message, to two decimals.
private func rounded(_ x: Double) -> String {
    guard x.isFinite else { return "\(x)" }
    let cents = (x * 100).rounded()
    guard abs(cents) < 9e15 else { return "\(x)" }
    let c = Int64(cents)
    let sign = c < 0 ? "-" : ""
    let a = abs(c)
    let frac = a % 100
    return "\(sign)\(a / 100).\(frac < 10 ? "0" : "")\(frac)"
}
