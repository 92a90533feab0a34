import Testing
import TandemCore
@testable import TandemStrategy

private let xyz = instrument(7, tick: "0.01", lot: "1", symbol: "XYZ")
private let instruments = [xyz.id: xyz, InstrumentID(8): instrument(8, symbol: "DUP"), InstrumentID(9): instrument(9, symbol: "DUP")]
private let mm = ["instrument": "7", "quoteQuantity": "5", "maxPosition": "20"]
private let ma = ["instrument": "7", "positionSize": "10"]

private func error(_ name: String, _ parameters: [String: String]) -> StrategyConfigError? {
    do {
        _ = try StrategyCatalog.make(name: name, parameters: parameters, instruments: instruments)
        return nil
    } catch {
        return error
    }
}

private func with(_ base: [String: String], _ key: String, _ value: String?) -> [String: String] {
    var p = base
    p[key] = value
    return p
}

@Suite struct CatalogTests {
    @Test func namesAndParameters() {
        #expect(StrategyCatalog.names == ["market-maker", "ma-crossover"])
        #expect(StrategyCatalog.parameters(of: "market-maker")?.map(\.name)
            == ["instrument", "quoteQuantity", "halfSpreadTicks", "maxPosition", "requoteTicks", "backoffMillis"])
        #expect(StrategyCatalog.parameters(of: "ma-crossover")?.map(\.name)
            == ["instrument", "fast", "slow", "positionSize", "source", "allowShort", "slippageTicks", "backoffMillis"])
        #expect(StrategyCatalog.parameters(of: "nope") == nil)
        #expect(StrategyCatalog.parameters(of: "market-maker")?.first { $0.name == "halfSpreadTicks" }?.default == "1")
    }

    @Test func buildsWithDefaults() throws {
        let m = try StrategyCatalog.make(name: "market-maker", parameters: mm, instruments: instruments)
        let maker = try #require(m as? MarketMaker)
        #expect(maker.quoteQuantity == qty("5") && maker.halfSpreadTicks == 1 && maker.requoteTicks == 1 && maker.backoff == .seconds(1))
        let c = try StrategyCatalog.make(name: "ma-crossover", parameters: with(ma, "instrument", "XYZ"), instruments: instruments)
        let cross = try #require(c as? MovingAverageCrossover)
        #expect(cross.instrument == xyz && cross.fast == 5 && cross.slow == 20 && cross.source == .trade && cross.allowShort)
    }

    @Test func unknownStrategyNamesNoParameter() {
        let e = error("grid-bot", [:])
        #expect(e?.parameter == nil)
        #expect(e?.message == "unknown strategy \"grid-bot\"; known: market-maker, ma-crossover")
    }

    @Test func quantityMessage() {
        let e = error("market-maker", with(mm, "quoteQuantity", "-3"))
        #expect(e == StrategyConfigError(parameter: "quoteQuantity", message: "must be a positive multiple of the lot size 1, got -3"))
        #expect(e?.description == "parameter \"quoteQuantity\": must be a positive multiple of the lot size 1, got -3")
    }

    @Test(arguments: [
        ("market-maker", with(mm, "quoteQty", "5"), "quoteQty"),                  // unknown parameter
        ("market-maker", with(mm, "instrument", nil), "instrument"),              // required
        ("market-maker", with(mm, "instrument", "99"), "instrument"),             // undefined id
        ("market-maker", with(mm, "instrument", "DUP"), "instrument"),            // ambiguous symbol
        ("market-maker", with(mm, "instrument", "NOPE"), "instrument"),
        ("market-maker", with(mm, "quoteQuantity", "0"), "quoteQuantity"),
        ("market-maker", with(mm, "quoteQuantity", "1.5"), "quoteQuantity"),      // not whole lots
        ("market-maker", with(mm, "quoteQuantity", "five"), "quoteQuantity"),
        ("market-maker", with(mm, "quoteQuantity", nil), "quoteQuantity"),
        ("market-maker", with(mm, "halfSpreadTicks", "0"), "halfSpreadTicks"),
        ("market-maker", with(mm, "halfSpreadTicks", "x"), "halfSpreadTicks"),
        ("market-maker", with(mm, "maxPosition", "4"), "maxPosition"),            // below quoteQuantity
        ("market-maker", with(mm, "maxPosition", nil), "maxPosition"),
        ("market-maker", with(mm, "requoteTicks", "-1"), "requoteTicks"),
        ("market-maker", with(mm, "backoffMillis", "-5"), "backoffMillis"),
        ("ma-crossover", with(ma, "fast", "20"), "fast"),                         // not below slow
        ("ma-crossover", with(ma, "fast", "0"), "fast"),
        ("ma-crossover", with(ma, "slow", "1"), "slow"),
        ("ma-crossover", with(ma, "slow", "100001"), "slow"),
        ("ma-crossover", with(ma, "positionSize", "-10"), "positionSize"),
        ("ma-crossover", with(ma, "positionSize", nil), "positionSize"),
        ("ma-crossover", with(ma, "source", "vwap"), "source"),
        ("ma-crossover", with(ma, "allowShort", "yes"), "allowShort"),
        ("ma-crossover", with(ma, "slippageTicks", "-1"), "slippageTicks"),
        ("ma-crossover", with(ma, "fastWindow", "3"), "fastWindow"),
    ])
    func badParameterIsNamed(name: String, parameters: [String: String], parameter: String) {
        let e = error(name, parameters)
        #expect(e?.parameter == parameter, "\(String(describing: e))")
        #expect(e?.message.isEmpty == false)
    }

    @Test func unknownParametersReportedInSortedOrder() {
        let e = error("market-maker", with(with(mm, "zeta", "1"), "alpha", "1"))
        #expect(e?.parameter == "alpha")
        #expect(e?.message == "unknown parameter for market-maker; known: instrument, quoteQuantity, halfSpreadTicks, maxPosition, requoteTicks, backoffMillis")
    }

    @Test func everyDefaultParses() throws {
        // Defaults go through the same readers as given values: a bad default would fail here.
        for name in StrategyCatalog.names {
            let required = StrategyCatalog.parameters(of: name)!.filter { $0.default == nil }.map(\.name)
            var p: [String: String] = [:]
            for r in required { p[r] = r == "instrument" ? "7" : "10" }
            _ = try StrategyCatalog.make(name: name, parameters: p, instruments: instruments)
        }
    }
}
