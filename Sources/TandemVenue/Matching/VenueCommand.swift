import TandemCore

/// One input to the ``MatchingEngine``. Every command but `tick` and `endOfDay` produces at least
/// one ``VenueEvent`` (an answer or a rejection).
public enum VenueCommand: Sendable, Hashable {
    case newOrder(NewOrder)
    case cancel(CancelOrder)
    case replace(ReplaceOrder)
    /// Cancel every live order in a scope (the kill switch uses `reason: .killSwitch`).
    case cancelAll(MassCancel)
    /// Report every live order in a scope.
    case massStatus(MassStatusRequest)
    /// Refuse (or again accept) new orders and replaces from a session; cancels still work.
    /// The watchdog's BLOCK action, with a `cancelAll` after it.
    case setSessionBlocked(SessionID, blocked: Bool)
    /// Expire every `day` order (and every good-till-date order due by now): the end of a trading day.
    case endOfDay
    /// Only time passes: good-till-date orders due by now expire. (Every command does this first.)
    case tick
}

/// A new order from a session (FIX NewOrderSingle).
public struct NewOrder: Sendable, Hashable {
    public var clOrdID: ClOrdID
    public var session: SessionID
    public var account: AccountID
    public var instrument: InstrumentID
    public var side: Side
    public var type: OrderType
    public var timeInForce: TimeInForce
    /// Total order quantity; positive and a multiple of the instrument's lot.
    public var quantity: Quantity
    /// Groups orders for self-trade prevention across accounts; nil groups by `account`.
    public var selfTradeGroup: SelfTradeGroup?

    public init(
        clOrdID: ClOrdID, session: SessionID, account: AccountID, instrument: InstrumentID, side: Side,
        type: OrderType, timeInForce: TimeInForce = .day, quantity: Quantity, selfTradeGroup: SelfTradeGroup? = nil
    ) {
        self.clOrdID = clOrdID
        self.session = session
        self.account = account
        self.instrument = instrument
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.quantity = quantity
        self.selfTradeGroup = selfTradeGroup
    }

    /// The venue's view of a core ``OrderRequest`` sent over `session`.
    public init(_ request: OrderRequest, session: SessionID, selfTradeGroup: SelfTradeGroup? = nil) {
        self.init(clOrdID: request.clOrdID, session: session, account: request.account, instrument: request.instrument,
                  side: request.side, type: request.type, timeInForce: request.timeInForce, quantity: request.quantity,
                  selfTradeGroup: selfTradeGroup)
    }
}

/// Cancel one order (FIX OrderCancelRequest). Orders are found by `origClOrdID` within `session`:
/// a session can only cancel its own orders this way (``MassCancel`` reaches further).
public struct CancelOrder: Sendable, Hashable {
    public var session: SessionID
    /// The order's current ClOrdID.
    public var origClOrdID: ClOrdID
    /// The cancel request's own ClOrdID, echoed on the canceled event.
    public var clOrdID: ClOrdID

    public init(session: SessionID, origClOrdID: ClOrdID, clOrdID: ClOrdID) {
        self.session = session
        self.origClOrdID = origClOrdID
        self.clOrdID = clOrdID
    }
}

/// Cancel/replace one order (FIX OrderCancelReplaceRequest): new total quantity and, optionally,
/// new prices of the same order type. Side, instrument and time in force cannot change.
public struct ReplaceOrder: Sendable, Hashable {
    public var session: SessionID
    public var origClOrdID: ClOrdID
    /// The order's ClOrdID from now on.
    public var clOrdID: ClOrdID
    /// The new total quantity (FIX OrderQty); must exceed the quantity already filled.
    public var quantity: Quantity
    /// nil keeps the prices; otherwise the same case as the order's type (`limit` → `limit`, …).
    public var type: OrderType?

    public init(session: SessionID, origClOrdID: ClOrdID, clOrdID: ClOrdID, quantity: Quantity, type: OrderType? = nil) {
        self.session = session
        self.origClOrdID = origClOrdID
        self.clOrdID = clOrdID
        self.quantity = quantity
        self.type = type
    }
}

/// Which live orders a mass command covers.
public enum OrderScope: Sendable, Hashable {
    case session(SessionID)
    case account(AccountID)
    case all
}

/// Why a mass cancel was asked for; it becomes the ``CancelReason`` of every order it cancels.
public enum MassCancelReason: UInt8, Sendable, Hashable {
    /// The client asked (FIX OrderMassCancelRequest).
    case requested
    /// A risk kill switch (the watchdog's HALT/BLOCK/FLATTEN).
    case killSwitch
}

/// Cancel every live order (resting or untriggered stop) in `scope`, optionally of one instrument.
public struct MassCancel: Sendable, Hashable {
    public var requestID: String
    /// The session asking; the report is addressed to it.
    public var session: SessionID
    public var scope: OrderScope
    public var instrument: InstrumentID?
    public var reason: MassCancelReason

    public init(requestID: String, session: SessionID, scope: OrderScope, instrument: InstrumentID? = nil, reason: MassCancelReason = .requested) {
        self.requestID = requestID
        self.session = session
        self.scope = scope
        self.instrument = instrument
        self.reason = reason
    }
}

/// Report every live order in `scope` (FIX OrderMassStatusRequest), e.g. for a new leader's reconciliation.
public struct MassStatusRequest: Sendable, Hashable {
    public var requestID: String
    public var session: SessionID
    public var scope: OrderScope
    public var instrument: InstrumentID?

    public init(requestID: String, session: SessionID, scope: OrderScope, instrument: InstrumentID? = nil) {
        self.requestID = requestID
        self.session = session
        self.scope = scope
        self.instrument = instrument
    }
}
