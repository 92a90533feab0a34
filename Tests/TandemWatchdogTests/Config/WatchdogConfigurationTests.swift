import TandemCore
import TandemWatchdog
import Testing

@Suite("Watchdog configuration")
struct WatchdogConfigurationTests {
    let key = String(repeating: "ab", count: 32)
    var base: String {
        """
        id: wd1
        database:
          dsn: "host=/tmp user=tandem_watchdog"
        instruments:
          - id: 1
            symbol: ACME
            tickSize: "0.01"
            currency: USD
        limits:
          maxDailyLoss: "1000"
          maxPosition: "500"
          flattenOnBreach: true
        """
    }

    @Test("a complete file parses with exact decimals and the key from the environment")
    func parses() throws {
        let c = try WatchdogConfiguration.parse(base, environment: ["TANDEM_RISK_KEY": key])
        let tick = try Price("0.01")
        #expect(c.id == "wd1" && c.instruments.count == 1 && c.instruments[0].tickSize == tick)
        #expect(c.limits.maxDailyLoss == Money(units: 1000 * 100_000_000, currency: Currency(code: "USD")!))
        let maxPosition = try Quantity("500")
        #expect(c.limits.maxPosition == maxPosition)
        #expect(c.limits.flattenOnBreach && c.key.count == 32)
        #expect(c.venue.dropCopyCompID == "TANDEM-DC" && c.venue.engineSessions == ["TANDEM"])
    }

    @Test("errors name the key: unknown key, float money, missing key, short key, bad currency")
    func errors() {
        func message(_ text: String, env: [String: String]? = nil) -> String {
            do {
                _ = try WatchdogConfiguration.parse(text, file: "wd.yaml", environment: env ?? ["TANDEM_RISK_KEY": key])
                return "parsed"
            } catch {
                return error.message
            }
        }
        #expect(message(base + "\n  maxDailyLos: \"1\"").contains("limits.maxDailyLos is not a known key"))
        #expect(message(base.replacingOccurrences(of: "\"1000\"", with: "1000.5")).contains("limits.maxDailyLoss must be a decimal written as a string"))
        #expect(message(base, env: [:]).contains("keyFile is required"))
        #expect(message(base, env: ["TANDEM_RISK_KEY": "abcd"]).contains("the key has 2 bytes"))
        #expect(message(base.replacingOccurrences(of: "currency: USD", with: "currency: us-dollar")).contains("instruments[0].currency"))
        #expect(message(base.replacingOccurrences(of: "  dsn: \"host=/tmp user=tandem_watchdog\"", with: "  x: 1")).contains("database.x is not a known key"))
        #expect(message("id: [").contains("wd.yaml: not valid YAML"))
    }
}
