import Histogram
import Logging
import NIOCore
import NIOPosix
import TandemCore
import TandemFIX
import TandemFIXTestKit

/// NewOrderSingle → ExecutionReport round trips between our FIX initiator and acceptor over loopback
/// TCP, one outstanding order at a time, each leg a full session (sequence checks, store, encode,
/// parse). Both sides answer inline on their event loops; the figure is the whole stack, not a
/// thread hop.
enum FIXRoundTrip {
    struct Result {
        var p50Micros: Double
        var p99Micros: Double
        var p999Micros: Double
        var maxMicros: Double
        var count: Int
        /// Same loop only: CPU time of the one event loop thread per round trip (both ends' work), a
        /// figure of work done that load moves less than the latencies; nil for two loops.
        var loopCPUMicros: Double?
    }

    /// `sameLoop`: both ends on one event loop (no cross-thread wake-up per leg), else one each.
    static func measure(roundTrips: Int, warmup: Int, sameLoop: Bool) async throws -> Result {
        let group: any EventLoopGroup = sameLoop ? MultiThreadedEventLoopGroup.singleton.next() : MultiThreadedEventLoopGroup.singleton
        let logger = Logger(label: "tandem.bench.fix", factory: { _ in SwiftLogNoOpLogHandler() })
        let acceptor = FIXAcceptor<InMemoryFIXStore>(
            // Nobody reads either end's event stream here (as in the node and the venue).
            configuration: .init(port: 0, sessions: [FIXSessionConfig(role: .acceptor, senderCompID: "VENUE", targetCompID: "NODE")],
                                 publishesEvents: false),
            makeStore: { _ in InMemoryFIXStore() }, group: group, logger: logger, application: { [FillingExecutor()] })
        let done = group.next().makePromise(of: Histogram<UInt64>.self)
        let acceptorTask = Task { try await acceptor.run() }
        defer { acceptorTask.cancel() }
        let port = try await acceptor.listeningPort()
        let initiator = FIXInitiator<InMemoryFIXStore>(
            configuration: .init(host: "127.0.0.1", port: port,
                                 session: FIXSessionConfig(role: .initiator, senderCompID: "NODE", targetCompID: "VENUE"),
                                 reconnect: false, publishesEvents: false),
            store: InMemoryFIXStore(), group: group, logger: logger,
            application: { [RoundTripDriver(total: roundTrips + warmup, warmup: warmup, done: done)] })
        let loop = group.next()
        let cpu0 = sameLoop ? try await loop.submit { threadCPUNanos() }.get() : 0
        let initiatorTask = Task { try await initiator.run() }
        defer { initiatorTask.cancel() }
        let histogram = try await done.futureResult.get()
        let cpu1 = sameLoop ? try await loop.submit { threadCPUNanos() }.get() : 0
        initiator.logout()
        acceptor.shutdown()
        _ = try? await initiatorTask.value
        _ = try? await acceptorTask.value
        let us = { (v: UInt64) in Double(v) / 1000 }
        return Result(p50Micros: us(histogram.valueAtPercentile(50)), p99Micros: us(histogram.valueAtPercentile(99)),
                      p999Micros: us(histogram.valueAtPercentile(99.9)), maxMicros: us(histogram.max),
                      count: Int(histogram.totalCount),
                      loopCPUMicros: sameLoop ? Double(cpu1 - cpu0) / 1000 / Double(roundTrips + warmup) : nil)
    }
}

/// Sends one order on logon and the next as each fill arrives, timing send → fill in nanoseconds.
private final class RoundTripDriver: ChannelInboundHandler {
    typealias InboundIn = FIXInbound
    typealias OutboundOut = FIXOutbound

    private let total: Int
    private let warmup: Int
    private let done: EventLoopPromise<Histogram<UInt64>>
    private var sent = 0
    private var sentAt: UInt64 = 0
    private var histogram = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
    private let price = Price(units: 10_125_000_000)
    private let quantity = Quantity(units: 100 * 100_000_000)

    init(total: Int, warmup: Int, done: EventLoopPromise<Histogram<UInt64>>) {
        self.total = total
        self.warmup = warmup
        self.done = done
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let notice = event as? FIXSessionNotice, case .loggedOn = notice.event { sendNext(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .executionReport = unwrapInboundIn(data).typed else { return }
        let elapsed = NIODeadline.now().uptimeNanoseconds - sentAt
        if sent > warmup { _ = histogram.record(elapsed) }
        if sent == total {
            done.succeed(histogram)
        } else {
            sendNext(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(FIXTransportError(.notLoggedOn, "connection closed after \(sent) of \(total) round trips"))
        context.fireChannelInactive()
    }

    private func sendNext(context: ChannelHandlerContext) {
        sent += 1
        let order = NewOrderSingle(clOrdID: ClOrdID("C\(sent)"), account: nil, symbol: "AAPL", side: .buy,
                                   transactTime: FIXClock.now().utc, orderQty: quantity, orderType: .limit(price),
                                   timeInForce: .day)
        sentAt = NIODeadline.now().uptimeNanoseconds
        context.writeAndFlush(wrapOutboundOut(.application(order)), promise: nil)
    }
}
