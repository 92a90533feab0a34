import Logging
import Synchronization
import TandemCore
import TandemFIX
import TandemMarketData
import TandemVenue
import Testing

let quiet = Logger(label: "venue-test", factory: { _ in SwiftLogNoOpLogHandler() })

/// `tandem venue` as a service, over real sockets: FIX order entry, drop copy and risk sessions,
/// the feed to a feed client, with the synthetic market running.
@Suite("Venue service over TCP and UDP", .timeLimit(.minutes(1)))
struct VenueServiceTests {
    @Test("order entry fills against the synthetic market; the drop copy sees it; the kill switch blocks and cancels; the feed client's book equals the venue's")
    func endToEnd() async throws {
        var config = VenueConfiguration()
        config.fixPort = 0
        config.feedRecoveryPort = 0
        config.market.stepMillis = 10
        let venue = try VenueService(configuration: config, logger: quiet)
        let venueTask = Task { try await venue.run() }
        defer { venueTask.cancel() }
        let fixPort = try await venue.acceptor.listeningPort()
        let feedPort = try await venue.feed.recoveryPort()

        let feed = FeedClient(configuration: .init(recoveryPort: feedPort), logger: quiet)
        let feedTask = Task { try await feed.run() }
        defer { feedTask.cancel() }

        func initiator(_ compID: String) -> (FIXInitiator<InMemoryFIXStore>, Collected) {
            let session = FIXSessionConfig(role: .initiator, senderCompID: compID, targetCompID: "VENUE", heartBtInt: 5)
            let i = FIXInitiator(configuration: .init(host: "127.0.0.1", port: fixPort, session: session, reconnect: false),
                                 store: InMemoryFIXStore(), logger: quiet)
            return (i, Collected(i.events))
        }
        let (trader, traderLog) = initiator("TANDEM")
        let (dropCopy, dropLog) = initiator("TANDEM-DC")
        let (risk, riskLog) = initiator("TANDEM-RISK")
        let tasks = [trader, dropCopy, risk].map { i in Task { try await i.run() } }
        defer { for t in tasks { t.cancel() } }
        try await until("step 1") { traderLog.loggedOn && dropLog.loggedOn && riskLog.loggedOn }

        // Wait for the synthetic market to quote, then buy through the ask and rest a low bid.
        try await until("step 2") { venue.topOfBook(InstrumentID(1))?.ask != nil }
        let t = FIXClock.now().utc
        try await trader.send(NewOrderSingle(clOrdID: ClOrdID("BUY1"), account: nil, symbol: "ACME", side: .buy, transactTime: t,
                                             orderQty: try Quantity("5"), orderType: .limit(try Price("150.00")), timeInForce: .immediateOrCancel))
        try await trader.send(NewOrderSingle(clOrdID: ClOrdID("BID1"), account: nil, symbol: "ACME", side: .buy, transactTime: t,
                                             orderQty: try Quantity("5"), orderType: .limit(try Price("1.00")), timeInForce: .day))
        try await until("step 3") { traderLog.reports.contains { $0.clOrdID?.rawValue == "BUY1" && $0.ordStatus == .filled } }
        try await until("step 4") { traderLog.reports.contains { $0.clOrdID?.rawValue == "BID1" && $0.execType == .new } }
        try await until("step 5") { dropLog.reports.contains { $0.clOrdID?.rawValue == "BUY1" && $0.execType == .trade } }

        // Kill switch: block TANDEM; its resting bid is canceled (seen on the drop copy), new orders refused.
        try await risk.send(KillSwitch.message(target: "TANDEM", action: .block, requestID: "K1"))
        try await until("step 6") { dropLog.reports.contains { $0.clOrdID?.rawValue == "BID1" && $0.execType == .canceled } }
        try await trader.send(NewOrderSingle(clOrdID: ClOrdID("BID2"), account: nil, symbol: "ACME", side: .buy, transactTime: t,
                                             orderQty: try Quantity("5"), orderType: .limit(try Price("1.00")), timeInForce: .day))
        try await until("step 7") { traderLog.reports.contains { $0.clOrdID?.rawValue == "BID2" && $0.execType == .rejected } }
        try await until("the kill switch acknowledged") { riskLog.raw.contains { $0.msgType.wireValue == "UKR" && $0.string(20004) == "OK" } }

        // The feed client's book catches up with the venue's (the market keeps moving: compare at one seq).
        try await until("step 8") {
            let next = try await feed.nextSeq()
            let consistent = try await feed.isConsistent()
            return consistent && next != nil && next! > 100
        }
        let counters = try await feed.counters()
        #expect(counters.malformed == 0)

        // Feed faults from the risk session: packets lost on both lines are recovered by the client.
        let gapsBefore = counters.gaps
        try await risk.send(KillSwitch.message(target: "", action: .feedDrop, requestID: "F1", lines: "AB", count: 2))
        try await until("a recovered gap") {
            let c = try await feed.counters()
            return c.gaps > gapsBefore && c.retransmitRecoveries + c.snapshotRecoveries >= c.gaps
        }
        try await until("the feed fault acknowledged") { riskLog.raw.contains { $0.string(20003) == "F1" && $0.string(20004) == "OK" } }
        // DISCONNECT drops the trader's connection without a Logout.
        try await risk.send(KillSwitch.message(target: "TANDEM", action: .disconnect, requestID: "D1"))
        try await until("trader disconnected") { traderLog.disconnected }
        for i in [trader, dropCopy, risk] { i.logout() }
    }
}

/// What an initiator received, collected as it arrives.
final class Collected: Sendable {
    private final class Box: Sendable { let m = Mutex<[FIXEvent]>([]) }
    private let box = Box()
    private let task: Task<Void, Never>

    init(_ stream: AsyncStream<FIXEvent>) {
        let box = self.box
        task = Task { for await e in stream { box.m.withLock { $0.append(e) } } }
    }
    deinit { task.cancel() }

    var all: [FIXEvent] { box.m.withLock { $0 } }
    var sessionEvents: [SessionEvent] { box.m.withLock { $0.compactMap { if case .session(let e) = $0.kind { e } else { nil } } } }
    var logons: Int { sessionEvents.count { if case .loggedOn = $0 { true } else { false } } }
    var disconnected: Bool { box.m.withLock { $0.contains { if case .disconnected = $0.kind { true } else { false } } } }
    var loggedOn: Bool { box.m.withLock { $0.contains { if case .session(.loggedOn) = $0.kind { true } else { false } } } }
    var reports: [ExecutionReport] {
        box.m.withLock { $0.compactMap { if case .message(let m) = $0.kind, case .executionReport(let r) = m.typed { r } else { nil } } }
    }
    var raw: [FIXMessage] {
        box.m.withLock { $0.compactMap { if case .message(let m) = $0.kind, case .unknown(let u) = m.typed { u } else { nil } } }
    }
}

func until(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw VenueTimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(5))
    }
}

struct VenueTimedOut: Error { var what: String }
