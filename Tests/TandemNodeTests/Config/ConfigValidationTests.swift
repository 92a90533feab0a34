import Foundation
import Testing
import TandemNode

/// Each kind of mistake is reported at its exact key path (and line, when it is in the file).
@Suite struct ConfigValidationTests {
    @Test func unknownKeySuggestsTheClosestAllowedKey() throws {
        let yaml = minimalYAML + "\ntiming:\n  heartbeatMS: 300\n"
        let error = failure(yaml)
        #expect(error.issues.count == 1)
        let found = try #require(issue(at: "timing.heartbeatMS", in: error))
        #expect(found.message.hasPrefix("unknown key; did you mean heartbeatMs?"))
        #expect(found.line == 15)
        #expect(error.description.contains("test.yaml:15: timing.heartbeatMS: unknown key; did you mean heartbeatMs?"))
    }

    @Test func unknownKeyWithoutNearMatchListsTheAllowedKeys() throws {
        let error = failure(minimalYAML + "\nexecution:\n  colour: blue\n")
        let found = try #require(issue(at: "execution.colour", in: error))
        #expect(found.message == "unknown key; allowed here: cancelOnShutdown, retryInitialMs, retryMaxMs, retryAttempts, statusRequestTimeoutMs, riskLimitsFile")
    }

    @Test func unknownTopLevelAndNestedKeys() {
        let yaml = minimalYAML
            .replacingOccurrences(of: "cluster: c1", with: "cluster: c1\nclustre: c2")
            .replacingOccurrences(of: "senderCompID: A,", with: "senderCompID: A, sendercompid: A,")
        let error = failure(yaml)
        #expect(issue(at: "clustre", in: error)?.message.contains("did you mean cluster?") == true)
        #expect(issue(at: "venues[0].sessions[0].sendercompid", in: error)?.message.contains("did you mean senderCompID?") == true)
    }

    @Test func wrongTypeNamesThePathAndTheValue() throws {
        let error = failure(minimalYAML.replacingOccurrences(of: "port: 9878", with: "port: abc"))
        let found = try #require(issue(at: "venues[0].sessions[0].port", in: error))
        #expect(found.message == #"expected an integer 1–65535, got "abc""#)
        #expect(found.line == 7)

        let range = failure(minimalYAML.replacingOccurrences(of: "port: 9878", with: "port: 70000"))
        #expect(issue(at: "venues[0].sessions[0].port", in: range)?.message == #"expected an integer 1–65535, got "70000""#)

        let mapping = failure(minimalYAML.replacingOccurrences(of: "port: 9878", with: "port: {a: 1}"))
        #expect(issue(at: "venues[0].sessions[0].port", in: mapping)?.message == "expected an integer 1–65535, got a mapping")

        let section = failure(minimalYAML + "\ntiming: 5\n")
        #expect(issue(at: "timing", in: section)?.message.hasPrefix(#"expected a mapping with keys: heartbeatMs"#) == true)

        let bool = failure(minimalYAML + "\nexecution: {cancelOnShutdown: maybe}\n")
        #expect(issue(at: "execution.cancelOnShutdown", in: bool)?.message == #"expected true or false, got "maybe""#)

        let level = failure(minimalYAML + "\nlog: {level: loud}\n")
        #expect(issue(at: "log.level", in: level)?.message.hasPrefix("expected one of trace, debug, info") == true)

        let currency = failure(minimalYAML.replacingOccurrences(of: "currency: USD", with: "currency: usd"))
        #expect(issue(at: "venues[0].instruments[0].currency", in: currency) != nil)
    }

    @Test func missingRequiredKeysAreNamedByFullPath() throws {
        let yaml = """
            venues:
              - name: V
                sessions:
                  - {host: h, senderCompID: A, targetCompID: B}
                instruments:
                  - {id: 1, symbol: ACME, tickSize: "0.01", currency: USD}
            strategy: {name: s, venue: V}
            """
        let error = failure(yaml)
        #expect(Set(error.issues.map(\.path)) == ["cluster", "node.id", "venues[0].sessions[0].port", "venues[0].instruments[0].lotSize",
                                                  "strategy.account"])
        #expect(error.issues.allSatisfy { $0.message.hasPrefix("missing required key") })
        #expect(issue(at: "venues[0].sessions[0].port", in: error)?.line == 4)

        let noVenues = failure("cluster: c\nnode: {id: n}\nvenues: []\nstrategy: {name: s, account: a, venue: V}\n")
        #expect(issue(at: "venues", in: noVenues)?.message == "expected a list of at least one venue, got an empty list")
    }

    @Test func badDecimalsNameTheInstrumentField() throws {
        let yaml = """
            cluster: c1
            node: {id: n1}
            venues:
              - name: V
                sessions:
                  - {host: 127.0.0.1, port: 9878, senderCompID: A, targetCompID: B}
                instruments:
                  - {id: 1, symbol: ACME, tickSize: "0.01", lotSize: "1", currency: USD}
                  - {id: 2, symbol: GLOBX, tickSize: "0.0x5", lotSize: "0.000000001", currency: USD, multiplier: "0"}
                  - {id: 3, symbol: ZERO, tickSize: "0", lotSize: "-1", currency: USD}
            strategy: {name: s, account: acc, venue: V}
            """
        let error = failure(yaml)
        let tick = try #require(issue(at: "venues[0].instruments[1].tickSize", in: error))
        #expect(tick.message.hasPrefix(#"expected a positive decimal such as 0.01, got "0.0x5": "#))
        #expect(tick.message.contains("not decimal text"))
        let lot = try #require(issue(at: "venues[0].instruments[1].lotSize", in: error))
        #expect(lot.message.contains("non-zero digits beyond 8 decimal places"))
        #expect(issue(at: "venues[0].instruments[1].multiplier", in: error) != nil)
        #expect(issue(at: "venues[0].instruments[2].tickSize", in: error)?.message.hasSuffix("must be greater than zero") == true)
        #expect(issue(at: "venues[0].instruments[2].lotSize", in: error) != nil)
        #expect(error.issues.count == 5)
    }

    @Test func duplicateInstrumentIDsAcrossVenues() throws {
        let yaml = minimalYAML.replacingOccurrences(of: "strategy:", with: """
              - name: W
                sessions:
                  - {host: h, port: 1, senderCompID: A, targetCompID: W}
                instruments:
                  - {id: 2, symbol: B, tickSize: "1", lotSize: "1", currency: USD}
                  - {id: 1, symbol: C, tickSize: "1", lotSize: "1", currency: USD}
            strategy:
            """)
        let error = failure(yaml)
        #expect(error.issues.count == 1)
        let found = try #require(issue(at: "venues[1].instruments[1].id", in: error))
        #expect(found.message.hasPrefix("duplicate instrument id 1 (also venues[0].instruments[0].id)"))
    }

    @Test func duplicateSymbolsAndVenueNames() {
        let yaml = minimalYAML.replacingOccurrences(of: "strategy:", with: """
              - name: V
                sessions:
                  - {host: h, port: 1, senderCompID: A, targetCompID: W}
                instruments:
                  - {id: 2, symbol: B, tickSize: "1", lotSize: "1", currency: USD}
                  - {id: 3, symbol: B, tickSize: "1", lotSize: "1", currency: USD}
            strategy:
            """)
        let error = failure(yaml)
        #expect(issue(at: "venues[1].name", in: error)?.message == #"duplicate venue name "V" (also venues[0].name)"#)
        #expect(issue(at: "venues[1].instruments[1].symbol", in: error) != nil)
        #expect(error.issues.count == 2)
    }

    @Test func duplicateSessionCompIDPairs() throws {
        let yaml = minimalYAML.replacingOccurrences(of: "      - {host: 127.0.0.1, port: 9878, senderCompID: A, targetCompID: B}", with: """
                  - {host: 127.0.0.1, port: 9878, senderCompID: A, targetCompID: B}
                  - {host: 127.0.0.1, port: 9880, senderCompID: A, targetCompID: C}
                  - {host: 127.0.0.2, port: 9878, senderCompID: A, targetCompID: B}
            """)
        let error = failure(yaml)
        #expect(error.issues.count == 1)
        let found = try #require(issue(at: "venues[0].sessions[2]", in: error))
        #expect(found.message.hasPrefix("duplicate session A→B (also venues[0].sessions[0])"))
    }

    @Test func strategyVenueMustNameAConfiguredVenue() throws {
        let error = failure(minimalYAML.replacingOccurrences(of: "  venue: V", with: "  venue: NYSE"))
        let found = try #require(issue(at: "strategy.venue", in: error))
        #expect(found.message == #"names no configured venue: "NYSE"; configured: "V""#)
        #expect(found.line == 13)
    }

    @Test func dsnAndEmbeddedTogetherIsAnError() throws {
        let error = failure(minimalYAML + "\ndatabase:\n  dsn: host=db\n  embedded: {dataDirectory: /var/lib/tandem}\n")
        let found = try #require(issue(at: "database", in: error))
        #expect(found.message.hasPrefix("set either dsn"))
        #expect(error.issues.count == 1)
        #expect(try parse(minimalYAML + "\ndatabase: {embedded: {}}\n").database == .embedded(dataDirectory: ".tandem/pg"))
        #expect(try parse(minimalYAML + "\ndatabase: {embedded: {dataDirectory: /d}}\n").database == .embedded(dataDirectory: "/d"))
    }

    @Test func timingRules() throws {
        let heartbeat = failure(minimalYAML + "\ntiming: {heartbeatMs: 1000, leaseMs: 1000}\n")
        #expect(issue(at: "timing.heartbeatMs", in: heartbeat)?.message.hasPrefix("must be less than leaseMs (1000), got 1000") == true)
        #expect(heartbeat.issues.count == 1)

        let margin = failure(minimalYAML + "\ntiming: {heartbeatMs: 200, leaseMs: 1000, selfFenceMarginMs: 800}\n")
        let found = try #require(issue(at: "timing.selfFenceMarginMs", in: margin))
        #expect(found.message.hasPrefix("must be less than leaseMs − heartbeatMs (1000 − 200 = 800), got 800"))

        let ok = try parse(minimalYAML + "\ntiming: {heartbeatMs: 100, leaseMs: 2000, selfFenceMarginMs: 1899, standbyMaxLagMs: 50}\n")
        #expect(ok.timing == TimingConfiguration(heartbeat: .milliseconds(100), lease: .seconds(2), selfFenceMargin: .milliseconds(1899),
                                                  standbyMaxLag: .milliseconds(50)))
        #expect(ok.timing.selfFenceAfter == .milliseconds(101))

        let zero = failure(minimalYAML + "\ntiming: {heartbeatMs: 0}\n")
        #expect(issue(at: "timing.heartbeatMs", in: zero)?.message == #"expected an integer 1–3600000 (milliseconds), got "0""#)

        let retry = failure(minimalYAML + "\nexecution: {retryInitialMs: 3000}\n")
        #expect(issue(at: "execution.retryInitialMs", in: retry)?.message == "must not exceed retryMaxMs (2000), got 3000")
    }

    @Test func journalSnapshots() throws {
        #expect(try parse(minimalYAML).journal == JournalConfiguration(snapshotEveryEvents: 100_000, snapshotsKept: 10))
        #expect(try parse(minimalYAML + "\njournal: {snapshotsKept: 3}\n").journal.snapshotsKept == 3)
        #expect(issue(at: "journal.snapshotsKept", in: failure(minimalYAML + "\njournal: {snapshotsKept: 0}\n"))?.message
            == #"expected an integer 1–1000000 (snapshots), got "0""#)
        #expect(try parse(minimalYAML + "\njournal: {snapshotEveryEvents: 0}\n").journal.snapshotEveryEvents == 0)
        #expect(try parse(minimalYAML + "\njournal: {snapshotEveryEvents: 5000}\n").journal.snapshotEveryEvents == 5_000)
        let negative = failure(minimalYAML + "\njournal: {snapshotEveryEvents: -5}\n")
        #expect(issue(at: "journal.snapshotEveryEvents", in: negative)?.message
            == #"expected an integer 0–100000000 (events; 0: no snapshots), got "-5""#)
        let misspelt = failure(minimalYAML + "\njournal: {snapshotEvery: 5000}\n")
        #expect(issue(at: "journal.snapshotEvery", in: misspelt)?.message.hasPrefix("unknown key") == true)
        let typo = failure(minimalYAML + "\njournal: {snapshotEveryEvent: 5000}\n")
        #expect(issue(at: "journal.snapshotEveryEvent", in: typo)?.message.hasPrefix("unknown key; did you mean snapshotEveryEvents?") == true)
    }

    @Test func sendingTimeSkew() throws {
        #expect(try parse(minimalYAML).venues[0].sessions[0].maxSendingTimeSkewSeconds == 120)
        let off = minimalYAML.replacingOccurrences(of: "targetCompID: B}", with: "targetCompID: B, maxSendingTimeSkewSeconds: 0}")
        #expect(try parse(off).venues[0].sessions[0].maxSendingTimeSkewSeconds == 0)
        let bad = failure(minimalYAML.replacingOccurrences(of: "targetCompID: B}", with: "targetCompID: B, maxSendingTimeSkewSeconds: -1}"))
        #expect(issue(at: "venues[0].sessions[0].maxSendingTimeSkewSeconds", in: bad)?.message
            == #"expected an integer 0–86400 (seconds; 0: no check), got "-1""#)
    }

    @Test func everyProblemInOneFileIsReported() throws {
        let yaml = """
            cluster: c1
            node: {id: "bad id"}
            timing:
              heartbeatMS: 300
            venues:
              - name: V
                sessions:
                  - {host: 127.0.0.1, port: abc, senderCompID: A, targetCompID: B}
                  - {host: 127.0.0.1, port: 9878, senderCompID: A, targetCompID: B}
                instruments:
                  - {id: 1, symbol: ACME, tickSize: "0.01", lotSize: "1", currency: USD}
                  - {id: 1, symbol: GLOBX, tickSize: "x", lotSize: "1", currency: USD}
            strategy: {name: s, account: acc, venue: W, parameters: {a: [1, 2]}}
            database: {dsn: "host=x", embedded: {}}
            """
        let error = failure(yaml)
        #expect(error.issues.map(\.path) == [
            "node.id", "timing.heartbeatMS", "venues[0].sessions[0].port", "venues[0].sessions[1]",
            "venues[0].instruments[1].id", "venues[0].instruments[1].tickSize", "strategy.venue", "strategy.parameters.a", "database",
        ])
        #expect(error.issues.map(\.line) == [2, 4, 8, 9, 12, 12, 13, 13, 14])
        #expect(error.source == "test.yaml")
        #expect(error.issues.allSatisfy { $0.line != nil && $0.variable == nil })
        let text = error.description
        #expect(text.hasPrefix("invalid node configuration test.yaml (9 problems):"))
        for issue in error.issues { #expect(text.contains("\(issue.path): \(issue.message)")) }
    }

    @Test func syntaxErrorsCarryTheirLine() throws {
        let error = failure("cluster: c1\nnode:\n  id: [unclosed\n")
        #expect(error.issues.count == 1)
        #expect(error.issues[0].path == "")
        #expect(error.issues[0].line != nil)
        #expect(error.issues[0].message.hasPrefix("not valid YAML"))

        let duplicate = failure("cluster: c1\ncluster: c2\n")
        #expect(duplicate.issues.first?.message.contains("duplicate key") == true)

        let root = failure("- a\n- b\n")
        #expect(root.issues.first?.path == "")
        #expect(root.issues.first?.message.hasPrefix("expected a mapping") == true)
    }
}
