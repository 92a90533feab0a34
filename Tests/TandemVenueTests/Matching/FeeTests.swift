import Testing
import TandemCore
import TandemVenue

@Suite struct FeeTests {
    static let fees = FeeSchedule(maker: FeeRate(hundredthsOfBasisPoint: -20), taker: FeeRate(hundredthsOfBasisPoint: 250))
    /// Fine lots, so fees fall between 10⁻⁸ steps and rounding shows.
    static let coin = Instrument(id: InstrumentID(5), symbol: "BTCUSD", venue: "TNDM", tickSize: V.px("0.01"), lotSize: V.qty("0.00001"), currency: .usd)

    static func fill(_ config: MatchingEngineConfig, _ instrument: Instrument, _ quantity: String, _ price: String) -> Fill? {
        var d = Driver(config)
        d.order("M", .sell, quantity, .limit(V.px(price)), instrument: instrument)
        return d.order("T", .buy, quantity, .limit(V.px(price)), session: V.s2, account: V.a2, instrument: instrument).fills.first
    }

    @Test func makerRebateAndTakerFeeAreExact() throws {
        let f = try #require(Self.fill(V.config(fees: Self.fees), V.xyz, "7", "100.03"))
        // Notional 700.21: taker 2.5 bp = 0.1750525, maker −0.2 bp = −0.0140042, both exact at 10⁻⁸.
        #expect(f.taker.fee == V.usd("0.1750525"))
        #expect(f.maker.fee == V.usd("-0.0140042"))
    }

    @Test func contractMultiplierScalesTheFee() throws {
        let f = try #require(Self.fill(V.config(fees: Self.fees), V.fut, "2", "4000.25"))
        // 2 × 4000.25 × 50 = 400,025: taker 2.5 bp = 100.00625, maker −0.2 bp = −8.0005.
        #expect(f.taker.fee == V.usd("100.00625") && f.maker.fee == V.usd("-8.0005"))
    }

    @Test(arguments: [
        // (rounding, fee units for +1.5, +2.5 and −2.5 units of exact fee)
        (RoundingRule.halfEven, [2, 2, -2]),
        (.halfAwayFromZero, [2, 3, -3]),
        (.halfTowardZero, [1, 2, -2]),
        (.up, [2, 3, -2]),
        (.down, [1, 2, -3]),
        (.towardZero, [1, 2, -2]),
        (.awayFromZero, [2, 3, -3]),
    ])
    func feesRoundOnceByTheConfiguredRule(rule: RoundingRule, expected: [Int64]) throws {
        let schedule = FeeSchedule(maker: FeeRate(hundredthsOfBasisPoint: -1), taker: FeeRate(hundredthsOfBasisPoint: 1), rounding: rule)
        let config = MatchingEngineConfig(instruments: [VenueInstrument(Self.coin, maxOrderQuantity: V.qty("100"), fees: schedule)])
        // 100.00 × 0.00015 × 10⁻⁶ = 1.5 × 10⁻⁸; 100.00 × 0.00025 × 10⁻⁶ = 2.5 × 10⁻⁸.
        let a = try #require(Self.fill(config, Self.coin, "0.00015", "100.00"))
        let b = try #require(Self.fill(config, Self.coin, "0.00025", "100.00"))
        #expect([a.taker.fee.units, b.taker.fee.units, b.maker.fee.units] == expected)
        #expect(a.taker.fee.currency == .usd)
    }

    @Test func feeRatesParseExactly() throws {
        #expect(try FeeRate(basisPoints: "2.5") == FeeRate(hundredthsOfBasisPoint: 250))
        #expect(try FeeRate(basisPoints: "-0.25") == FeeRate(hundredthsOfBasisPoint: -25))
        #expect(FeeRate.basisPoints(3) == FeeRate(hundredthsOfBasisPoint: 300))
        #expect(throws: ArithmeticError.self) { try FeeRate(basisPoints: "0.125") }
        #expect(FeeRate(hundredthsOfBasisPoint: 250).description == "2.5 bp")
    }

    @Test func zeroFeesAreZeroInTheInstrumentsCurrency() throws {
        let f = try #require(Self.fill(V.config(), V.xyz, "1", "10"))
        #expect(f.maker.fee == .zero(.usd) && f.taker.fee == .zero(.usd))
    }

    @Test func largestTradeTheLimitsAllowDoesNotOverflow() throws {
        // The default band is the widest whose notional fits Money at the maximum quantity; 100 % fees.
        let schedule = FeeSchedule(maker: FeeRate(hundredthsOfBasisPoint: -1_000_000), taker: FeeRate(hundredthsOfBasisPoint: 1_000_000))
        let v = VenueInstrument(V.xyz, maxOrderQuantity: V.qty("1000000"), fees: schedule)
        let f = try #require(Self.fill(MatchingEngineConfig(instruments: [v]), V.xyz, "1000000", v.maxPrice.description))
        #expect(f.taker.fee.units == v.maxPrice.units * 1_000_000)  // 92,233,720,000 USD, the whole notional
        #expect(f.maker.fee.units == -f.taker.fee.units)
    }
}
