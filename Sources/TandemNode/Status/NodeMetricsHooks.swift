import Metrics
import NIOCore
import TandemCore
import TandemFIX

extension NodeMetrics {
    /// The gauges read from the fold (every 250 ms, under the ledger's lock): orders by state, the
    /// configured positions (unrealized P&L and exposure at `marks`, the leader's market mids; 0
    /// without a mark), and the risk mode.
    func fold(_ state: borrowing TradingState, marks: [InstrumentID: Price]) {
        var counts = [Int](repeating: 0, count: 256)
        state.forEachOpenOrder { counts[Int($0.status.rawValue)] += 1 }
        for (status, gauge) in ordersByState { gauge.record(counts[Int(status.rawValue)]) }
        for (key, m) in positions {
            guard let p = state.position(account: key.account, instrument: key.instrument) else {
                m.quantity.record(0); m.realizedPnL.record(0); m.unrealizedPnL.record(0); m.exposure.record(0)
                continue
            }
            m.quantity.record(Double(p.netQuantity.units) / 1e8)
            m.realizedPnL.record(Double(p.realizedPnL.units) / 1e8)
            if let mark = marks[key.instrument], let u = try? p.unrealizedPnL(mark: mark),
               let n = try? Money.notional(price: mark, quantity: p.netQuantity, multiplier: p.multiplier, currency: p.currency) {
                m.unrealizedPnL.record(Double(u.units) / 1e8)
                m.exposure.record(Double(n.units.magnitude) / 1e8)
            } else {
                m.unrealizedPnL.record(0)
                m.exposure.record(0)
            }
        }
        var mode = state.riskMode
        if state.restrictions[.global] == .halt || state.restrictions[.global] == .flatten { mode = .halted }
        riskMode.record(Int(mode.level))
    }
}

/// Tells `observe` of every new outbound message of one session (admin messages too) as it goes to the
/// journal gate: the risk engine's message-rate rule and the session's sent counter, in one wrapper;
/// and starts the clock of a sampled new order's round trip when the gate releases it.
struct ObservedGate: FIXOutboundGate {
    let inner: any FIXOutboundGate
    var roundTrips: OrderRoundTrips? = nil
    let observe: @Sendable (FIXPersistedMessage) -> Void
    func persist(_ message: FIXPersistedMessage, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        observe(message)
        let persisted = inner.persist(message, on: eventLoop)
        if let roundTrips, let id = roundTrips.sample(message) { persisted.whenSuccess { roundTrips.released(id) } }
        return persisted
    }
    func mayWrite() -> Bool { inner.mayWrite() }
}

/// Counts one session's inbound application messages, resends and session-level rejects, and ends
/// sampled order round trips.
final class FIXMetricsHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = FIXInbound
    typealias InboundOut = FIXInbound
    let metrics: FIXSessionMetrics
    init(metrics: FIXSessionMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        metrics.messagesIn.increment()
        if metrics.roundTrips.awaitedCount > 0 { metrics.roundTrips.received(unwrapInboundIn(data).typed) }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let notice = event as? FIXSessionNotice {
            switch notice.event {
            case .resendRequested: metrics.resendRequests.increment()
            case .resent(_, _, let resent, let gapFills): metrics.resent.increment(by: resent + gapFills)
            case .rejectSent: metrics.rejectsSent.increment()
            default: break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
