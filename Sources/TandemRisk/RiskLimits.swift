import TandemCore

/// Per-instrument overrides of the default order and position limits; a field left `nil` uses the
/// default from ``RiskLimits``.
public struct InstrumentLimits: Sendable, Hashable {
    /// The instrument these overrides apply to.
    public var instrument: InstrumentID
    /// Largest quantity of one new order (rule `max_order_quantity`).
    public var maxOrderQuantity: Quantity?
    /// Largest notional of one new order, in the instrument's currency (rule `max_order_notional`).
    public var maxOrderNotional: Amount?
    /// Largest |net position| per account after the order, counting open orders on its side (rule `max_position`).
    public var maxPosition: Quantity?
    /// Price collar in basis points around the reference price (rule `price_collar`).
    public var priceCollarBasisPoints: Int64?
    /// Largest unrealized loss of one position before it becomes reducing-only (rule `per_trade_loss`).
    public var perTradeLossLimit: Amount?

    public init(
        instrument: InstrumentID, maxOrderQuantity: Quantity? = nil, maxOrderNotional: Amount? = nil,
        maxPosition: Quantity? = nil, priceCollarBasisPoints: Int64? = nil, perTradeLossLimit: Amount? = nil
    ) {
        self.instrument = instrument
        self.maxOrderQuantity = maxOrderQuantity
        self.maxOrderNotional = maxOrderNotional
        self.maxPosition = maxPosition
        self.priceCollarBasisPoints = priceCollarBasisPoints
        self.perTradeLossLimit = perTradeLossLimit
    }
}

/// What the engine does when a position's unrealized loss exceeds its per-trade loss limit.
public enum PerTradeLossAction: String, Sendable, Hashable, Codable {
    /// The position's (account, instrument) becomes reducing-only until it is flat.
    case reduceOnly = "reduce_only"
    /// The breach is reported (``RiskOutput/breach(rule:reason:at:)``) and nothing is restricted.
    case report
}

/// The configuration of ``RiskEngine``. Every money amount is compared with the totals of each
/// currency separately (there is no FX conversion): a limit of 100 000 means 100 000 USD for USD
/// instruments and 100 000 EUR for EUR instruments. Durations are in milliseconds.
///
/// In configuration files (JSON or YAML through `Codable`) prices, quantities and amounts are
/// decimal strings (`"1000"`, `"0.5"`), parsed exactly; every field may be omitted and then takes
/// the default shown. Call ``validate()`` after decoding.
public struct RiskLimits: Sendable, Hashable {
    // MARK: Order limits
    /// Largest quantity of one new order. Default 10 000.
    public var maxOrderQuantity: Quantity = Quantity(units: 10_000 * 100_000_000)
    /// Largest notional (price × quantity × multiplier) of one new order; market and stop orders are
    /// valued at the collar's worst price. Default 1 000 000.
    public var maxOrderNotional: Amount = Amount(whole: 1_000_000)
    /// Price collar (fat-finger check) in basis points of the reference price: a buy above
    /// reference × (1 + bps/10 000) or a sell below reference × (1 − bps/10 000) is refused. Default 500 (5 %).
    public var priceCollarBasisPoints: Int64 = 500
    /// When true, an order that is not reducing is refused (`no_reference_price`) if the caller has
    /// no mark for its instrument. Default true.
    public var requireReferencePrice: Bool = true

    // MARK: Position and exposure
    /// Largest |net position| of one (account, instrument) after the order, counting the open
    /// orders on the order's side as filled. Default 50 000.
    public var maxPosition: Quantity = Quantity(units: 50_000 * 100_000_000)
    /// Largest gross exposure: Σ |net × mark × multiplier| over the book, per currency, after the
    /// order (its open orders on the order's side included). Default 10 000 000.
    public var maxGrossExposure: Amount = Amount(whole: 10_000_000)
    /// Largest |net exposure|: |Σ net × mark × multiplier| over the book, per currency. Default 5 000 000.
    public var maxNetExposure: Amount = Amount(whole: 5_000_000)
    /// Largest number of open (non-final) orders in the book, the new one included. Default 200.
    public var maxOpenOrders: Int = 200

    // MARK: Rates
    /// Largest number of new orders accepted in any `orderRateWindowMs`. Default 50.
    public var maxOrdersPerWindow: Int = 50
    /// Window of the order rate, milliseconds. Default 1 000.
    public var orderRateWindowMs: Int64 = 1_000
    /// Largest number of outbound messages (new, cancel, replace, as recorded by the caller) in any
    /// `messageRateWindowMs`; a new order counts as one more. Default 200.
    public var maxMessagesPerWindow: Int = 200
    /// Window of the message rate, milliseconds. Default 1 000.
    public var messageRateWindowMs: Int64 = 1_000

    // MARK: Loss
    /// Largest unrealized loss of one position (at the mark). Default 50 000.
    public var perTradeLossLimit: Amount = Amount(whole: 50_000)
    /// What a per-trade loss breach does. Default `reduce_only`.
    public var perTradeLossAction: PerTradeLossAction = .reduceOnly
    /// Largest loss of the day (realized − fees + unrealized, against the start of the day) before
    /// the engine goes HALTED. Default 100 000.
    public var maxDailyLoss: Amount = Amount(whole: 100_000)
    /// Largest fall of the day's P&L from its peak of the day before the engine goes REDUCING. Default 75 000.
    public var maxDrawdown: Amount = Amount(whole: 75_000)

    // MARK: Circuit breakers (each trips to HALTED)
    /// Venue rejects within `rejectWindowMs` that trip the breaker. Default 10.
    public var maxRejectsPerWindow: Int = 10
    /// Window of the reject breaker, milliseconds. Default 60 000.
    public var rejectWindowMs: Int64 = 60_000
    /// An instrument with a mark older than this (ms) trips the stale-data breaker. Default 5 000; 0 disables.
    public var staleMarkAfterMs: Int64 = 5_000
    /// Venue disconnects within `disconnectWindowMs` that trip the breaker. Default 3.
    public var maxDisconnectsPerWindow: Int = 3
    /// Window of the disconnect breaker, milliseconds. Default 300 000.
    public var disconnectWindowMs: Int64 = 300_000
    /// A P&L change of more than this many standard deviations of the recent changes trips the
    /// breaker. Default 6; 0 disables.
    public var pnlSigmaLimit: Int64 = 6
    /// P&L is sampled at most once per this many ms (the changes between samples are the statistic). Default 1 000.
    public var pnlSampleIntervalMs: Int64 = 1_000
    /// Changes kept for the standard deviation. Default 300.
    public var pnlSigmaWindow: Int = 300
    /// Changes needed before the K-sigma breaker is armed. Default 30.
    public var pnlSigmaMinimumSamples: Int = 30

    // MARK: Overrides
    /// Per-instrument overrides of the order, position, collar and per-trade loss limits.
    public var instruments: [InstrumentLimits] = []

    public init() {}

    /// The overrides for one instrument, if any.
    public func overrides(for instrument: InstrumentID) -> InstrumentLimits? {
        instruments.first { $0.instrument == instrument }
    }

    /// Throws ``RiskLimitsError`` naming the first bad field.
    public func validate() throws(RiskLimitsError) {
        func positive(_ q: Quantity, _ field: String) throws(RiskLimitsError) {
            if q.units <= 0 { throw RiskLimitsError(field: field, message: "must be positive, got \(q)") }
        }
        func positive(_ m: Amount, _ field: String) throws(RiskLimitsError) {
            if m.units <= 0 { throw RiskLimitsError(field: field, message: "must be positive, got \(m)") }
        }
        func positive(_ v: Int64, _ field: String) throws(RiskLimitsError) {
            if v <= 0 { throw RiskLimitsError(field: field, message: "must be positive, got \(v)") }
        }
        func nonNegative(_ v: Int64, _ field: String) throws(RiskLimitsError) {
            if v < 0 { throw RiskLimitsError(field: field, message: "must not be negative, got \(v)") }
        }
        func collar(_ v: Int64, _ field: String) throws(RiskLimitsError) {
            if v <= 0 || v >= 10_000 { throw RiskLimitsError(field: field, message: "must be in 1...9999 basis points, got \(v)") }
        }
        try positive(maxOrderQuantity, "maxOrderQuantity")
        try positive(maxOrderNotional, "maxOrderNotional")
        try collar(priceCollarBasisPoints, "priceCollarBasisPoints")
        try positive(maxPosition, "maxPosition")
        try positive(maxGrossExposure, "maxGrossExposure")
        try positive(maxNetExposure, "maxNetExposure")
        try positive(Int64(maxOpenOrders), "maxOpenOrders")
        try positive(Int64(maxOrdersPerWindow), "maxOrdersPerWindow")
        try positive(orderRateWindowMs, "orderRateWindowMs")
        try positive(Int64(maxMessagesPerWindow), "maxMessagesPerWindow")
        try positive(messageRateWindowMs, "messageRateWindowMs")
        try positive(perTradeLossLimit, "perTradeLossLimit")
        try positive(maxDailyLoss, "maxDailyLoss")
        try positive(maxDrawdown, "maxDrawdown")
        try positive(Int64(maxRejectsPerWindow), "maxRejectsPerWindow")
        try positive(rejectWindowMs, "rejectWindowMs")
        try nonNegative(staleMarkAfterMs, "staleMarkAfterMs")
        try positive(Int64(maxDisconnectsPerWindow), "maxDisconnectsPerWindow")
        try positive(disconnectWindowMs, "disconnectWindowMs")
        try nonNegative(pnlSigmaLimit, "pnlSigmaLimit")
        try positive(pnlSampleIntervalMs, "pnlSampleIntervalMs")
        try positive(Int64(pnlSigmaWindow), "pnlSigmaWindow")
        if pnlSigmaMinimumSamples < 2 || pnlSigmaMinimumSamples > pnlSigmaWindow {
            throw RiskLimitsError(field: "pnlSigmaMinimumSamples", message: "must be in 2...pnlSigmaWindow (\(pnlSigmaWindow)), got \(pnlSigmaMinimumSamples)")
        }
        var seen: Set<InstrumentID> = []
        for (i, o) in instruments.enumerated() {
            let p = "instruments[\(i)]"
            if !seen.insert(o.instrument).inserted {
                throw RiskLimitsError(field: "\(p).instrument", message: "instrument \(o.instrument.rawValue) has overrides twice")
            }
            if let q = o.maxOrderQuantity { try positive(q, "\(p).maxOrderQuantity") }
            if let m = o.maxOrderNotional { try positive(m, "\(p).maxOrderNotional") }
            if let q = o.maxPosition { try positive(q, "\(p).maxPosition") }
            if let b = o.priceCollarBasisPoints { try collar(b, "\(p).priceCollarBasisPoints") }
            if let m = o.perTradeLossLimit { try positive(m, "\(p).perTradeLossLimit") }
        }
    }
}

/// A configuration value that ``RiskLimits/validate()`` or decoding refused: which field and why.
public struct RiskLimitsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The field's name as written in the configuration (`instruments[2].maxPosition`).
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "risk limits: \(field) \(message)" }
}
