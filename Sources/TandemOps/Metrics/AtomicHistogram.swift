import CoreMetrics
import Foundation
import Synchronization

/// A Prometheus histogram whose `record` takes no lock: it finds the observation's bucket and adds
/// one to it and the value to the sum, each a relaxed atomic add. swift-prometheus's histogram
/// takes a lock and walks every bucket (they are kept cumulative) on each observation; this one
/// keeps per-bucket counts and accumulates them when scraped (the last cumulative bucket is the
/// count), so the hot path pays 2 atomic adds.
///
/// Values are kept as integers in a fixed unit (`scale` units per exported unit: 10⁹ for durations
/// in nanoseconds exported as seconds, 10⁴ for basis points kept in ten-thousandths), so the sum
/// is exact and lock-free; a scrape reads the buckets and the sum without stopping
/// writers (each figure is a consistent value, the set of them may be one observation apart).
public final class AtomicHistogram: TimerHandler, RecorderHandler, Sendable {
    public let name: String
    public let labels: [(String, String)]
    /// Upper bounds, ascending, in units.
    private let bounds: [Int64]
    private let scale: Int64
    /// One per bound, then +Inf.
    private let buckets: [Cell]
    private let sum = Atomic<Int64>(0)
    private let prerenderedLabels: String

    private final class Cell: Sendable {
        let value = Atomic<Int>(0)
    }

    /// - Parameters:
    ///   - bounds: upper bounds in units, ascending.
    ///   - scale: units per exported unit.
    public init(name: String, labels: [(String, String)], bounds: [Int64], scale: Int64) {
        precondition(scale > 0 && zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds must ascend")
        self.name = name
        self.labels = labels
        self.bounds = bounds
        self.scale = scale
        buckets = (0...bounds.count).map { _ in Cell() }
        prerenderedLabels = labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",")
    }

    /// Duration buckets, kept in nanoseconds, exported in seconds.
    public convenience init(name: String, labels: [(String, String)], durations: [Duration]) {
        self.init(name: name, labels: labels, bounds: durations.map { $0.nanoseconds }, scale: 1_000_000_000)
    }

    /// Value buckets kept to `decimals` decimal places (e.g. 4 for ten-thousandths of a bp).
    public convenience init(name: String, labels: [(String, String)], values: [Double], decimals: Int) {
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        self.init(name: name, labels: labels, bounds: values.map { Int64(($0 * Double(scale)).rounded()) }, scale: scale)
    }

    /// One observation, in units.
    @inline(__always)
    public func observe(units v: Int64) {
        var i = 0
        let n = bounds.count
        while i < n, v > bounds[i] { i &+= 1 }
        buckets[i].value.add(1, ordering: .relaxed)
        sum.wrappingAdd(v, ordering: .relaxed)
    }

    // TimerHandler
    public func recordNanoseconds(_ duration: Int64) {
        if scale == 1_000_000_000 { observe(units: duration) } else { record(Double(duration) / 1e9) }
    }

    // RecorderHandler
    public func record(_ value: Int64) {
        let (units, overflow) = value.multipliedReportingOverflow(by: scale)
        observe(units: overflow ? (value > 0 ? .max : .min) : units)
    }
    public func record(_ value: Double) {
        let units = (value * Double(scale)).rounded()
        observe(units: Int64(exactly: units) ?? (units.isNaN ? 0 : units > 0 ? .max : .min))
    }

    /// Appends the series (buckets cumulative, `+Inf`, `_sum`, `_count`) without the `# TYPE` line.
    func emit(into out: inout [UInt8]) {
        var cumulative = 0
        let sep = prerenderedLabels.isEmpty ? "" : prerenderedLabels + ","
        for (i, bound) in bounds.enumerated() {
            cumulative += buckets[i].value.load(ordering: .relaxed)
            out.append(contentsOf: "\(name)_bucket{\(sep)le=\"\(Self.decimal(bound, scale))\"} \(cumulative)\n".utf8)
        }
        cumulative += buckets[bounds.count].value.load(ordering: .relaxed)
        out.append(contentsOf: "\(name)_bucket{\(sep)le=\"+Inf\"} \(cumulative)\n".utf8)
        let labelSet = prerenderedLabels.isEmpty ? "" : "{\(prerenderedLabels)}"
        out.append(contentsOf: "\(name)_sum\(labelSet) \(Self.decimal(sum.load(ordering: .relaxed), scale))\n".utf8)
        out.append(contentsOf: "\(name)_count\(labelSet) \(cumulative)\n".utf8)
    }

    /// `units / scale` as an exact decimal (scale a power of ten).
    static func decimal(_ units: Int64, _ scale: Int64) -> String {
        let negative = units < 0
        let m = units.magnitude
        let whole = m / UInt64(scale)
        let frac = m % UInt64(scale)
        guard frac != 0 else { return (negative ? "-" : "") + "\(whole)" }
        var digits = 0
        var s = scale
        while s > 1 { s /= 10; digits += 1 }
        var text = String(frac)
        text = String(repeating: "0", count: digits - text.count) + text
        while text.hasSuffix("0") { text.removeLast() }
        return (negative ? "-" : "") + "\(whole).\(text)"
    }

    private static func escape(_ v: String) -> String {
        v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
