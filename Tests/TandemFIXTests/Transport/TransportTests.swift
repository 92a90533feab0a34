import Logging
import NIOCore
import NIOPosix
import Synchronization
import TandemCore
import TandemFIX
import TandemFIXTestKit
import Testing

/// Session scenarios over real loopback TCP: our initiator and acceptor, each a NIO shell around
/// the sans-I/O session, with faults injected at the shell (lost bytes) rather than in the session.
@Suite("FIX over loopback TCP", .timeLimit(.minutes(1)))
struct TransportTests {
    @Test("logon, orders and fills over TCP")
    func roundTrip() async throws {
        try await withPair { pair in
            for n in 1...3 { try await pair.initiator.send(limitOrder(n)) }
            // Each side's events reach its log through its own stream: wait for both, then compare.
            try await pair.initiatorLog.eventually("3 execution reports") { $0.messages().count == 3 }
            try await pair.acceptorLog.eventually("3 orders") { $0.messages().count == 3 }
            #expect(pair.initiatorLog.messages().map(\.clOrdID) == ["C1", "C2", "C3"])
            #expect(pair.acceptorLog.messages().map(\.clOrdID) == ["C1", "C2", "C3"])
        }
    }

    @Test("a lost order is recovered: gap → ResendRequest → resent with PossDupFlag, delivered in order")
    func gapResend() async throws {
        try await withPair(initiatorFaults: FIXFaultInjection(dropApplicationMessages: [2])) { pair in
            for n in 1...3 { try await pair.initiator.send(limitOrder(n)) }
            try await pair.acceptorLog.eventually("3 orders") { $0.messages().count == 3 }
            let received = pair.acceptorLog.messages()
            #expect(received.map(\.clOrdID) == ["C1", "C2", "C3"])
            #expect(received.map(\.inbound.message.possDupFlag) == [false, true, false])
            #expect(received[1].inbound.message.field(122) != nil, "a resend carries OrigSendingTime")
            #expect(pair.acceptorLog.sessionEvents().contains { if case .gapDetected(3, 4) = $0 { true } else { false } })
            // The acceptor asks from 3 to infinity (EndSeqNo 0), so C2 and C3 are both resent; C3's second copy is a duplicate.
            try await pair.initiatorLog.eventually("the resend") { log in
                log.sessionEvents().contains { if case .resent(3, _, 2, 0) = $0 { true } else { false } }
            }
            try await pair.initiatorLog.eventually("3 fills") { $0.messages().count == 3 }
        }
    }

    @Test("a lost admin message is gap-filled, a lost order resent")
    func adminGapFill() async throws {
        // Seq 1 is the Logon; 2 = order C1, 3 = a TestRequest, both lost; 4 = order C2 reveals the gap.
        try await withPair(initiatorFaults: FIXFaultInjection(dropSeqNums: [2, 3])) { pair in
            try await pair.initiator.send(limitOrder(1))
            try await pair.initiator.testRequest(id: "PROBE")
            try await pair.initiator.send(limitOrder(2))
            try await pair.acceptorLog.eventually("2 orders") { $0.messages().count == 2 }
            #expect(pair.acceptorLog.messages().map(\.clOrdID) == ["C1", "C2"])
            try await pair.initiatorLog.eventually("the resend with a GapFill") { log in
                log.sessionEvents().contains { if case .resent(2, _, 2, let fills) = $0 { fills >= 1 } else { false } }
            }
            #expect(pair.acceptorLog.sessionEvents().contains { if case .resendRequested(2, _) = $0 { true } else { false } })
        }
    }

    @Test("both sides lose a message at once: each recovers, each ResendRequest is answered once")
    func crossedGaps() async throws {
        try await withPair(initiatorFaults: FIXFaultInjection(dropApplicationMessages: [3]),
                           acceptorFaults: FIXFaultInjection(dropApplicationMessages: [2])) { pair in
            for n in 1...5 { try await pair.initiator.send(limitOrder(n)) }
            try await pair.initiatorLog.eventually("5 fills") { $0.messages().count == 5 }
            try await pair.acceptorLog.eventually("5 orders") { $0.messages().count == 5 }
            #expect(pair.initiatorLog.messages().map(\.clOrdID) == ["C1", "C2", "C3", "C4", "C5"])
            #expect(pair.acceptorLog.messages().map(\.clOrdID) == ["C1", "C2", "C3", "C4", "C5"])
            let answered = { (log: EventLog) in log.sessionEvents().filter { if case .resent = $0 { true } else { false } }.count }
            let requested = { (log: EventLog) in log.sessionEvents().filter { if case .resendRequested = $0 { true } else { false } }.count }
            try await Task.sleep(for: .milliseconds(200))  // let both event streams drain
            #expect(answered(pair.initiatorLog) == requested(pair.acceptorLog))
            #expect(answered(pair.acceptorLog) == requested(pair.initiatorLog))
        }
    }

    @Test("restart keeping the store: the next logon continues the sequence; without it: Logout 'too low'")
    func restartKeepsStore() async throws {
        let acceptor = makeAcceptor()
        try await runningAcceptor(acceptor) { port, acceptorLog in
            let first = makeInitiator(port: port, reconnect: false)
            let firstLog = EventLog(first.events)
            try await running(first) {
                try await firstLog.eventually("logon") { $0.loggedOn }
                for n in 1...2 { try await first.send(limitOrder(n)) }
                try await firstLog.eventually("2 fills") { $0.messages().count == 2 }
                first.logout(text: "end of day")
            }
            let kept = first.store
            #expect(kept.nextSenderSeq == 5, "Logon, two orders, Logout")

            let second = makeInitiator(port: port, reconnect: false, store: kept)
            let secondLog = EventLog(second.events)
            try await running(second) {
                try await secondLog.eventually("logon") { $0.loggedOn }
                try await second.send(limitOrder(3))
                try await secondLog.eventually("a fill") { $0.messages().count == 1 }
                second.logout()
            }
            try await acceptorLog.eventually("3 orders at the acceptor") { $0.messages().count == 3 }
            #expect(!acceptorLog.sessionEvents().contains { if case .gapDetected = $0 { true } else { false } })
            #expect(acceptorLog.messages().map(\.clOrdID) == ["C1", "C2", "C3"])

            let fresh = makeInitiator(port: port, reconnect: false)
            let freshLog = EventLog(fresh.events)
            try await running(fresh) {
                try await freshLog.eventually("logged out") { $0.loggedOutReason != nil }
            }
            let reason = try #require(freshLog.loggedOutReason)
            #expect(reason.contains("MsgSeqNum too low"), "got: \(reason)")
        }
    }

    @Test("a second Logon for a live session is refused with a reason; the live session carries on")
    func secondLogonRefused() async throws {
        try await withPair { pair in
            let intruder = makeInitiator(port: pair.port, reconnect: false)
            let intruderLog = EventLog(intruder.events)
            try await running(intruder) {
                try await intruderLog.eventually("refused") { $0.loggedOutReason != nil }
            }
            let reason = try #require(intruderLog.loggedOutReason)
            #expect(reason.contains("already logged on"), "got: \(reason)")
            try await pair.initiator.send(limitOrder(1))
            try await pair.initiatorLog.eventually("a fill on the live session") { $0.messages().count == 1 }
        }
    }

    @Test("silence → TestRequest → disconnect")
    func silence() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        // A counterparty that answers the Logon and then never sends another byte.
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(MuteAcceptor()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let initiator = makeInitiator(port: server.localAddress!.port!, reconnect: false, heartBtInt: 1)
        let log = EventLog(initiator.events)
        let started = ContinuousClock.now
        try await running(initiator) {
            try await log.eventually("disconnect", timeout: .seconds(10)) { $0.loggedOutReason != nil }
        }
        let elapsed = ContinuousClock.now - started
        #expect(log.sessionEvents().contains(.testRequestSent))
        #expect(log.loggedOutReason?.contains("no answer to TestRequest") == true, "got: \(log.loggedOutReason ?? "nil")")
        // TestRequest after 1.2 s of silence, disconnect 1.2 s later.
        #expect(elapsed >= .milliseconds(2300) && elapsed < .seconds(6), "took \(elapsed)")
    }

    @Test("the initiator reconnects with backoff and continues the sequence with the acceptor's kept store")
    func reconnect() async throws {
        // Find a free port, then start the initiator while nothing listens there.
        let probe = makeAcceptor()
        let port = try await runningAcceptor(probe) { port, _ in port }
        let initiator = makeInitiator(port: port, reconnect: true, reconnectBase: .milliseconds(50))
        let log = EventLog(initiator.events)
        try await running(initiator) {
            try await Task.sleep(for: .milliseconds(300))  // a few refused connects
            #expect(initiator.connectionCount == 0)
            let first = makeAcceptor(port: port)
            try await runningAcceptor(first) { _, _ in
                try await log.eventually("logon") { $0.loggedOnCount == 1 }
                try await initiator.send(limitOrder(1))
                try await log.eventually("a fill") { $0.messages().count == 1 }
            }
            let kept = first.store(for: .init(initiatorCompID: "NODE", acceptorCompID: "VENUE"))
            let second = makeAcceptor(port: port, stores: [.init(initiatorCompID: "NODE", acceptorCompID: "VENUE"): try #require(kept)])
            try await runningAcceptor(second) { _, secondLog in
                try await log.eventually("second logon") { $0.loggedOnCount == 2 }
                try await initiator.send(limitOrder(2))
                try await log.eventually("a second fill") { $0.messages().count == 2 }
                try await secondLog.eventually("C2 at the restarted acceptor") { $0.messages().count == 1 }
                #expect(secondLog.messages().map(\.clOrdID) == ["C2"])
                #expect(!secondLog.sessionEvents().contains { if case .gapDetected = $0 { true } else { false } })
            }
            initiator.logout()
        }
        #expect(initiator.connectionCount == 2)
    }
}

// MARK: - Helpers

let quietLogger = Logger(label: "fix-transport-test", factory: { _ in SwiftLogNoOpLogHandler() })

func limitOrder(_ n: Int) -> NewOrderSingle {
    NewOrderSingle(clOrdID: ClOrdID("C\(n)"), account: nil, symbol: "AAPL", side: .buy, transactTime: t0,
                   orderQty: Quantity(units: 100_000_000), orderType: .limit(Price(units: 10_025_000_000)), timeInForce: .day)
}

func makeAcceptor(port: Int = 0, stores: [FIXAcceptorRegistry.SessionKey: InMemoryFIXStore] = [:],
                  faults: FIXFaultInjection = .none) -> FIXAcceptor<InMemoryFIXStore> {
    let session = FIXSessionConfig(role: .acceptor, senderCompID: "VENUE", targetCompID: "NODE", heartBtInt: 30)
    return FIXAcceptor(configuration: .init(port: port, sessions: [session], faults: faults), stores: stores,
                       makeStore: { _ in InMemoryFIXStore() }, logger: quietLogger, application: { [FillingExecutor()] })
}

func makeInitiator(port: Int, reconnect: Bool, heartBtInt: Int = 30, reconnectBase: Duration = .seconds(1),
                   store: InMemoryFIXStore = InMemoryFIXStore(), faults: FIXFaultInjection = .none) -> FIXInitiator<InMemoryFIXStore> {
    var session = FIXSessionConfig(role: .initiator, senderCompID: "NODE", targetCompID: "VENUE", heartBtInt: heartBtInt)
    session.logoutTimeout = .seconds(2)
    return FIXInitiator(configuration: .init(host: "127.0.0.1", port: port, session: session, reconnectBase: reconnectBase,
                                             reconnect: reconnect, faults: faults),
                        store: store, logger: quietLogger)
}

struct TCPPair {
    var port: Int
    var acceptor: FIXAcceptor<InMemoryFIXStore>
    var initiator: FIXInitiator<InMemoryFIXStore>
    var acceptorLog: EventLog
    var initiatorLog: EventLog
}

/// An acceptor and a logged-on initiator; both stopped when `body` returns or throws.
func withPair(initiatorFaults: FIXFaultInjection = .none, acceptorFaults: FIXFaultInjection = .none,
              _ body: (TCPPair) async throws -> Void) async throws {
    let acceptor = makeAcceptor(faults: acceptorFaults)
    try await runningAcceptor(acceptor) { port, acceptorLog in
        let initiator = makeInitiator(port: port, reconnect: false, faults: initiatorFaults)
        let log = EventLog(initiator.events)
        try await running(initiator) {
            try await log.eventually("logon") { $0.loggedOn }
            try await body(TCPPair(port: port, acceptor: acceptor, initiator: initiator, acceptorLog: acceptorLog, initiatorLog: log))
            initiator.logout()
        }
    }
}

/// Runs `acceptor` for the duration of `body`, then shuts it down and waits for it.
func runningAcceptor<T: Sendable>(_ acceptor: FIXAcceptor<InMemoryFIXStore>,
                                  _ body: (Int, EventLog) async throws -> T) async throws -> T {
    let log = EventLog(acceptor.events)
    let task = Task { try await acceptor.run() }
    do {
        let port = try await acceptor.listeningPort()
        let result = try await body(port, log)
        acceptor.shutdown()
        try await task.value
        return result
    } catch {
        acceptor.shutdown()
        task.cancel()
        _ = try? await task.value
        throw error
    }
}

/// Runs `initiator` while `body` runs; afterwards waits (bounded) for it to finish its Logout, then cancels.
func running(_ initiator: FIXInitiator<InMemoryFIXStore>, _ body: () async throws -> Void) async throws {
    let task = Task { try await initiator.run() }
    do {
        try await body()
    } catch {
        task.cancel()
        _ = try? await task.value
        throw error
    }
    let deadline = ContinuousClock.now + .seconds(5)
    while initiator.connectionCount > 0, ContinuousClock.now < deadline {
        if await Task.race(task, .milliseconds(50)) { break }
    }
    task.cancel()
    _ = try? await task.value
}

extension Task where Success == Void, Failure == any Error {
    /// True when the task finished within `timeout`.
    static func race(_ task: Task<Void, any Error>, _ timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { _ = try? await task.value; return true }
            group.addTask { try? await Task<Never, Never>.sleep(for: timeout); return false }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
    }
}

struct Received: Sendable {
    var inbound: FIXInbound
    var clOrdID: String {
        switch inbound.typed {
        case .newOrderSingle(let o): o.clOrdID.rawValue
        case .executionReport(let r): r.clOrdID?.rawValue ?? "?"
        default: "?"
        }
    }
}

/// Collects a connection's events as they arrive, for assertions that wait.
final class EventLog: Sendable {
    private final class Storage: Sendable {
        let events = Mutex<[FIXEvent]>([])
    }
    private let storage = Storage()
    private let task: Task<Void, Never>

    init(_ stream: AsyncStream<FIXEvent>) {
        let storage = self.storage
        task = Task { for await e in stream { storage.events.withLock { $0.append(e) } } }
    }

    deinit { task.cancel() }

    func messages() -> [Received] {
        storage.events.withLock { $0.compactMap { if case .message(let m) = $0.kind { Received(inbound: m) } else { nil } } }
    }

    func sessionEvents() -> [SessionEvent] {
        storage.events.withLock { $0.compactMap { if case .session(let s) = $0.kind { s } else { nil } } }
    }

    var loggedOnCount: Int { sessionEvents().filter { if case .loggedOn = $0 { true } else { false } }.count }
    var loggedOn: Bool { loggedOnCount > 0 }
    var loggedOutReason: String? {
        sessionEvents().lazy.compactMap { if case .loggedOut(let r) = $0 { r } else { nil } }.first
    }

    func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: (EventLog) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition(self) {
            guard ContinuousClock.now < deadline else {
                throw TimedOut(what: what, events: sessionEvents().map { "\($0)" })
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var events: [String]
    var description: String { "timed out waiting for \(what); session events so far: \(events)" }
}

/// Answers the first bytes it reads with a Logon (HeartBtInt=1) and then stays silent forever.
final class MuteAcceptor: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var answered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        answered = true
        var encoder = FIXEncoder()
        let header = FIXHeader(senderCompID: "VENUE", targetCompID: "NODE", msgSeqNum: 1, sendingTime: FIXClock.now().utc)
        let bytes = encoder.encode(Logon(heartBtInt: 1, resetSeqNumFlag: false, username: nil, password: nil), header: header)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }
}
