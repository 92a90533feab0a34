import NIOCore
import Synchronization
import TandemCore
import TandemFIX

/// A counterparty in a few lines: answers every NewOrderSingle with one ExecutionReport that fills
/// it completely at its limit price (100 for a market order), and forwards everything it reads so
/// the connection's event stream still sees it. Answers inline on the event loop, so a loopback
/// round trip measures the FIX stack and not a thread hop. Used by the transport tests, the
/// `tandem fix acceptor` test peer and `tandem bench fix`; the venue simulator is the real exchange.
public final class FillingExecutor: ChannelInboundHandler {
    public typealias InboundIn = FIXInbound
    public typealias InboundOut = FIXInbound
    public typealias OutboundOut = FIXOutbound

    /// Orders seen across every connection of the process, for the peer's summary.
    public static let stats = Mutex(Stats())
    public struct Stats: Sendable {
        public var orders = 0
        public var possDupOrders = 0
    }

    private var next = 0
    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let inbound = unwrapInboundIn(data)
        if case .newOrderSingle(let order) = inbound.typed {
            next += 1
            let possDup = inbound.message.possDupFlag
            Self.stats.withLock {
                $0.orders += 1
                if possDup { $0.possDupOrders += 1 }
            }
            let px = order.orderType.limitPrice ?? Price(units: 100 * 100_000_000)
            let report = ExecutionReport(orderID: "O\(next)", clOrdID: order.clOrdID, execID: "E\(next)", execType: .trade,
                                         ordStatus: .filled, account: order.account, symbol: order.symbol, side: order.side,
                                         orderQty: order.orderQty, price: order.orderType.limitPrice, leavesQty: .zero,
                                         cumQty: order.orderQty, avgPx: px, lastQty: order.orderQty, lastPx: px,
                                         transactTime: order.transactTime)
            context.writeAndFlush(wrapOutboundOut(.application(report)), promise: nil)
        }
        context.fireChannelRead(data)
    }
}
