import ArgumentParser
import Foundation
import TandemCore
import TandemVenue

/// `tandem bench venue`: matching-engine throughput on a deep book, one thread.
///
/// `MatchingBenchmark` generates a seeded mixed stream (≈ 60 % passive adds near the touch, 25 %
/// cancels of resting orders, 15 % marketable orders) on a book of `--resting` orders and times
/// the engine alone over it, best of `--runs`. Then the feed: `feed_decode_msgs_per_s` (packets of
/// 30 order-level messages, every field decoded, best of `--runs`) and `feed_gap_recovery_ms`
/// (median over `--gap-samples` of a packet lost on both lines, from the gap being declared — after
/// the 5 ms arbitration window — to a consistent book, through the TCP retransmission service, over
/// loopback). Build with `-c release`.
struct BenchVenue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "venue",
        abstract: "Measure matching-engine throughput (orders/s) on a mixed add/cancel/marketable stream."
    )

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Commands in the timed stream (adds, cancels and marketable orders).")
    var orders = 1_000_000

    @Option(help: "Repetitions; the best is reported.")
    var runs = 3

    @Option(help: "Workload seed.")
    var seed: UInt64 = 42

    @Option(help: "Resting orders in the book before the timed stream.")
    var resting = 10_000

    @Option(name: .customLong("feed-messages"), help: "Feed messages to decode per run.")
    var feedMessages = 3_000_000

    @Option(name: .customLong("gap-samples"), help: "Gaps to recover over loopback for feed_gap_recovery_ms.")
    var gapSamples = 50

    func run() async throws {
        guard orders > 0, runs > 0, resting >= 0, feedMessages > 0, gapSamples > 0 else {
            throw ValidationError("--orders, --runs, --feed-messages and --gap-samples must be positive, --resting not negative")
        }
        let r = try MatchingBenchmark.run(orders: orders, runs: runs, seed: seed, resting: resting, threadCPUTime: BenchCore.threadCPUTime)
        let decode = try FeedBench.decodeRate(messages: feedMessages, runs: runs)
        let recovery = try await FeedBench.gapRecovery(samples: gapSamples)
        let bestNanos = r.best.components.seconds * 1_000_000_000 + r.best.components.attoseconds / 1_000_000_000
        let figures: [(String, String)] = [
            ("orders", "\(r.orders)"),
            ("runs", "\(r.runs)"),
            ("seed", "\(r.seed)"),
            ("matching_orders_per_s", "\(r.ordersPerSecond)"),
            ("best_run_ns", "\(bestNanos)"),
            ("ns_per_order", "\(bestNanos / Int64(max(1, r.orders)))"),
            // Thread CPU time of the best-by-CPU run: steadier than wall time on a shared machine.
            ("matching_orders_per_cpu_s", r.ordersPerCPUSecond.map { "\($0)" } ?? "null"),
            ("adds", "\(r.adds)"),
            ("cancels", "\(r.cancels)"),
            ("marketables", "\(r.marketables)"),
            ("trades", "\(r.trades)"),
            ("events", "\(r.events)"),
            ("resting_before", "\(r.restingBefore)"),
            ("resting_after", "\(r.restingAfter)"),
            ("price_levels_before", "\(r.priceLevelsBefore)"),
            ("feed_decode_msgs_per_s", "\(Int(decode))"),
            ("feed_gap_recovery_ms", String(format: "%.3f", recovery.medianMillis)),
            ("feed_gap_recovery_max_ms", String(format: "%.3f", recovery.maxMillis)),
            ("feed_gap_samples", "\(recovery.samples)"),
            ("feed_arbitration_window_ms", String(format: "%.1f", recovery.arbitrationWindowMillis)),
        ]
        if json {
            print("{" + figures.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
        } else {
            print("tandem bench venue — best of \(runs), one thread")
            for (name, value) in figures {
                print(name + String(repeating: " ", count: max(1, 24 - name.count)) + value)
            }
        }
    }
}
