import TandemCore

/// The engine's state as plain values: every live order (resting, or an untriggered stop) per book
/// in priority order, the id counters and blocked sessions. What the venue's state file keeps, so a
/// restarted venue continues with the same books (docs/venue.md, "State file").
///
/// Not kept: the remembered finished ClOrdIDs (after a restore, only live orders' ClOrdIDs are
/// refused as duplicates) and the slab layout (a restore builds a compact one).
public struct EngineSnapshot: Sendable, Hashable, Codable {
    public struct Order: Sendable, Hashable, Codable {
        public var orderID: UInt64
        /// Priority sequence (engine-wide arrival order; re-stamped on trigger and loss of priority).
        public var sequence: UInt64
        public var clOrdID: String
        public var session: String
        public var account: String
        public var selfTradeGroup: String?
        /// `buy`, `sell` or `sellShort`.
        public var side: String
        /// `market`, `limit`, `stop`, `stopLimit` (as entered; a triggered stop keeps its kind).
        public var kind: String
        /// `day`, `gtc`, `ioc`, `fok`, `gtd`.
        public var timeInForce: String
        /// Units of 10⁻⁸.
        public var price: Int64
        public var stopPrice: Int64
        public var quantity: Int64
        public var leaves: Int64
        public var cum: Int64
        /// Good-till-date expiry, ns since the epoch.
        public var expiry: Int64?
        /// An untriggered stop (not on the visible book).
        public var pendingStop: Bool
    }

    public struct Book: Sendable, Hashable, Codable {
        public var instrument: UInt32
        /// The sequence of the last ``BookUpdate`` emitted.
        public var sequence: UInt64
        public var lastTradePrice: Int64?
        /// Resting orders, bids then asks, each side best level first and each level in queue
        /// order; then untriggered stops.
        public var orders: [Order]
    }

    public var nextOrderID: UInt64
    public var nextTradeID: UInt64
    public var nextSequence: UInt64
    public var blockedSessions: [String]
    public var books: [Book]
}

/// A snapshot that does not fit the engine's configuration.
public struct EngineRestoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension MatchingEngine {
    /// Every live order, the counters and blocked sessions.
    public func snapshot() -> EngineSnapshot {
        var books: [EngineSnapshot.Book] = []
        for book in self.books {
            var orders: [EngineSnapshot.Order] = []
            func add(_ s: Int32) {
                let r = book.records[Int(s)]
                let id = book.identities[Int(s)]
                let group = r.stpKey & 0x8000_0000 != 0 ? registry.groups.values[Int(r.stpKey & 0x7FFF_FFFF)].rawValue : nil
                orders.append(EngineSnapshot.Order(
                    orderID: r.orderID, sequence: r.sequence, clOrdID: id.clOrdID.rawValue, session: id.session.rawValue,
                    account: id.account.rawValue, selfTradeGroup: group, side: Self.sideName(r.side), kind: Self.kindName(r.kind),
                    timeInForce: Self.tifName(r.tif), price: r.price, stopPrice: r.stopPrice, quantity: r.quantity, leaves: r.leaves,
                    cum: r.cum, expiry: r.tif == .goodTillDate ? r.expiry : nil, pendingStop: r.state == .pendingStop))
            }
            for ladder in [book.bids, book.asks] {
                for lvl in ladder.levels.reversed() {
                    var s = book.levels[Int(lvl)].head
                    while s >= 0 {
                        add(s)
                        s = book.records[Int(s)].next
                    }
                }
            }
            for stops in [book.buyStops, book.sellStops] {
                for s in stops.slots.reversed() { add(s) }
            }
            books.append(EngineSnapshot.Book(instrument: book.instrument.rawValue, sequence: book.sequence,
                                             lastTradePrice: book.lastTradePrice, orders: orders))
        }
        let blocked = registry.sessions.values.indices.filter { registry.blocked[$0] }.map { registry.sessions.values[$0].rawValue }
        return EngineSnapshot(nextOrderID: registry.nextOrderID, nextTradeID: registry.nextTradeID,
                              nextSequence: registry.nextSequence, blockedSessions: blocked, books: books)
    }

    /// An engine for `config` holding `snapshot`'s orders with their OrderIDs, quantities and
    /// priority. `book` receives the restored book's updates (an `added` per resting order, in
    /// priority order), for a feed that starts empty; the books' own update sequences continue
    /// from the snapshot's.
    public init(config: MatchingEngineConfig, restoring snapshot: EngineSnapshot, book: inout [VenueEvent]) throws {
        try self.init(config: config)
        for saved in snapshot.books {
            guard let b = bookIndex(InstrumentID(saved.instrument)) else {
                throw EngineRestoreError(message: "the state has instrument \(saved.instrument), which is not configured")
            }
            for o in saved.orders {
                guard let side = Self.side(o.side), let kind = Self.kind(o.kind), let tif = Self.tif(o.timeInForce),
                      o.leaves > 0, o.cum >= 0, o.leaves + o.cum == o.quantity else {
                    throw EngineRestoreError(message: "instrument \(saved.instrument): order \(o.orderID) is not a valid live order")
                }
                let session = registry.session(SessionID(o.session))
                let clOrdID = ClOrdID(o.clOrdID)
                let hash = ClientIndex.hash(session: session, clOrdID: clOrdID)
                guard lookup(session: session, clOrdID: clOrdID, hash: hash).isAbsent else {
                    throw EngineRestoreError(message: "session \(o.session) has ClOrdID \(o.clOrdID) twice")
                }
                let account = registry.accounts.intern(AccountID(o.account))
                let stpKey = registry.selfTradeKey(account: account, group: o.selfTradeGroup.map(SelfTradeGroup.init))
                let expiry = tif == .goodTillDate ? (o.expiry ?? .max) : .max
                let record = OrderRecord(
                    price: o.price, stopPrice: o.stopPrice, quantity: o.quantity, leaves: o.leaves, cum: o.cum, orderID: o.orderID,
                    sequence: o.sequence, expiry: expiry, prev: -1, next: -1, level: -1, session: session, account: account,
                    stpKey: stpKey, keyHash: hash, side: side, kind: kind, tif: tif, state: .working)
                let slot = books[b].allocate(record, OrderIdentity(clOrdID: clOrdID, session: SessionID(o.session), account: AccountID(o.account)))
                registry.insertLive(hash: hash, book: b, slot: slot)
                if tif == .goodTillDate {
                    books[b].addExpiry(slot)
                    registry.earliestExpiry = min(registry.earliestExpiry, expiry)
                }
                if o.pendingStop { books[b].addStop(slot) } else { books[b].rest(slot, out: &book) }
            }
            books[b].sequence = saved.sequence
            books[b].lastTradePrice = saved.lastTradePrice
        }
        registry.nextOrderID = max(registry.nextOrderID, snapshot.nextOrderID)
        registry.nextTradeID = max(registry.nextTradeID, snapshot.nextTradeID)
        registry.nextSequence = max(registry.nextSequence, snapshot.nextSequence)
        for s in snapshot.blockedSessions {
            let h = registry.session(SessionID(s))
            registry.blocked[Int(h)] = true
        }
    }

    private static func sideName(_ s: Side) -> String {
        switch s {
        case .buy: "buy"
        case .sell: "sell"
        case .sellShort: "sellShort"
        }
    }

    private static func side(_ s: String) -> Side? {
        switch s {
        case "buy": .buy
        case "sell": .sell
        case "sellShort": .sellShort
        default: nil
        }
    }

    private static let kinds: [(OrderKind, String)] = [(.market, "market"), (.limit, "limit"), (.stop, "stop"), (.stopLimit, "stopLimit")]
    private static let tifs: [(TIFCode, String)] = [(.day, "day"), (.goodTillCancel, "gtc"), (.immediateOrCancel, "ioc"),
                                                    (.fillOrKill, "fok"), (.goodTillDate, "gtd")]
    private static func kindName(_ k: OrderKind) -> String { kinds.first { $0.0 == k }!.1 }
    private static func kind(_ s: String) -> OrderKind? { kinds.first { $0.1 == s }?.0 }
    private static func tifName(_ t: TIFCode) -> String { tifs.first { $0.0 == t }!.1 }
    private static func tif(_ s: String) -> TIFCode? { tifs.first { $0.1 == s }?.0 }
}
