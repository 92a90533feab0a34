import TandemCore

/// An instrument's validation limits in `units`: tick, lot, maximum quantity, price band.
struct BookLimits: Sendable {
    let tick: Int64
    let lot: Int64
    let maxQuantity: Int64
    let minPrice: Int64
    let maxPrice: Int64

    init(_ v: VenueInstrument) {
        tick = v.instrument.tickSize.units
        lot = v.instrument.lotSize.units
        maxQuantity = v.maxOrderQuantity.units
        minPrice = v.minPrice.units
        maxPrice = v.maxPrice.units
    }

    @inline(__always)
    func validate(quantity: Int64) -> RejectReason? {
        if quantity <= 0 { return .nonPositiveQuantity }
        if quantity > maxQuantity { return .quantityAboveMaximum }
        if quantity % lot != 0 { return .quantityNotOnLot }
        return nil
    }

    @inline(__always)
    func validate(price: Int64) -> RejectReason? {
        if price % tick != 0 { return .priceNotOnTick }
        if price < minPrice || price > maxPrice { return .priceOutOfRange }
        return nil
    }
}

/// How an order was entered. Stored per order; a triggered stop keeps its kind (status reports
/// show the type as entered) and works as a market (`stop`) or limit (`stopLimit`) order.
enum OrderKind: UInt8, Sendable {
    case market, limit, stop, stopLimit

    /// Works without a price limit (a market order, or a stop once triggered).
    @inline(__always) var isMarketLike: Bool { self == .market || self == .stop }
    @inline(__always) var isStop: Bool { self == .stop || self == .stopLimit }
}

/// Time in force without the good-till-date payload (the expiry is stored separately).
enum TIFCode: UInt8, Sendable {
    case day, goodTillCancel, immediateOrCancel, fillOrKill, goodTillDate

    /// Never rests: what it cannot fill at once is canceled.
    @inline(__always) var isImmediate: Bool { self == .immediateOrCancel || self == .fillOrKill }
}

enum RecordState: UInt8, Sendable {
    /// A free slab slot.
    case free
    /// Being matched as the incoming order (not on the book yet).
    case working
    /// In a price level's queue.
    case resting
    /// An untriggered stop, in its side's stop list.
    case pendingStop
}

/// One order in the book's slab: plain integers only, so the slab is a flat array with no
/// reference counting, and cancels reach a record in O(1) by slot index.
///
/// Prices and quantities are `units` (10⁻⁸). `prev`/`next` link the FIFO queue of the price level
/// `level` (−1 ends the list; while free, `next` links the free list).
struct OrderRecord: Sendable {
    var price: Int64
    var stopPrice: Int64
    var quantity: Int64
    var leaves: Int64
    var cum: Int64
    var orderID: UInt64
    /// Priority sequence: engine-wide arrival order (re-stamped on trigger and on loss of priority).
    var sequence: UInt64
    /// Good-till-date expiry in ns since the epoch; `Int64.max` for none.
    var expiry: Int64
    var prev: Int32
    var next: Int32
    var level: Int32
    var session: UInt32
    var account: UInt32
    var stpKey: UInt32
    /// The order's (session, ClOrdID) hash in the registry's ``ClientIndex``.
    var keyHash: UInt32
    var side: Side
    var kind: OrderKind
    var tif: TIFCode
    var state: RecordState

    var isBuy: Bool { side == .buy }
    /// The key of this order's book side: buy levels are keyed by price, sell levels by −price, so
    /// on both sides a larger key is a better price and the best level is the last of the ladder.
    var bookKey: Int64 { side == .buy ? price : -price }
    /// An opposite level with key ≥ this threshold is within this order's limit (`Int64.min` for
    /// market-like orders: every level).
    var crossThreshold: Int64 {
        if kind.isMarketLike { return .min }
        return side == .buy ? -price : price
    }

    static let empty = OrderRecord(price: 0, stopPrice: 0, quantity: 0, leaves: 0, cum: 0, orderID: 0, sequence: 0,
                                   expiry: .max, prev: -1, next: -1, level: -1, session: 0, account: 0, stpKey: 0,
                                   keyHash: 0, side: .buy, kind: .limit, tif: .day, state: .free)
}

/// The strings that identify an order to its owner, kept beside the slab (not in it) so that the
/// matching loop's records stay free of reference counting.
struct OrderIdentity: Sendable {
    var clOrdID: ClOrdID
    var session: SessionID
    var account: AccountID
}

/// One price level: total open quantity and the FIFO queue of its orders (slab slots).
struct Level: Sendable {
    var price: Int64
    var quantity: Int64
    var count: Int32
    var head: Int32
    var tail: Int32
}

/// One side's price levels, sorted by key (see ``OrderRecord/bookKey``) ascending: the best level
/// is last, so activity at the touch — where almost all of it is — moves little memory.
struct Ladder: Sendable {
    var keys: [Int64] = []
    var levels: [Int32] = []

    var isEmpty: Bool { keys.isEmpty }
    var count: Int { keys.count }

    /// The first index whose key is ≥ `key`. Gallops down from the best end first, where almost
    /// every lookup lands, then finishes with a binary search.
    func lowerBound(_ key: Int64) -> Int {
        var hi = keys.count  // keys[hi...] ≥ key
        var lo = 0           // keys[..<lo] < key
        var step = 1
        while hi > 0 {
            let probe = Swift.max(0, hi - step)
            if keys[probe] < key { lo = probe + 1; break }
            hi = probe
            step &<<= 1
        }
        while lo < hi {
            let mid = (lo + hi) >> 1
            if keys[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// Untriggered stops of one side, sorted so the next to trigger is last: by key ascending (buy
/// stops keyed −stop, sell stops +stop, so the stop nearest the market is last) and, at equal
/// keys, by sequence descending (the earliest is last).
struct StopList: Sendable {
    var keys: [Int64] = []
    var sequences: [UInt64] = []
    var slots: [Int32] = []

    var isEmpty: Bool { keys.isEmpty }

    /// Index where (key, sequence) sits or would be inserted.
    func position(key: Int64, sequence: UInt64) -> Int {
        var l = 0, h = keys.count
        while l < h {
            let mid = (l + h) >> 1
            if keys[mid] < key || (keys[mid] == key && sequences[mid] > sequence) { l = mid + 1 } else { h = mid }
        }
        return l
    }

    mutating func insert(key: Int64, sequence: UInt64, slot: Int32) {
        let i = position(key: key, sequence: sequence)
        keys.insert(key, at: i)
        sequences.insert(sequence, at: i)
        slots.insert(slot, at: i)
    }

    mutating func remove(key: Int64, sequence: UInt64) {
        let i = position(key: key, sequence: sequence)
        guard i < keys.count, keys[i] == key, sequences[i] == sequence else { return }
        keys.remove(at: i)
        sequences.remove(at: i)
        slots.remove(at: i)
    }

    mutating func removeLast() {
        keys.removeLast()
        sequences.removeLast()
        slots.removeLast()
    }
}

/// Good-till-date orders of one book, sorted by (expiry, orderID) descending: the next to expire is last.
struct ExpiryList: Sendable {
    var expiries: [Int64] = []
    var orderIDs: [UInt64] = []
    var slots: [Int32] = []

    var next: Int64? { expiries.last }

    func position(expiry: Int64, orderID: UInt64) -> Int {
        var l = 0, h = expiries.count
        while l < h {
            let mid = (l + h) >> 1
            if expiries[mid] > expiry || (expiries[mid] == expiry && orderIDs[mid] > orderID) { l = mid + 1 } else { h = mid }
        }
        return l
    }

    mutating func insert(expiry: Int64, orderID: UInt64, slot: Int32) {
        let i = position(expiry: expiry, orderID: orderID)
        expiries.insert(expiry, at: i)
        orderIDs.insert(orderID, at: i)
        slots.insert(slot, at: i)
    }

    mutating func remove(expiry: Int64, orderID: UInt64) {
        let i = position(expiry: expiry, orderID: orderID)
        guard i < expiries.count, expiries[i] == expiry, orderIDs[i] == orderID else { return }
        expiries.remove(at: i)
        orderIDs.remove(at: i)
        slots.remove(at: i)
    }

    mutating func removeLast() {
        expiries.removeLast()
        orderIDs.removeLast()
        slots.removeLast()
    }
}
