import TandemCore

/// Where pre-trade risk plugs into the order path: asked for every new order before its intent is
/// journaled; the decision is journaled with the intent, and a rejected intent is never sent.
public protocol PreTradeRisk: Sendable {
    func check(_ request: OrderRequest, state: borrowing TradingState, now: Timestamp) -> RiskDecision
}

/// No checks: until the risk module's checks are configured, every order is accepted (and that
/// decision is journaled with it, so an auditor sees no check ran).
public struct AcceptAllRisk: PreTradeRisk {
    public init() {}
    public func check(_ request: OrderRequest, state: borrowing TradingState, now: Timestamp) -> RiskDecision { .accepted }
}
