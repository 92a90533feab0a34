import PropertyBased
import Testing
@testable import TandemCore

/// The fold's ClOrdID intern tables: every order (open or final) stays findable by ClOrdID through
/// growth, deletion from the open table, snapshots and restores.
@Suite struct OrderIndexTests {
    static func orders(_ n: Int, prefix: String = "C") -> ContiguousArray<Order> {
        ContiguousArray((0..<n).map { Order(request: Fixtures.request("\(prefix)\($0)")) })
    }

    static func failure(_ state: inout TradingState, _ event: JournalEvent) -> FoldError? {
        do throws(FoldError) { try state.apply(event); return nil } catch { return error }
    }

    @Test func fullIndexFindsEveryKeyAcrossGrowth() {
        let orders = Self.orders(5_000)
        var index = OrderIndex()
        for (handle, order) in orders.enumerated() {
            if index.isFull { index.grow(orders) }
            index.insert(hash: ClOrdIDHash.of(order.clOrdID), handle: handle)
        }
        #expect(index.count == orders.count)
        for (handle, order) in orders.enumerated() {
            #expect(index.find(order.clOrdID, hash: ClOrdIDHash.of(order.clOrdID), in: orders) == handle)
        }
        for absent in Self.orders(500, prefix: "X") {
            #expect(index.find(absent.clOrdID, hash: ClOrdIDHash.of(absent.clOrdID), in: orders) == nil)
        }
        // Long, non-ASCII and empty ClOrdIDs hash and compare like any other.
        let odd = ContiguousArray(["", "ü-é-ß", String(repeating: "long-id-", count: 20)].map { Order(request: Fixtures.request($0)) })
        var small = OrderIndex()
        for (h, o) in odd.enumerated() { small.insert(hash: ClOrdIDHash.of(o.clOrdID), handle: h) }
        for (h, o) in odd.enumerated() { #expect(small.find(o.clOrdID, hash: ClOrdIDHash.of(o.clOrdID), in: odd) == h) }
    }

    /// Random inserts and backward-shift deletions agree with a `Set` model, in a table small
    /// enough to wrap around and form long probe runs.
    @Test func openIndexMatchesASetUnderInsertAndRemove() async {
        let orders = Self.orders(400)
        await propertyCheck(count: 60, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            var index = OpenOrderIndex()
            var model = Set<Int>()
            for _ in 0..<2_000 {
                let handle = rng.below(orders.count)
                let hash = ClOrdIDHash.of(orders[handle].clOrdID)
                if model.contains(handle) {
                    index.remove(hash: hash, handle: handle)
                    model.remove(handle)
                } else {
                    index.insert(hash: hash, handle: handle)
                    model.insert(handle)
                }
            }
            #expect(index.count == model.count)
            for (handle, order) in orders.enumerated() {
                let found = index.find(order.clOrdID, hash: ClOrdIDHash.of(order.clOrdID), in: orders)
                #expect(found == (model.contains(handle) ? handle : nil))
            }
        }
    }

    /// After a fold and after a snapshot round trip: every order is found by ClOrdID, the open
    /// table holds exactly the open orders, events on final orders still meet their state
    /// machine, new intents cannot reuse any ClOrdID, and the fold resumes to the same state.
    @Test func internTablesSurviveSnapshotAndRestore() async {
        await propertyCheck(count: 15, input: Gen.uint64()) { seed in
            let events = SyntheticJournal.events(count: 4_000, seed: seed, instrumentCount: 10, controlEvents: true)
            let cut = events.count / 2
            var full = TradingState(), half = TradingState()
            do {
                for e in events { try full.apply(e) }
                for e in events[..<cut] { try half.apply(e) }
                var restored = try TradingState(snapshotBytes: half.snapshotBytes())
                #expect(restored == half)
                for state in [half, restored] {
                    #expect(state.openIndex.count == state.openOrders.count)
                    #expect(state.orderIndex.count == state.orderCount)
                    for order in state.allOrders { #expect(state.order(order.clOrdID) == order) }
                    #expect(state.order(ClOrdID("never-seen")) == nil)
                }
                if let final = restored.allOrders.first(where: { $0.status.isFinal }) {
                    var probe = restored
                    let duplicate = Self.failure(&probe, .orderIntent(OrderIntent(request: final.request, decision: .accepted, at: Fixtures.t0)))
                    #expect(duplicate?.code == .duplicateOrder)
                    let onFinal = Self.failure(&probe, .cancelRequested(clOrdID: final.clOrdID, at: Fixtures.t0))
                    #expect(onFinal?.code == .orderTransition && onFinal?.orderError?.code == .orderIsFinal)
                    let unknown = Self.failure(&probe, .cancelRequested(clOrdID: ClOrdID("never-seen"), at: Fixtures.t0))
                    #expect(unknown?.code == .unknownOrder)
                    #expect(probe == restored)
                }
                for e in events[cut...] { try restored.apply(e) }
                #expect(restored == full)
                #expect(restored.snapshotBytes() == full.snapshotBytes())
                #expect(restored.openIndex.count == full.openOrders.count)
            } catch { Issue.record("\(error)") }
        }
    }

    /// Positions live in slots cached per order; the public views agree with a dictionary built
    /// from the fold, and reconciliation/corporate actions reach positions created by fills.
    @Test func positionViewsAgree() throws {
        var s = TradingState()
        for e in SyntheticJournal.events(count: 3_000, seed: 11, instrumentCount: 7, controlEvents: true) { try s.apply(e) }
        let all = s.positions
        #expect(all.count == s.positionCount)
        for (key, p) in all { #expect(s.position(account: key.account, instrument: key.instrument) == p) }
        #expect(s.position(account: AccountID("nobody"), instrument: InstrumentID(1)) == nil)
    }

    /// The position table finds every (account, instrument) key across growth, including odd
    /// account strings, and misses absent ones.
    @Test func positionIndexFindsEveryKeyAcrossGrowth() {
        var keys = ContiguousArray<PositionKey>()
        let accounts = ["", "ü-é-ß", String(repeating: "acct-", count: 10)] + (0..<40).map { "ACC\($0)" }
        for a in accounts { for i in 1...30 { keys.append(PositionKey(account: AccountID(a), instrument: InstrumentID(UInt32(i)))) } }
        var index = PositionIndex()
        var added = ContiguousArray<PositionKey>()
        for (slot, key) in keys.enumerated() {
            added.append(key)
            index.insert(hash: PositionIndex.hash(key), slot: slot, keys: added)
        }
        #expect(index.count == keys.count)
        for (slot, key) in keys.enumerated() { #expect(index.find(key, hash: PositionIndex.hash(key), in: added) == slot) }
        for a in ["ACC40", "X", "acct-"] {
            let key = PositionKey(account: AccountID(a), instrument: InstrumentID(1))
            #expect(index.find(key, hash: PositionIndex.hash(key), in: added) == nil)
        }
        let key = PositionKey(account: AccountID("ACC1"), instrument: InstrumentID(31))
        #expect(index.find(key, hash: PositionIndex.hash(key), in: added) == nil)
    }

    /// The defined-instrument bitset agrees with the dictionary for small, boundary and large ids.
    @Test func instrumentSetAgreesWithTheDictionary() {
        let ids: [UInt32] = [0, 1, 63, 64, 65, 1_000, 65_535, 65_536, 1_000_000, .max]
        var set = InstrumentSet()
        var dict: [InstrumentID: Instrument] = [:]
        for id in ids.enumerated().filter({ $0.offset % 2 == 0 }).map(\.element) {
            let i = InstrumentID(id)
            dict[i] = Instrument(id: i, symbol: "S\(id)", venue: "XNYS", tickSize: Price(units: 1), lotSize: Quantity(units: 1),
                                 currency: .usd, calendar: "XNYS")
            set.insert(i)
        }
        for id in ids + [2, 62, 66, 65_534, 65_537, 999_999] {
            let i = InstrumentID(id)
            #expect(set.contains(i, dict) == (dict[i] != nil), "id \(id)")
        }
    }
}
