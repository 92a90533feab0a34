import ArgumentParser
import Foundation
import TandemCore
import TandemFIX

/// `tandem bench fix`: FIX 4.4 parse (frame → typed message) and encode throughput on one core.
///
/// Best of `--runs` per figure. The headline figures are the slower of ExecutionReport and
/// NewOrderSingle. The round trip is NewOrderSingle → ExecutionReport between our initiator and
/// acceptor over loopback TCP (``FIXRoundTrip``), one order outstanding at a time; beside it, in the
/// same run, its anchors: a raw TCP ping-pong of the same sizes on one thread and on two
/// (``RawLoopback``).
struct BenchFIX: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fix", abstract: "Measure FIX 4.4 parse and encode throughput.")

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Messages per run.")
    var messages = 1_000_000

    @Option(help: "Repetitions; the best is reported.")
    var runs = 3

    @Option(name: .customLong("round-trips"), help: "Loopback NewOrderSingle → ExecutionReport round trips to time (after a warm-up of a tenth as many).")
    var roundTrips = 100_000

    @Flag(name: .customLong("same-loop-only"), help: "Only the same-loop round trip (for profiling); prints its figures.")
    var sameLoopOnly = false

    @Option(help: "With --same-loop-only: write one line per timed round trip (wall and CPU ns, page faults, context switches) to this file.")
    var trace: String?

    func run() async throws {
        if sameLoopOnly {
            let r = try await FIXRoundTrip.measure(roundTrips: roundTrips, warmup: max(1, roundTrips / 10), sameLoop: true, trace: trace)
            print("{\"roundtrip_same_loop_p50_us\": \(r.p50Micros), \"roundtrip_same_loop_p90_us\": \(r.p90Micros), "
                  + "\"roundtrip_same_loop_p95_us\": \(r.p95Micros), \"roundtrip_same_loop_p99_us\": \(r.p99Micros), "
                  + "\"roundtrip_same_loop_p999_us\": \(r.p999Micros), \"roundtrip_same_loop_max_us\": \(r.maxMicros), "
                  + "\"roundtrip_same_loop_cpu_us\": \(r.loopCPUMicros ?? 0)}")
            return
        }
        guard messages > 0, runs > 0, roundTrips > 0 else { throw ValidationError("--messages, --runs and --round-trips must be positive") }
        let t = Timestamp(nanosecondsSinceEpoch: 1_700_000_000_123_000_000)
        let px = try Price("101.25")
        let er = ExecutionReport(orderID: "O123456", clOrdID: ClOrdID("C1000001"), execID: "E99887766", execType: .trade,
                                 ordStatus: .partiallyFilled, account: AccountID("ACC1"), symbol: "AAPL", side: .buy,
                                 orderQty: try Quantity("500"), price: px, leavesQty: try Quantity("400"), cumQty: try Quantity("100"),
                                 avgPx: px, lastQty: try Quantity("100"), lastPx: px, transactTime: t)
        let nos = NewOrderSingle(clOrdID: ClOrdID("C1000001"), account: AccountID("ACC1"), symbol: "AAPL", side: .buy, transactTime: t,
                                 orderQty: try Quantity("500"), orderType: .limit(px), timeInForce: .day)
        var h = FIXHeader(senderCompID: "TANDEM", targetCompID: "VENUE", msgSeqNum: 1, sendingTime: t)
        let clock = ContinuousClock()

        func encodeRate<B: FIXMessageBody>(_ body: B) -> Double {
            var enc = FIXEncoder()
            var out: [UInt8] = []
            out.reserveCapacity(512)
            var best = Duration.seconds(1_000_000)
            var check = 0
            for _ in 0..<runs {
                let elapsed = clock.measure {
                    for i in 0..<messages {
                        h.msgSeqNum = i + 1
                        out.removeAll(keepingCapacity: true)
                        enc.encode(body, header: h, into: &out)
                        check &+= out.count
                    }
                }
                best = min(best, elapsed)
            }
            precondition(check > 0)
            return rate(best)
        }

        func parseRate<B: FIXMessageBody>(_ body: B, as: B.Type) throws -> Double {
            var enc = FIXEncoder()
            let frame = enc.encode(body, header: h)
            var best = Duration.seconds(1_000_000)
            var check = 0
            for _ in 0..<runs {
                let start = clock.now
                for _ in 0..<messages {
                    let m = try FIXParser.parse(frame)
                    let typed = try B(parsing: m)
                    check &+= m.fields.count &+ (typed.msgType.isAdmin ? 1 : 0)
                }
                best = min(best, clock.now - start)
            }
            precondition(check > 0)
            return rate(best)
        }

        func rate(_ d: Duration) -> Double {
            let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            return Double(messages) / s
        }

        let parseER = try parseRate(er, as: ExecutionReport.self)
        let parseNOS = try parseRate(nos, as: NewOrderSingle.self)
        let encodeER = encodeRate(er)
        let encodeNOS = encodeRate(nos)
        let rt = try await FIXRoundTrip.measure(roundTrips: roundTrips, warmup: max(1, roundTrips / 10), sameLoop: false)
        let rtSame = try await FIXRoundTrip.measure(roundTrips: roundTrips, warmup: max(1, roundTrips / 10), sameLoop: true)
        // The anchors, same run, same sizes, no FIX work: the floors of the two figures above.
        let rawSame = try RawLoopback.measure(roundTrips: roundTrips, warmup: max(1, roundTrips / 10), sameThread: true)
        let rawTwo = try RawLoopback.measure(roundTrips: roundTrips, warmup: max(1, roundTrips / 10), sameThread: false)
        // And the FIX sessions on that raw loop, without NIO: splits the same-loop figure into
        // kernel (the raw anchor), FIX work (this minus the anchor) and the NIO shell (the rest).
        let sessionsRaw = try RawLoopback.sessionsSameThread(roundTrips: roundTrips, warmup: max(1, roundTrips / 10))
        let figures: [(String, Double)] = [
            ("parse_msgs_per_s", min(parseER, parseNOS)),
            ("encode_msgs_per_s", min(encodeER, encodeNOS)),
            ("parse_execution_report_per_s", parseER),
            ("parse_new_order_single_per_s", parseNOS),
            ("encode_execution_report_per_s", encodeER),
            ("encode_new_order_single_per_s", encodeNOS),
        ]
        let latency: [(String, Double)] = [
            ("roundtrip_p50_us", rt.p50Micros), ("roundtrip_p99_us", rt.p99Micros),
            ("roundtrip_p999_us", rt.p999Micros), ("roundtrip_max_us", rt.maxMicros),
            ("roundtrip_same_loop_p50_us", rtSame.p50Micros), ("roundtrip_same_loop_p99_us", rtSame.p99Micros),
            ("roundtrip_same_loop_p999_us", rtSame.p999Micros), ("roundtrip_same_loop_cpu_us", rtSame.loopCPUMicros ?? 0),
            ("anchor_raw_same_thread_p50_us", rawSame.p50Micros), ("anchor_raw_same_thread_p99_us", rawSame.p99Micros),
            ("anchor_raw_same_thread_cpu_us", rawSame.cpuMicros),
            ("anchor_raw_two_threads_p50_us", rawTwo.p50Micros), ("anchor_raw_two_threads_p99_us", rawTwo.p99Micros),
            ("anchor_raw_two_threads_cpu_us", rawTwo.cpuMicros),
            ("roundtrip_sessions_on_raw_loop_p50_us", sessionsRaw.p50Micros), ("roundtrip_sessions_on_raw_loop_p99_us", sessionsRaw.p99Micros),
            ("roundtrip_sessions_on_raw_loop_cpu_us", sessionsRaw.cpuMicros),
        ]
        let us = { (v: Double) in String(format: "%.1f", v) }
        if json {
            print("{" + figures.map { "\"\($0.0)\": \(Int($0.1))" }.joined(separator: ", ")
                  + ", " + latency.map { "\"\($0.0)\": \(us($0.1))" }.joined(separator: ", ")
                  + ", \"messages\": \(messages), \"round_trips\": \(rt.count)}")
        } else {
            for (k, v) in figures { print("\(k): \(Int(v))") }
            for (k, v) in latency { print("\(k): \(us(v))") }
            print("round_trips: \(rt.count)")
        }
    }
}
