import TandemCore

/// A session's ClOrdID: how cancels and replaces find an order (FIX OrigClOrdID is unique per session).
struct ClientKey: Sendable, Hashable {
    var session: UInt32
    var clOrdID: ClOrdID
}

/// A string-backed identifier the ``Interner`` can compare by its representation.
protocol StringIdentifier: Hashable, Sendable {
    var rawValue: String { get }
}

extension SessionID: StringIdentifier {}
extension AccountID: StringIdentifier {}
extension SelfTradeGroup: StringIdentifier {}

/// Maps strings that recur on every order (sessions, accounts, STP groups) to small integers once,
/// so records compare and filter by integer.
///
/// A venue has few of each, so the first 16 are found by a linear scan that compares the two words
/// of each `String`'s representation: equal words mean equal strings (the same inline small
/// string, or the same buffer), which is the common case — decoded ids of up to 15 bytes are
/// stored inline. Only when no representation matches does it compare contents (equal text in
/// different buffers), and beyond 16 it uses a dictionary.
struct Interner<Key: StringIdentifier>: Sendable {
    private var ids: [Key: UInt32] = [:]
    private(set) var values: [Key] = []
    /// The two representation words of each of the first 16 values.
    private var words: [(UInt64, UInt64)] = []

    mutating func intern(_ key: Key) -> UInt32 {
        if let id = find(key) { return id }
        let id = UInt32(values.count)
        if values.count < 16 { words.append(Self.words(key)) }
        values.append(key)
        ids[key] = id
        return id
    }

    @inline(__always)
    static func words(_ key: Key) -> (UInt64, UInt64) {
        guard MemoryLayout<String>.size == 16 else { return (0, 0) }  // never compared then
        return withUnsafeBytes(of: key.rawValue) { ($0.load(as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt64.self)) }
    }

    @inline(__always)
    func find(_ key: Key) -> UInt32? {
        if MemoryLayout<String>.size == 16 {
            let w = Self.words(key)
            for i in words.indices where words[i] == w { return UInt32(i) }
        }
        if values.count <= 16 {
            for i in values.indices where values[i] == key { return UInt32(i) }
            return nil
        }
        return ids[key]
    }
}

/// Engine-wide state the books share: the ClOrdID index, id counters, interned owners, blocked
/// sessions. Kept apart from the books so a book can be mutated in place while it updates these.
struct Registry: Sendable {
    /// Live orders and remembered finished ones by (session, ClOrdID); see ``ClientIndex``.
    var index = ClientIndex()
    /// Remembered finished keys, a ring: the oldest is forgotten when a new one needs the room.
    /// An index entry of a finished order names its position here (and its lap, see ``FinishClock``).
    private var finishedKeys: [ClientKey] = []
    private var clock: FinishClock
    let rememberedFinished: Int

    var sessions = Interner<SessionID>()
    var accounts = Interner<AccountID>()
    var groups = Interner<SelfTradeGroup>()
    /// By session handle.
    var blocked: [Bool] = []

    let selfTradePrevention: SelfTradePrevention
    var nextOrderID: UInt64 = 1
    var nextTradeID: UInt64 = 1
    var nextSequence: UInt64 = 1
    /// No good-till-date order expires before this (a lower bound; exact after each expiry sweep).
    var earliestExpiry: Int64 = .max

    init(selfTradePrevention: SelfTradePrevention, rememberedFinished: Int) {
        self.selfTradePrevention = selfTradePrevention
        self.rememberedFinished = rememberedFinished
        clock = FinishClock(capacity: max(1, rememberedFinished))
    }

    @inline(__always) mutating func takeSequence() -> UInt64 {
        defer { nextSequence &+= 1 }
        return nextSequence
    }

    @inline(__always) mutating func takeTradeID() -> TradeID {
        defer { nextTradeID &+= 1 }
        return TradeID(nextTradeID)
    }

    mutating func session(_ id: SessionID) -> UInt32 {
        let h = sessions.intern(id)
        if Int(h) >= blocked.count { blocked.append(false) }
        return h
    }

    func isBlocked(_ session: UInt32) -> Bool { blocked[Int(session)] }

    /// The self-trade key: the group if given (high bit set, so groups and accounts never collide), else the account.
    mutating func selfTradeKey(account: UInt32, group: SelfTradeGroup?) -> UInt32 {
        guard let group else { return account }
        return groups.intern(group) | 0x8000_0000
    }

    /// The order in (`book`, `slot`), indexed under `hash` as `key`, is finished (filled,
    /// canceled, expired, replaced): remember it as such for a while, or forget it at once when
    /// nothing is to be remembered.
    mutating func finish(hash: UInt32, book: Int, slot: Int32, key: ClientKey) {
        guard rememberedFinished > 0 else {
            index.remove(hash: hash, book: UInt32(book), index: UInt32(slot))
            return
        }
        let (lap, position) = clock.tick()
        // Overwriting the oldest remembered key makes its index entry stale (see ClientIndex).
        if position < finishedKeys.count { finishedKeys[position] = key } else { finishedKeys.append(key) }
        index.update(hash: hash, book: UInt32(book), index: UInt32(slot), toBook: ClientIndex.finishedFlag | lap, index: UInt32(position))
    }

    /// The remembered key of a finished index entry, or nil when it has been forgotten.
    func finishedKey(_ e: ClientIndex.Entry) -> ClientKey? {
        clock.isStale(e) ? nil : finishedKeys[Int(e.index)]
    }

    /// Indexes a new live order (its key known absent).
    mutating func insertLive(hash: UInt32, book: Int, slot: Int32) {
        index.insert(hash: hash, book: UInt32(book), index: UInt32(slot), clock: clock)
    }
}
