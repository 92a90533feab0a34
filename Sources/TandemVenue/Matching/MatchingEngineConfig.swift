import TandemCore

/// What happens when an incoming order would trade with a resting order of the same
/// self-trade key (its ``SelfTradeGroup`` if it has one, else its account).
public enum SelfTradePrevention: UInt8, Sendable, Hashable, CaseIterable {
    /// They trade (a wash trade).
    case none
    /// The resting order is canceled; the incoming order goes on matching behind it.
    case cancelResting
    /// The incoming order's remainder is canceled; the resting order stays.
    case cancelIncoming
    /// Both are canceled.
    case cancelBoth
}

/// A fee rate as a fraction of traded notional, in hundredths of a basis point (10⁻⁶):
/// `FeeRate(hundredthsOfBasisPoint: 250)` is 2.5 bp = 0.025 %. Negative is a rebate.
///
/// Basis points rather than per-unit fees because one schedule then fits every instrument of a
/// venue whatever its price; hundredths of a basis point are finer than fee tiers in common use
/// (0.1 bp steps). Limited to ±100 % (`±1_000_000`).
public struct FeeRate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var hundredthsOfBasisPoint: Int64
    public init(hundredthsOfBasisPoint: Int64) { self.hundredthsOfBasisPoint = hundredthsOfBasisPoint }
    public static let zero = FeeRate(hundredthsOfBasisPoint: 0)

    /// A whole number of basis points.
    public static func basisPoints(_ bp: Int64) -> FeeRate { FeeRate(hundredthsOfBasisPoint: bp * 100) }

    /// Exactly parses basis points with at most two decimals: `"2.5"`, `"-0.25"`.
    public init(basisPoints text: String) throws(ArithmeticError) {
        let q = try Quantity(text)  // same exact decimal grammar, 8 places
        guard q.units % 1_000_000 == 0 else {
            throw ArithmeticError(.excessPrecision, "fee rate \(text) bp has more than two decimals")
        }
        self.hundredthsOfBasisPoint = q.units / 1_000_000
    }

    public static func < (lhs: FeeRate, rhs: FeeRate) -> Bool { lhs.hundredthsOfBasisPoint < rhs.hundredthsOfBasisPoint }
    public var description: String {
        let q = Quantity(units: hundredthsOfBasisPoint * 1_000_000)
        return "\(q) bp"
    }
}

/// Maker and taker rates, and the one rounding applied to each fee.
///
/// A fee is `price × quantity × multiplier × rate`, computed exactly in 128 bits and rounded once
/// to 10⁻⁸ of the instrument's currency by `rounding`. The engine's limits (``VenueInstrument``)
/// guarantee it cannot overflow.
public struct FeeSchedule: Sendable, Hashable {
    public var maker: FeeRate
    public var taker: FeeRate
    public var rounding: RoundingRule

    public init(maker: FeeRate = .zero, taker: FeeRate = .zero, rounding: RoundingRule = .halfEven) {
        self.maker = maker
        self.taker = taker
        self.rounding = rounding
    }

    public static let free = FeeSchedule()
}

/// An instrument as the venue trades it: the core ``Instrument`` (tick, lot, multiplier, currency)
/// plus the venue's own limits and fees.
///
/// The limits are also what make every fill's arithmetic safe: `maxPrice × maxOrderQuantity ×
/// multiplier` must fit in `Money` (checked by ``MatchingEngineConfig/validate()``), so notionals
/// and fees never overflow and the engine never traps on input.
public struct VenueInstrument: Sendable, Hashable {
    public var instrument: Instrument
    public var maxOrderQuantity: Quantity
    /// Lowest and highest accepted limit or stop price (inclusive). Defaults to the widest band the
    /// quantity limit allows, symmetric around zero (negative prices are valid for spreads).
    public var minPrice: Price
    public var maxPrice: Price
    public var fees: FeeSchedule

    public init(_ instrument: Instrument, maxOrderQuantity: Quantity? = nil, minPrice: Price? = nil, maxPrice: Price? = nil, fees: FeeSchedule = .free) {
        self.instrument = instrument
        let maxQty = maxOrderQuantity ?? Quantity(units: 1_000_000 * 100_000_000)
        self.maxOrderQuantity = maxQty
        let band = Self.widestPrice(maxQuantity: maxQty, multiplier: instrument.multiplier, tick: instrument.tickSize)
        self.maxPrice = maxPrice ?? band
        self.minPrice = minPrice ?? Price(units: -band.units)
        self.fees = fees
    }

    /// The largest price (a multiple of `tick`) at which `maxQuantity` still has a notional within `Money`.
    static func widestPrice(maxQuantity: Quantity, multiplier: Ratio, tick: Price) -> Price {
        guard maxQuantity.units > 0, tick.units > 0 else { return .zero }
        // notional units = p × q × num / (1e8 × den) ≤ Int64.max  ⇔  p ≤ Int64.max × 1e8 × den / (q × num)
        let limit = Int128(Int64.max) * 100_000_000 * Int128(multiplier.denominator) / (Int128(maxQuantity.units) * Int128(multiplier.numerator))
        let capped = min(limit, Int128(Int64.max / 2))
        return Price(units: Int64(capped - capped % Int128(tick.units)))
    }
}

/// A configuration error found by ``MatchingEngine/init(config:)``.
public struct VenueConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var instrument: InstrumentID?
    public var message: String
    public var description: String {
        instrument.map { "venue instrument \($0): \(message)" } ?? "venue config: \(message)"
    }
}

public struct MatchingEngineConfig: Sendable, Hashable {
    public var instruments: [VenueInstrument]
    public var selfTradePrevention: SelfTradePrevention
    /// How many finished ClOrdIDs (filled, canceled, expired, replaced) are remembered per engine,
    /// oldest forgotten first: a cancel of one is refused as `tooLateToCancel` rather than
    /// `unknownOrder`, and a new order may not reuse it (`duplicateClOrdID`). Live orders are
    /// always remembered.
    public var rememberedFinishedOrders: Int

    public init(instruments: [VenueInstrument], selfTradePrevention: SelfTradePrevention = .none, rememberedFinishedOrders: Int = 65_536) {
        self.instruments = instruments
        self.selfTradePrevention = selfTradePrevention
        self.rememberedFinishedOrders = rememberedFinishedOrders
    }

    /// Checks every instrument's increments, band, limits and fee rates.
    public func validate() throws(VenueConfigError) {
        var seen = Set<InstrumentID>()
        for v in instruments {
            let id = v.instrument.id
            func fail(_ m: String) -> VenueConfigError { VenueConfigError(instrument: id, message: m) }
            guard seen.insert(id).inserted else { throw fail("defined twice") }
            guard v.instrument.tickSize.units > 0 else { throw fail("tick size must be positive") }
            guard v.instrument.lotSize.units > 0 else { throw fail("lot size must be positive") }
            guard v.maxOrderQuantity.units > 0 else { throw fail("maximum order quantity must be positive") }
            guard v.minPrice <= v.maxPrice else { throw fail("price band is empty") }
            guard v.minPrice.units > Int64.min / 2, v.maxPrice.units < Int64.max / 2 else { throw fail("price band is too wide") }
            for rate in [v.fees.maker, v.fees.taker] where abs(rate.hundredthsOfBasisPoint) > 1_000_000 {
                throw fail("fee rate \(rate) exceeds 100 %")
            }
            // Largest notional and fee numerator, computed with overflow checks once here so the
            // matching loop can use plain arithmetic.
            let p = Int128(max(abs(v.minPrice.units), abs(v.maxPrice.units)))
            let q = Int128(v.maxOrderQuantity.units)
            let (pqn, o1) = (p * q).multipliedReportingOverflow(by: Int128(v.instrument.multiplier.numerator))
            let (_, o2) = pqn.multipliedReportingOverflow(by: 1_000_000)
            guard !o1, !o2 else { throw fail("max price × max quantity × multiplier overflows the fee arithmetic") }
            let notional = pqn / (100_000_000 * Int128(v.instrument.multiplier.denominator))
            guard notional <= Int128(Int64.max) else {
                throw fail("max price \(v.maxPrice) × max quantity \(v.maxOrderQuantity) exceeds the Money range")
            }
        }
        guard rememberedFinishedOrders >= 0 else { throw VenueConfigError(instrument: nil, message: "rememberedFinishedOrders must not be negative") }
    }
}
