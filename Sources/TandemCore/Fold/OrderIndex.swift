/// Interning of ClOrdIDs for the fold: two open-addressing indexes from ``ClOrdID`` to a dense
/// order handle (the order's position in ``TradingState``'s journal-ordered order store). The fold
/// hashes each event's ClOrdID once and then works on the integer handle.
///
/// Why not `[ClOrdID: Int]`: a replay holds hundreds of thousands of orders; `Dictionary` hashes
/// every `String` key with seeded SipHash, keeps 24-byte buckets, and each lookup lands on a random
/// cache line of a table far larger than the cache. Here keys are not stored at all (a candidate is
/// confirmed by comparing the ClOrdID of the order its handle names), the hash is a fixed FNV-1a +
/// fmix64 over the UTF-8 bytes, and the two tables are shaped by how the fold uses them:
///
/// - ``OrderIndex`` holds every ClOrdID ever seen (duplicate detection, queries, events on final
///   orders). Probing reads only a dense array of 16-bit fingerprints (2 bytes a slot, so the
///   unsuccessful probe every new intent makes touches a small, mostly cached region); handles sit
///   in a parallel array read only on a fingerprint match.
/// - ``OpenOrderIndex`` holds only the orders that are not final, so it stays as small as the
///   open-order count (cache-resident) however long the journal is; acks, fills and cancels look up
///   there. Orders leave it when they become final (backward-shift deletion, no tombstones).
///
/// Iteration order is never observed (snapshots sort by ClOrdID), so the hash cannot make the fold's
/// results depend on anything but the events. Hash flooding is not a concern: keys come from the
/// system's own journal.
enum ClOrdIDHash {
    /// FNV-1a over the UTF-8 bytes, finished with MurmurHash3's fmix64; the same on every platform.
    ///
    /// The top 32 bits hash the whole ClOrdID (fingerprints, and the open table's home slot). The
    /// low 32 bits, the home slot in ``OrderIndex``, hash all but the last byte and then add that
    /// byte's low nibble: ClOrdIDs from one counter (`C…120`, `C…121`, …) land within 16 slots of
    /// each other, so the unsuccessful probe each new intent makes usually hits the cache line the
    /// previous intents touched instead of a random line of a multi-megabyte table. IDs without
    /// that shape still get well-spread homes; correctness never depends on the spread.
    @inline(__always) static func of(_ id: ClOrdID) -> UInt64 {
        // `utf8.span` needs contiguous UTF-8 (native and small strings; a lazily bridged NSString
        // on Apple platforms is not), so such a string is first made native.
        guard id.rawValue.isContiguousUTF8 else {
            var native = id.rawValue
            native.makeContiguousUTF8()
            return of(ClOrdID(native))
        }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        let utf8 = id.rawValue.utf8.span
        guard let lastIndex = utf8.indices.last else { return mix(h) }
        for i in 0..<lastIndex { h = (h ^ UInt64(utf8[i])) &* 0x0000_0100_0000_01B3 }
        let last = UInt64(utf8[lastIndex])
        let prefix = mix(h)
        let whole = mix((h ^ last) &* 0x0000_0100_0000_01B3)
        return whole & 0xFFFF_FFFF_0000_0000 | (prefix &+ (last & 0xF)) & 0xFFFF_FFFF
    }

    /// Plain FNV-1a over all UTF-8 bytes of `s` (not mixed), made native first if not contiguous.
    @inline(__always) static func fnv(_ s: String) -> UInt64 {
        guard s.isContiguousUTF8 else {
            var native = s
            native.makeContiguousUTF8()
            return fnv(native)
        }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        let utf8 = s.utf8.span
        for i in utf8.indices { h = (h ^ UInt64(utf8[i])) &* 0x0000_0100_0000_01B3 }
        return h
    }

    @inline(__always) static func mix(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }
}

/// Every ClOrdID ever seen → handle. Insert-only; load factor ≤ 3/4.
struct OrderIndex: Sendable {
    /// 16-bit fingerprints from the hash's top bits; 0 = empty slot.
    private var tags: ContiguousArray<UInt16>
    private var handles: ContiguousArray<UInt32>
    private var mask: Int
    private(set) var count = 0

    init() {
        tags = ContiguousArray(repeating: 0, count: 16)
        handles = ContiguousArray(repeating: 0, count: 16)
        mask = 15
    }

    @inline(__always) private static func tag(_ hash: UInt64) -> UInt16 {
        let t = UInt16(truncatingIfNeeded: hash >> 48)
        return t == 0 ? 1 : t
    }

    /// The handle of `id` (whose hash is `hash`), confirmed against `orders`.
    @inline(__always) func find(_ id: ClOrdID, hash: UInt64, in orders: ContiguousArray<Order>) -> Int? {
        let tag = Self.tag(hash)
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let t = tags[i]
            if t == 0 { return nil }
            if t == tag {
                let handle = Int(handles[i])
                if orders[handle].request.clOrdID == id { return handle }
            }
            i = (i &+ 1) & mask
        }
    }

    /// Whether the next insert must first ``grow(_:)``.
    var isFull: Bool { (count + 1) * 4 > tags.count * 3 }

    /// Doubles the table, rehashing the ClOrdIDs of the orders the handles name.
    mutating func grow(_ orders: ContiguousArray<Order>) { rebuild(size: tags.count * 2, orders) }

    /// Adds a handle for a key known to be absent; call ``grow(_:)`` first when ``isFull``.
    mutating func insert(hash: UInt64, handle: Int) {
        precondition(!isFull, "OrderIndex.insert without grow")
        precondition(handle >= 0 && handle <= Int(UInt32.max), "order handle out of range")  // 4 G orders: memory runs out first
        place(hash, UInt32(truncatingIfNeeded: handle))
        count += 1
    }

    mutating func reserveCapacity(_ n: Int, orders: ContiguousArray<Order>) {
        var size = tags.count
        while n * 4 > size * 3 { size <<= 1 }
        if size > tags.count { rebuild(size: size, orders) }
    }

    private mutating func rebuild(size: Int, _ orders: ContiguousArray<Order>) {
        let oldTags = tags, oldHandles = handles
        tags = ContiguousArray(repeating: 0, count: size)
        handles = ContiguousArray(repeating: 0, count: size)
        mask = size - 1
        for i in oldTags.indices where oldTags[i] != 0 {
            let handle = oldHandles[i]
            place(ClOrdIDHash.of(orders[Int(handle)].request.clOrdID), handle)
        }
    }

    @inline(__always) private mutating func place(_ hash: UInt64, _ handle: UInt32) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while tags[i] != 0 { i = (i &+ 1) & mask }
        tags[i] = Self.tag(hash)
        handles[i] = handle
    }
}

/// The open (non-final) orders' ClOrdIDs → handle. A slot is one `UInt64`: the hash's top 32 bits
/// (which also give the home slot, so growing and deleting never rehash strings) · handle + 1;
/// 0 = empty. Load factor ≤ 1/2.
struct OpenOrderIndex: Sendable {
    private var slots: ContiguousArray<UInt64>
    private var mask: Int
    private(set) var count = 0

    init(minimumCapacity: Int = 0) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }  // load factor ≤ 1/2 keeps misses short
        slots = ContiguousArray(repeating: 0, count: size)
        mask = size - 1
    }

    /// The handle of `id`, confirmed against `orders`.
    @inline(__always) private static func tag(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash >> 32) }

    @inline(__always) func find(_ id: ClOrdID, hash fullHash: UInt64, in orders: ContiguousArray<Order>) -> Int? {
        let hash = Self.tag(fullHash)
        var i = Int(hash) & mask
        while true {
            let slot = slots[i]
            if slot == 0 { return nil }
            if UInt32(truncatingIfNeeded: slot >> 32) == hash {
                let handle = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                if orders[handle].request.clOrdID == id { return handle }
            }
            i = (i &+ 1) & mask
        }
    }

    /// Calls `body` with every handle in the table, in slot order (deterministic for equal
    /// insert/remove histories, otherwise unspecified; callers must not depend on it).
    @inline(__always) func forEachHandle(_ body: (Int) throws -> Void) rethrows {
        for slot in slots where slot != 0 { try body(Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1) }
    }

    /// Adds a handle for a key known to be absent.
    mutating func insert(hash fullHash: UInt64, handle: Int) {
        let hash = Self.tag(fullHash)
        precondition(handle >= 0 && handle < Int(UInt32.max), "order handle out of range")
        if (count + 1) * 2 > slots.count { grow() }
        place(UInt64(hash) << 32 | UInt64(handle + 1))
        count += 1
    }

    /// Removes `handle` (stored under `hash`), if present; backward-shift deletion keeps every
    /// remaining key reachable from its home slot without tombstones.
    mutating func remove(hash fullHash: UInt64, handle: Int) {
        let hash = Self.tag(fullHash)
        let wanted = UInt64(hash) << 32 | UInt64(handle + 1)
        var i = Int(hash) & mask
        while slots[i] != wanted {
            if slots[i] == 0 { return }
            i = (i &+ 1) & mask
        }
        var hole = i
        var j = i
        while true {
            j = (j &+ 1) & mask
            let slot = slots[j]
            if slot == 0 { break }
            let home = Int(truncatingIfNeeded: slot >> 32) & mask
            // Move `slot` into the hole unless its home lies cyclically in (hole, j].
            let distanceToJ = (j &- home) & mask
            let distanceToHole = (j &- hole) & mask
            if distanceToJ >= distanceToHole {
                slots[hole] = slot
                hole = j
            }
        }
        slots[hole] = 0
        count -= 1
    }

    private mutating func grow() { rebuild(size: slots.count * 2) }

    private mutating func rebuild(size: Int) {
        let old = slots
        slots = ContiguousArray(repeating: 0, count: size)
        mask = size - 1
        for slot in old where slot != 0 { place(slot) }
    }

    @inline(__always) private mutating func place(_ slot: UInt64) {
        var i = Int(truncatingIfNeeded: slot >> 32) & mask
        while slots[i] != 0 { i = (i &+ 1) & mask }
        slots[i] = slot
    }
}

/// (account, instrument) → position slot, for the fold's first fill of each order, corrections and
/// ``TradingState/position(account:instrument:)``. Replaces a `[PositionKey: Int]` whose every lookup
/// ran seeded SipHash over the account string: here the hash is the fixed FNV-1a + fmix64 of
/// ``ClOrdIDHash`` over the account's UTF-8 bytes and the instrument id, keys are not stored (a
/// candidate slot is confirmed against the key array the state keeps), and a slot is one `UInt32`
/// (slot + 1; 0 = empty). Insert-only; load factor ≤ 1/2. Iteration order is never observed.
struct PositionIndex: Sendable {
    private var slots: ContiguousArray<UInt32>
    private var mask: Int
    private(set) var count = 0

    init() {
        slots = ContiguousArray(repeating: 0, count: 16)
        mask = 15
    }

    @inline(__always) static func hash(_ key: PositionKey) -> UInt64 {
        ClOrdIDHash.mix(ClOrdIDHash.fnv(key.account.rawValue) ^ UInt64(key.instrument.rawValue) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// The slot of `key`, confirmed against `keys` (the state's keys by slot).
    @inline(__always) func find(_ key: PositionKey, hash: UInt64, in keys: ContiguousArray<PositionKey>) -> Int? {
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            let slot = Int(s) - 1
            if keys[slot] == key { return slot }
            i = (i &+ 1) & mask
        }
    }

    /// Adds a slot for a key known to be absent; `keys` holds every key already added.
    mutating func insert(hash: UInt64, slot: Int, keys: ContiguousArray<PositionKey>) {
        precondition(slot >= 0 && slot < Int(UInt32.max), "position slot out of range")
        if (count + 1) * 2 > slots.count {
            let size = slots.count * 2
            slots = ContiguousArray(repeating: 0, count: size)
            mask = size - 1
            for k in keys.indices where k != slot { place(Self.hash(keys[k]), UInt32(k + 1)) }
        }
        place(hash, UInt32(slot + 1))
        count += 1
    }

    @inline(__always) private mutating func place(_ hash: UInt64, _ value: UInt32) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 { i = (i &+ 1) & mask }
        slots[i] = value
    }
}

/// Which instrument ids are defined: a bitset for ids below 65,536 (8 KB at most); larger ids are
/// answered by the dictionary this set is derived from. Ids are only ever added (never undefined).
struct InstrumentSet: Sendable {
    private var bits: ContiguousArray<UInt64> = []
    private var hasLarge = false

    static let bitsetLimit: UInt32 = 1 << 16

    mutating func insert(_ id: InstrumentID) {
        guard id.rawValue < Self.bitsetLimit else { hasLarge = true; return }
        let word = Int(id.rawValue) >> 6
        if word >= bits.count { bits.append(contentsOf: repeatElement(0, count: word + 1 - bits.count)) }
        bits[word] |= 1 << UInt64(id.rawValue & 63)
    }

    /// Whether `id` is defined; `instruments` is consulted only for ids outside the bitset.
    @inline(__always) func contains(_ id: InstrumentID, _ instruments: [InstrumentID: Instrument]) -> Bool {
        guard id.rawValue < Self.bitsetLimit else { return hasLarge && instruments.index(forKey: id) != nil }
        let word = Int(id.rawValue) >> 6
        return word < bits.count && bits[word] & (1 << UInt64(id.rawValue & 63)) != 0
    }
}
