#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Prometheus's standard process metrics, read from `/proc/self` at each scrape and emitted as text
/// after the registry's metrics (swift-prometheus has no collector hook, and these are not values a
/// process records: they are read when asked). Names and meanings are those of the official client
/// libraries, so stock dashboards and rules work unchanged:
///
/// | name | type | source |
/// |---|---|---|
/// | `process_cpu_seconds_total` | counter | utime + stime of `/proc/self/stat`, over `CLK_TCK` |
/// | `process_resident_memory_bytes` | gauge | rss pages × page size |
/// | `process_virtual_memory_bytes` | gauge | vsize |
/// | `process_start_time_seconds` | gauge | `btime` of `/proc/stat` + starttime / `CLK_TCK` (Unix seconds) |
/// | `process_open_fds` | gauge | entries of `/proc/self/fd` |
/// | `process_max_fds` | gauge | the soft `RLIMIT_NOFILE` |
///
/// Linux only; elsewhere (or if `/proc` cannot be read) nothing is emitted.
public struct ProcessMetrics: Sendable, Equatable {
    public var cpuSeconds: Double
    public var residentMemoryBytes: Int64
    public var virtualMemoryBytes: Int64
    public var startTimeSeconds: Double
    public var openFDs: Int
    public var maxFDs: Int?

    public init(cpuSeconds: Double, residentMemoryBytes: Int64, virtualMemoryBytes: Int64, startTimeSeconds: Double, openFDs: Int, maxFDs: Int?) {
        self.cpuSeconds = cpuSeconds
        self.residentMemoryBytes = residentMemoryBytes
        self.virtualMemoryBytes = virtualMemoryBytes
        self.startTimeSeconds = startTimeSeconds
        self.openFDs = openFDs
        self.maxFDs = maxFDs
    }

    /// What `/proc/<pid>/stat` and `/proc/stat` say, given the clock tick and page size.
    /// `stat` is the whole line of `/proc/self/stat`; the command name (field 2) may hold spaces and
    /// parentheses, so fields are counted from the last `)`.
    public static func parse(stat: String, systemStat: String, clockTicks: Int, pageSize: Int, openFDs: Int, maxFDs: Int?) -> ProcessMetrics? {
        guard clockTicks > 0, let close = stat.lastIndex(of: ")") else { return nil }
        // After ")": field 3 (state) is index 0, so field n is index n - 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        func field(_ n: Int) -> Int64? { n - 3 < fields.count ? Int64(fields[n - 3]) : nil }
        guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23), let rss = field(24) else { return nil }
        var bootTime: Int64?
        for line in systemStat.split(separator: "\n") where line.hasPrefix("btime ") {
            bootTime = Int64(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        guard let bootTime else { return nil }
        let ticks = Double(clockTicks)
        return ProcessMetrics(cpuSeconds: Double(utime + stime) / ticks, residentMemoryBytes: rss * Int64(pageSize),
                              virtualMemoryBytes: vsize, startTimeSeconds: Double(bootTime) + Double(start) / ticks,
                              openFDs: openFDs, maxFDs: maxFDs)
    }

    /// This process now, or nil where `/proc` is not there.
    public static func current() -> ProcessMetrics? {
        #if os(Linux)
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let system = try? String(contentsOfFile: "/proc/stat", encoding: .utf8)
        else { return nil }
        // The directory listing itself holds one descriptor while it runs: not counted.
        let fds = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? 1) - 1
        var limit = rlimit()
        let maxFDs: Int? = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur != rlim_t.max ? Int(limit.rlim_cur) : nil
        return parse(stat: stat, systemStat: system, clockTicks: sysconf(Int32(_SC_CLK_TCK)), pageSize: sysconf(Int32(_SC_PAGESIZE)),
                     openFDs: max(fds, 0), maxFDs: maxFDs)
        #else
        return nil
        #endif
    }

    /// Prometheus text exposition (version 0.0.4) with HELP and TYPE lines.
    public func emit(into out: inout [UInt8]) {
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            out.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n".utf8)
        }
        metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", "\(cpuSeconds)")
        metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", "\(residentMemoryBytes)")
        metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", "\(virtualMemoryBytes)")
        metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", "\(startTimeSeconds)")
        metric("process_open_fds", "gauge", "Number of open file descriptors.", "\(openFDs)")
        if let maxFDs { metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", "\(maxFDs)") }
    }
}
