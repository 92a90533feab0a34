import CoreMetrics
import Prometheus
import Synchronization

/// The swift-metrics backend Tandem's processes bootstrap: swift-prometheus for counters, gauges and
/// any histogram without configured buckets, and ``AtomicHistogram`` (no lock per observation) for
/// the timers and recorders named in `durationBuckets` / `valueBuckets` — the ones on the order path.
/// `OpsHTTPServer` serves both (`registry:` and `histograms:`) as one Prometheus text exposition.
public struct TandemMetricsFactory: MetricsFactory {
    public let registry: PrometheusCollectorRegistry
    public let histograms: AtomicHistograms
    private let prometheus: PrometheusMetricsFactory
    private let durationBuckets: [String: [Duration]]
    private let valueBuckets: [String: [Double]]
    private let valueDecimals: Int

    /// - Parameter valueDecimals: the decimal places value histograms keep exactly (4: a basis point
    ///   to the ten-thousandth).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), durationBuckets: [String: [Duration]] = [:],
                valueBuckets: [String: [Double]] = [:], valueDecimals: Int = 4) {
        self.registry = registry
        histograms = AtomicHistograms()
        prometheus = PrometheusMetricsFactory(registry: registry)
        self.durationBuckets = durationBuckets
        self.valueBuckets = valueBuckets
        self.valueDecimals = valueDecimals
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> CounterHandler {
        prometheus.makeCounter(label: label, dimensions: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> FloatingPointCounterHandler {
        prometheus.makeFloatingPointCounter(label: label, dimensions: dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> MeterHandler {
        prometheus.makeMeter(label: label, dimensions: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> RecorderHandler {
        guard aggregate, let values = valueBuckets[label] else {
            return prometheus.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
        }
        let decimals = valueDecimals
        return histograms.histogram(name: label, labels: dimensions) {
            AtomicHistogram(name: label, labels: dimensions, values: values, decimals: decimals)
        }
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> TimerHandler {
        guard let durations = durationBuckets[label] else { return prometheus.makeTimer(label: label, dimensions: dimensions) }
        return histograms.histogram(name: label, labels: dimensions) {
            AtomicHistogram(name: label, labels: dimensions, durations: durations)
        }
    }

    public func destroyCounter(_ handler: CounterHandler) { prometheus.destroyCounter(handler) }
    public func destroyFloatingPointCounter(_ handler: FloatingPointCounterHandler) { prometheus.destroyFloatingPointCounter(handler) }
    public func destroyMeter(_ handler: MeterHandler) { prometheus.destroyMeter(handler) }

    public func destroyRecorder(_ handler: RecorderHandler) {
        if let h = handler as? AtomicHistogram { histograms.remove(h) } else { prometheus.destroyRecorder(handler) }
    }

    public func destroyTimer(_ handler: TimerHandler) {
        if let h = handler as? AtomicHistogram { histograms.remove(h) } else { prometheus.destroyTimer(handler) }
    }
}

/// The lock-free histograms of one process, by name and label set: making the same one twice gives
/// the same histogram (as swift-prometheus's registry does), so every `Timer` with that label feeds it.
public final class AtomicHistograms: Sendable {
    private struct Key: Hashable {
        var name: String
        var labels: [String]
    }
    private let all = Mutex<[Key: AtomicHistogram]>([:])

    func histogram(name: String, labels: [(String, String)], make: () -> AtomicHistogram) -> AtomicHistogram {
        let key = Key(name: name, labels: labels.sorted { $0.0 < $1.0 }.flatMap { [$0.0, $0.1] })
        return all.withLock { all in
            if let h = all[key] { return h }
            let h = make()
            all[key] = h
            return h
        }
    }

    func remove(_ h: AtomicHistogram) {
        all.withLock { all in
            if let key = all.first(where: { $0.value === h })?.key { all[key] = nil }
        }
    }

    /// One `# TYPE … histogram` line per name, then each label set's series.
    public func emit(into out: inout [UInt8]) {
        let byName = Dictionary(grouping: all.withLock { Array($0.values) }, by: \.name)
        for name in byName.keys.sorted() {
            out.append(contentsOf: "# TYPE \(name) histogram\n".utf8)
            for h in byName[name]!.sorted(by: { "\($0.labels)" < "\($1.labels)" }) { h.emit(into: &out) }
        }
    }
}
