import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Prometheus
import ServiceLifecycle
import Testing

@testable import TandemOps

@Suite("process metrics")
struct ProcessMetricsTests {
    @Test("parses /proc/self/stat (a command name with spaces and parentheses) and /proc/stat's btime")
    func parse() throws {
        // Fields 3…24 after the command name: utime 250, stime 150, starttime 1000, vsize, rss 300 pages.
        let stat = "4242 (tandem (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 150 0 0 20 0 9 0 1000 123456789 300 18446744073709551615"
        let m = try #require(ProcessMetrics.parse(stat: stat, systemStat: "cpu  1 2 3\nbtime 1795650000\nprocesses 9\n",
                                                   clockTicks: 100, pageSize: 4096, openFDs: 7, maxFDs: 1024))
        #expect(m.cpuSeconds == 4.0)
        #expect(m.residentMemoryBytes == 300 * 4096)
        #expect(m.virtualMemoryBytes == 123_456_789)
        #expect(m.startTimeSeconds == 1_795_650_010)
        var out: [UInt8] = []
        m.emit(into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 4.0\n"))
        #expect(text.contains("process_resident_memory_bytes 1228800\n"))
        #expect(text.contains("process_open_fds 7\n"))
        #expect(text.contains("process_max_fds 1024\n"))
        #expect(ProcessMetrics.parse(stat: "garbage", systemStat: "btime 1", clockTicks: 100, pageSize: 4096, openFDs: 0, maxFDs: nil) == nil)
    }

    @Test("this process's own figures are plausible: started before now, some memory, some CPU, open descriptors")
    func current() throws {
        let m = try #require(ProcessMetrics.current())
        let now = Date().timeIntervalSince1970
        #expect(m.startTimeSeconds > now - 86_400 && m.startTimeSeconds <= now + 1)
        #expect(m.residentMemoryBytes > 1 << 20)
        #expect(m.cpuSeconds > 0)
        #expect(m.openFDs >= 3)
    }

    @Test("GET /metrics over HTTP carries the registry's metrics and the process_* ones")
    func servedOnMetrics() async throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "tandem", metricName: "test", unitName: "gauge", helpText: "A test gauge.")).set(to: 3.0)
        let server = OpsHTTPServer(port: 0, registry: registry, readiness: { (true, "ready") },
                                   logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let port = try await server.listeningPort()
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            let text = String(decoding: data, as: UTF8.self)
            #expect(text.contains("tandem_test_gauge 3"))
            for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"] {
                #expect(text.contains("\n\(name) "), "\(name) missing from:\n\(text)")
            }
            let (_, notFound) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/")!)
            #expect((notFound as? HTTPURLResponse)?.statusCode == 404)
        }
    }
}
