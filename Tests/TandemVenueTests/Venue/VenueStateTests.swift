#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import TandemCore
import TandemFIX
import TandemVenue
import Testing

/// A state file path in the temporary directory, removed (with its temporary sibling) by `cleanup`.
struct TempPath: ~Copyable {
    let path: String
    init(_ name: String) {
        path = "/tmp/tandem-venue-test-\(name)-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).json"
    }
    deinit {
        unlink(path)
        unlink(path + ".tmp")
    }
}

@Suite("Venue state file", .timeLimit(.minutes(1)))
struct VenueStateTests {
    @Test("Venue restart keeps sequence numbers: an initiator reconnects to a venue restarted from its state file and continues; resting orders are still in the book")
    func restartKeepsSequenceNumbers() async throws {
        let file = TempPath("restart")
        var config = VenueConfiguration()
        config.fixPort = 0
        config.feedRecoveryPort = 0
        config.market.enabled = false
        config.stateFile = file.path
        config.stateIntervalMillis = 50

        let first = try VenueService(configuration: config, logger: quiet)
        #expect(first.startNote.hasPrefix("venue state reset at"))
        #expect(first.acceptor.configuration.sessions.allSatisfy { $0.logonText == first.startNote })
        let firstTask = Task { try await first.run() }
        let port = try await first.acceptor.listeningPort()

        let session = FIXSessionConfig(role: .initiator, senderCompID: "TANDEM", targetCompID: "VENUE", heartBtInt: 5, logoutTimeout: .seconds(1))
        let trader = FIXInitiator(configuration: .init(host: "127.0.0.1", port: port, session: session, reconnectBase: .milliseconds(20),
                                                       reconnectCap: .milliseconds(100)),
                                  store: InMemoryFIXStore(), logger: quiet)
        let log = Collected(trader.events)
        let traderTask = Task { try await trader.run() }
        defer { traderTask.cancel() }
        try await until("logged on") { log.logons == 1 }

        let t = FIXClock.now().utc
        func order(_ id: String, _ side: Side, _ qty: String, _ px: String) throws -> NewOrderSingle {
            NewOrderSingle(clOrdID: ClOrdID(id), account: nil, symbol: "ACME", side: side, transactTime: t,
                           orderQty: try Quantity(qty), orderType: .limit(try Price(px)), timeInForce: .day)
        }
        try await trader.send(try order("S1", .sell, "10", "101.00"))
        try await trader.send(try order("B1", .buy, "5", "99.00"))
        try await trader.send(try order("S2", .sell, "3", "100.50"))
        try await trader.send(try order("B2", .buy, "1", "100.50"))  // S2 partly filled, 2 left
        try await until("fills") { log.reports.contains { $0.clOrdID?.rawValue == "B2" && $0.ordStatus == .filled } }
        let s1OrderID = try #require(log.reports.first { $0.clOrdID?.rawValue == "S1" }?.orderID)

        // A graceful stop: the venue logs the session out, then writes the state file a last time.
        first.shutdown()
        try await firstTask.value
        try await until("trader disconnected") { log.disconnected }
        let before = trader.store
        let feedBefore = first.feed.nextSeq
        #expect(before.nextSenderSeq > 5)
        let written = try #require(try VenueStateFile.load(path: file.path))
        #expect(written.clean)
        #expect(written.sessions.first { $0.compID == "TANDEM" }?.nextTargetSeq == before.nextSenderSeq)
        #expect(written.sessions.first { $0.compID == "TANDEM" }?.nextSenderSeq == before.nextTargetSeq)

        var again = config
        again.fixPort = port
        let second = try VenueService(configuration: again, logger: quiet)
        #expect(second.startNote.hasPrefix("venue state restored from \(file.path)"))
        let secondTask = Task { try await second.run() }
        defer { secondTask.cancel() }
        try await until("reconnected and logged on") { log.logons == 2 }
        #expect(second.topOfBook(InstrumentID(1))?.ask?.price == (try Price("100.50")))
        #expect(second.topOfBook(InstrumentID(1))?.bid?.price == (try Price("99.00")))
        // The feed continues its sequence: a clear per instrument (2), then an add per resting order (3).
        #expect(second.feed.nextSeq == feedBefore + 5)
        #expect(written.feedNextSeq == feedBefore)

        // The sequence continued both ways: no reset, no gap, no "MsgSeqNum too low".
        for e in log.sessionEvents {
            if case .loggedOn(_, let reset) = e { #expect(!reset) }
            if case .gapDetected = e { Issue.record("gap after the restart: \(e)") }
            if case .loggedOut(let reason) = e { #expect(!reason.contains("too low")) }
        }

        // The partly filled order is still there with its fill (AvgPx kept), and a crossing order fills against both sells.
        try await trader.send(OrderStatusRequest(clOrdID: ClOrdID("S2"), symbol: "ACME", side: .sell))
        try await until("status") { log.reports.contains { $0.clOrdID?.rawValue == "S2" && $0.execType == .orderStatus } }
        let status = try #require(log.reports.last { $0.clOrdID?.rawValue == "S2" && $0.execType == .orderStatus })
        #expect(status.ordStatus == .partiallyFilled)
        #expect(status.leavesQty == (try Quantity("2")))
        #expect(status.cumQty == (try Quantity("1")))
        #expect(status.avgPx == (try Price("100.50")))
        try await trader.send(try order("B3", .buy, "12", "101.00"))
        try await until("B3 filled") { log.reports.contains { $0.clOrdID?.rawValue == "B3" && $0.ordStatus == .filled } }
        let s1Fill = try #require(log.reports.first { $0.clOrdID?.rawValue == "S1" && $0.execType == .trade })
        #expect(s1Fill.orderID == s1OrderID)
        #expect(s1Fill.ordStatus == .filled)
        #expect(log.sessionEvents.allSatisfy { if case .gapDetected = $0 { false } else { true } })

        trader.logout()
        second.shutdown()
        try await secondTask.value
    }

    @Test("after a crash (a state file older than the last messages), outbound sequence numbers jump ahead instead of going back, and orders entered since are recovered by resend")
    func crashKeepsSequenceNumbersForward() async throws {
        let file = TempPath("crash")
        let image = TempPath("crash-image")
        var config = VenueConfiguration()
        config.fixPort = 0
        config.feedRecoveryPort = 0
        config.market.enabled = false
        config.stateFile = file.path
        config.stateIntervalMillis = 60_000  // only the explicit writes below
        config.stateSeqGapAfterCrash = 100

        let first = try VenueService(configuration: config, logger: quiet)
        let firstTask = Task { try await first.run() }
        defer { firstTask.cancel() }
        let port = try await first.acceptor.listeningPort()
        let session = FIXSessionConfig(role: .initiator, senderCompID: "TANDEM", targetCompID: "VENUE", heartBtInt: 5, logoutTimeout: .seconds(1))
        let trader = FIXInitiator(configuration: .init(host: "127.0.0.1", port: port, session: session, reconnectBase: .milliseconds(20),
                                                       reconnectCap: .milliseconds(100)),
                                  store: InMemoryFIXStore(), logger: quiet)
        let log = Collected(trader.events)
        let traderTask = Task { try await trader.run() }
        defer { traderTask.cancel() }
        try await until("logged on") { log.logons == 1 }
        let t = FIXClock.now().utc
        func order(_ id: String, _ px: String) throws -> NewOrderSingle {
            NewOrderSingle(clOrdID: ClOrdID(id), account: nil, symbol: "ACME", side: .buy, transactTime: t,
                           orderQty: try Quantity("1"), orderType: .limit(try Price(px)), timeInForce: .day)
        }
        try await trader.send(try order("EARLY", "90.00"))
        try await until("EARLY acknowledged") { log.reports.contains { $0.clOrdID?.rawValue == "EARLY" } }
        first.saveState()
        try copyFile(file.path, to: image.path)  // what a crash right now would leave
        try await trader.send(try order("LATE1", "91.00"))
        try await trader.send(try order("LATE2", "92.00"))
        try await until("LATE acknowledged") { log.reports.contains { $0.clOrdID?.rawValue == "LATE2" } }
        let seenBeforeCrash = trader.store.nextTargetSeq  // (as of the last disconnect: 1 until then)

        // The crash: connections drop, the process is gone, the file is the image.
        first.acceptor.disconnect(.init(initiatorCompID: "TANDEM", acceptorCompID: "VENUE"))
        firstTask.cancel()
        _ = try? await firstTask.value
        try await until("trader disconnected") { log.disconnected }
        #expect(trader.store.nextTargetSeq >= seenBeforeCrash)
        try copyFile(image.path, to: file.path)

        var again = config
        again.fixPort = port
        let second = try VenueService(configuration: again, logger: quiet)
        #expect(second.startNote.contains("after a crash: MsgSeqNum +100"))
        let secondTask = Task { try await second.run() }
        defer { secondTask.cancel() }
        try await until("reconnected") { log.logons == 2 }
        // The venue's Logon came numbered above what the trader expected: a gap, filled; never "too low".
        try await until("gap filled") { log.sessionEvents.contains { if case .gapFilled = $0 { true } else { false } } }
        for e in log.sessionEvents {
            if case .loggedOut(let reason) = e { #expect(!reason.contains("too low")) }
        }
        // The orders the image missed came back with the trader's resend and are in the book again.
        try await until("LATE2 back in the book") { second.topOfBook(InstrumentID(1))?.bid?.price == (try Price("92.00")) }
        trader.logout()
        second.shutdown()
        try await secondTask.value
    }

    @Test("A state file with another format or version is refused with its path")
    func refusesForeignFiles() throws {
        let file = TempPath("foreign")
        let fd = open(file.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let text = Array(#"{"format":"something-else","version":1}"#.utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #expect(throws: VenueStateError.self) { try VenueStateFile.load(path: file.path) }
        #expect(try VenueStateFile.load(path: file.path + ".absent") == nil)
    }
}

func copyFile(_ from: String, to: String) throws {
    let fd = open(from, O_RDONLY)
    guard fd >= 0 else { throw VenueTimedOut(what: "open \(from)") }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    close(fd)
    let out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    _ = bytes.withUnsafeBytes { write(out, $0.baseAddress, $0.count) }
    close(out)
}
