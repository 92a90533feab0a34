import TandemCore

/// The instant an event happens, passed in by the shell: the session never reads a clock.
/// `utc` stamps SendingTime; `monotonic` drives heartbeats and timeouts, immune to clock steps.
public struct FIXTime: Sendable, Hashable {
    public var utc: Timestamp
    public var monotonic: Duration
    public init(utc: Timestamp, monotonic: Duration) {
        self.utc = utc
        self.monotonic = monotonic
    }
}

public struct FIXCredentials: Sendable, Hashable {
    public var username: String
    public var password: String
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

public struct FIXSessionConfig: Sendable, Hashable {
    public enum Role: Sendable, Hashable { case initiator, acceptor }

    public var role: Role
    public var senderCompID: String
    public var targetCompID: String
    /// HeartBtInt(108), seconds. An acceptor adopts the initiator's value.
    public var heartBtInt: Int
    /// Initiator: sent in Logon. Acceptor: a Logon must carry exactly these, when set.
    public var credentials: FIXCredentials?
    /// Initiator: reset both sequence numbers and send ResetSeqNumFlag=Y on every logon.
    public var resetSeqNumOnLogon: Bool
    /// How long to wait for the counterparty's Logon, and for its Logout reply.
    public var logonTimeout: Duration
    public var logoutTimeout: Duration
    /// Messages held while a gap is being filled; past this the session logs out rather than grow.
    public var maxQueuedMessages: Int
    /// Acceptor: Text(58) in our Logon reply (a venue saying its state was reset, for one).
    public var logonText: String?
    /// How far a received message's SendingTime(52) may be from our clock, either way; past it the
    /// message is rejected (SessionRejectReason 10, "SendingTime accuracy problem") and the session
    /// logged out, as the FIX session protocol asks: an old order must not be acted on, and clocks
    /// that far apart make every timestamp in the session suspect. Default 120 s, the spec's
    /// recommendation and QuickFIX's `MaxLatency`; nil turns the check off (QuickFIX `CheckLatency=N`).
    public var maxSendingTimeSkew: Duration?

    public init(role: Role, senderCompID: String, targetCompID: String, heartBtInt: Int = 30,
                credentials: FIXCredentials? = nil, resetSeqNumOnLogon: Bool = false,
                logonTimeout: Duration = .seconds(10), logoutTimeout: Duration = .seconds(5), maxQueuedMessages: Int = 100_000,
                logonText: String? = nil, maxSendingTimeSkew: Duration? = .seconds(120)) {
        self.logonText = logonText
        self.maxSendingTimeSkew = maxSendingTimeSkew
        self.role = role
        self.senderCompID = senderCompID
        self.targetCompID = targetCompID
        self.heartBtInt = heartBtInt
        self.credentials = credentials
        self.resetSeqNumOnLogon = resetSeqNumOnLogon
        self.logonTimeout = logonTimeout
        self.logoutTimeout = logoutTimeout
        self.maxQueuedMessages = maxQueuedMessages
    }
}

/// A received application message: the frame (to journal as-is) and its decoded form.
public struct FIXInbound: Sendable {
    public var message: FIXMessage
    public var typed: FIXTypedMessage

    public init(message: FIXMessage, typed: FIXTypedMessage) {
        self.message = message
        self.typed = typed
    }
}

/// What happened, for logs and metrics; the shell need not act on these.
public enum SessionEvent: Sendable, Hashable {
    case loggedOn(heartBtInt: Int, resetSeqNum: Bool)
    case loggedOut(reason: String)
    case gapDetected(expected: Int, received: Int)
    case resendRequested(beginSeqNo: Int, endSeqNo: Int)
    /// Answered a ResendRequest: `resent` application messages, `gapFills` SequenceReset-GapFills.
    case resent(beginSeqNo: Int, endSeqNo: Int, resent: Int, gapFills: Int)
    case gapFilled(nextTargetSeq: Int)
    case rejectSent(refSeqNum: Int, reason: Int, text: String)
    case sequenceReset(newSeqNo: Int)
    case garbledIgnored(FIXError)
    case duplicateIgnored(seq: Int)
    case testRequestSent
    case sendRefused(reason: String)
}

/// A value the shell must act on, in order.
/// A message that takes a new MsgSeqNum (not a resend or a gap fill): what a durable store must
/// persist before its bytes are written.
public struct FIXNewMessage: Sendable, Hashable {
    public var msgSeqNum: Int
    public var msgType: MsgType
}

public enum FIXSessionAction: Sendable {
    /// `new` is set for a first transmission, nil for a resend (PossDupFlag=Y) or a gap fill.
    case send([UInt8], new: FIXNewMessage? = nil)
    case deliver(FIXInbound)
    case disconnect(reason: String)
    /// Call back with `timerFired` at this monotonic instant; replaces any earlier schedule.
    case scheduleTimer(at: Duration)
    case event(SessionEvent)
}

public enum FIXSessionEvent: Sendable {
    case connected(FIXTime)
    /// Bytes as read from the transport: any split, any amount.
    case received([UInt8], FIXTime)
    /// One already-framed and parsed message (tests, or a shell that frames itself).
    case receivedMessage(FIXMessage, FIXTime)
    case timerFired(FIXTime)
    case sendApplication(any FIXMessageBody, FIXTime)
    case logoutRequested(text: String?, FIXTime)
    /// An operator's or the application's liveness probe: sends TestRequest(`id`) when logged on.
    /// The answering Heartbeat arrives like any other; silence handling is unaffected.
    case testRequestRequested(id: String, FIXTime)
    case disconnected(FIXTime)
}
