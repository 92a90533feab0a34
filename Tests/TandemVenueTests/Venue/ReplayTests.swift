#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TandemCore
import TandemVenue
import Testing

@Suite("Synthetic market replay from CSV", .timeLimit(.minutes(1)))
struct ReplayTests {
    static let symbols = ["ACME": InstrumentID(1), "GLOBX": InstrumentID(2)]

    static func writeFile(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    @Test("rows parse exactly: header, comments, ISO-8601 and nanosecond times, optional quantity")
    func parses() throws {
        let csv = """
            time,instrument,price,quantity
            # a comment
            2024-03-01T14:30:00Z,ACME,100.12345678,5
            2024-03-01 14:30:00.5Z, GLOBX ,42.55

            1709303401000000000,ACME,100.20,\r
            """
        let rows = try MarketReplay.parse(csv, file: "p.csv", symbols: Self.symbols)
        #expect(rows.count == 3)
        #expect(rows[0].price == Price(units: 10_012_345_678))
        #expect(rows[0].quantity == (try Quantity("5")))
        #expect(rows[0].time == Timestamp(nanosecondsSinceEpoch: 1_709_303_400_000_000_000))
        #expect(rows[1].time == Timestamp(nanosecondsSinceEpoch: 1_709_303_400_500_000_000))
        #expect(rows[1].instrument == InstrumentID(2))
        #expect(rows[1].quantity == nil)
        #expect(rows[2].time == Timestamp(nanosecondsSinceEpoch: 1_709_303_401_000_000_000))
        #expect(rows[2].line == 6)
    }

    @Test("bad rows give an error naming file, line and column", arguments: [
        ("2024-03-01T14:30:00Z,ACME,10x.5", "p.csv:2: column 3 (price)"),
        ("2024-03-01T14:30:00Z,ACME,100.123456789", "p.csv:2: column 3 (price)"),
        ("2024-03-01T14:30:00Z,ACME,-1", "p.csv:2: column 3 (price)"),
        ("2024-03-01T14:30:00Z,NOPE,1", "p.csv:2: column 2 (instrument)"),
        ("2024-02-30T14:30:00Z,ACME,1", "p.csv:2: column 1 (time)"),
        ("yesterday,ACME,1", "p.csv:2: column 1 (time)"),
        ("2024-03-01T14:30:00Z,ACME,1,0", "p.csv:2: column 4 (quantity)"),
        ("2024-03-01T14:30:00Z,ACME", "p.csv:2: expected 3 or 4 columns"),
        ("2024-03-01T14:29:00Z,ACME,1", "p.csv:2: column 1 (time): time goes backwards (line 1 is later)"),
    ])
    func badRows(row: String, message: String) {
        let csv = "2024-03-01T14:30:00Z,ACME,100\n" + row
        #expect { try MarketReplay.parse(csv, file: "p.csv", symbols: Self.symbols) } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    @Test("rows come due by their time divided by the speed")
    func timing() throws {
        let csv = "0,ACME,1\n1000000000,ACME,2\n3000000000,ACME,3\n"
        var replay = MarketReplay(rows: try MarketReplay.parse(csv, file: "t.csv", symbols: Self.symbols), speed: try Price("10"))
        #expect(replay.due(after: .zero).map(\.line) == [1])
        #expect(replay.due(after: .milliseconds(99)).isEmpty)
        #expect(replay.due(after: .milliseconds(100)).map(\.line) == [2])
        #expect(replay.due(after: .seconds(5)).map(\.line) == [3])
        #expect(replay.isFinished)
        var looping = MarketReplay(rows: replay.rows, speed: try Price("10"), loop: true)
        #expect(looping.due(after: .milliseconds(300)).map(\.line) == [1, 2, 3])
        #expect(looping.due(after: .milliseconds(302)).map(\.line) == [1])
    }

    @Test("the book's mid follows the replayed path, and a row's quantity prints a trade")
    func bookFollowsPath() throws {
        var config = VenueConfiguration()
        config.market.takerPercent = 0
        let csv = "0,ACME,100.00\n1000000000,ACME,100.37,3\n2000000000,ACME,99.504\n"
        let replay = MarketReplay(rows: try MarketReplay.parse(csv, file: "m.csv", symbols: Self.symbols))
        var market = SyntheticMarket(config: config.market, instruments: try config.instruments.map {
            (id: InstrumentID($0.id), tick: try Price($0.tickSize), lot: try Quantity($0.lotSize), reference: try Price($0.referencePrice))
        }, replay: replay)
        var engine = try MatchingEngine(config: try config.engineConfig())
        var time = Timestamp(nanosecondsSinceEpoch: 1_700_000_000_000_000_000)
        func run(_ elapsed: Duration) -> [VenueEvent] {
            var events: [VenueEvent] = []
            for c in market.step(after: elapsed) {
                time = Timestamp(nanosecondsSinceEpoch: time.nanosecondsSinceEpoch + 1000)
                events += engine.handle(c, at: time)
            }
            return events
        }
        func mid() -> Int64? {
            guard let top = engine.topOfBook(InstrumentID(1)), let b = top.bid, let a = top.ask else { return nil }
            return (b.price.units + a.price.units) / 2
        }
        _ = run(.zero)
        #expect(mid() == (try Price("100.00")).units)
        let events = run(.seconds(1))
        #expect(mid() == (try Price("100.37")).units)
        let fills = events.compactMap { if case .fill(let f) = $0 { f } else { nil } }
        #expect(fills.reduce(Int64(0)) { $0 + $1.quantity.units } == (try Quantity("3")).units)
        #expect(fills.allSatisfy { $0.aggressor == .buy })
        _ = run(.seconds(2))
        #expect(mid() == (try Price("99.50")).units)  // to the nearest tick
        #expect(market.mid(InstrumentID(1)) == (try Price("99.50")))
    }

    @Test("tandem venue with a replay file: the live book's mid reaches the file's last price; a bad file stops the venue at start")
    func venueReplays() async throws {
        let path = "/tmp/tandem-venue-replay-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).csv"
        defer { unlink(path) }
        Self.writeFile("time,instrument,price\n2024-03-01T14:30:00Z,ACME,101.00\n2024-03-01T14:30:01Z,ACME,102.50\n", to: path)
        var config = VenueConfiguration()
        config.fixPort = 0
        config.feedRecoveryPort = 0
        config.market.stepMillis = 5
        config.market.replay = .init(csv: path, speed: "50")
        let venue = try VenueService(configuration: config, logger: quiet)
        let task = Task { try await venue.run() }
        defer { task.cancel() }
        let target = try Price("102.50")
        try await until("mid at 102.50") {
            guard let top = venue.topOfBook(InstrumentID(1)), let b = top.bid, let a = top.ask else { return false }
            return (b.price.units + a.price.units) / 2 == target.units
        }
        venue.shutdown()
        try await task.value

        Self.writeFile("2024-03-01T14:30:00Z,ACME,abc\n", to: path)
        #expect { try VenueService(configuration: config, logger: quiet) } throws: { error in
            "\(error)".hasPrefix("\(path):1: column 3 (price): 'abc' is not an exact decimal price")
        }
    }
}
