/// The risk engine's verdict on an order intent.
public enum RiskDecision: Sendable, Hashable {
    case accepted
    /// `rule` names the check that fired (e.g. "max_order_notional"); `reason` says why, with numbers.
    case rejected(rule: String, reason: String)
}

/// A strategy's order intent together with the risk decision taken on it.
public struct OrderIntent: Sendable, Hashable {
    public var request: OrderRequest
    public var decision: RiskDecision
    public var at: Timestamp

    public init(request: OrderRequest, decision: RiskDecision, at: Timestamp) {
        self.request = request
        self.decision = decision
        self.at = at
    }
}

/// One execution report with a trade (FIX ExecType=Trade).
public struct Execution: Sendable, Hashable {
    public var clOrdID: ClOrdID
    /// FIX ExecID (tag 17), unique per venue.
    public var execID: String
    public var quantity: Quantity
    public var price: Price
    /// Commissions and fees charged on this execution, in the instrument's currency.
    public var fee: Money
    public var at: Timestamp

    public init(clOrdID: ClOrdID, execID: String, quantity: Quantity, price: Price, fee: Money, at: Timestamp) {
        self.clOrdID = clOrdID
        self.execID = execID
        self.quantity = quantity
        self.price = price
        self.fee = fee
        self.at = at
    }
}

/// A FIX session's sequence numbers: the last MsgSeqNum received and the last one sent.
/// Journaled on logon, reset and sequence-reset; a reset may lower them.
public struct FixSessionState: Sendable, Hashable {
    public var sessionID: String
    public var lastInboundSequence: UInt64
    public var lastOutboundSequence: UInt64
    public var at: Timestamp

    public init(sessionID: String, lastInboundSequence: UInt64, lastOutboundSequence: UInt64, at: Timestamp) {
        self.sessionID = sessionID
        self.lastInboundSequence = lastInboundSequence
        self.lastOutboundSequence = lastOutboundSequence
        self.at = at
    }
}

/// An outbound FIX message exactly as sent, kept for resend requests.
public struct FixOutboundMessage: Sendable, Hashable {
    public var sessionID: String
    /// MsgSeqNum (tag 34); must be the session's last outbound sequence + 1.
    public var sequence: UInt64
    public var raw: [UInt8]
    public var at: Timestamp

    public init(sessionID: String, sequence: UInt64, raw: [UInt8], at: Timestamp) {
        self.sessionID = sessionID
        self.sequence = sequence
        self.raw = raw
        self.at = at
    }
}

/// What an operator's risk command does.
public enum RiskAction: UInt8, Sendable, Hashable, CaseIterable {
    /// Stop all new orders in scope.
    case halt = 1
    /// Refuse new orders in scope (e.g. one account) while others trade.
    case block = 2
    /// Cancel open orders and close positions in scope; no new opening orders.
    case flatten = 3
    /// Lift the restriction on the scope.
    case resume = 4
}

/// Where a risk command applies.
public enum RiskScope: Sendable, Hashable, Comparable {
    case global
    case account(AccountID)
    case instrument(InstrumentID)

    public static func < (lhs: RiskScope, rhs: RiskScope) -> Bool {
        switch (lhs, rhs) {
        case (.global, .global): false
        case (.global, _): true
        case (.account, .global): false
        case (.account(let a), .account(let b)): a < b
        case (.account, .instrument): true
        case (.instrument(let a), .instrument(let b)): a < b
        case (.instrument, _): false
        }
    }
}

/// A signed operator command to the risk engine.
public struct RiskCommand: Sendable, Hashable {
    public var action: RiskAction
    public var scope: RiskScope
    /// The operator or key that issued it.
    public var issuedBy: String
    /// Signature over the command, verified before journaling; stored verbatim for audit.
    public var signature: [UInt8]
    public var at: Timestamp

    public init(action: RiskAction, scope: RiskScope, issuedBy: String, signature: [UInt8], at: Timestamp) {
        self.action = action
        self.scope = scope
        self.issuedBy = issuedBy
        self.signature = signature
        self.at = at
    }
}

/// Reconciliation found the broker's position differs: set the net quantity to `quantity`, booking
/// the difference as a fee-free trade at `price`.
public struct ReconciliationCorrection: Sendable, Hashable {
    public var account: AccountID
    public var instrument: InstrumentID
    /// The correct net (signed) quantity.
    public var quantity: Quantity
    public var price: Price
    public var reason: String
    public var at: Timestamp

    public init(account: AccountID, instrument: InstrumentID, quantity: Quantity, price: Price, reason: String, at: Timestamp) {
        self.account = account
        self.instrument = instrument
        self.quantity = quantity
        self.price = price
        self.reason = reason
        self.at = at
    }
}

/// The risk engine's trading state (ACTIVE → REDUCING → HALTED). It lives in Core because the
/// journal records its changes (``RiskModeChange``) and the fold keeps the current one
/// (``TradingState/riskMode``), so a node that becomes leader starts in the journaled mode.
/// The engine only escalates by itself; going back is an operator's decision.
public enum TradingMode: String, Sendable, Hashable, Codable, Comparable, CaseIterable, CustomStringConvertible {
    /// Every order is checked against every rule.
    case active
    /// Only risk-reducing orders are accepted (rule `reducing_only`); the strategy may keep running.
    case reducing
    /// Only risk-reducing orders are accepted (rule `halted`): the node stops the strategy, cancels
    /// its open orders and may flatten. The flatten path is never blocked.
    case halted

    /// The stable wire tag (0 active, 1 reducing, 2 halted) and the order of escalation.
    public var level: UInt8 {
        switch self {
        case .active: 0
        case .reducing: 1
        case .halted: 2
        }
    }

    public init?(level: UInt8) {
        switch level {
        case 0: self = .active
        case 1: self = .reducing
        case 2: self = .halted
        default: return nil
        }
    }

    public static func < (lhs: TradingMode, rhs: TradingMode) -> Bool { lhs.level < rhs.level }
    public var description: String { rawValue.uppercased() }
}

/// A change of the risk trading mode, journaled with the rule that caused it and why (issue 9:
/// "each change journaled with its reason"). `from` is what the writer's engine was in; the fold
/// takes `to` as the new mode whatever it held before (see ``TradingState/riskMode``).
public struct RiskModeChange: Sendable, Hashable {
    public var from: TradingMode
    public var to: TradingMode
    /// The rule that fired (`max_daily_loss`, `stale_market_data`, `operator_resume`, …).
    public var rule: String
    /// What happened, with the numbers.
    public var reason: String
    public var at: Timestamp

    public init(from: TradingMode, to: TradingMode, rule: String, reason: String, at: Timestamp) {
        self.from = from
        self.to = to
        self.rule = rule
        self.reason = reason
        self.at = at
    }
}
