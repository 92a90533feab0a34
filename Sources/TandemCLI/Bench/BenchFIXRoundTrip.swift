import Foundation
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
        var p90Micros: Double
        var p95Micros: Double
        var p99Micros: Double
        var p999Micros: Double
        var maxMicros: Double
        var count: Int
        /// Same loop only: CPU time of the one event loop thread per round trip (both ends' work), a
        /// figure of work done that load moves less than the latencies; nil for two loops.
        var loopCPUMicros: Double?
    }

    /// `sameLoop`: both ends on one event loop (no cross-thread wake-up per leg), else one each.
    ///
    /// `trace`: a file to write one line per timed round trip to (wall ns, this thread's CPU ns,
    /// minor page faults, voluntary and involuntary context switches over the round trip; two
    /// extra system calls per round trip), to tell stalls of work from time off the CPU.
    static func measure(roundTrips: Int, warmup: Int, sameLoop: Bool, trace: String? = nil) async throws -> Result {
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
            application: { [RoundTripDriver(total: roundTrips + warmup, warmup: warmup, done: done, trace: trace)] })
        let loop = group.next()
        let cpu0 = sameLoop ? try await loop.submit { UInt64(BenchClock.threadCPUNanos()) }.get() : 0
        let initiatorTask = Task { try await initiator.run() }
        defer { initiatorTask.cancel() }
        let histogram = try await done.futureResult.get()
        let cpu1 = sameLoop ? try await loop.submit { UInt64(BenchClock.threadCPUNanos()) }.get() : 0
        initiator.logout()
        acceptor.shutdown()
        _ = try? await initiatorTask.value
        _ = try? await acceptorTask.value
        let us = { (v: UInt64) in Double(v) / 1000 }
        return Result(p50Micros: us(histogram.valueAtPercentile(50)), p90Micros: us(histogram.valueAtPercentile(90)),
                      p95Micros: us(histogram.valueAtPercentile(95)), p99Micros: us(histogram.valueAtPercentile(99)),
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
    private let tracePath: String?
    private var traceStart = RoundTripSample()
    private var samples: [RoundTripSample] = []

    init(total: Int, warmup: Int, done: EventLoopPromise<Histogram<UInt64>>, trace: String? = nil) {
        self.total = total
        self.warmup = warmup
        self.done = done
        self.tracePath = trace
        if trace != nil { samples.reserveCapacity(total) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let notice = event as? FIXSessionNotice, case .loggedOn = notice.event { sendNext(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .executionReport = unwrapInboundIn(data).typed else { return }
        let elapsed = NIODeadline.now().uptimeNanoseconds - sentAt
        if sent > warmup { _ = histogram.record(elapsed) }
        if tracePath != nil, sent > warmup {
            var s = RoundTripSample.now()
            s.wall = elapsed
            samples.append(s - traceStart)
        }
        if sent == total {
            if let tracePath { RoundTripSample.write(samples, to: tracePath) }
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
        if tracePath != nil { traceStart = .now() }
        sentAt = NIODeadline.now().uptimeNanoseconds
        context.writeAndFlush(wrapOutboundOut(.application(order)), promise: nil)
    }
}

/// One traced round trip (``FIXRoundTrip/measure(roundTrips:warmup:sameLoop:trace:)``), or the
/// thread's counters at its start.
struct RoundTripSample {
    var wall: UInt64 = 0
    var cpu: UInt64 = 0
    var minorFaults: Int = 0
    var voluntarySwitches: Int = 0
    var involuntarySwitches: Int = 0

    static func now() -> RoundTripSample {
        var u = rusage()
        getrusage(1, &u)  // RUSAGE_THREAD (a GNU name Glibc's module does not export)
        return RoundTripSample(cpu: UInt64(BenchClock.threadCPUNanos()), minorFaults: u.ru_minflt, voluntarySwitches: u.ru_nvcsw,
                               involuntarySwitches: u.ru_nivcsw)
    }

    static func - (a: RoundTripSample, b: RoundTripSample) -> RoundTripSample {
        RoundTripSample(wall: a.wall, cpu: a.cpu - b.cpu, minorFaults: a.minorFaults - b.minorFaults,
                        voluntarySwitches: a.voluntarySwitches - b.voluntarySwitches,
                        involuntarySwitches: a.involuntarySwitches - b.involuntarySwitches)
    }

    static func write(_ samples: [RoundTripSample], to path: String) {
        var text = "wall_ns cpu_ns minflt nvcsw nivcsw\n"
        for s in samples { text += "\(s.wall) \(s.cpu) \(s.minorFaults) \(s.voluntarySwitches) \(s.involuntarySwitches)\n" }
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }
}
