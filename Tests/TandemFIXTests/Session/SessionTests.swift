import Testing
import TandemCore
@testable import TandemFIX

/// Two sessions wired back to back in memory with a fake clock.
struct Pair {
    var initiator: FIXSession<InMemoryFIXStore>
    var acceptor: FIXSession<InMemoryFIXStore>
    var clock = Duration.seconds(1000)
    var delivered: [String: [FIXInbound]] = ["I": [], "A": []]
    var events: [String: [SessionEvent]] = ["I": [], "A": []]
    var disconnects: [String: [String]] = ["I": [], "A": []]
    /// Return false to drop a frame sent by `side`.
    var filter: (_ side: String, _ bytes: [UInt8]) -> Bool = { _, _ in true }

    /// `maxSendingTimeSkew` is off by default here: several scenarios replay a frame captured minutes of
    /// fake clock earlier (a stale duplicate, a hand-written frame), and what they test is sequencing.
    /// The SendingTime check has its own scenarios.
    init(heartBtInt: Int = 30, credentials: FIXCredentials? = nil, acceptorCredentials: FIXCredentials? = nil,
         maxSendingTimeSkew: Duration? = nil) {
        initiator = FIXSession(config: FIXSessionConfig(role: .initiator, senderCompID: "TANDEM", targetCompID: "VENUE",
                                                        heartBtInt: heartBtInt, credentials: credentials,
                                                        maxSendingTimeSkew: maxSendingTimeSkew), store: InMemoryFIXStore())
        acceptor = FIXSession(config: FIXSessionConfig(role: .acceptor, senderCompID: "VENUE", targetCompID: "TANDEM",
                                                       credentials: acceptorCredentials, maxSendingTimeSkew: maxSendingTimeSkew),
                              store: InMemoryFIXStore())
    }

    var now: FIXTime { FIXTime(utc: Timestamp(nanosecondsSinceEpoch: 1_700_000_000_000_000_000 + Int64(clock.components.seconds) * 1_000_000_000), monotonic: clock) }

    mutating func to(_ side: String, _ event: FIXSessionEvent) {
        let actions = side == "I" ? initiator.handle(event) : acceptor.handle(event)
        var outgoing: [[UInt8]] = []
        for a in actions {
            switch a {
            case .send(let b, _): if filter(side, b) { outgoing.append(b) }
            case .deliver(let m): delivered[side, default: []].append(m)
            case .disconnect(let r): disconnects[side, default: []].append(r)
            case .event(let e): events[side, default: []].append(e)
            case .scheduleTimer: break
            }
        }
        let other = side == "I" ? "A" : "I"
        for b in outgoing where (other == "I" ? initiator.state : acceptor.state) != .disconnected {
            to(other, .received(b, now))
        }
    }

    mutating func connect() {
        to("A", .connected(now))
        to("I", .connected(now))
    }

    mutating func send(_ side: String, _ body: some FIXMessageBody) { to(side, .sendApplication(body, now)) }

    mutating func tick(_ d: Duration) {
        clock += d
        to("I", .timerFired(now))
        to("A", .timerFired(now))
    }
}

func order(_ n: Int) -> NewOrderSingle {
    NewOrderSingle(clOrdID: ClOrdID("C\(n)"), account: nil, symbol: "AAPL", side: .buy, transactTime: t0,
                   orderQty: Quantity(units: 100_000_000), orderType: .market, timeInForce: .day)
}

func msgType(_ b: [UInt8]) -> MsgType? { try? FIXParser.parse(b).msgType }

@Suite struct SessionTests {
    /// The shell reuses its actions arrays through `handle(_:into:)`: it must append exactly what
    /// `handle(_:)` returns, after whatever the array already holds, and change the session the same way.
    @Test func handleIntoAppendsWhatHandleReturns() {
        var p = Pair()
        p.connect()
        #expect(p.initiator.isLoggedOn)
        var returning = p.initiator
        var appending = p.initiator
        let event = FIXSessionEvent.sendApplication(order(1), p.now)
        let returned = returning.handle(event)
        var reused: [FIXSessionAction] = [.event(.testRequestSent)]
        appending.handle(event, into: &reused)
        func sent(_ actions: some Sequence<FIXSessionAction>) -> [[UInt8]] {
            actions.compactMap { if case .send(let bytes, _) = $0 { bytes } else { nil } }
        }
        #expect(reused.count == returned.count + 1)
        if case .event(.testRequestSent) = reused.first {} else { Issue.record("the array's first action was replaced") }
        #expect(!sent(returned).isEmpty)
        #expect(sent(reused.dropFirst()) == sent(returned))
        #expect(returning.store == appending.store)
    }

    @Test func logonHandshake() {
        var p = Pair(credentials: FIXCredentials(username: "u", password: "p"), acceptorCredentials: FIXCredentials(username: "u", password: "p"))
        p.connect()
        #expect(p.initiator.state == .active)
        #expect(p.acceptor.state == .active)
        #expect(p.events["A"]?.contains(.loggedOn(heartBtInt: 30, resetSeqNum: false)) == true)
        #expect(p.initiator.store.nextSenderSeq == 2 && p.initiator.store.nextTargetSeq == 2)
        p.send("I", order(1))
        #expect(p.delivered["A"]?.count == 1)
        if case .newOrderSingle(let o)? = p.delivered["A"]?.first?.typed { #expect(o.clOrdID == ClOrdID("C1")) } else { Issue.record("no order") }
    }

    @Test func wrongPasswordIsLoggedOut() {
        var p = Pair(credentials: FIXCredentials(username: "u", password: "x"), acceptorCredentials: FIXCredentials(username: "u", password: "p"))
        p.connect()
        #expect(p.acceptor.state == .disconnected)
        #expect(p.disconnects["A"]?.first?.contains("password") == true)
    }

    @Test func gapTriggersResendWithPossDupAndAdminGapFill() throws {
        var p = Pair()
        p.connect()
        p.send("I", order(1))                       // seq 2
        var dropping = true
        p.filter = { side, _ in !(side == "I" && dropping) }
        p.to("I", .timerFired(p.now))               // nothing due
        p.clock += .seconds(31)
        p.to("I", .timerFired(p.now))               // Heartbeat seq 3, dropped
        p.send("I", order(2))                       // seq 4, dropped
        dropping = false
        var resent: [[UInt8]] = []
        p.filter = { side, b in if side == "I" { resent.append(b) }; return true }
        p.send("I", order(3))                       // seq 5 reveals the gap
        #expect(p.events["A"]?.contains(.gapDetected(expected: 3, received: 5)) == true)
        #expect(p.events["A"]?.contains(.resendRequested(beginSeqNo: 3, endSeqNo: 0)) == true)
        let answers = try resent.map(FIXParser.parse)
        let gapFill = try #require(answers.first { $0.msgType == .sequenceReset })
        #expect(gapFill.msgSeqNum == 3)
        #expect(try SequenceReset(parsing: gapFill) == SequenceReset(gapFillFlag: true, newSeqNo: 4))
        let dup = try #require(answers.first { $0.msgType == .newOrderSingle && $0.msgSeqNum == 4 })
        #expect(dup.possDupFlag)
        #expect(try dup.timestamp(122) != nil)
        let ids = p.delivered["A"]!.compactMap { if case .newOrderSingle(let o) = $0.typed { o.clOrdID.rawValue } else { nil } }
        #expect(ids == ["C1", "C2", "C3", "C3"] || ids == ["C1", "C2", "C3"])
        #expect(Set(ids) == ["C1", "C2", "C3"])
        #expect(p.acceptor.store.nextTargetSeq == p.initiator.store.nextSenderSeq)
        #expect(p.events["A"]?.contains { if case .gapFilled = $0 { true } else { false } } == true)
    }

    /// Failover rule: what a new leader resends from the (journal-backed) store is the message first
    /// sent, byte for byte, except PossDupFlag(43), OrigSendingTime(122), SendingTime(52) and the
    /// framing fields BodyLength(9) and CheckSum(10).
    @Test func resentMessageIsTheOriginalButForPossDupAndTimes() throws {
        var p = Pair()
        p.connect()
        var original: [UInt8]?
        p.filter = { side, b in
            if side == "I", msgType(b) == .newOrderSingle, original == nil { original = b; return false }
            return true
        }
        p.send("I", order(7))                       // first transmission, lost
        var resent: [[UInt8]] = []
        p.filter = { side, b in if side == "I" { resent.append(b) }; return true }
        p.clock += .seconds(2)
        p.send("I", order(8))                       // reveals the gap; the store answers
        let first = try #require(original)
        let again = try #require(resent.first { (try? FIXParser.parse($0))?.possDupFlag == true })
        func fields(_ bytes: [UInt8]) -> [String] {
            bytes.split(separator: 0x01).map { String(decoding: $0, as: UTF8.self) }
                .filter { f in !["9=", "10=", "43=", "52=", "122="].contains { f.hasPrefix($0) } }
        }
        #expect(fields(again) == fields(first))
        let m = try FIXParser.parse(again)
        #expect(m.possDupFlag)
        #expect(try m.timestamp(122) == FIXParser.parse(first).timestamp(52))
    }

    @Test func queuedMessagesDeliverInOrder() throws {
        var p = Pair()
        p.connect()
        var held: [[UInt8]] = []
        p.filter = { side, b in if side == "I", msgType(b) == .newOrderSingle, held.count < 1 { held.append(b); return false }; return true }
        p.send("I", order(1))   // seq 2, held back
        p.send("I", order(2))   // seq 3, queued at acceptor; resend answers 2 from the store
        let ids = p.delivered["A"]!.compactMap { if case .newOrderSingle(let o) = $0.typed { o.clOrdID.rawValue } else { nil } }
        #expect(ids == ["C1", "C2"])
    }

    @Test func seqTooLowWithoutPossDupLogsOut() {
        var p = Pair()
        p.connect()
        p.send("I", order(1))
        var e = FIXEncoder()
        let stale = e.encode(order(9), header: FIXHeader(senderCompID: "TANDEM", targetCompID: "VENUE", msgSeqNum: 1, sendingTime: t0))
        p.to("A", .received(stale, p.now))
        #expect(p.acceptor.state == .disconnected)
        #expect(p.disconnects["A"]?.first == "MsgSeqNum too low, expecting 3 but received 1")
    }

    @Test func seqTooLowWithPossDupIsIgnored() {
        var p = Pair()
        p.connect()
        var e = FIXEncoder()
        let dup = e.encode(order(9), header: FIXHeader(senderCompID: "TANDEM", targetCompID: "VENUE", msgSeqNum: 1, sendingTime: t0,
                                                        possDupFlag: true, origSendingTime: t0))
        p.to("A", .received(dup, p.now))
        #expect(p.acceptor.state == .active)
        #expect(p.events["A"]?.contains(.duplicateIgnored(seq: 1)) == true)
        #expect(p.delivered["A"]?.isEmpty == true)
    }

    @Test func silenceSendsTestRequestThenDisconnects() {
        var p = Pair(heartBtInt: 10)
        p.connect()
        p.filter = { side, _ in side != "A" }        // acceptor goes silent
        p.clock += .seconds(13)
        p.to("I", .timerFired(p.now))
        #expect(p.events["I"]?.contains(.testRequestSent) == true)
        #expect(p.initiator.state == .active)
        p.clock += .seconds(13)
        p.to("I", .timerFired(p.now))
        #expect(p.initiator.state == .disconnected)
        #expect(p.disconnects["I"]?.first?.contains("TestRequest") == true)
    }

    @Test func heartbeatsKeepIdleSessionAlive() {
        var p = Pair(heartBtInt: 5)
        p.connect()
        for _ in 0..<60 { p.tick(.seconds(1)) }
        #expect(p.initiator.state == .active && p.acceptor.state == .active)
        #expect(p.initiator.store.nextSenderSeq > 5)
        #expect(p.events["I"]?.contains(.testRequestSent) != true)
    }

    @Test func restartKeepingStoreContinuesSequence() {
        var p = Pair()
        p.connect()
        p.send("I", order(1))
        p.send("I", order(2))
        let store = p.initiator.store
        p.to("I", .disconnected(p.now))
        p.to("A", .disconnected(p.now))
        // A new process (the new leader) with the persisted store.
        p.initiator = FIXSession(config: p.initiator.config, store: store)
        p.connect()
        #expect(p.initiator.state == .active && p.acceptor.state == .active)
        #expect(p.initiator.store.nextSenderSeq == 5)
        p.send("I", order(3))
        #expect(p.delivered["A"]?.count == 3)
        #expect(p.disconnects["A"]?.isEmpty == true)
    }

    @Test func restartWithLostOutboundResendsFromStore() {
        var p = Pair()
        p.connect()
        p.filter = { side, b in !(side == "I" && msgType(b) == .newOrderSingle) }
        p.send("I", order(1))                          // stored, never arrives
        p.filter = { _, _ in true }
        let store = p.initiator.store
        p.to("I", .disconnected(p.now)); p.to("A", .disconnected(p.now))
        p.initiator = FIXSession(config: p.initiator.config, store: store)
        p.connect()
        let ids = p.delivered["A"]!.compactMap { if case .newOrderSingle(let o) = $0.typed { o.clOrdID.rawValue } else { nil } }
        #expect(ids == ["C1"])
        #expect(p.delivered["A"]?.first?.message.possDupFlag == true)
    }

    @Test func orderlyLogoutBothWays() {
        var p = Pair()
        p.connect()
        p.to("I", .logoutRequested(text: "eod", p.now))
        #expect(p.initiator.state == .disconnected && p.acceptor.state == .disconnected)
        #expect(p.disconnects["I"] == ["logout confirmed"])
        #expect(p.disconnects["A"]?.first == "counterparty logged out: eod")
    }

    @Test func malformedFieldGetsRejectAndSessionContinues() {
        var p = Pair()
        p.connect()
        var rejects: [Reject] = []
        p.filter = { side, b in
            if side == "A", let m = try? FIXParser.parse(b), m.msgType == .reject, let r = try? Reject(parsing: m) { rejects.append(r) }
            return true
        }
        p.to("A", .received(rawFrame("35=D|49=TANDEM|56=VENUE|34=2|52=20231114-22:13:20|11=C|55=X|54=9|60=20231114-22:13:20|38=1|40=1|"), p.now))
        p.to("A", .received(rawFrame("35=0|49=TANDEM|56=VENUE|34=3|52=20231114-22:13:20|112|"), p.now))
        #expect(rejects.map(\.refSeqNum) == [2, 3])
        #expect(rejects.map(\.refTagID) == [54, 112])
        #expect(rejects.map(\.sessionRejectReason) == [5, 0])
        #expect(p.acceptor.state == .active)
        #expect(p.acceptor.store.nextTargetSeq == 4)
        // A garbled frame (bad checksum) is ignored without consuming a seq.
        var bad = rawFrame("35=0|49=TANDEM|56=VENUE|34=4|52=20231114-22:13:20|")
        bad[bad.count - 2] ^= 1
        p.to("A", .received(bad, p.now))
        #expect(p.acceptor.store.nextTargetSeq == 4)
        #expect(p.events["A"]?.contains { if case .garbledIgnored(let e) = $0 { e.code == .badChecksum } else { false } } == true)
    }

    /// FIX's SendingTime accuracy check: past `maxSendingTimeSkew` either way → Reject(52, reason 10),
    /// the seq used up, Logout; a resend whose OrigSendingTime is after its SendingTime → Reject(122, 10)
    /// and the session goes on; a missing SendingTime → Reject(52, reason 1).
    @Test func sendingTimeAccuracy() throws {
        func frame(_ p: Pair, seq: Int, sentAgo: Duration, possDupOriginalAgo: Duration? = nil, _ body: some FIXMessageBody = order(9)) -> [UInt8] {
            let at = { (ago: Duration) in Timestamp(nanosecondsSinceEpoch: p.now.utc.nanosecondsSinceEpoch - Int64(ago.components.seconds) * 1_000_000_000) }
            var e = FIXEncoder()
            return e.encode(body, header: FIXHeader(senderCompID: "TANDEM", targetCompID: "VENUE", msgSeqNum: seq, sendingTime: at(sentAgo),
                                                    possDupFlag: possDupOriginalAgo != nil, origSendingTime: possDupOriginalAgo.map(at)))
        }
        func rejects(_ p: Pair, _ run: (inout Pair) -> Void) -> (Pair, [Reject]) {
            var p = p
            var found: [Reject] = []
            p.filter = { side, b in
                if side == "A", let m = try? FIXParser.parse(b), m.msgType == .reject, let r = try? Reject(parsing: m) { found.append(r) }
                return true
            }
            run(&p)
            return (p, found)
        }
        var live = Pair(maxSendingTimeSkew: .seconds(120))
        live.connect()
        #expect(live.acceptor.state == .active)

        // Within the window, either way: delivered.
        var (p, r) = rejects(live) { p in
            p.to("A", .received(frame(p, seq: 2, sentAgo: .seconds(119)), p.now))
            p.to("A", .received(frame(p, seq: 3, sentAgo: .seconds(-119)), p.now))
        }
        #expect(r.isEmpty && p.delivered["A"]?.count == 2 && p.acceptor.state == .active)

        // Behind or ahead by more: Reject with reason 10, then Logout.
        for ago in [Duration.seconds(121), .seconds(-121)] {
            (p, r) = rejects(live) { p in p.to("A", .received(frame(p, seq: 2, sentAgo: ago), p.now)) }
            #expect(r.map(\.refSeqNum) == [2] && r.map(\.refTagID) == [52] && r.map(\.sessionRejectReason) == [10])
            #expect(p.delivered["A"]?.isEmpty == true && p.acceptor.state == .disconnected && p.acceptor.store.nextTargetSeq == 3)
            let reason = try #require(p.disconnects["A"]?.first)
            #expect(reason.hasPrefix("SendingTime accuracy problem") && reason.contains(ago > .zero ? "behind our clock" : "ahead of our clock"), "\(reason)")
        }

        // A resend sent before its original: Reject(122, reason 10); the session goes on with the next seq.
        (p, r) = rejects(live) { p in
            p.to("A", .received(frame(p, seq: 2, sentAgo: .seconds(5), possDupOriginalAgo: .seconds(1)), p.now))
            p.to("A", .received(frame(p, seq: 3, sentAgo: .seconds(1), possDupOriginalAgo: .seconds(5)), p.now))
        }
        #expect(r.map(\.refSeqNum) == [2] && r.map(\.refTagID) == [122] && r.map(\.sessionRejectReason) == [10])
        #expect(p.acceptor.state == .active && p.acceptor.store.nextTargetSeq == 4 && p.delivered["A"]?.count == 1)

        // No SendingTime: Reject(52, reason 1), the seq used up, the session goes on.
        (p, r) = rejects(live) { p in
            p.to("A", .received(rawFrame("35=0|49=TANDEM|56=VENUE|34=2|"), p.now))
        }
        #expect(r.map(\.refTagID) == [52] && r.map(\.sessionRejectReason) == [1])
        #expect(p.acceptor.state == .active && p.acceptor.store.nextTargetSeq == 3)

        // Across a gap: a far-off message is refused at once (its seq not used up), while one without a
        // SendingTime is queued like any other and rejected when the gap is filled and its turn comes.
        (p, r) = rejects(live) { p in p.to("A", .received(frame(p, seq: 3, sentAgo: .seconds(300)), p.now)) }
        #expect(r.map(\.refSeqNum) == [3] && r.map(\.sessionRejectReason) == [10])
        #expect(p.acceptor.state == .disconnected && p.acceptor.store.nextTargetSeq == 2)
        (p, r) = rejects(live) { p in
            p.to("A", .received(rawFrame("35=0|49=TANDEM|56=VENUE|34=3|"), p.now))
            #expect(p.events["A"]?.contains(.gapDetected(expected: 2, received: 3)) == true)
            p.to("A", .received(frame(p, seq: 2, sentAgo: .zero), p.now))
        }
        #expect(r.map(\.refSeqNum) == [3] && r.map(\.sessionRejectReason) == [1])
        #expect(p.acceptor.state == .active && p.acceptor.store.nextTargetSeq == 4 && p.delivered["A"]?.count == 1)

        // A Logon far off: Logout and disconnect, no session.
        var fresh = Pair(maxSendingTimeSkew: .seconds(120))
        fresh.to("A", .connected(fresh.now))
        fresh.to("A", .received(frame(fresh, seq: 1, sentAgo: .seconds(600), Logon(heartBtInt: 30)), fresh.now))
        #expect(fresh.acceptor.state == .disconnected)
        #expect(fresh.disconnects["A"]?.first?.hasPrefix("SendingTime accuracy problem") == true)

        // Off: the same far-off message is delivered.
        var off = Pair()
        off.connect()
        off.to("A", .received(frame(off, seq: 2, sentAgo: .seconds(3_600)), off.now))
        #expect(off.delivered["A"]?.count == 1 && off.acceptor.state == .active)
        #expect(FIXSessionConfig(role: .acceptor, senderCompID: "A", targetCompID: "B").maxSendingTimeSkew == .seconds(120))
    }

    @Test func garbledLogonGetsLogout() {
        var p = Pair()
        p.to("A", .connected(p.now))
        p.to("A", .received(rawFrame("35=A|49=TANDEM|56=VENUE|34=1|52=20231114-22:13:20|98=0|108=x|"), p.now))
        #expect(p.acceptor.state == .disconnected)
        #expect(p.disconnects["A"]?.first?.contains("invalid Logon") == true)
    }

    @Test func secondLogonForLiveSessionRefused() throws {
        var registry = FIXAcceptorRegistry()
        let logon = try FIXParser.parse(rawFrame("35=A|49=TANDEM|56=VENUE|34=1|52=20231114-22:13:20|98=0|108=30|"))
        #expect(registry.admit(logon: logon, connection: 1) == .admitted(.init(initiatorCompID: "TANDEM", acceptorCompID: "VENUE")))
        guard case .refused(let reason) = registry.admit(logon: logon, connection: 2) else { Issue.record("admitted twice"); return }
        #expect(reason.contains("already logged on"))
        registry.release(connection: 1)
        #expect(registry.admit(logon: logon, connection: 2) == .admitted(.init(initiatorCompID: "TANDEM", acceptorCompID: "VENUE")))
    }

    @Test func reconnectBackoffDoublesToCap() {
        let d = (0..<8).map { FIXSession<InMemoryFIXStore>.reconnectDelay(attempt: $0) }
        #expect(d == [.zero, .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)])
        #expect(FIXSession<InMemoryFIXStore>.reconnectDelay(attempt: 10_000) == .seconds(30))
    }

    @Test func sequenceResetResetMode() throws {
        var p = Pair()
        p.connect()
        var e = FIXEncoder()
        let r = e.encode(SequenceReset(gapFillFlag: false, newSeqNo: 50), header: FIXHeader(senderCompID: "TANDEM", targetCompID: "VENUE", msgSeqNum: 999, sendingTime: t0))
        p.to("A", .received(r, p.now))
        #expect(p.acceptor.store.nextTargetSeq == 50)
        #expect(p.events["A"]?.contains(.sequenceReset(newSeqNo: 50)) == true)
    }
}
