/// The current leader of the active-passive pair.
public struct Leader: Sendable, Hashable {
    public var epoch: UInt64
    public var nodeID: String
    public var at: Timestamp

    public init(epoch: UInt64, nodeID: String, at: Timestamp) {
        self.epoch = epoch
        self.nodeID = nodeID
        self.at = at
    }
}

/// The last MsgSeqNum received and sent on one FIX session.
public struct FixSequences: Sendable, Hashable {
    public var lastInbound: UInt64
    public var lastOutbound: UInt64

    public init(lastInbound: UInt64, lastOutbound: UInt64) {
        self.lastInbound = lastInbound
        self.lastOutbound = lastOutbound
    }
}

/// Everything the system knows, derived only by folding journal events in order.
///
/// `apply(_:)` is pure, deterministic and total: an event either updates the state or throws a
/// ``FoldError`` and leaves the state exactly as it was. Orders, positions and P&L have no other
/// source. `snapshotBytes()` is a canonical encoding (keys sorted), so equal states give equal bytes.
public struct TradingState: Sendable, Equatable {
    public internal(set) var instruments: [InstrumentID: Instrument] = [:]
    /// Every order ever seen, final ones included (ClOrdIDs are never reused), in journal order;
    /// `orderSlots` indexes it. Kept apart so the hash table holds small entries and grows cheaply.
    var orderStore: ContiguousArray<Order> = []
    var orderSlots: [ClOrdID: Int] = [:]
    public internal(set) var positions: [PositionKey: Position] = [:]
    public internal(set) var fixSessions: [String: FixSequences] = [:]
    public internal(set) var leader: Leader?
    /// Active halts, blocks and flattens by scope; `resume` removes one.
    public internal(set) var restrictions: [RiskScope: RiskAction] = [:]
    public internal(set) var lastSnapshotSequence: UInt64?
    /// Number of events applied successfully.
    public internal(set) var eventCount: UInt64 = 0

    public init() {}

    /// Pre-sizes order storage, e.g. from the number of intents in a journal about to be replayed.
    public mutating func reserveCapacity(orders count: Int) {
        orderStore.reserveCapacity(count)
        orderSlots.reserveCapacity(count)
    }

    public func order(_ id: ClOrdID) -> Order? { orderSlots[id].map { orderStore[$0] } }

    /// Every order ever seen, in the order the journal introduced them.
    public var allOrders: ContiguousArray<Order> { orderStore }
    public var orderCount: Int { orderStore.count }

    /// Every order by ClOrdID. Builds a dictionary (O(n)); prefer ``order(_:)`` for lookups.
    public var orders: [ClOrdID: Order] {
        Dictionary(uniqueKeysWithValues: orderStore.lazy.map { ($0.clOrdID, $0) })
    }

    /// Content equality: the same orders by ClOrdID, regardless of storage order.
    public static func == (lhs: TradingState, rhs: TradingState) -> Bool {
        guard lhs.eventCount == rhs.eventCount, lhs.lastSnapshotSequence == rhs.lastSnapshotSequence,
              lhs.leader == rhs.leader, lhs.instruments == rhs.instruments, lhs.positions == rhs.positions,
              lhs.fixSessions == rhs.fixSessions, lhs.restrictions == rhs.restrictions,
              lhs.orderStore.count == rhs.orderStore.count, lhs.orderSlots.count == rhs.orderSlots.count
        else { return false }
        return lhs.orderSlots.allSatisfy { id, slot in
            rhs.orderSlots[id].map { rhs.orderStore[$0] == lhs.orderStore[slot] } ?? false
        }
    }

    public func position(account: AccountID, instrument: InstrumentID) -> Position? {
        positions[PositionKey(account: account, instrument: instrument)]
    }

    /// Orders that are not final.
    public var openOrders: [Order] { orderStore.filter { !$0.status.isFinal } }

    /// Gross realized P&L of an account, per currency.
    public func realizedPnL(account: AccountID) -> [Currency: Money] {
        total(account) { $0.realizedPnL }
    }

    /// Fees paid by an account, per currency.
    public func fees(account: AccountID) -> [Currency: Money] {
        total(account) { $0.fees }
    }

    /// Unrealized P&L of an account at the given marks, per currency; positions without a mark are skipped.
    public func unrealizedPnL(account: AccountID, marks: [InstrumentID: Price]) throws(ArithmeticError) -> [Currency: Money] {
        var sums: [Currency: Money] = [:]
        for (key, p) in positions where key.account == account {
            guard let mark = marks[key.instrument] else { continue }
            let u = try p.unrealizedPnL(mark: mark)
            sums[u.currency] = try (sums[u.currency] ?? .zero(u.currency)).adding(u)
        }
        return sums
    }

    /// Sums saturate rather than trap; per-position values are already checked.
    private func total(_ account: AccountID, _ field: (Position) -> Money) -> [Currency: Money] {
        var sums: [Currency: Money] = [:]
        for (key, p) in positions where key.account == account {
            let m = field(p)
            let current = sums[m.currency]?.units ?? 0
            let (s, o) = current.addingReportingOverflow(m.units)
            sums[m.currency] = Money(units: o ? (m.units < 0 ? .min : .max) : s, currency: m.currency)
        }
        return sums
    }
}
