import TandemCore
import TandemVenue

/// Instruments, owners and a small driver for the engine tests.
enum V {
    static let t0: Int64 = 1_700_000_000 * Timestamp.nanosecondsPerSecond
    static let xyz = Instrument(id: InstrumentID(1), symbol: "XYZ", venue: "TNDM", tickSize: px("0.01"), lotSize: qty("1"), currency: .usd)
    /// A future: tick 0.25, lot 1, multiplier 50.
    static let fut = Instrument(id: InstrumentID(70_000), symbol: "ESZ5", venue: "TNDM", tickSize: px("0.25"), lotSize: qty("1"),
                                multiplier: (try? Ratio(50)) ?? .one, currency: .usd)
    static let s1 = SessionID("S1")
    static let s2 = SessionID("S2")
    static let a1 = AccountID("A1")
    static let a2 = AccountID("A2")

    static func px(_ s: String) -> Price { (try? Price(s)) ?? .zero }
    static func qty(_ s: String) -> Quantity { (try? Quantity(s)) ?? .zero }
    static func usd(_ s: String) -> Money { (try? Money(s, .usd)) ?? .zero(.usd) }

    static func config(stp: SelfTradePrevention = .none, fees: FeeSchedule = .free, remembered: Int = 65_536) -> MatchingEngineConfig {
        MatchingEngineConfig(
            instruments: [VenueInstrument(xyz, maxOrderQuantity: qty("100000"), fees: fees), VenueInstrument(fut, maxOrderQuantity: qty("1000"), fees: fees)],
            selfTradePrevention: stp, rememberedFinishedOrders: remembered)
    }
}

/// Drives one engine with a clock that advances 1 µs per command, and keeps every event.
struct Driver {
    var engine: MatchingEngine
    var now: Int64 = V.t0
    var log: [VenueEvent] = []

    init(_ config: MatchingEngineConfig = V.config()) {
        // The fixtures' configs are valid; a failure here is a test bug.
        engine = try! MatchingEngine(config: config)
    }

    @discardableResult
    mutating func send(_ command: VenueCommand) -> [VenueEvent] {
        now += 1_000
        let events = engine.handle(command, at: Timestamp(nanosecondsSinceEpoch: now))
        log += events
        return events
    }

    @discardableResult
    mutating func order(
        _ id: String, _ side: Side, _ quantity: String, _ type: OrderType, tif: TimeInForce = .day,
        session: SessionID = V.s1, account: AccountID = V.a1, group: SelfTradeGroup? = nil, instrument: Instrument = V.xyz
    ) -> [VenueEvent] {
        send(.newOrder(NewOrder(clOrdID: ClOrdID(id), session: session, account: account, instrument: instrument.id, side: side,
                                type: type, timeInForce: tif, quantity: V.qty(quantity), selfTradeGroup: group)))
    }

    @discardableResult
    mutating func limit(_ id: String, _ side: Side, _ quantity: String, _ price: String, tif: TimeInForce = .day,
                        session: SessionID = V.s1, account: AccountID = V.a1, group: SelfTradeGroup? = nil) -> [VenueEvent] {
        order(id, side, quantity, .limit(V.px(price)), tif: tif, session: session, account: account, group: group)
    }

    @discardableResult
    mutating func cancel(_ id: String, session: SessionID = V.s1, request: String? = nil) -> [VenueEvent] {
        send(.cancel(CancelOrder(session: session, origClOrdID: ClOrdID(id), clOrdID: ClOrdID(request ?? "x-\(id)"))))
    }

    @discardableResult
    mutating func replace(_ id: String, _ newID: String, _ quantity: String, _ type: OrderType? = nil, session: SessionID = V.s1) -> [VenueEvent] {
        send(.replace(ReplaceOrder(session: session, origClOrdID: ClOrdID(id), clOrdID: ClOrdID(newID), quantity: V.qty(quantity), type: type)))
    }

    func depth(_ instrument: Instrument = V.xyz) -> BookSnapshot { engine.depthSnapshot(instrument.id)! }

    /// Queue of order ids at a price on a side, in priority order.
    func queue(_ side: Side, _ price: String) -> [OrderID] {
        let d = depth()
        let levels = side == .buy ? d.bids : d.asks
        return levels.first { $0.price == V.px(price) }?.orders.map(\.orderID) ?? []
    }
}

extension Array where Element == VenueEvent {
    var fills: [Fill] { compactMap { if case .fill(let f) = $0 { f } else { nil } } }
    var cancels: [OrderCanceled] { compactMap { if case .canceled(let c) = $0 { c } else { nil } } }
    var rejections: [Rejection] { compactMap { if case .rejected(let r) = $0 { r } else { nil } } }
    var accepts: [OrderAccepted] { compactMap { if case .accepted(let a) = $0 { a } else { nil } } }
    var replaces: [OrderReplaced] { compactMap { if case .replaced(let r) = $0 { r } else { nil } } }
    var triggers: [StopTriggered] { compactMap { if case .triggered(let t) = $0 { t } else { nil } } }
    var bookUpdates: [BookUpdate] { compactMap { if case .book(let b) = $0 { b } else { nil } } }
    var rejectReason: RejectReason? { rejections.first?.reason }
    var orderID: OrderID? { accepts.first?.ref.orderID }
}
