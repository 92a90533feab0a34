import Foundation
import Metrics
import TandemCore

/// What the watchdog sees, once per cycle: written to `tandem.watchdog_state.view` (JSON) for
/// `tandem risk status` and the status page, and exported as metrics.
public struct WatchdogStatus: Sendable, Codable, Hashable {
    public struct PositionLine: Sendable, Codable, Hashable {
        public var account: String
        public var instrument: UInt32
        public var venueNet: String
        public var journalNet: String
        public var mark: String?
    }

    public var mode = WatchdogMode.normal.rawValue
    public var blocked = false
    public var dropCopySynced = false
    public var dropCopyReports = 0
    public var journalSeq: UInt64 = 0
    public var leaseHolder: String?
    public var leaseEpoch: UInt64 = 0
    public var leaseHalted = false
    public var pnl: String?
    public var drawdown: String?
    public var grossExposure: String?
    public var breaching: [String] = []
    public var positions: [PositionLine] = []
    public var ownWorkingOrders = 0
    public var engineWorkingOrders = 0

    public init() {}

    init(machine: WatchdogMachine, venue: VenueView, synced: Bool, journalSeq: UInt64, journalNet: [PositionKey: Quantity],
         lease: WatchdogStore.LeaseView, marks: [InstrumentID: Price]) {
        mode = machine.mode.rawValue
        blocked = machine.blocked
        dropCopySynced = synced
        dropCopyReports = venue.reports
        self.journalSeq = journalSeq
        leaseHolder = lease.holder
        leaseEpoch = lease.epoch
        leaseHalted = lease.halted
        pnl = machine.figures.pnl.map { "\($0)" }
        drawdown = machine.figures.drawdown.map { "\($0)" }
        grossExposure = machine.figures.grossExposure.map { "\($0)" }
        breaching = machine.breaching.sorted()
        let venueNet = venue.positions.mapValues(\.netQuantity)
        positions = Set(venueNet.keys).union(journalNet.keys).sorted().map { key in
            PositionLine(account: key.account.rawValue, instrument: key.instrument.rawValue,
                         venueNet: "\(venueNet[key] ?? .zero)", journalNet: "\(journalNet[key] ?? .zero)", mark: marks[key.instrument].map { "\($0)" })
        }
        ownWorkingOrders = venue.ownWorking.count
        engineWorkingOrders = venue.engineWorkingCount
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// The watchdog's metrics (names in docs/monitoring.md), created once.
struct WatchdogMetrics: Sendable {
    let modeGauge = Gauge(label: "tandem_watchdog_mode")
    let halt = Gauge(label: "tandem_watchdog_action", dimensions: [("action", "halt")])
    let block = Gauge(label: "tandem_watchdog_action", dimensions: [("action", "block")])
    let flatten = Gauge(label: "tandem_watchdog_action", dimensions: [("action", "flatten")])
    let dropCopyUp = Gauge(label: "tandem_watchdog_dropcopy_up")
    let journalSeq = Gauge(label: "tandem_watchdog_journal_seq")
    let journalAge = Gauge(label: "tandem_watchdog_journal_age_seconds")
    let pnlRatio = Gauge(label: "tandem_risk_daily_pnl_ratio_to_limit")
    let openPositions = Gauge(label: "tandem_watchdog_open_positions")
    let refused = Counter(label: "tandem_watchdog_commands_refused_total")

    func mode(_ mode: WatchdogMode, blocked: Bool) {
        modeGauge.record(mode == .normal ? 0 : mode == .halted ? 1 : 2)
        halt.record(mode == .normal ? 0 : 1)
        flatten.record(mode == .flattening ? 1 : 0)
        block.record(blocked ? 1 : 0)
    }

    func update(machine: WatchdogMachine, status: WatchdogStatus, synced: Bool, journalAgeSeconds: Double?) {
        mode(machine.mode, blocked: machine.blocked)
        dropCopyUp.record(synced ? 1 : 0)
        journalSeq.record(Double(status.journalSeq))
        if let journalAgeSeconds { journalAge.record(journalAgeSeconds) }
        openPositions.record(machine.figures.openPositions)
        if let pnl = machine.figures.pnl, let max = machine.limits.maxDailyLoss, max.units > 0 {
            // A ratio for alerting thresholds only (0.8 = 80 % of the limit lost, 0 when up); never used for money.
            pnlRatio.record(Swift.max(0, Double(-pnl.units) / Double(max.units)))
        }
    }

    func breach(_ rule: String) {
        Counter(label: "tandem_watchdog_breaches_total", dimensions: [("rule", rule)]).increment()
    }

    func refusedCommand() { refused.increment() }
}
