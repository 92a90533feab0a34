import TandemCore
import TandemFIX

/// The venue's view of the firm, built from the drop copy alone (every execution report of every
/// order-entry session, the watchdog's own included): positions from fills, counted once by ExecID,
/// the orders still working, and the rate of new orders and reports. It trusts nothing the engine says.
public struct VenueView: Sendable {
    /// A working order as the venue last reported it.
    public struct WorkingOrder: Sendable, Hashable {
        public var clOrdID: String
        public var account: AccountID
        public var instrument: InstrumentID
        public var side: Side
        public var leaves: Quantity
    }

    public private(set) var positions: [PositionKey: Position] = [:]
    /// Net quantities from the engine's orders alone (ClOrdIDs without the watchdog's prefix), to
    /// compare with the journal.
    public private(set) var engineNet: [PositionKey: Quantity] = [:]
    /// When (the `nanos` given to `apply`) the venue last acknowledged a new order of the engine's.
    public private(set) var lastEngineNewNanos: Int64?
    /// The watchdog's own orders that reached a final state, by ClOrdID.
    public private(set) var ownFinished: Set<String> = []
    /// By venue OrderID.
    public private(set) var working: [String: WorkingOrder] = [:]
    public private(set) var reports = 0
    public private(set) var fills = 0
    /// Reports for symbols the watchdog was not configured with (their fills cannot be valued).
    public private(set) var unknownSymbols: Set<String> = []
    private var execIDs: Set<String> = []
    private let instruments: [String: Instrument]
    /// Arrival times (ns, any monotonic clock) of recent new-order acknowledgements and reports, for rates.
    private var recentNew = OneSecondWindow()
    private var recentReports = OneSecondWindow()

    /// ClOrdIDs starting with this are the watchdog's own.
    public let ownPrefix: String

    public init(instruments: [Instrument], ownPrefix: String = "WD-") {
        self.ownPrefix = ownPrefix
        self.instruments = Dictionary(instruments.map { ($0.symbol, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func instrument(symbol: String) -> Instrument? { instruments[symbol] }

    /// Applies one drop-copy report received at `nanos`. A report whose ExecID was seen is ignored (a
    /// resend after a reconnect, a PossDup copy), except status reports, which carry no execution.
    /// `resent` (PossDupFlag=Y): history the venue sends again, which counts for positions but not as news.
    public mutating func apply(_ r: ExecutionReport, nanos: Int64, resent: Bool = false) throws(ArithmeticError) {
        let execID = r.execID
        if r.execType != .orderStatus {
            guard execIDs.insert(execID).inserted else { return }
        }
        reports += 1
        recentReports.record(nanos)
        guard let instrument = instruments[r.symbol] else {
            unknownSymbols.insert(r.symbol)
            return
        }
        let account = r.account ?? AccountID("")
        if r.execType == .new {
            recentNew.record(nanos)
            if !isOwn(r) && !resent { lastEngineNewNanos = nanos }
        }
        if r.execType == .trade, let qty = r.lastQty, let px = r.lastPx, qty.units > 0 {
            let key = PositionKey(account: account, instrument: instrument.id)
            var p = positions[key] ?? Position(currency: instrument.currency, multiplier: instrument.multiplier)
            try p.trade(direction: r.side == .buy ? 1 : -1, quantity: qty, price: px, fee: .zero(instrument.currency))
            positions[key] = p
            fills += 1
            if !isOwn(r) {
                let signed = r.side == .buy ? qty.units : -qty.units
                engineNet[key] = Quantity(units: (engineNet[key]?.units ?? 0) &+ signed)
            }
        }
        if r.ordStatus.isFinal || r.execType == .rejected {
            if isOwn(r), let id = r.clOrdID?.rawValue { ownFinished.insert(id) }
            working[r.orderID] = nil
        } else if r.execType != .orderStatus || working[r.orderID] != nil || r.leavesQty.units > 0 {
            working[r.orderID] = WorkingOrder(clOrdID: r.clOrdID?.rawValue ?? "", account: account, instrument: instrument.id,
                                              side: r.side, leaves: r.leavesQty)
        }
    }

    private func isOwn(_ r: ExecutionReport) -> Bool { r.clOrdID?.rawValue.hasPrefix(ownPrefix) ?? false }

    /// The watchdog's own orders still working.
    public var ownWorking: [WorkingOrder] { working.values.filter { $0.clOrdID.hasPrefix(ownPrefix) } }
    /// The engine's orders still working.
    public var engineWorkingCount: Int { working.values.count { !$0.clOrdID.hasPrefix(ownPrefix) } }

    /// Net quantities that are not zero.
    public var openPositions: [PositionKey: Quantity] {
        positions.compactMapValues { $0.netQuantity.isZero ? nil : $0.netQuantity }
    }

    /// New orders acknowledged and reports received in the second before `nanos`.
    public func rates(at nanos: Int64) -> (newOrders: Int, reports: Int) {
        (recentNew.count(at: nanos), recentReports.count(at: nanos))
    }
}

/// Arrival times of the last second, oldest first: recording drops what has aged out by moving a head
/// index (no shifting per record); the array is compacted once the dead prefix is half of it.
struct OneSecondWindow: Sendable {
    private var times: [Int64] = []
    private var head = 0

    mutating func record(_ nanos: Int64) {
        while head < times.count, times[head] <= nanos - 1_000_000_000 { head += 1 }
        if head >= 256, head * 2 >= times.count {
            times.removeFirst(head)
            head = 0
        }
        times.append(nanos)
    }

    /// How many fall in the second before `nanos`.
    func count(at nanos: Int64) -> Int {
        times[head...].count { $0 > nanos - 1_000_000_000 }
    }
}
