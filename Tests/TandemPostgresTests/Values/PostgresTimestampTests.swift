import TandemPostgres
import Testing

@Suite("timestamptz text format")
struct PostgresTimestampTests {
    @Test("formats UTC with microseconds", arguments: [
        (Int64(0), "1970-01-01 00:00:00.000000+00"),
        (Int64(1_764_095_536_123_456_789), "2025-11-25 18:32:16.123456+00"),
        (Int64(-1), "1969-12-31 23:59:59.999999+00"),
        (Int64(951_782_400_000_000_000), "2000-02-29 00:00:00.000000+00"),
    ])
    func format(nanos: Int64, text: String) {
        #expect(PostgresTimestamp(nanosecondsSinceEpoch: nanos).description == text)
    }

    @Test("parses the server's forms, any offset")
    func parse() {
        #expect(PostgresTimestamp(text: "1970-01-01 00:00:00+00")?.nanosecondsSinceEpoch == 0)
        #expect(PostgresTimestamp(text: "1970-01-01 05:30:00.5+05:30")?.nanosecondsSinceEpoch == 500_000_000)
        #expect(PostgresTimestamp(text: "1969-12-31 19:00:00-05")?.nanosecondsSinceEpoch == 0)
        #expect(PostgresTimestamp(text: "2025-11-25T18:32:16.123456Z")?.nanosecondsSinceEpoch == 1_764_095_536_123_456_000)
        #expect(PostgresTimestamp(text: "infinity") == nil)
        #expect(PostgresTimestamp(text: "2025-13-01 00:00:00+00") == nil)
        #expect(PostgresTimestamp(text: "2025-11-25 18:32:16+00junk") == nil)
    }
}
