import PropertyBased
import Testing
import TandemCore
@testable import TandemRisk

/// Position sizing under extreme inputs: volatility from 10⁻¹⁵ to 10⁸ (and zero, negative, NaN,
/// infinite), equity up to 10¹⁰, prices from one tick to 10⁷, lots from 1 to 1 000, any multiplier.
/// The size is never negative, always whole lots, and within every limit that applies.
@Suite struct SizingPropertyTests {
    static let input = zip(Gen.int(in: -16...8), Gen.int64(in: 1...9_999), Gen.int64(in: 0...10_000_000_000), Gen.int64(in: 1...1_000_000_000_000_000),
                           zip(Gen.int64(in: 1...1_000), Gen.int64(in: 1...100), Gen.int64(in: 1...5_000), Gen.int64(in: 1...20_000)))

    @Test func sizeStaysWithinEveryLimitForExtremeVolatility() async {
        await propertyCheck(count: 2_000, input: Self.input) { exponent, mantissa, equityWhole, priceUnits, rest in
            let (lotWhole, multiplier, maxPositionLots, maxOrderLots) = rest
            // exponent −16 stands for the non-finite and non-positive cases.
            let sigma: Double = switch (exponent, mantissa % 4) {
            case (-16, 0): .nan
            case (-16, 1): .infinity
            case (-16, 2): -Double(mantissa) / 1_000
            case (-16, _): 0
            default: Double(mantissa) * pow10(exponent) / 1_000
            }
            let lot = Quantity(units: lotWhole * 100_000_000)
            guard let ratio = try? Ratio(multiplier) else { Issue.record("ratio"); return }
            let instrument = Instrument(id: InstrumentID(1), symbol: "X", venue: "SIM", tickSize: Price(units: 1), lotSize: lot,
                                        multiplier: ratio, currency: .usd)
            var limits = RiskLimits()
            limits.maxPosition = Quantity(units: maxPositionLots * 100_000_000)
            limits.maxOrderQuantity = Quantity(units: maxOrderLots * 100_000_000)
            limits.maxOrderNotional = Amount(units: 1_000_000_000 * 100_000_000)
            let price = Price(units: priceUnits)
            let size = PositionSizer.targetQuantity(equity: Money(units: equityWhole * 100_000_000, currency: .usd), price: price,
                                                    volatility: sigma, instrument: instrument, targetRiskBasisPoints: 100, limits: limits)
            #expect(size.units >= 0)
            #expect(size.units % lot.units == 0, "size \(size) is not whole lots of \(lot)")
            #expect(size.units <= limits.maxPosition.units && size.units <= limits.maxOrderQuantity.units)
            // Notional at the price, exactly: price × quantity × multiplier ≤ the cap.
            let notional = Int128(price.units) * Int128(size.units) * Int128(multiplier) / 100_000_000
            #expect(notional <= Int128(limits.maxOrderNotional.units), "σ \(sigma): \(size) at \(price) × \(multiplier) is over the notional cap")
            if !sigma.isFinite || sigma <= 0 || equityWhole == 0 { #expect(size == .zero) }
        }
    }
}

private func pow10(_ e: Int) -> Double {
    var r = 1.0
    if e >= 0 { for _ in 0..<e { r *= 10 } } else { for _ in 0..<(-e) { r /= 10 } }
    return r
}
