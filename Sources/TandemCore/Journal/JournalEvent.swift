/// Every event the system journals. The trading state is a fold over these (``TradingState/apply(_:)``);
/// their bytes are defined by ``EventCodec``.
public enum JournalEvent: Sendable, Hashable {
    /// Reference data the fold needs for P&L (multiplier, currency); defined once per id.
    case instrumentDefined(Instrument, at: Timestamp)
    case orderIntent(OrderIntent)
    case orderAcknowledged(clOrdID: ClOrdID, venueOrderID: String, at: Timestamp)
    /// An execution that leaves quantity open.
    case partialFill(Execution)
    /// An execution that completes the order.
    case fill(Execution)
    case cancelRequested(clOrdID: ClOrdID, at: Timestamp)
    case cancelAccepted(clOrdID: ClOrdID, at: Timestamp)
    case cancelRejected(clOrdID: ClOrdID, reason: String, at: Timestamp)
    case replaceRequested(clOrdID: ClOrdID, replacement: ReplaceRequest, at: Timestamp)
    case replaceAccepted(clOrdID: ClOrdID, at: Timestamp)
    case replaceRejected(clOrdID: ClOrdID, reason: String, at: Timestamp)
    /// The venue rejected a new order.
    case orderRejected(clOrdID: ClOrdID, reason: String, at: Timestamp)
    case orderExpired(clOrdID: ClOrdID, at: Timestamp)
    case orderSuspended(clOrdID: ClOrdID, at: Timestamp)
    case orderResumed(clOrdID: ClOrdID, at: Timestamp)
    case fixSessionState(FixSessionState)
    case fixOutboundMessage(FixOutboundMessage)
    case leaderElected(epoch: UInt64, nodeID: String, at: Timestamp)
    case riskCommand(RiskCommand)
    case reconciliationCorrection(ReconciliationCorrection)
    /// A snapshot of the state after journal entry `journalSequence` was stored.
    case snapshotMarker(journalSequence: UInt64, at: Timestamp)
    case corporateAction(CorporateActionEvent)
    /// The risk trading mode changed (ACTIVE / REDUCING / HALTED), with the rule and the reason.
    case riskModeChanged(RiskModeChange)

    public var kind: JournalEventKind {
        switch self {
        case .instrumentDefined: .instrumentDefined
        case .orderIntent: .orderIntent
        case .orderAcknowledged: .orderAcknowledged
        case .partialFill: .partialFill
        case .fill: .fill
        case .cancelRequested: .cancelRequested
        case .cancelAccepted: .cancelAccepted
        case .cancelRejected: .cancelRejected
        case .replaceRequested: .replaceRequested
        case .replaceAccepted: .replaceAccepted
        case .replaceRejected: .replaceRejected
        case .orderRejected: .orderRejected
        case .orderExpired: .orderExpired
        case .orderSuspended: .orderSuspended
        case .orderResumed: .orderResumed
        case .fixSessionState: .fixSessionState
        case .fixOutboundMessage: .fixOutboundMessage
        case .leaderElected: .leaderElected
        case .riskCommand: .riskCommand
        case .reconciliationCorrection: .reconciliationCorrection
        case .snapshotMarker: .snapshotMarker
        case .corporateAction: .corporateAction
        case .riskModeChanged: .riskModeChanged
        }
    }

    /// When the event happened (UTC).
    public var timestamp: Timestamp {
        switch self {
        case .instrumentDefined(_, let at), .orderAcknowledged(_, _, let at), .cancelRequested(_, let at),
             .cancelAccepted(_, let at), .cancelRejected(_, _, let at), .replaceRequested(_, _, let at),
             .replaceAccepted(_, let at), .replaceRejected(_, _, let at), .orderRejected(_, _, let at),
             .orderExpired(_, let at), .orderSuspended(_, let at), .orderResumed(_, let at),
             .leaderElected(_, _, let at), .snapshotMarker(_, let at):
            at
        case .orderIntent(let e): e.at
        case .partialFill(let e), .fill(let e): e.at
        case .fixSessionState(let e): e.at
        case .fixOutboundMessage(let e): e.at
        case .riskCommand(let e): e.at
        case .reconciliationCorrection(let e): e.at
        case .corporateAction(let e): e.at
        case .riskModeChanged(let e): e.at
        }
    }

    /// The order the event is about, for order-lifecycle events.
    public var clOrdID: ClOrdID? {
        switch self {
        case .orderAcknowledged(let id, _, _), .cancelRequested(let id, _), .cancelAccepted(let id, _),
             .cancelRejected(let id, _, _), .replaceRequested(let id, _, _), .replaceAccepted(let id, _),
             .replaceRejected(let id, _, _), .orderRejected(let id, _, _), .orderExpired(let id, _),
             .orderSuspended(let id, _), .orderResumed(let id, _):
            id
        case .orderIntent(let e): e.request.clOrdID
        case .partialFill(let e), .fill(let e): e.clOrdID
        default: nil
        }
    }
}

/// The stable wire tag of each ``JournalEvent`` case. Raw values and names never change; new kinds
/// get new numbers.
public enum JournalEventKind: UInt16, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case instrumentDefined = 1
    case orderIntent = 2
    case orderAcknowledged = 3
    case partialFill = 4
    case fill = 5
    case cancelRequested = 6
    case cancelAccepted = 7
    case cancelRejected = 8
    case replaceRequested = 9
    case replaceAccepted = 10
    case replaceRejected = 11
    case orderRejected = 12
    case orderExpired = 13
    case orderSuspended = 14
    case orderResumed = 15
    case fixSessionState = 16
    case fixOutboundMessage = 17
    case leaderElected = 18
    case riskCommand = 19
    case reconciliationCorrection = 20
    case snapshotMarker = 21
    case corporateAction = 22
    case riskModeChanged = 23

    /// Stable lowercase snake_case name, e.g. "order_intent" (for SQL columns and logs).
    public var name: String {
        switch self {
        case .instrumentDefined: "instrument_defined"
        case .orderIntent: "order_intent"
        case .orderAcknowledged: "order_acknowledged"
        case .partialFill: "partial_fill"
        case .fill: "fill"
        case .cancelRequested: "cancel_requested"
        case .cancelAccepted: "cancel_accepted"
        case .cancelRejected: "cancel_rejected"
        case .replaceRequested: "replace_requested"
        case .replaceAccepted: "replace_accepted"
        case .replaceRejected: "replace_rejected"
        case .orderRejected: "order_rejected"
        case .orderExpired: "order_expired"
        case .orderSuspended: "order_suspended"
        case .orderResumed: "order_resumed"
        case .fixSessionState: "fix_session_state"
        case .fixOutboundMessage: "fix_outbound_message"
        case .leaderElected: "leader_elected"
        case .riskCommand: "risk_command"
        case .reconciliationCorrection: "reconciliation_correction"
        case .snapshotMarker: "snapshot_marker"
        case .corporateAction: "corporate_action"
        case .riskModeChanged: "risk_mode_changed"
        }
    }

    public var description: String { name }
}
