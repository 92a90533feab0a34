import TandemCore

/// (session, ClOrdID) → order, as an open-addressing table that stores no strings.
///
/// Why not `[ClientKey: …]`: every new order, cancel, replace and finished order touches this
/// index, and `Dictionary` hashes the `String` with seeded SipHash and spreads one lookup over a
/// bitmap, a key array and a value array — three cache misses on a table of ~75 k entries (the
/// live orders plus the remembered finished ones). Here an entry is 12 bytes (hash, book, slot) in
/// one array, probed linearly from the hash's home; the hash is a fixed FNV-1a + fmix64 over the
/// ClOrdID's UTF-8 bytes and the session handle, computed once per command and kept in the order's
/// record, so a finishing maker is found again by (hash, book, slot) without touching its strings.
/// Candidates for a key are confirmed by the caller against the order's identity (live) or the
/// remembered key (finished). The table is only probed, never iterated, so its layout cannot reach
/// the output.
///
/// Forgetting a finished order costs nothing here: its entry records when it finished (lap and
/// position in the registry's ring of remembered keys, see ``FinishClock``), and once `remembered`
/// later orders have finished, the entry is *stale* by arithmetic alone — lookups skip it, inserts
/// reuse its slot, and a rehash (when live, remembered and stale entries together pass ¾ of the
/// table) drops the rest. Deleting each forgotten entry instead cost a random access per finished
/// order. Live orders forgotten at once (when nothing is remembered) are deleted by shifting later
/// entries back.
struct ClientIndex: Sendable {
    struct Entry: Sendable {
        /// 0 marks an empty slot (``ClientIndex/hash(session:clOrdID:)`` never returns 0).
        var hash: UInt32
        /// The book index (live), or ``ClientIndex/finishedFlag`` | the finish lap (finished).
        var book: UInt32
        /// The slab slot (live) or the position in the remembered ring (finished).
        var index: UInt32

        var isFinished: Bool { book & ClientIndex.finishedFlag != 0 }
    }

    static let finishedFlag: UInt32 = 0x8000_0000

    private(set) var entries: [Entry]
    private var mask: Int
    /// Occupied slots, stale ones included.
    private(set) var used = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 4 / 3 + 1 { size <<= 1 }
        entries = Array(repeating: Entry(hash: 0, book: 0, index: 0), count: size)
        mask = size - 1
    }

    /// FNV-1a over the ClOrdID's UTF-8 bytes, then the session handle, mixed by fmix64; never 0.
    @inline(__always)
    static func hash(session: UInt32, clOrdID: ClOrdID) -> UInt32 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        if clOrdID.rawValue.isContiguousUTF8 {
            let utf8 = clOrdID.rawValue.utf8.span
            for i in utf8.indices { h = (h ^ UInt64(utf8[i])) &* 0x0000_0100_0000_01B3 }
        } else {
            for b in clOrdID.rawValue.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        h ^= UInt64(session) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        let folded = UInt32(truncatingIfNeeded: h ^ (h >> 32))
        return folded == 0 ? 1 : folded
    }

    /// Calls `isMatch` for each entry with `hash`, in probe order, until it returns true; returns that entry.
    @inline(__always)
    func first(hash: UInt32, where isMatch: (Entry) -> Bool) -> Entry? {
        var i = Int(hash) & mask
        while true {
            let e = entries[i]
            if e.hash == 0 { return nil }
            if e.hash == hash, isMatch(e) { return e }
            i = (i + 1) & mask
        }
    }

    /// Adds a key the caller knows is absent, in the first empty or stale slot of its probe run.
    mutating func insert(hash: UInt32, book: UInt32, index: UInt32, clock: FinishClock) {
        if (used + 1) * 4 > entries.count * 3 { rehash(clock) }
        var i = Int(hash) & mask
        while true {
            let e = entries[i]
            if e.hash == 0 {
                used += 1
                break
            }
            if clock.isStale(e) { break }
            i = (i + 1) & mask
        }
        entries[i] = Entry(hash: hash, book: book, index: index)
    }

    /// The slot of the entry exactly (hash, book, index), if present.
    @inline(__always)
    private func position(hash: UInt32, book: UInt32, index: UInt32) -> Int? {
        var i = Int(hash) & mask
        while true {
            let e = entries[i]
            if e.hash == 0 { return nil }
            if e.hash == hash, e.book == book, e.index == index { return i }
            i = (i + 1) & mask
        }
    }

    /// Re-points the entry (hash, book, index) at (newBook, newIndex).
    mutating func update(hash: UInt32, book: UInt32, index: UInt32, toBook newBook: UInt32, index newIndex: UInt32) {
        guard let i = position(hash: hash, book: book, index: index) else { return }
        entries[i].book = newBook
        entries[i].index = newIndex
    }

    /// Removes the entry (hash, book, index), shifting later entries of its probe run back.
    mutating func remove(hash: UInt32, book: UInt32, index: UInt32) {
        guard var hole = position(hash: hash, book: book, index: index) else { return }
        used -= 1
        var j = hole
        while true {
            j = (j + 1) & mask
            let e = entries[j]
            if e.hash == 0 { break }
            let home = Int(e.hash) & mask
            // Move e into the hole unless its home lies cyclically in (hole, j].
            let homeInRange = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !homeInRange {
                entries[hole] = e
                hole = j
            }
        }
        entries[hole] = Entry(hash: 0, book: 0, index: 0)
    }

    /// Rebuilds without stale entries, doubling the table when what remains fills more than half.
    private mutating func rehash(_ clock: FinishClock) {
        let old = entries
        var keep = 0
        for e in old where e.hash != 0 && !clock.isStale(e) { keep += 1 }
        let size = keep * 2 > old.count ? old.count * 2 : old.count
        entries = Array(repeating: Entry(hash: 0, book: 0, index: 0), count: size)
        mask = size - 1
        used = keep
        for e in old where e.hash != 0 && !clock.isStale(e) {
            var i = Int(e.hash) & mask
            while entries[i].hash != 0 { i = (i + 1) & mask }
            entries[i] = e
        }
    }
}

/// Counts finished orders for the remembered ring: finish number n sits at ring position
/// n mod `capacity`, in lap n / `capacity` (kept mod 2³¹ in an index entry), and is remembered while
/// fewer than `capacity` orders have finished after it.
struct FinishClock: Sendable {
    let capacity: Int
    /// The next finish's lap and position.
    private(set) var lap: UInt32 = 0
    private(set) var position = 0

    init(capacity: Int) { self.capacity = capacity }

    /// Takes the next finish's (lap, position) and advances.
    mutating func tick() -> (lap: UInt32, position: Int) {
        let now = (lap, position)
        position += 1
        if position == capacity {
            position = 0
            lap = (lap &+ 1) & ~ClientIndex.finishedFlag
        }
        return now
    }

    /// Whether a finished entry has been forgotten (its ring position reused by a later finish).
    @inline(__always)
    func isStale(_ e: ClientIndex.Entry) -> Bool {
        guard e.isFinished else { return false }
        let laps = (lap &- (e.book & ~ClientIndex.finishedFlag)) & ~ClientIndex.finishedFlag
        return laps >= 2 || (laps == 1 && Int(e.index) < position)
    }
}
