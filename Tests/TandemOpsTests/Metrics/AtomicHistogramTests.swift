import CoreMetrics
import Foundation
import Prometheus
import Testing

@testable import TandemOps

@Suite("lock-free histograms")
struct AtomicHistogramTests {
    func text(_ h: AtomicHistogram) -> String {
        var out: [UInt8] = []
        h.emit(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("durations: each observation in the first bucket whose bound it does not exceed, buckets cumulative, exact sum in seconds")
    func durations() {
        let h = AtomicHistogram(name: "tandem_journal_append_seconds", labels: [],
                                durations: [.microseconds(500), .milliseconds(1), .milliseconds(5)])
        for ns: Int64 in [100_000, 500_000, 500_001, 1_000_000, 7_000_000] { h.recordNanoseconds(ns) }
        let lines = text(h).split(separator: "\n").map(String.init)
        #expect(lines == [
            #"tandem_journal_append_seconds_bucket{le="0.0005"} 2"#,
            #"tandem_journal_append_seconds_bucket{le="0.001"} 4"#,
            #"tandem_journal_append_seconds_bucket{le="0.005"} 4"#,
            #"tandem_journal_append_seconds_bucket{le="+Inf"} 5"#,
            "tandem_journal_append_seconds_sum 0.009100001",
            "tandem_journal_append_seconds_count 5",
        ])
    }

    @Test("values to four decimals, negative bounds and a negative sum, labels rendered and escaped")
    func values() {
        let h = AtomicHistogram(name: "tandem_fill_slippage_bps", labels: [("venue", "x\"y")], values: [-5, -1, 0, 1.5], decimals: 4)
        for v in [-7.25, -1.0, -0.0001, 1.5, 2.0] { h.record(v) }
        let t = text(h)
        #expect(t.contains(#"tandem_fill_slippage_bps_bucket{venue="x\"y",le="-5"} 1"#))
        #expect(t.contains(#"tandem_fill_slippage_bps_bucket{venue="x\"y",le="-1"} 2"#))
        #expect(t.contains(#"tandem_fill_slippage_bps_bucket{venue="x\"y",le="0"} 3"#))
        #expect(t.contains(#"tandem_fill_slippage_bps_bucket{venue="x\"y",le="1.5"} 4"#))
        #expect(t.contains(#"tandem_fill_slippage_bps_bucket{venue="x\"y",le="+Inf"} 5"#))
        #expect(t.contains(#"tandem_fill_slippage_bps_sum{venue="x\"y"} -4.7501"#))
        #expect(t.contains(#"tandem_fill_slippage_bps_count{venue="x\"y"} 5"#))
    }

    @Test("concurrent writers: no observation lost, the sum exact")
    func concurrent() async {
        let h = AtomicHistogram(name: "t_seconds", labels: [], durations: [.microseconds(10), .milliseconds(1)])
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<4 {
                group.addTask { for i in 0..<50_000 { h.recordNanoseconds(Int64((w * 50_000 + i) % 2_000) * 1_000) } }
            }
        }
        let t = text(h)
        #expect(t.contains("t_seconds_count 200000"))
        // Each writer's values cycle through 0…1,999 µs: 100 cycles of Σ = 1,999,000 µs in all.
        #expect(t.contains("t_seconds_sum 199.9"))
        #expect(t.contains(#"t_seconds_bucket{le="0.00001"} 1100"#))
    }

    @Test("the factory: configured timers and recorders are lock-free and shared by label, the rest swift-prometheus's; promtool accepts the exposition")
    func factory() throws {
        let factory = TandemMetricsFactory(durationBuckets: ["a_seconds": [.milliseconds(1)]], valueBuckets: ["b_bps": [0, 1]])
        let a1 = factory.makeTimer(label: "a_seconds", dimensions: [])
        let a2 = factory.makeTimer(label: "a_seconds", dimensions: [])
        #expect(a1 is AtomicHistogram && (a1 as AnyObject) === (a2 as AnyObject))
        #expect(factory.makeRecorder(label: "b_bps", dimensions: [("side", "buy")], aggregate: true) is AtomicHistogram)
        #expect(!(factory.makeTimer(label: "c_seconds", dimensions: []) is AtomicHistogram))
        #expect(!(factory.makeRecorder(label: "e_ratio", dimensions: [], aggregate: false) is AtomicHistogram))
        a1.recordNanoseconds(2_000_000)
        factory.makeCounter(label: "d_total", dimensions: []).increment(by: 3)
        let out = OpsHTTPHandler.metricsText(factory.registry, factory.histograms)  // what /metrics serves
        let exposition = String(decoding: out, as: UTF8.self)
        #expect(exposition.contains("# TYPE a_seconds histogram\n"))
        #expect(exposition.contains("a_seconds_count 1"))
        #expect(exposition.contains("d_total 3"))
        #expect(exposition.components(separatedBy: "# TYPE a_seconds histogram").count == 2)

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-metrics-\(getpid()).txt").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(out).write(to: URL(fileURLWithPath: file))
        let r = try MonitoringDeployTests.run("/bin/sh", ["-c", "command -v promtool >/dev/null || exit 127; promtool check metrics < '\(file)'"])
        // promtool parses with Prometheus's own text parser (exit 1 on a parse error); exit 3 is lint
        // findings, of which only "no help text" is expected (neither backend writes HELP lines).
        let findings = r.output.split(separator: "\n").filter { !$0.hasSuffix("no help text") }
        #expect((r.status == 0 || r.status == 3) && findings.isEmpty,
                "promtool check metrics (apt-get install prometheus), exit \(r.status):\n\(r.output)\n\(exposition)")
    }
}
