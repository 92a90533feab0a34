import TandemCore

/// A FIX 4.4 session as a sans-I/O state machine: events in, actions out.
///
/// The shell (TCP, timers, logging) feeds every ``FIXSessionEvent`` to ``handle(_:)`` and carries
/// out the returned ``FIXSessionAction``s in order. Nothing here reads a clock or touches a socket,
/// so two sessions wired together in memory with a fake clock run every scenario deterministically.
/// The session owns its `Store` as a value; see docs/fix.md for why it is generic.
public struct FIXSession<Store: FIXSessionStore>: Sendable {
    public enum State: Sendable, Hashable {
        case disconnected
        /// Initiator: Logon sent, waiting for the reply.
        case logonSent
        /// Acceptor: connected, waiting for the initiator's Logon.
        case awaitingLogon
        case active
        /// Logout sent, waiting for the counterparty's Logout.
        case logoutSent
    }

    public let config: FIXSessionConfig
    public private(set) var store: Store
    public private(set) var state: State = .disconnected
    /// The HeartBtInt in force (the acceptor adopts the initiator's).
    public private(set) var heartBtInt: Int {
        didSet { (interval, silenceLimit) = Self.limits(heartBtInt) }
    }
    /// HeartBtInt as a `Duration`, and the silence tolerated before a TestRequest: HeartBtInt plus
    /// 20 %, for transmission delay. Kept, not computed per message (`Duration` arithmetic is 128-bit).
    private var interval: Duration
    private var silenceLimit: Duration

    private static func limits(_ heartBtInt: Int) -> (Duration, Duration) {
        let interval = Duration.seconds(heartBtInt)
        return (interval, interval + interval / 5)
    }
    /// The counterparty's reason when it answered our Logon on this connection with a Logout (a refusal:
    /// the session is live elsewhere, wrong credentials, …); nil otherwise. Cleared on the next connect.
    public private(set) var logonRefusal: String?

    private var splitter = FIXFrameSplitter()
    private var encoder = FIXEncoder()
    private var lastSent: Duration = .zero
    private var lastReceived: Duration = .zero
    private var testRequestSentAt: Duration?
    private var testRequestCount = 0
    private var stateDeadline: Duration?
    private var scheduled: Duration?
    /// Messages above a gap, delivered once the gap is filled.
    private var queued: [Int: FIXMessage] = [:]
    /// Seqs of queued ResendRequests that were answered on arrival, so they are not answered twice.
    private var answeredEarly: Set<Int> = []
    /// The last seq a pending ResendRequest covers (the message that revealed the gap, minus one).
    private var resendThrough: Int?

    public init(config: FIXSessionConfig, store: Store) {
        self.config = config
        self.store = store
        self.heartBtInt = config.heartBtInt
        (interval, silenceLimit) = Self.limits(config.heartBtInt)
    }

    public var isLoggedOn: Bool { state == .active }

    // MARK: Events

    /// Pre-specialized for the in-memory store (the node and the benchmarks): the shell that calls
    /// this is generic over the store and lives in this module, so callers in other modules would
    /// otherwise run the unspecialized code (value-witness calls and metadata lookups per message).
    @_specialize(where Store == InMemoryFIXStore)
    public mutating func handle(_ event: FIXSessionEvent) -> [FIXSessionAction] {
        var out: [FIXSessionAction] = []
        handle(event, into: &out)
        return out
    }

    /// ``handle(_:)`` appending the actions to `out`: a caller that keeps one array for this, emptied
    /// with its capacity kept, makes no allocation for the actions of each message (the NIO shell
    /// does).
    @_specialize(where Store == InMemoryFIXStore)
    public mutating func handle(_ event: FIXSessionEvent, into out: inout [FIXSessionAction]) {
        let now: FIXTime
        switch event {
        case .connected(let t):
            now = t
            connected(t, &out)
        case .received(let bytes, let t):
            now = t
            guard state != .disconnected else { break }
            splitter.append(bytes)
            while state != .disconnected, let next = splitter.next() {
                switch next {
                case .skipped(let e): out.append(.event(.garbledIgnored(e)))
                case .frame(let frame): receivedFrame(frame, t, &out)
                }
            }
        case .receivedMessage(let m, let t):
            now = t
            if state != .disconnected { received(m, t, &out) }
        case .timerFired(let t):
            now = t
            timerFired(t, &out)
        case .sendApplication(let body, let t):
            now = t
            sendApplication(body, t, &out)
        case .logoutRequested(let text, let t):
            now = t
            switch state {
            case .active:
                sendAdmin(Logout(text: text), t, &out)
                state = .logoutSent
                stateDeadline = t.monotonic + config.logoutTimeout
            case .logonSent, .awaitingLogon:
                terminate("logout requested before logon completed", &out)
            case .disconnected, .logoutSent: break
            }
        case .testRequestRequested(let id, let t):
            now = t
            if state == .active {
                sendAdmin(TestRequest(testReqID: id), t, &out)
                out.append(.event(.testRequestSent))
            } else {
                out.append(.event(.sendRefused(reason: "session is \(state), not logged on")))
            }
        case .disconnected(let t):
            now = t
            if state != .disconnected { out.append(.event(.loggedOut(reason: "transport closed"))) }
            reset()
        }
        scheduleTimer(now, &out)
    }

    /// The initiator's wait before reconnect attempt `attempt` (0-based): 0, then 1 s doubling to `cap`.
    /// Pure, so the shell and its tests agree on the schedule; add jitter in the shell if many
    /// initiators share a venue.
    public static func reconnectDelay(attempt: Int, base: Duration = .seconds(1), cap: Duration = .seconds(30)) -> Duration {
        guard attempt > 0 else { return .zero }
        let shift = min(attempt - 1, 20)
        let d = base * (1 << shift)
        return d > cap ? cap : d
    }

    // MARK: Connection lifecycle

    private mutating func connected(_ now: FIXTime, _ out: inout [FIXSessionAction]) {
        reset()
        logonRefusal = nil
        lastSent = now.monotonic
        lastReceived = now.monotonic
        stateDeadline = now.monotonic + config.logonTimeout
        switch config.role {
        case .initiator:
            if config.resetSeqNumOnLogon { store.reset() }
            sendAdmin(Logon(heartBtInt: config.heartBtInt, resetSeqNumFlag: config.resetSeqNumOnLogon,
                            username: config.credentials?.username, password: config.credentials?.password), now, &out)
            state = .logonSent
        case .acceptor:
            state = .awaitingLogon
        }
    }

    private mutating func reset() {
        state = .disconnected
        splitter = FIXFrameSplitter()
        queued = [:]
        answeredEarly = []
        resendThrough = nil
        testRequestSentAt = nil
        stateDeadline = nil
        scheduled = nil
        heartBtInt = config.heartBtInt
    }

    /// Logout with a reason, then disconnect: FIX's answer to a session it cannot continue.
    private mutating func terminate(_ reason: String, _ now: FIXTime? = nil, logout: Bool = false, _ out: inout [FIXSessionAction]) {
        if logout, let now { sendAdmin(Logout(text: reason), now, &out) }
        out.append(.event(.loggedOut(reason: reason)))
        out.append(.disconnect(reason: reason))
        reset()
    }

    private mutating func terminate(_ reason: String, _ out: inout [FIXSessionAction]) {
        terminate(reason, nil, logout: false, &out)
    }

    private mutating func logoutAndDisconnect(_ reason: String, _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        terminate(reason, now, logout: true, &out)
    }

    // MARK: Inbound

    private mutating func receivedFrame(_ frame: [UInt8], _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        let message: FIXMessage
        do {
            message = try FIXParser.parse(frame)
        } catch {
            lastReceived = now.monotonic
            if state == .logonSent || state == .awaitingLogon {
                logoutAndDisconnect("garbled Logon: \(error.message)", now, &out)
            } else if error.isGarbled {
                out.append(.event(.garbledIgnored(error)))
            } else if let seq = FIXParser.peekMsgSeqNum(frame) {
                sendReject(refSeqNum: seq, refTagID: error.tag, refMsgType: nil, reason: error.sessionRejectReason, text: error.message, now, &out)
                if seq == store.nextTargetSeq { advanceTarget(now, &out) }
            } else {
                out.append(.event(.garbledIgnored(error)))
            }
            return
        }
        received(message, now, &out)
    }

    private mutating func received(_ m: FIXMessage, _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        lastReceived = now.monotonic
        testRequestSentAt = nil
        guard let seq = m.msgSeqNum else {
            logoutAndDisconnect("message without a valid MsgSeqNum(34)", now, &out)
            return
        }
        guard m.value(49, equals: config.targetCompID), m.value(56, equals: config.senderCompID) else {
            if state == .active || state == .logoutSent {
                sendReject(refSeqNum: seq, refTagID: m.senderCompID == config.targetCompID ? 56 : 49, refMsgType: m.msgType.wireValue,
                           reason: 9, text: "CompID problem", now, &out)
            }
            logoutAndDisconnect("CompID problem: got \(m.senderCompID ?? "-")→\(m.targetCompID ?? "-"), expected \(config.targetCompID)→\(config.senderCompID)", now, &out)
            return
        }
        // SendingTime accuracy comes before sequencing (as in QuickFIX): a message that far off is not
        // queued or acted on. A missing or malformed SendingTime is rejected when its turn comes
        // (`dispatch`), like any other malformed field; on a Logon it ends the attempt.
        let time = state == .disconnected ? .good : checkSendingTime(m, now)
        switch time {
        case .good:
            break
        case .inaccurate(let text):
            if state == .active || state == .logoutSent {
                sendReject(refSeqNum: seq, refTagID: 52, refMsgType: m.msgType.wireValue, reason: 10, text: text, now, &out)
                // Its seq is used up (FIX: increment the inbound MsgSeqNum), unless it came across a gap.
                if seq == store.nextTargetSeq { store.nextTargetSeq = seq + 1 }
            }
            logoutAndDisconnect(text, now, &out)
            return
        case .invalid(_, let text):
            if state == .logonSent || state == .awaitingLogon {
                logoutAndDisconnect("invalid Logon: \(text)", now, &out)
                return
            }
        }
        switch state {
        case .disconnected: return
        case .logonSent, .awaitingLogon: receivedLogon(m, seq, now, &out)
        case .active, .logoutSent: sequenced(m, seq, timeChecked: time == .good, now, &out)
        }
    }

    private enum SendingTimeCheck: Equatable {
        case good
        /// Further from our clock than `maxSendingTimeSkew` (SessionRejectReason 10).
        case inaccurate(String)
        /// Missing (reason 1) or not a UTCTimestamp (reason 6).
        case invalid(reason: Int, String)
    }

    /// `m`'s SendingTime(52) against our clock; always `.good` when the check is off.
    private func checkSendingTime(_ m: FIXMessage, _ now: FIXTime) -> SendingTimeCheck {
        guard let limit = config.maxSendingTimeSkew else { return .good }
        let sent: Timestamp
        do {
            guard let t = try m.timestamp(52) else { return .invalid(reason: 1, "Required tag missing: SendingTime(52)") }
            sent = t
        } catch {
            return .invalid(reason: error.sessionRejectReason, error.message)
        }
        let skew = Duration.nanoseconds(now.utc.nanosecondsSinceEpoch) - .nanoseconds(sent.nanosecondsSinceEpoch)
        guard skew > limit || skew < .zero - limit else { return .good }
        return .inaccurate("SendingTime accuracy problem: SendingTime(52) \(Self.utcText(sent)) is more than \(limit.components.seconds) s "
                           + "\(skew < .zero ? "ahead of" : "behind") our clock (\(Self.utcText(now.utc)))")
    }

    /// A timestamp as FIX writes it (UTCTimestamp), for the texts of Rejects and Logouts.
    static func utcText(_ t: Timestamp) -> String {
        var bytes: [UInt8] = []
        FIXValues.appendTimestamp(t, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func receivedLogon(_ m: FIXMessage, _ seq: Int, _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        if m.msgType == .logout, state == .logonSent {
            // The acceptor refused our Logon; its text is the reason (wrong seq, duplicate session, credentials).
            let reason = m.string(58) ?? "no reason given"
            terminate("Logon refused by counterparty: \(reason)", &out)
            logonRefusal = reason
            return
        }
        guard m.msgType == .logon else {
            logoutAndDisconnect("first message is \(m.msgType), not Logon", now, &out)
            return
        }
        let logon: Logon
        do { logon = try Logon(parsing: m) } catch {
            logoutAndDisconnect("invalid Logon: \(error.message)", now, &out)
            return
        }
        guard logon.encryptMethod == 0, logon.heartBtInt > 0 else {
            logoutAndDisconnect("Logon with EncryptMethod \(logon.encryptMethod) and HeartBtInt \(logon.heartBtInt); expected 0 and a positive interval", now, &out)
            return
        }
        if config.role == .acceptor, let expected = config.credentials,
           logon.username != expected.username || logon.password != expected.password {
            logoutAndDisconnect("Logon refused: invalid username or password", now, &out)
            return
        }
        if logon.resetSeqNumFlag {
            if config.role == .acceptor { store.reset() } else if !config.resetSeqNumOnLogon { store.nextTargetSeq = 1 }
        }
        if config.role == .acceptor {
            heartBtInt = logon.heartBtInt
            sendAdmin(Logon(heartBtInt: heartBtInt, resetSeqNumFlag: logon.resetSeqNumFlag, text: config.logonText), now, &out)
        }
        let expected = store.nextTargetSeq
        if seq < expected {
            logoutAndDisconnect("MsgSeqNum too low, expecting \(expected) but received \(seq)", now, &out)
            return
        }
        state = .active
        stateDeadline = nil
        out.append(.event(.loggedOn(heartBtInt: heartBtInt, resetSeqNum: logon.resetSeqNumFlag)))
        if seq == expected {
            store.nextTargetSeq = seq + 1
        } else {
            requestResend(expected: expected, received: seq, now, &out)
        }
    }

    /// `timeChecked`: SendingTime was found good on receipt, so `dispatch` need not parse it again.
    private mutating func sequenced(_ m: FIXMessage, _ seq: Int, timeChecked: Bool, _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        let expected = store.nextTargetSeq
        if m.msgType == .sequenceReset, let reset = try? SequenceReset(parsing: m), !reset.gapFillFlag {
            // Reset mode ignores MsgSeqNum.
            if reset.newSeqNo >= expected {
                store.nextTargetSeq = reset.newSeqNo
                queued = queued.filter { $0.key >= reset.newSeqNo }
                out.append(.event(.sequenceReset(newSeqNo: reset.newSeqNo)))
                drainQueue(now, &out)
            } else {
                sendReject(refSeqNum: seq, refTagID: 36, refMsgType: "4", reason: 5,
                           text: "SequenceReset NewSeqNo \(reset.newSeqNo) is below expected \(expected)", now, &out)
            }
            return
        }
        if seq > expected {
            if m.msgType == .logout {
                // Answer a Logout even across a gap: the counterparty is leaving.
                dispatch(m, seq, timeChecked: timeChecked, now, &out)
                return
            }
            guard queued.count < config.maxQueuedMessages else {
                logoutAndDisconnect("more than \(config.maxQueuedMessages) messages queued behind a gap at \(expected)", now, &out)
                return
            }
            queued[seq] = m
            if m.msgType == .resendRequest, let r = try? ResendRequest(parsing: m) {
                answerResend(r, now, &out)
                answeredEarly.insert(seq)
            }
            if resendThrough == nil { requestResend(expected: expected, received: seq, now, &out) }
            return
        }
        if seq < expected {
            if m.possDupFlag {
                out.append(.event(.duplicateIgnored(seq: seq)))
            } else {
                logoutAndDisconnect("MsgSeqNum too low, expecting \(expected) but received \(seq)", now, &out)
            }
            return
        }
        dispatch(m, seq, timeChecked: timeChecked, now, &out)
        drainQueue(now, &out)
    }

    private mutating func drainQueue(_ now: FIXTime, _ out: inout [FIXSessionAction]) {
        while state != .disconnected, let next = queued.removeValue(forKey: store.nextTargetSeq) {
            if answeredEarly.remove(store.nextTargetSeq) != nil {
                store.nextTargetSeq += 1  // a ResendRequest already answered when it arrived
                continue
            }
            dispatch(next, store.nextTargetSeq, timeChecked: false, now, &out)
        }
        if let through = resendThrough, store.nextTargetSeq > through {
            resendThrough = nil
            out.append(.event(.gapFilled(nextTargetSeq: store.nextTargetSeq)))
            if let highest = queued.keys.max(), highest >= store.nextTargetSeq {
                requestResend(expected: store.nextTargetSeq, received: highest, now, &out)
            }
        }
    }

    private mutating func requestResend(expected: Int, received: Int, _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        out.append(.event(.gapDetected(expected: expected, received: received)))
        resendThrough = received - 1
        sendAdmin(ResendRequest(beginSeqNo: expected, endSeqNo: 0), now, &out)
        out.append(.event(.resendRequested(beginSeqNo: expected, endSeqNo: 0)))
    }

    private mutating func advanceTarget(_ now: FIXTime, _ out: inout [FIXSessionAction]) {
        store.nextTargetSeq += 1
        drainQueue(now, &out)
    }

    /// An in-sequence message (seq == nextTargetSeq). `timeChecked`: its SendingTime was found good
    /// on receipt (a message queued behind a gap is checked for a valid one here, in its turn).
    private mutating func dispatch(_ m: FIXMessage, _ seq: Int, timeChecked: Bool, _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        if m.possDupFlag, m.field(122) == nil, m.msgType != .sequenceReset {
            sendReject(refSeqNum: seq, refTagID: 122, refMsgType: m.msgType.wireValue, reason: 1,
                       text: "PossDupFlag=Y without OrigSendingTime(122)", now, &out)
            store.nextTargetSeq = seq + 1
            return
        }
        if !timeChecked, case .invalid(let reason, let text) = checkSendingTime(m, now) {
            sendReject(refSeqNum: seq, refTagID: 52, refMsgType: m.msgType.wireValue, reason: reason, text: text, now, &out)
            store.nextTargetSeq = seq + 1
            return
        }
        if m.possDupFlag, config.maxSendingTimeSkew != nil, let original = try? m.timestamp(122), let sent = try? m.timestamp(52),
           original > sent {
            // A resend cannot have been sent first after it was resent (FIX: reject, no logout).
            sendReject(refSeqNum: seq, refTagID: 122, refMsgType: m.msgType.wireValue, reason: 10,
                       text: "SendingTime accuracy problem: OrigSendingTime(122) \(Self.utcText(original)) is after SendingTime(52) \(Self.utcText(sent))", now, &out)
            store.nextTargetSeq = seq + 1
            return
        }
        let typed: FIXTypedMessage
        do { typed = try FIXTypedMessage(parsing: m) } catch {
            sendReject(refSeqNum: seq, refTagID: error.tag, refMsgType: m.msgType.wireValue,
                       reason: error.sessionRejectReason, text: error.message, now, &out)
            store.nextTargetSeq = seq + 1
            return
        }
        store.nextTargetSeq = seq + 1
        switch typed {
        case .heartbeat: break
        case .testRequest(let t): sendAdmin(Heartbeat(testReqID: t.testReqID), now, &out)
        case .resendRequest(let r): answerResend(r, now, &out)
        case .sequenceReset(let r):
            if r.newSeqNo > seq {
                store.nextTargetSeq = r.newSeqNo
            } else {
                sendReject(refSeqNum: seq, refTagID: 36, refMsgType: "4", reason: 5,
                           text: "GapFill NewSeqNo \(r.newSeqNo) does not advance past \(seq)", now, &out)
            }
        case .logout(let l):
            if state == .logoutSent {
                terminate("logout confirmed", &out)
            } else {
                logoutAndDisconnect("counterparty logged out" + (l.text.map { ": \($0)" } ?? ""), now, &out)
            }
        case .logon:
            sendReject(refSeqNum: seq, refTagID: 35, refMsgType: "A", reason: 5, text: "Logon on a session already logged on", now, &out)
        case .reject, .businessMessageReject, .newOrderSingle, .orderCancelRequest, .orderCancelReplaceRequest,
             .orderCancelReject, .executionReport, .orderStatusRequest, .orderMassStatusRequest, .unknown:
            out.append(.deliver(FIXInbound(message: m, typed: typed)))
        }
    }

    // MARK: Resend

    /// Application messages go again from the store with PossDupFlag=Y and their OrigSendingTime;
    /// admin messages and anything not stored collapse into SequenceReset-GapFill.
    private mutating func answerResend(_ r: ResendRequest, _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        let last = store.nextSenderSeq - 1
        let end = r.endSeqNo == 0 || r.endSeqNo > last ? last : r.endSeqNo
        guard r.beginSeqNo >= 1, r.beginSeqNo <= end else {
            if r.beginSeqNo > last, r.beginSeqNo >= 1 {
                out.append(.event(.resent(beginSeqNo: r.beginSeqNo, endSeqNo: r.endSeqNo, resent: 0, gapFills: 0)))
            }
            return
        }
        var stored: [Int: [UInt8]] = [:]
        for (s, b) in store.messages(in: r.beginSeqNo...end) { stored[s] = b }
        var gapStart: Int?
        var resent = 0
        var fills = 0
        for s in r.beginSeqNo...end {
            if let bytes = stored[s], let m = try? FIXParser.parse(bytes), !m.msgType.isAdmin {
                if let g = gapStart {
                    sendGapFill(seq: g, newSeqNo: s, now, &out)
                    fills += 1
                    gapStart = nil
                }
                let orig = ((try? m.timestamp(52)) ?? nil) ?? now.utc
                let header = FIXHeader(senderCompID: config.senderCompID, targetCompID: config.targetCompID, msgSeqNum: s,
                                       sendingTime: now.utc, possDupFlag: true, origSendingTime: orig)
                out.append(.send(encoder.reframe(m, header: header)))
                resent += 1
            } else if gapStart == nil {
                gapStart = s
            }
        }
        if let g = gapStart {
            sendGapFill(seq: g, newSeqNo: end + 1, now, &out)
            fills += 1
        }
        lastSent = now.monotonic
        out.append(.event(.resent(beginSeqNo: r.beginSeqNo, endSeqNo: end, resent: resent, gapFills: fills)))
    }

    private mutating func sendGapFill(seq: Int, newSeqNo: Int, _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        let header = FIXHeader(senderCompID: config.senderCompID, targetCompID: config.targetCompID, msgSeqNum: seq,
                               sendingTime: now.utc, possDupFlag: true, origSendingTime: now.utc)
        out.append(.send(encoder.encode(SequenceReset(gapFillFlag: true, newSeqNo: newSeqNo), header: header)))
    }

    // MARK: Outbound

    private mutating func header(_ now: FIXTime) -> FIXHeader {
        FIXHeader(senderCompID: config.senderCompID, targetCompID: config.targetCompID,
                  msgSeqNum: store.nextSenderSeq, sendingTime: now.utc)
    }

    private mutating func sendAdmin(_ body: some FIXMessageBody, _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        let seq = store.nextSenderSeq
        let bytes = encoder.encode(body, header: header(now))
        store.nextSenderSeq = seq + 1
        lastSent = now.monotonic
        out.append(.send(bytes, new: FIXNewMessage(msgSeqNum: seq, msgType: body.msgType)))
    }

    private mutating func sendApplication(_ body: any FIXMessageBody, _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        guard state == .active else {
            out.append(.event(.sendRefused(reason: "session is \(state), not logged on")))
            return
        }
        guard !body.msgType.isAdmin else {
            out.append(.event(.sendRefused(reason: "\(body.msgType) is a session message; the session sends those itself")))
            return
        }
        let seq = store.nextSenderSeq
        let bytes = encoder.encode(body, header: header(now))
        store.store(seq: seq, bytes: bytes)
        store.nextSenderSeq = seq + 1
        lastSent = now.monotonic
        out.append(.send(bytes, new: FIXNewMessage(msgSeqNum: seq, msgType: body.msgType)))
    }

    private mutating func sendReject(refSeqNum: Int, refTagID: Int?, refMsgType: String?, reason: Int, text: String,
                                     _ now: FIXTime, _ out: inout [FIXSessionAction]) {
        sendAdmin(Reject(refSeqNum: refSeqNum, refTagID: refTagID, refMsgType: refMsgType, sessionRejectReason: reason, text: text), now, &out)
        out.append(.event(.rejectSent(refSeqNum: refSeqNum, reason: reason, text: text)))
    }

    // MARK: Timers


    private mutating func timerFired(_ now: FIXTime, _ out: inout [FIXSessionAction]) {
        scheduled = nil
        let t = now.monotonic
        switch state {
        case .disconnected: return
        case .logonSent, .awaitingLogon, .logoutSent:
            if let d = stateDeadline, t >= d {
                terminate(state == .logoutSent ? "no Logout reply within \(config.logoutTimeout)" : "no Logon within \(config.logonTimeout)", &out)
            }
        case .active:
            if let sentAt = testRequestSentAt {
                if t >= sentAt + silenceLimit {
                    terminate("no answer to TestRequest within \(silenceLimit)", &out)
                    return
                }
            } else if t >= lastReceived + silenceLimit {
                testRequestCount += 1
                sendAdmin(TestRequest(testReqID: "TEST-\(testRequestCount)"), now, &out)
                testRequestSentAt = t
                out.append(.event(.testRequestSent))
            }
            if t >= lastSent + interval { sendAdmin(Heartbeat(), now, &out) }
        }
    }

    private mutating func scheduleTimer(_ now: FIXTime, _ out: inout [FIXSessionAction]) {
        let next: Duration?
        switch state {
        case .disconnected: next = nil
        case .logonSent, .awaitingLogon, .logoutSent: next = stateDeadline
        case .active:
            let silence = testRequestSentAt.map { $0 + silenceLimit } ?? lastReceived + silenceLimit
            next = min(lastSent + interval, silence)
        }
        // Only move the timer earlier. Every message moves the heartbeat deadlines later, and
        // rescheduling on each one costs the shell a timer re-arm per message; a timer that fires
        // before anything is due just schedules the next deadline (timerFired checks each one).
        guard let next else { return }
        if let current = scheduled, current <= next { return }
        scheduled = next
        out.append(.scheduleTimer(at: next))
    }
}
