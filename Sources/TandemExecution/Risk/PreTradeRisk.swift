import TandemCore

/// Where pre-trade risk plugs into the order path: asked for every new order before its intent is
/// journaled, and for every cancel/replace before its request is journaled. The decision on an
/// intent is journaled with the intent; a refused replace is journaled as its `replaceRequested`
/// followed at once by `replaceRejected` naming the rule (never sent). Nothing refused is sent.
public protocol PreTradeRisk: Sendable {
    func check(_ request: OrderRequest, state: borrowing TradingState, now: Timestamp) -> RiskDecision
    /// Decides replacing the working `order` with `replacement` (new ClOrdID, total quantity, type).
    func checkReplace(_ order: Order, with replacement: ReplaceRequest, state: borrowing TradingState, now: Timestamp) -> RiskDecision
}

extension PreTradeRisk {
    /// Default for hooks that only check new orders: every replace is accepted.
    public func checkReplace(_ order: Order, with replacement: ReplaceRequest, state: borrowing TradingState, now: Timestamp) -> RiskDecision {
        .accepted
    }
}

/// No checks: until the risk module's checks are configured, every order is accepted (and that
/// decision is journaled with it, so an auditor sees no check ran).
public struct AcceptAllRisk: PreTradeRisk {
    public init() {}
    public func check(_ request: OrderRequest, state: borrowing TradingState, now: Timestamp) -> RiskDecision { .accepted }
}
