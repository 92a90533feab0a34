import TandemCore

/// The node's fold of the journal: the core's ``TradingState`` plus what execution needs that the
/// core state does not keep: every outbound FIX message by session and MsgSeqNum (to answer a
/// ResendRequest after a takeover) and the ExecIDs already booked (so a report resent with
/// PossDupFlag=Y after a takeover is not booked twice).
///
/// The standby keeps one current by tailing the journal; the leader applies each event *before*
/// queueing it for the journal (``JournalPipeline``), so the fold checks every event and the journal
/// only ever holds events the fold accepts. Both are the same pure fold, so their states are equal.
public struct ExecutionLedger: Sendable {
    public internal(set) var state = TradingState()
    /// Raw outbound FIX messages by session id (`SENDER->TARGET`) and MsgSeqNum.
    public internal(set) var outbound: [String: [Int: [UInt8]]] = [:]
    public internal(set) var bookedExecIDs: Set<String> = []
    /// The last journal seq folded (0: nothing yet). Applied-but-uncommitted events are not counted.
    public internal(set) var lastSeq: UInt64 = 0

    public init() {}

    /// Folds one event; on a thrown ``FoldError`` nothing changed.
    public mutating func apply(_ event: JournalEvent) throws(FoldError) {
        try state.apply(event)
        switch event {
        case .fixOutboundMessage(let m):
            outbound[m.sessionID, default: [:]][Int(m.sequence)] = m.raw
        case .fixSessionState(let s) where s.lastOutboundSequence == 0:
            outbound[s.sessionID] = nil  // a sequence reset empties the resend log
        case .partialFill(let e), .fill(let e):
            bookedExecIDs.insert(e.execID)
        default:
            break
        }
    }

    /// Folds an event read from the journal at `seq` (the standby's tail, a replay).
    public mutating func apply(_ event: JournalEvent, seq: UInt64) throws(FoldError) {
        try apply(event)
        lastSeq = seq
    }

    /// The last MsgSeqNums of a session as journaled (0, 0 when never seen).
    public func sequences(of sessionID: String) -> FixSequences {
        state.fixSessions[sessionID] ?? FixSequences(lastInbound: 0, lastOutbound: 0)
    }
}
