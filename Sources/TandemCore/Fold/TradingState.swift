import Synchronization

/// The source of ``TradingState/positionRevision`` (0 is an empty state's: no positions).
private let positionRevisions = Atomic<UInt64>(0)

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
    /// Derived from `instruments` (updated where an id is added: `define` and snapshot restore):
    /// which ids are defined, so each intent checks one bit instead of hashing into the dictionary.
    var definedInstruments = InstrumentSet()
    /// Every order ever seen, final ones included (ClOrdIDs are never reused), in journal order.
    /// An order's position here is its handle.
    var orderStore: ContiguousArray<Order> = []
    /// Every ClOrdID ever seen → handle: duplicate detection and lookups of final orders.
    var orderIndex = OrderIndex()
    /// Only the orders that are not final → handle. Events on orders go here first; this table
    /// stays as small as the open-order count (cache-resident), however long the journal is.
    var openIndex = OpenOrderIndex()
    /// Positions in creation order; `positionIndex` indexes them by key, and `orderPositions`
    /// (parallel to `orderStore`, -1 until the order's first fill) caches each order's slot.
    /// Any change to either (a trade, a new position, a correction, a corporate action, a restore)
    /// draws a new ``positionRevision``; `didSet` without `oldValue` keeps the mutations in place.
    var positionStore: ContiguousArray<Position> = [] { didSet { positionRevision = Self.nextPositionRevision() } }
    var positionKeys: ContiguousArray<PositionKey> = [] { didSet { positionRevision = Self.nextPositionRevision() } }
    var positionIndex = PositionIndex()
    var orderPositions: ContiguousArray<Int32> = []
    public internal(set) var fixSessions: [String: FixSequences] = [:]
    public internal(set) var leader: Leader?
    /// Active halts, blocks and flattens by scope; `resume` removes one.
    public internal(set) var restrictions: [RiskScope: RiskAction] = [:]
    /// The risk trading mode as journaled: the `to` of the last `riskModeChanged`, or HALTED after a
    /// global `riskCommand` halt and ACTIVE after a global resume. ACTIVE in a new journal. A node
    /// that becomes leader starts its risk engine in this mode, so HALTED survives a restart or a
    /// takeover until an operator resumes.
    public internal(set) var riskMode: TradingMode = .active
    /// The change that set ``riskMode`` (its rule and reason); nil while the mode never changed.
    public internal(set) var lastRiskModeChange: RiskModeChange?
    public internal(set) var lastSnapshotSequence: UInt64?
    /// Number of events applied successfully.
    public internal(set) var eventCount: UInt64 = 0
    /// What the last successfully applied event did to an order (``OrderEffect/none`` when it was
    /// not about one). Not part of the state's content: `==` and the snapshot ignore it.
    public internal(set) var lastOrderEffect = OrderEffect.none
    /// Identifies the positions' content: a new value, drawn from a process-wide counter, whenever
    /// any position changes or is added. Two states (copies or not) with the same revision have the
    /// same positions in the same slots; copies of one state that then change differently never
    /// share a revision (unlike ``eventCount``). Not part of the state's content: `==` and the
    /// snapshot ignore it. The risk engine keeps its P&L and exposure figures across checks while
    /// it does not move.
    public private(set) var positionRevision: UInt64 = 0

    private static func nextPositionRevision() -> UInt64 {
        positionRevisions.wrappingAdd(1, ordering: .relaxed).newValue
    }

    public init() {}

    /// Pre-sizes order storage, e.g. from the number of intents in a journal about to be replayed.
    public mutating func reserveCapacity(orders count: Int) {
        orderStore.reserveCapacity(count)
        orderPositions.reserveCapacity(count)
        orderIndex.reserveCapacity(count, orders: orderStore)
    }

    public func order(_ id: ClOrdID) -> Order? { handle(of: id).map { orderStore[$0] } }

    /// The handle of any order, open or final.
    func handle(of id: ClOrdID) -> Int? { handle(of: id, hash: ClOrdIDHash.of(id)) }

    @inline(__always) func handle(of id: ClOrdID, hash: UInt64) -> Int? {
        orderIndex.find(id, hash: hash, in: orderStore)
    }

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
              lhs.leader == rhs.leader, lhs.instruments == rhs.instruments, lhs.positionStore.count == rhs.positionStore.count,
              lhs.fixSessions == rhs.fixSessions, lhs.restrictions == rhs.restrictions,
              lhs.riskMode == rhs.riskMode, lhs.lastRiskModeChange == rhs.lastRiskModeChange,
              lhs.orderStore.count == rhs.orderStore.count, lhs.orderIndex.count == rhs.orderIndex.count,
              lhs.openIndex.count == rhs.openIndex.count
        else { return false }
        return lhs.positionKeys.indices.allSatisfy { slot in
            rhs.positionSlot(lhs.positionKeys[slot]).map { rhs.positionStore[$0] == lhs.positionStore[slot] } ?? false
        } && lhs.orderStore.allSatisfy { order in rhs.order(order.clOrdID) == order }
    }

    public func position(account: AccountID, instrument: InstrumentID) -> Position? {
        positionSlot(PositionKey(account: account, instrument: instrument)).map { positionStore[$0] }
    }

    /// The slot of the position `key` names, if it exists.
    @inline(__always) func positionSlot(_ key: PositionKey) -> Int? {
        positionIndex.find(key, hash: PositionIndex.hash(key), in: positionKeys)
    }

    /// Every position by key. Builds a dictionary (O(n)); prefer ``position(account:instrument:)``.
    public var positions: [PositionKey: Position] {
        Dictionary(uniqueKeysWithValues: zip(positionKeys, positionStore))
    }

    /// Number of positions (flat ones included).
    public var positionCount: Int { positionStore.count }

    /// Appends a new position; the key must be absent.
    mutating func addPosition(_ key: PositionKey, _ position: Position) -> Int {
        let slot = positionStore.count
        positionStore.append(position)
        positionKeys.append(key)
        positionIndex.insert(hash: PositionIndex.hash(key), slot: slot, keys: positionKeys)
        return slot
    }

    /// Orders that are not final, in journal order. Scans every order ever seen and builds an array;
    /// on a hot path prefer ``forEachOpenOrder(_:)``.
    public var openOrders: [Order] { orderStore.filter { !$0.status.isFinal } }

    /// Number of orders that are not final (O(1)).
    public var openOrderCount: Int { openIndex.count }

    /// Calls `body` with every order that is not final, reading only the open-order table (final
    /// orders are not visited, nothing is allocated). The order of the calls is unspecified: use it
    /// for sums and counts, and ``openOrders`` where the journal order matters. For the risk
    /// engine's pre-trade check, which runs on every order.
    public func forEachOpenOrder(_ body: (borrowing Order) throws -> Void) rethrows {
        try openIndex.forEachHandle { try body(orderStore[$0]) }
    }

    /// The leaves quantity (units) of the open buy and sell orders of one (account, instrument), in
    /// 128 bits, leaving out the order `excluding` (a replace's own). Reads the few fields it needs
    /// of each open order in place: ``forEachOpenOrder(_:)`` copies every order out for its closure
    /// (with its strings retained and released), which was a third of a pre-trade check.
    public func openLeaves(account: AccountID, instrument: InstrumentID, excluding: ClOrdID? = nil) -> (buy: Int128, sell: Int128) {
        var buy: Int128 = 0, sell: Int128 = 0
        orderStore.withUnsafeBufferPointer { orders in
            guard let base = orders.baseAddress else { return }
            openIndex.forEachHandle { handle in
                let order = base + handle
                guard order.pointee.request.instrument == instrument, order.pointee.request.account == account else { return }
                if let excluding, order.pointee.request.clOrdID == excluding { return }
                let leaves = Int128(order.pointee.leavesQuantity.units)
                if order.pointee.request.side.direction > 0 { buy += leaves } else { sell += leaves }
            }
        }
        return (buy, sell)
    }

    /// Calls `body` with every position (flat ones included) in storage order — creation order, or
    /// key order after a snapshot restore — without building a dictionary. Use it for sums and
    /// scans; ``positions`` when a dictionary is needed.
    public func forEachPosition(_ body: (PositionKey, borrowing Position) throws -> Void) rethrows {
        for slot in positionStore.indices { try body(positionKeys[slot], positionStore[slot]) }
    }

    /// The position in storage slot `slot` (`0..<positionCount`), without its key.
    @inline(__always) public func position(at slot: Int) -> Position { positionStore[slot] }

    /// The key of the position in storage slot `slot` (`0..<positionCount`).
    @inline(__always) public func positionKey(at slot: Int) -> PositionKey { positionKeys[slot] }

    /// The position in storage slot `slot` (`0..<positionCount`, the order of ``forEachPosition(_:)``)
    /// and its key: a plain loop over the positions for callers that keep state across them.
    @inline(__always) public func positionEntry(at slot: Int) -> (key: PositionKey, position: Position) {
        (positionKeys[slot], positionStore[slot])
    }

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
        for (key, p) in zip(positionKeys, positionStore) where key.account == account {
            guard let mark = marks[key.instrument] else { continue }
            let u = try p.unrealizedPnL(mark: mark)
            sums[u.currency] = try (sums[u.currency] ?? .zero(u.currency)).adding(u)
        }
        return sums
    }

    /// Sums saturate rather than trap; per-position values are already checked.
    private func total(_ account: AccountID, _ field: (Position) -> Money) -> [Currency: Money] {
        var sums: [Currency: Money] = [:]
        for (key, p) in zip(positionKeys, positionStore) where key.account == account {
            let m = field(p)
            let current = sums[m.currency]?.units ?? 0
            let (s, o) = current.addingReportingOverflow(m.units)
            sums[m.currency] = Money(units: o ? (m.units < 0 ? .min : .max) : s, currency: m.currency)
        }
        return sums
    }
}
