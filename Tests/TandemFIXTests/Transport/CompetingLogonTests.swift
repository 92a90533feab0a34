import NIOCore
import NIOPosix
@testable import TandemFIX
import Testing

/// A failover at the FIX layer: the new leader's Logon competes with the old leader's connection, which
/// may be dead without a FIN (a paused process, a cut host).
@Suite("Competing Logons (failover)", .timeLimit(.minutes(1)))
struct CompetingLogonTests {
    @Test("the holder answers nothing: probed with a TestRequest, closed after the probe timeout, and the retrying initiator logs on")
    func deadHolderIsProbedAndClosed() async throws {
        let acceptor = makeAcceptor()
        try await runningAcceptor(acceptor) { port, _ in
            // The old connection: a Logon with HeartBtInt 5 (so the 1.2 × HeartBtInt silence rule needs 6 s),
            // then silence, like a SIGSTOPped process whose kernel still holds the socket.
            let holder = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(MuteLogon(heartBtInt: 5)) }
                }
                .connect(host: "127.0.0.1", port: port).get()
            defer { holder.close(promise: nil) }
            try await waitUntil("the holder's session is live", timeout: .seconds(5)) {
                acceptor.isLoggedOn(.init(initiatorCompID: "NODE", acceptorCompID: "VENUE"))
            }

            let started = ContinuousClock.now
            let initiator = makeInitiator(port: port, reconnect: true, heartBtInt: 5, reconnectBase: .seconds(1))
            let log = EventLog(initiator.events)
            try await running(initiator) {
                try await log.eventually("the new connection logged on", timeout: .seconds(5)) { $0.loggedOn }
                initiator.logout()
            }
            let took = ContinuousClock.now - started
            let refusals = log.sessionEvents().compactMap { if case .loggedOut(let r) = $0, r.contains("refused") { r } else { nil } }
            #expect(refusals.first?.contains("TestRequest") == true, "refusals: \(refusals)")
            // Probe 250 ms + at most one 50 ms retry interval (+ scheduling); the 1 s backoff base or the 6 s
            // silence rule would take far longer.
            #expect(took < .milliseconds(900), "logged on after \(took)")
            try await waitUntil("the holder closed by the acceptor", timeout: .seconds(2)) { !holder.isActive }
        }
    }

    @Test("a live holder answers the probe and keeps the session; the competing Logon stays refused")
    func liveHolderKeepsTheSession() async throws {
        try await withPair { pair in
            let intruder = makeInitiator(port: pair.port, reconnect: false)
            let intruderLog = EventLog(intruder.events)
            try await running(intruder) {
                try await intruderLog.eventually("refused") { $0.loggedOutReason != nil }
            }
            #expect(intruderLog.loggedOutReason?.contains("already logged on") == true, "got: \(intruderLog.loggedOutReason ?? "nil")")
            try await Task.sleep(for: .milliseconds(500))  // past the 250 ms probe
            #expect(pair.acceptor.isLoggedOn(.init(initiatorCompID: "NODE", acceptorCompID: "VENUE")))
            try await pair.initiator.send(limitOrder(1))
            try await pair.initiatorLog.eventually("a fill on the live session") { $0.messages().count == 1 }
            #expect(pair.initiator.connectionCount == 1)
            #expect(pair.initiatorLog.loggedOnCount == 1)
        }
    }

    @Test("retry policy: refused Logons are retried on the fixed interval within the window, then back to backoff; a logon resets it")
    func retryPolicy() {
        var retry = FIXLogonRetry(interval: .milliseconds(50), window: .milliseconds(1700))
        let t = ContinuousClock.now
        let refused = FIXConnectionOutcome(loggedOn: false, logonRefusal: "session is already logged on")
        #expect(retry.next(after: refused, now: t) == .milliseconds(50))
        #expect(retry.next(after: refused, now: t + .milliseconds(1000)) == .milliseconds(50))
        #expect(retry.next(after: refused, now: t + .milliseconds(1700)) == nil)
        // A connect failure (no Logon answer at all) is not a refusal: backoff, and the run starts again.
        #expect(retry.next(after: FIXConnectionOutcome(loggedOn: false, logonRefusal: nil), now: t + .seconds(2)) == nil)
        #expect(retry.next(after: refused, now: t + .seconds(3)) == .milliseconds(50))
        #expect(retry.next(after: FIXConnectionOutcome(loggedOn: true, logonRefusal: nil), now: t + .seconds(4)) == nil)
        #expect(retry.refusals == 0)
        #expect(retry.next(after: refused, now: t + .seconds(10)) == .milliseconds(50))
    }

    @Test("the session records the counterparty's refusal of its Logon")
    func sessionRecordsRefusal() throws {
        var session = FIXSession(config: FIXSessionConfig(role: .initiator, senderCompID: "NODE", targetCompID: "VENUE", heartBtInt: 5),
                                 store: InMemoryFIXStore())
        _ = session.handle(.connected(FIXClock.now()))
        var encoder = FIXEncoder()
        let header = FIXHeader(senderCompID: "VENUE", targetCompID: "NODE", msgSeqNum: 1, sendingTime: FIXClock.now().utc)
        _ = session.handle(.received(encoder.encode(Logout(text: "session is already logged on"), header: header), FIXClock.now()))
        #expect(session.logonRefusal == "session is already logged on")
        _ = session.handle(.connected(FIXClock.now()))
        #expect(session.logonRefusal == nil)
    }
}

/// Sends a Logon on connect and then nothing, ever; reads and ignores everything (a TestRequest included).
final class MuteLogon: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let heartBtInt: Int

    init(heartBtInt: Int) { self.heartBtInt = heartBtInt }

    func channelActive(context: ChannelHandlerContext) {
        var encoder = FIXEncoder()
        let header = FIXHeader(senderCompID: "NODE", targetCompID: "VENUE", msgSeqNum: 1, sendingTime: FIXClock.now().utc)
        let bytes = encoder.encode(Logon(heartBtInt: heartBtInt, resetSeqNumFlag: false, username: nil, password: nil), header: header)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

func waitUntil(_ what: String, timeout: Duration, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: what, events: []) }
        try await Task.sleep(for: .milliseconds(10))
    }
}
