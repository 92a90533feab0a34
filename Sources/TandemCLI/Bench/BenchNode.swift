import ArgumentParser
import Foundation
import Histogram
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TandemCore
import TandemExecution
import TandemFIX
import TandemJournal
import TandemMarketData
import TandemPostgres
import TandemVenue

/// `tandem bench node`: tick-to-order latency of the leader's order path, in one process over loopback.
///
/// A venue (synthetic market quoting every 5 ms, its A/B feed on loopback) and a node's execution
/// stack: feed client, order manager, journal pipeline on its own embedded PostgreSQL (fsync and
/// `synchronous_commit` on), FIX initiator. Each sample starts when the feed handler delivers a market
/// update (the packet read, sequenced, decoded and applied) and ends when the NewOrderSingle the update
/// triggered is written to the socket: decision, risk hook, ledger fold, the write-ahead (intent and
/// stored message, one durable commit) and FIX encoding included. "Written" is the kernel's timestamp
/// of the segment as the node's `write` hands it to the loopback device (``WireStampedAcceptor``, the
/// order session's counterparty, reads it); the moment that `write` returned — later by the wake-up
/// of the counterparty's thread, which on loopback happens inside the call — is printed beside it
/// (`…_write_return_…`). One order is in flight at a time. The same is then measured without the
/// journal (no gate: the message is written as soon as it is encoded), and the journal's own
/// single-append latency is measured on the same server as the anchor.
struct BenchNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Measure tick-to-order latency (feed update → NewOrderSingle on the socket), with and without the journal."
    )

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Samples per variant (after the warm-up).")
    var samples = 2_000

    @Option(help: "Warm-up samples per variant, not recorded.")
    var warmup = 200

    @Flag(help: "Only the variant without the journal, and no append anchor (for profiling the inline path).")
    var noJournalOnly = false

    @Option(help: "The venue's market step in milliseconds: how often it moves its quotes and publishes them (each update may start a sample).")
    var marketStepMillis = 1

    @Option(help: "Nice value for the node's event loop thread (0: unchanged; below 0 needs CAP_SYS_NICE). An experiment: the node does not set one.")
    var loopNice: Int32 = 0

    func run() async throws {
        guard samples > 0, warmup >= 0 else { throw ValidationError("--samples must be positive and --warmup not negative") }
        var logger = Logger(label: "tandem.bench")
        logger.logLevel = .warning
        let figures = try await EmbeddedPostgres.withServer(.init(durability: .full), logger: logger) { server in
            try await measure(dsn: server.dsn(), logger: logger)
        }
        print(figures)
    }

    private func measure(dsn: String, logger: Logger) async throws -> String {
        let admin = try await PostgresConnection.connect(dsn, logger: logger)
        _ = try await JournalSchema.migrate(admin, logger: logger)
        await admin.close()

        var config = VenueConfiguration()
        config.fixPort = 0
        config.feedRecoveryPort = 0
        config.market.stepMillis = marketStepMillis
        config.market.takerPercent = 0
        let venue = try VenueService(configuration: config, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await venue.run() }
            let feedPort = try await venue.feed.recoveryPort()
            var figures: [(String, String)] = [("samples", "\(samples)")]
            if !noJournalOnly {
                let withJournal = try await variant(journal: true, compID: "TANDEM", dsn: dsn, feedPort: feedPort, logger: logger)
                figures += withJournal.figures(prefix: "tick_to_order")
            }
            let without = try await variant(journal: false, compID: "TANDEM2", dsn: dsn, feedPort: feedPort, logger: logger)
            figures += without.figures(prefix: "tick_to_order_no_journal")
            figures += [("node_loop_cpu_us_per_order_no_journal", String(format: "%.1f", without.loopCPUMicrosPerOrder))]
            // The floor of the last step of each sample, same run: the order's `write` alone, waking
            // a sleeping reader (the venue's loop), with no node work around it.
            let write = try RawLoopback.writeWakingReader(samples: samples, warmup: warmup)
            figures += [
                ("anchor_raw_tcp_write_wakes_reader_p50_us", String(format: "%.1f", write.p50Micros)),
                ("anchor_raw_tcp_write_wakes_reader_p99_us", String(format: "%.1f", write.p99Micros)),
                ("anchor_raw_tcp_write_wakes_reader_cpu_us", String(format: "%.1f", write.cpuMicros)),
            ]
            if !noJournalOnly {
                let anchor = try await appendLatency(dsn: dsn, logger: logger)
                figures += [
                    ("journal_append_p50_us", us(anchor.valueAtPercentile(50))),
                    ("journal_append_p99_us", us(anchor.valueAtPercentile(99))),
                ]
            }
            group.cancelAll()
            if json { return "{" + figures.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}" }
            return figures.map { "\($0.0)\t\($0.1)" }.joined(separator: "\n")
        }
    }

    private func us(_ nanos: UInt64) -> String { String(format: "%.1f", Double(nanos) / 1000) }

    /// One variant: a fresh epoch and pipeline, a FIX session (gated through the journal or not), the feed.
    private struct Variant {
        /// Tick → the kernel's timestamp of the NewOrderSingle's segment (the headline figure).
        var latency: Histogram<UInt64>
        /// Tick → the node's `write` returned, from the same samples.
        var writeReturned: Histogram<UInt64>
        /// CPU time of the node's event loop thread from the first sample to the last, per order: the
        /// order path, each market update on both feed lines (also those that start no sample), the
        /// venue's acknowledgement. A figure of work done, steadier under load than the latencies.
        var loopCPUMicrosPerOrder: Double

        func figures(prefix: String) -> [(String, String)] {
            func us(_ nanos: UInt64) -> String { String(format: "%.1f", Double(nanos) / 1000) }
            return [
                ("\(prefix)_p50_us", us(latency.valueAtPercentile(50))),
                ("\(prefix)_p99_us", us(latency.valueAtPercentile(99))),
                ("\(prefix)_max_us", us(latency.max)),
                ("\(prefix)_write_return_p50_us", us(writeReturned.valueAtPercentile(50))),
                ("\(prefix)_write_return_p99_us", us(writeReturned.valueAtPercentile(99))),
            ]
        }
    }

    private func variant(journal: Bool, compID: String, dsn: String, feedPort: Int, logger: Logger) async throws -> Variant {
        let conn = try await PostgresConnection.connect(dsn, logger: logger)
        let epoch = try await conn.withConnection { c in try Lease.acquire(c, holder: "bench", duration: .seconds(3600)) }
        let writer = JournalWriter(connection: conn, epoch: epoch, logger: logger)
        let pipeline = JournalPipeline(writer: writer, ledger: ExecutionLedger(), logger: logger)
        let acme = InstrumentID(1)
        let instrument = Instrument(id: acme, symbol: "ACME", venue: "VENUE", tickSize: try Price("0.01"), lotSize: try Quantity("1"), currency: .usd)
        pipeline.submit([.instrumentDefined(instrument, at: FIXClock.now().utc)])
        let sessionID = FIXSessionID.make(sender: compID, target: "VENUE")
        let manager = OrderManager(configuration: .init(
            account: AccountID("BENCH"), epoch: epoch,
            venues: [.init(name: "VENUE", sessions: [sessionID], venueRate: .init(ordersPerSecond: 1_000_000, burst: 1_000_000))],
            routes: [acme: "VENUE"], statusRequestTimeout: .seconds(60)))
        let gate: (any FIXOutboundGate)? = journal ? JournalFIXGate(pipeline: pipeline, leadership: { true }) : nil
        let session = FIXSessionConfig(role: .initiator, senderCompID: compID, targetCompID: "VENUE", heartBtInt: 30)
        // One event loop for the feed and the FIX session, as in the node: the update is acted on inline.
        // Its own thread, not one of the shared loops the in-process venue also uses.
        let nodeGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { nodeGroup.shutdownGracefully { _ in } }
        let loop = nodeGroup.next()
        let engine = ExecutionEngine(manager: manager, pipeline: pipeline, logger: logger, wakeLoop: loop)
        if loopNice != 0 {
            // On Linux the nice value is per thread: `who` 0 is the calling thread, here the loop's.
            let error = try await loop.submit { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, loopNice) == 0 ? 0 : errno }.get()
            if error != 0 { throw ValidationError("setpriority(\(loopNice)) failed for the node's loop thread (errno \(error))") }
        }
        let probe = Probe(total: warmup + samples, done: loop.makePromise())
        let counterparty = try WireStampedAcceptor(compID: compID) { probe.onWire(kernelRealtimeNanos: $0) }
        defer { counterparty.stop() }
        // As in the node: nobody reads the initiator's or the feed client's event streams.
        let initiator = FIXInitiator(configuration: .init(host: "127.0.0.1", port: counterparty.port, session: session, gate: gate, publishesEvents: false),
                                     store: InMemoryFIXStore(), group: loop, logger: logger,
                                     application: { [ExecutionChannelHandler(engine: engine, session: sessionID)] })
        engine.attach(session: sessionID) { outbound in
            let written = initiator.write(outbound)
            if case .gated = outbound { written.whenSuccess { probe.written() } } else if case .application(let m) = outbound, m is NewOrderSingle {
                written.whenSuccess { probe.written() }
            }
            return written
        }
        let price = try Price("1.00")
        let quantity = try Quantity("1")
        let command = OrderManager.Command.submit(instrument: acme, side: .buy, type: .limit(price), timeInForce: .day, quantity: quantity)
        let feed = FeedClient(configuration: .init(recoveryPort: feedPort, onDeliver: { _ in
            if engine.sessionsUp > 0, probe.start() { engine.handle(.command(command)) }
        }, publishesEvents: false), group: loop, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            if journal { group.addTask { try await pipeline.run() } }
            group.addTask { try await engine.run() }
            group.addTask { try await initiator.run() }
            group.addTask { try await feed.run() }
            while !probe.hasStarted { try await Task.sleep(for: .milliseconds(1)) }
            let cpu0 = try await loop.submit { UInt64(BenchClock.threadCPUNanos()) }.get()
            try await probe.done.futureResult.get()  // no polling task waking up while samples run
            let cpu1 = try await loop.submit { UInt64(BenchClock.threadCPUNanos()) }.get()
            group.cancelAll()
            let orders = max(1, probe.count - 1)
            let (wire, returned) = probe.histograms(warmup: warmup)
            return Variant(latency: wire, writeReturned: returned, loopCPUMicrosPerOrder: Double(cpu1 - cpu0) / 1000 / Double(orders))
        }
    }

    /// The anchor: one event per append, sequential, on the same server.
    private func appendLatency(dsn: String, logger: Logger) async throws -> Histogram<UInt64> {
        let conn = try await PostgresConnection.connect(dsn, logger: logger)
        let epoch = try await conn.withConnection { c in try Lease.acquire(c, holder: "bench-anchor", duration: .seconds(3600)) }
        let writer = JournalWriter(connection: conn, epoch: epoch, logger: logger)
        var h = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
        let clock = ContinuousClock()
        for i in 0..<(warmup + samples) {
            let event = JournalEvent.snapshotMarker(journalSequence: UInt64(i), at: FIXClock.now().utc)
            let t0 = clock.now
            _ = try await writer.append(event)
            let (s, a) = (clock.now - t0).components
            if i >= warmup { _ = h.record(UInt64(s) * 1_000_000_000 + UInt64(a / 1_000_000_000)) }
        }
        await conn.close()
        return h
    }
}

/// One order in flight at a time: `start` stamps the tick; a sample is complete once both ends are in —
/// `written` (the node's `write` returned) and `onWire` (the kernel's timestamp of the segment, from
/// the counterparty's thread), in either order.
private final class Probe: Sendable {
    private struct Pending {
        var startMonotonic: UInt64
        var startRealtime: Int64
        var returned: UInt64?
        var wire: Int64?
    }
    private struct State {
        var pending: Pending?
        var wire: [UInt64] = []
        var returned: [UInt64] = []
    }
    private let state = Mutex(State())
    private let total: Int
    /// Succeeds with the last sample.
    let done: EventLoopPromise<Void>

    init(total: Int, done: EventLoopPromise<Void>) {
        self.total = total
        self.done = done
    }

    func start() -> Bool {
        state.withLock { st in
            guard st.pending == nil, st.wire.count < total else { return false }
            st.pending = Pending(startMonotonic: UInt64(BenchClock.monotonicNanos()), startRealtime: BenchClock.realtimeNanos())
            return true
        }
    }

    func written() {
        let now = UInt64(BenchClock.monotonicNanos())
        complete { $0.returned = now }
    }

    func onWire(kernelRealtimeNanos: Int64?) {
        guard let stamp = kernelRealtimeNanos else { return done.fail(NoTimestamp()) }
        complete { $0.wire = stamp }
    }

    struct NoTimestamp: Error, CustomStringConvertible {
        var description: String {
            "bench node: the kernel attached no receive timestamp (SO_TIMESTAMPNS) to the read carrying a NewOrderSingle, so its time on the wire is unknown"
        }
    }

    private func complete(_ stamp: (inout Pending) -> Void) {
        let finished = state.withLock { st -> Bool in
            guard var p = st.pending else { return false }
            stamp(&p)
            guard let returned = p.returned, let wire = p.wire else { st.pending = p; return false }
            st.pending = nil
            st.returned.append(returned - p.startMonotonic)
            st.wire.append(UInt64(max(0, wire - p.startRealtime)))
            return st.wire.count == total  // once: no sample starts after the last
        }
        if finished { done.succeed() }
    }

    var hasStarted: Bool { state.withLock { !$0.wire.isEmpty } }
    var count: Int { state.withLock { $0.wire.count } }

    /// (tick → wire, tick → write returned), the warm-up dropped.
    func histograms(warmup: Int) -> (Histogram<UInt64>, Histogram<UInt64>) {
        func histogram(_ values: [UInt64]) -> Histogram<UInt64> {
            var h = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
            for v in values.dropFirst(warmup) { _ = h.record(v) }
            return h
        }
        let (wire, returned) = state.withLock { ($0.wire, $0.returned) }
        return (histogram(wire), histogram(returned))
    }
}
