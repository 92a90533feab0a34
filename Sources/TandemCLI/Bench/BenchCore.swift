import ArgumentParser
import TandemCore
#if canImport(Glibc)
import Glibc
#endif

/// `tandem bench core`: encode, decode and fold throughput of the core's journal events.
///
/// Generates a seeded, realistic event mix (`SyntheticJournal`: orders, acks, partial fills,
/// cancels, replaces over 100 instruments), then times each phase with `ContinuousClock`, best of
/// `--runs`. Timing lives here, never in TandemCore.
struct BenchCore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core",
        abstract: "Measure journal-event encode/decode and fold throughput."
    )

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Number of events in the workload.")
    var events = 2_000_000

    @Option(help: "Workload seed.")
    var seed: UInt64 = 42

    @Option(help: "Repetitions per phase; the best is reported.")
    var runs = 3

    @Flag(help: "Time only the fold (for profiling it).")
    var foldOnly = false

    /// Applies every event in journal order, moving each into the fold as a replay does with the
    /// events it decodes (no copy per event). `reversed` holds the events last-first, so that
    /// `popLast()` yields them in order; build it before starting the clock.
    static func fold(_ reversed: inout [JournalEvent], into state: inout TradingState) throws(FoldError) {
        while let event = reversed.popLast() { try state.apply(event) }
    }

    /// This thread's CPU time (used only by `--fold-only` and `bench venue`).
    static func threadCPUTime() -> Duration? {
        .nanoseconds(BenchClock.threadCPUNanos())
    }

    /// Decodes every frame of `buffer`, dropping each event (the timed decode phase).
    static func decodeAll(_ buffer: [UInt8]) throws(CodecError) -> Int {
        let bytes = buffer.span.bytes
        var offset = 0, count = 0
        while offset < bytes.byteCount {
            let (event, next) = try EventCodec.decodeFrame(in: bytes, at: offset)
            if case .instrumentDefined = event { count &+= 2 } else { count &+= 1 }  // keeps `event` alive
            offset = next
        }
        return count
    }

    /// Decodes every frame of `buffer` into an array (untimed): the events a replay would fold.
    static func decodedEvents(_ buffer: [UInt8], count: Int) throws(CodecError) -> [JournalEvent] {
        var decoded: [JournalEvent] = []
        decoded.reserveCapacity(count)
        let bytes = buffer.span.bytes
        var offset = 0
        while offset < bytes.byteCount {
            let (event, next) = try EventCodec.decodeFrame(in: bytes, at: offset)
            decoded.append(event)
            offset = next
        }
        return decoded
    }

    func run() async throws {
        guard events > 0, runs > 0 else { throw ValidationError("--events and --runs must be positive") }
        let workload = SyntheticJournal.events(count: events, seed: seed, instrumentCount: 100)
        let clock = ContinuousClock()
        if foldOnly {
            var buffer: [UInt8] = []
            buffer.reserveCapacity(events * 64)
            for event in workload { EventCodec.encode(event, into: &buffer) }
            var reversed = Array(try Self.decodedEvents(buffer, count: events).reversed())
            var state = TradingState()
            state.reserveCapacity(orders: events / 3)
            let cpuStart = Self.threadCPUTime()
            let elapsed = try clock.measure { try Self.fold(&reversed, into: &state) }
            let cpu = Self.threadCPUTime().map { end in cpuStart.map { end - $0 } } ?? nil
            // Thread CPU time too: on a shared machine it is far less noisy than wall time.
            print("fold \(elapsed) (thread CPU \(cpu.map { "\($0)" } ?? "n/a")) for \(events) events, \(state.orderCount) orders")
            return
        }

        var buffer: [UInt8] = []
        var encodeBest = Duration.seconds(1_000_000)
        for _ in 0..<runs {
            buffer = []
            buffer.reserveCapacity(events * 96)
            let elapsed = clock.measure { EventCodec.encode(contentsOf: workload, into: &buffer) }
            encodeBest = min(encodeBest, elapsed)
        }

        var decodeBest = Duration.seconds(1_000_000)
        for _ in 0..<runs {
            let start = clock.now
            let count = try Self.decodeAll(buffer)
            decodeBest = min(decodeBest, clock.now - start)
            if count < events { throw ValidationError("decoded \(count) of \(events) events") }
        }
        let replay = try Self.decodedEvents(buffer, count: events)
        // Correctness check outside the timed regions: decoding reproduced every event.
        if replay != workload {
            throw ValidationError("decode did not reproduce the encoded events")
        }

        // A replay knows its journal: pre-size order storage from the number of intents and replaces.
        let intents = workload.reduce(0) { n, e in
            switch e.kind { case .orderIntent, .replaceRequested: n + 1; default: n }
        }
        // The fold is timed over the decoded events, as a replay applies them.
        var foldBest = Duration.seconds(1_000_000)
        var finalState = TradingState()
        for _ in 0..<runs {
            var reversed = Array(replay.reversed())  // a fresh, uniquely owned copy per run
            var state = TradingState()
            state.reserveCapacity(orders: intents)
            let start = clock.now
            try Self.fold(&reversed, into: &state)
            foldBest = min(foldBest, clock.now - start)
            finalState = state
        }

        let rate = { (d: Duration) -> Int in
            let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            return Int((Double(events) / seconds).rounded())
        }
        let figures: [(String, String)] = [
            ("events", "\(events)"),
            ("seed", "\(seed)"),
            ("instruments", "100"),
            ("encoded_bytes", "\(buffer.count)"),
            ("bytes_per_event", "\(buffer.count / events)"),
            ("encode_events_per_s", "\(rate(encodeBest))"),
            ("decode_events_per_s", "\(rate(decodeBest))"),
            ("fold_events_per_s", "\(rate(foldBest))"),
            ("orders", "\(finalState.orderCount)"),
            ("positions", "\(finalState.positions.count)"),
        ]
        if json {
            print("{" + figures.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
        } else {
            print("tandem bench core — best of \(runs), one thread")
            for (name, value) in figures {
                print(name + String(repeating: " ", count: max(1, 22 - name.count)) + value)
            }
        }
    }
}
