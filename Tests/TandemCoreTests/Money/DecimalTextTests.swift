import PropertyBased
import Testing
import TandemCore

@Suite struct DecimalTextTests {
    @Test(arguments: [
        ("101.25", Int64(10_125_000_000), "101.25"),
        ("-0.0001", -10_000, "-0.0001"),
        ("0", 0, "0"),
        ("-0", 0, "0"),
        ("007.50", 750_000_000, "7.5"),
        ("1.000000000000", 100_000_000, "1"),
        ("0.00000001", 1, "0.00000001"),
        ("92233720368.54775807", Int64.max, "92233720368.54775807"),
        ("-92233720368.54775808", Int64.min, "-92233720368.54775808"),
    ])
    func parsesExactly(text: String, units: Int64, canonical: String) throws {
        let p = try Price(text)
        #expect(p.units == units)
        #expect(p.description == canonical)
    }

    @Test(arguments: ["", "-", ".5", "5.", "1e3", "+1", " 1", "1 ", "1,000", "--1", "1.2.3", "0x10", "١"])
    func rejectsMalformedText(text: String) {
        #expect(throws: ArithmeticError.self) { try Quantity(text) }
        do { _ = try Quantity(text) } catch { #expect(error.code == .invalidDecimal) }
    }

    @Test func rejectsExcessPrecisionAndOverflow() {
        do { _ = try Price("0.000000001"); Issue.record("parsed") } catch { #expect(error.code == .excessPrecision) }
        do { _ = try Price("92233720368.54775808"); Issue.record("parsed") } catch { #expect(error.code == .overflow) }
        do { _ = try Price("-92233720368.54775809"); Issue.record("parsed") } catch { #expect(error.code == .overflow) }
        do { _ = try Price("99999999999999999999"); Issue.record("parsed") } catch { #expect(error.code == .overflow) }
    }

    @Test func formatThenParseRoundTripsEveryInt64() async {
        await propertyCheck(count: 2000, input: Gen.int64()) { units in
            let p = Price(units: units)
            #expect((try? Price(p.description)) == p)
            let m = Money(units: units, currency: .eur)
            #expect((try? Money(m.amountText, .eur)) == m)
        }
    }

    @Test func parseThenFormatIsCanonical() async {
        let digits = Gen.number.string(of: 1...10)
        let fraction = Gen.number.string(of: 0...8)
        await propertyCheck(count: 1000, input: digits, fraction, Gen.bool) { whole, frac, negative in
            let text = (negative ? "-" : "") + whole + (frac.isEmpty ? "" : "." + frac)
            guard let q = try? Quantity(text) else { Issue.record("failed to parse \(text)"); return }
            // Canonical form: strip leading zeros of the whole part and trailing zeros of the fraction.
            var w = String(whole.drop { $0 == "0" }); if w.isEmpty { w = "0" }
            var f = frac; while f.hasSuffix("0") { f.removeLast() }
            var expected = w + (f.isEmpty ? "" : "." + f)
            if expected != "0" && negative { expected = "-" + expected }
            #expect(q.description == expected)
        }
    }
}
