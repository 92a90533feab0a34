import Testing
import TandemCore
import TandemNode

/// `risk.dayRollUTC`: the session calendar that feeds the engine's `dayRolled`.
@Suite struct DayRollTests {
    static func at(_ day: Int64, _ h: Int64, _ m: Int64, _ s: Int64 = 0) -> Timestamp {
        Timestamp(nanosecondsSinceEpoch: ((day * 24 + h) * 3600 + m * 60 + s) * 1_000_000_000)
    }

    @Test func parsesHHMMOnly() {
        #expect(DayRoll("00:00")?.minuteOfDay == 0)
        #expect(DayRoll("21:30")?.minuteOfDay == 21 * 60 + 30)
        #expect(DayRoll("23:59")?.description == "23:59")
        #expect(DayRoll("07:05")?.description == "07:05")
        for bad in ["24:00", "12:60", "7:00", "07:5", "0700", "07-00", "", " 07:00", "+1:00", "ab:cd"] {
            #expect(DayRoll(bad) == nil, "\(bad)")
        }
    }

    @Test func theRollInstantStartsTheNewDay() throws {
        let roll = try #require(DayRoll("21:00"))
        #expect(roll.day(of: Self.at(100, 20, 59, 59)) == 99)
        #expect(roll.day(of: Self.at(100, 21, 0)) == 100)
        #expect(roll.day(of: Self.at(101, 20, 59)) == 100)
        #expect(DayRoll.midnight.day(of: Self.at(100, 0, 0)) == 100)
        #expect(DayRoll.midnight.day(of: Self.at(100, 0, 0)) - DayRoll.midnight.day(of: Self.at(99, 23, 59, 59)) == 1)
        // Before 1970: floor, not truncation.
        #expect(DayRoll.midnight.day(of: Timestamp(nanosecondsSinceEpoch: -1)) == -1)
        #expect(DayRoll.midnight.day(of: Timestamp(nanosecondsSinceEpoch: .min)) < 0)
    }

    @Test func configKeyDefaultsAndErrorsNameTheKey() throws {
        #expect(try parse(minimalYAML).risk.dayRollUTC == .midnight)
        #expect(try parse(minimalYAML + "\nrisk:\n  dayRollUTC: \"21:00\"\n").risk.dayRollUTC == DayRoll("21:00"))
        let error = failure(minimalYAML + "\nrisk:\n  dayRollUTC: \"25:00\"\n")
        let found = try #require(issue(at: "risk.dayRollUTC", in: error))
        #expect(found.message == #"expected a UTC time of day HH:MM (00:00–23:59), got "25:00""#)
        let unknown = failure(minimalYAML + "\nrisk:\n  dayrollutc: \"21:00\"\n")
        #expect(issue(at: "risk.dayrollutc", in: unknown)?.message.contains("did you mean dayRollUTC?") == true)
        #expect(try parse(minimalYAML, environment: ["TANDEM__risk__dayRollUTC": "06:30"]).risk.dayRollUTC == DayRoll("06:30"))
    }
}
