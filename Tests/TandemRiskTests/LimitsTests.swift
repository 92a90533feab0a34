import Foundation
import Testing
import TandemCore
@testable import TandemRisk

@Suite struct LimitsTests {
    @Test func defaultsAreValid() throws {
        try RiskLimits().validate()
        try testLimits().validate()
    }

    @Test func validationNamesTheBadField() {
        var l = RiskLimits()
        l.maxDrawdown = amt("0")
        #expect(throws: RiskLimitsError(field: "maxDrawdown", message: "must be positive, got 0")) { try l.validate() }
        l = RiskLimits()
        l.priceCollarBasisPoints = 10_000
        #expect { try l.validate() } throws: { ($0 as? RiskLimitsError)?.field == "priceCollarBasisPoints" }
        l = RiskLimits()
        l.instruments = [InstrumentLimits(instrument: InstrumentID(1)), InstrumentLimits(instrument: InstrumentID(2), maxPosition: qty("-1"))]
        #expect { try l.validate() } throws: { ($0 as? RiskLimitsError)?.field == "instruments[1].maxPosition" }
        l = RiskLimits()
        l.pnlSigmaMinimumSamples = 1
        #expect { try l.validate() } throws: { ($0 as? RiskLimitsError)?.field == "pnlSigmaMinimumSamples" }
    }

    @Test func codableRoundTripWithDecimalStrings() throws {
        var l = testLimits()
        l.instruments = [InstrumentLimits(instrument: InstrumentID(7), maxOrderQuantity: qty("2.5"), perTradeLossLimit: amt("12.34"))]
        l.perTradeLossAction = .report
        let data = try JSONEncoder().encode(l)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"maxOrderNotional\":\"10000\""))
        #expect(text.contains("\"perTradeLossAction\":\"report\""))
        #expect(try JSONDecoder().decode(RiskLimits.self, from: data) == l)
    }

    @Test func omittedFieldsTakeTheDefaults() throws {
        let json = #"{"maxPosition": "75", "instruments": [{"instrument": 3, "priceCollarBasisPoints": 50}]}"#
        let l = try JSONDecoder().decode(RiskLimits.self, from: Data(json.utf8))
        var expected = RiskLimits()
        expected.maxPosition = qty("75")
        expected.instruments = [InstrumentLimits(instrument: InstrumentID(3), priceCollarBasisPoints: 50)]
        #expect(l == expected)
    }

    @Test func aBadDecimalNamesItsField() {
        let json = #"{"maxDailyLoss": "1e5"}"#
        do {
            _ = try JSONDecoder().decode(RiskLimits.self, from: Data(json.utf8))
            Issue.record("decoded")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.codingPath.last?.stringValue == "maxDailyLoss")
            #expect(context.debugDescription.contains("maxDailyLoss"))
        } catch {
            Issue.record("\(error)")
        }
    }
}
