import Synchronization
import TandemCore
import TandemFIX
import TandemVenue
import Testing

@Suite("Venue faults from the configuration and the risk session", .timeLimit(.minutes(1)))
struct VenueFaultTests {
    static func venue(_ configure: (inout VenueConfiguration) -> Void) throws -> VenueService {
        var config = VenueConfiguration()
        config.fixPort = 0
        config.feedRecoveryPort = 0
        config.market.enabled = false
        configure(&config)
        return try VenueService(configuration: config, logger: quiet)
    }

    static func initiator(_ compID: String, port: Int) -> (FIXInitiator<InMemoryFIXStore>, Collected) {
        let session = FIXSessionConfig(role: .initiator, senderCompID: compID, targetCompID: "VENUE", heartBtInt: 5, logoutTimeout: .seconds(1))
        let i = FIXInitiator(configuration: .init(host: "127.0.0.1", port: port, session: session, reconnect: false),
                             store: InMemoryFIXStore(), logger: quiet)
        return (i, Collected(i.events))
    }

    static func order(_ id: String, _ side: Side, _ qty: String, _ px: String, account: String? = nil) throws -> NewOrderSingle {
        NewOrderSingle(clOrdID: ClOrdID(id), account: account.map(AccountID.init), symbol: "ACME", side: side, transactTime: FIXClock.now().utc,
                       orderQty: try Quantity(qty), orderType: .limit(try Price(px)), timeInForce: .day)
    }

    /// MsgSeqNums of the application messages delivered, in delivery order.
    static func deliveredSeqs(_ log: Collected) -> [Int] {
        log.all.compactMap { if case .message(let m) = $0.kind { m.message.msgSeqNum } else { nil } }
    }

    @Test("config faults apply at start: a delayed session's messages arrive late but in order, and half its orders are rejected")
    func configuredDelayAndRejects() async throws {
        let venue = try Self.venue {
            $0.faults = .init(sessions: ["TANDEM": .init(delayMillis: 200, rejectPercent: 50)], feedPaused: true)
        }
        let key = FIXAcceptorRegistry.SessionKey(initiatorCompID: "TANDEM", acceptorCompID: "VENUE")
        #expect(venue.acceptor.faults(for: key).delay == .milliseconds(200))
        let venueTask = Task { try await venue.run() }
        defer { venueTask.cancel() }
        let (trader, log) = Self.initiator("TANDEM", port: try await venue.acceptor.listeningPort())
        let traderTask = Task { try await trader.run() }
        defer { traderTask.cancel() }
        let start = ContinuousClock.now
        try await until("logged on") { log.logons == 1 }
        #expect(ContinuousClock.now - start >= .milliseconds(190))  // the Logon reply was held too

        let sent = ContinuousClock.now
        let ids = ["A1", "A2", "A3", "A4", "A5", "A6"]
        for (n, id) in ids.enumerated() { try await trader.send(try Self.order(id, .buy, "1", "90.\(n)0")) }
        try await until("six answers") { log.reports.count == 6 }
        #expect(ContinuousClock.now - sent >= .milliseconds(190))
        #expect(log.reports.map { $0.clOrdID?.rawValue } == ids)  // in order
        let seqs = Self.deliveredSeqs(log)
        #expect(seqs == Array(seqs[0]..<(seqs[0] + seqs.count)))
        #expect(log.reports.count { $0.execType == .rejected && ($0.text ?? "").contains("fault injection") } == 3)
        #expect(log.sessionEvents.allSatisfy { if case .gapDetected = $0 { false } else { true } })
        trader.logout()
    }

    @Test("FIX_DUPLICATE from the risk session: the copies are PossDup resends our initiator ignores, so nothing is counted twice; FIX_DROP is recovered by resend")
    func duplicateAndDrop() async throws {
        let venue = try Self.venue { _ in }
        let venueTask = Task { try await venue.run() }
        defer { venueTask.cancel() }
        let port = try await venue.acceptor.listeningPort()
        let (trader, log) = Self.initiator("TANDEM", port: port)
        let (risk, riskLog) = Self.initiator("TANDEM-RISK", port: port)
        let tasks = [trader, risk].map { i in Task { try await i.run() } }
        defer { for t in tasks { t.cancel() } }
        try await until("logged on") { log.logons == 1 && riskLog.logons == 1 }

        try await risk.send(KillSwitch.message(target: "TANDEM", action: .fixDuplicate, requestID: "D1", count: 3))
        try await until("acknowledged") { riskLog.raw.contains { $0.string(20003) == "D1" && $0.string(20004) == "OK" } }
        try await trader.send(try Self.order("S1", .sell, "5", "100.00", account: "X1"))
        try await trader.send(try Self.order("B1", .buy, "5", "100.00", account: "X2"))
        try await until("both filled") { log.reports.count { $0.execType == .trade } == 2 }
        try await until("three duplicates ignored") {
            log.sessionEvents.count { if case .duplicateIgnored = $0 { true } else { false } } == 3
        }
        let execIDs = log.reports.map(\.execID)
        #expect(execIDs.count == 4)  // S1 New, B1 New, a Trade each
        #expect(Set(execIDs).count == execIDs.count)
        #expect(log.reports.filter { $0.execType == .trade }.reduce(Quantity.zero) { $0 + ($1.lastQty ?? .zero) } == (try Quantity("10")))

        // FIX_DROP: the next report is lost; the one after reveals the gap and the resend brings it, once.
        try await risk.send(KillSwitch.message(target: "TANDEM", action: .fixDrop, requestID: "X1", count: 1))
        try await until("acknowledged") { riskLog.raw.contains { $0.string(20003) == "X1" && $0.string(20004) == "OK" } }
        try await trader.send(try Self.order("R1", .buy, "1", "90.00"))
        try await trader.send(try Self.order("R2", .buy, "1", "90.00"))
        try await until("both acknowledged") { Set(log.reports.compactMap { $0.clOrdID?.rawValue }).isSuperset(of: ["R1", "R2"]) }
        #expect(log.reports.count { $0.clOrdID?.rawValue == "R1" } == 1)
        #expect(log.sessionEvents.contains { if case .gapDetected = $0 { true } else { false } })
        for i in [trader, risk] { i.logout() }
    }

    @Test("a faults section naming an unknown session is refused, naming the field")
    func badFaultsConfig() {
        #expect {
            _ = try Self.venue { $0.faults = .init(sessions: ["NOPE": .init(delayMillis: 5)]) }
        } throws: { error in
            "\(error)".contains("faults.sessions[NOPE]")
        }
    }
}
