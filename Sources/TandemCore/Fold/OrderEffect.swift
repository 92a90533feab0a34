/// What the last successfully applied event did to an order, in plain values: no string, nothing to
/// retain. ``TradingState/apply(_:)`` sets it from the payload it already holds, so an observer on
/// the order path (the node's metrics) reads this instead of the event: copying a ``JournalEvent``'s
/// payload out of it (its ClOrdID, account and reason strings) costs more than the observation.
///
/// Orders are named by their **handle** in the fold: the order's position in the fold's order store,
/// given when its intent (or an accepted replace) is folded, unique and stable for that state's life.
public struct OrderEffect: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, Hashable {
        /// The event was not about an order's life (or nothing was applied yet).
        case none
        /// An intent risk accepted: the order exists, pending new.
        case accepted
        /// An intent risk refused: the order exists, rejected (final).
        case riskRejected
        /// The venue rejected the new order (final).
        case venueRejected
        /// An execution that leaves quantity open.
        case partiallyFilled
        /// An execution that completes the order (final).
        case filled
        /// A replace took effect: the order ended and `replacement` continues it.
        case replaced
        /// Canceled or expired (final).
        case ended
    }

    public var kind: Kind
    /// The order's handle.
    public var order: Int
    /// `.replaced`: the replacement order's handle; otherwise -1.
    public var replacement: Int
    public var side: Side
    public var instrument: InstrumentID
    /// `.partiallyFilled`, `.filled`: the execution's price; otherwise zero.
    public var price: Price

    public init(kind: Kind, order: Int, replacement: Int = -1, side: Side, instrument: InstrumentID, price: Price = Price(units: 0)) {
        self.kind = kind
        self.order = order
        self.replacement = replacement
        self.side = side
        self.instrument = instrument
        self.price = price
    }

    public static let none = OrderEffect(kind: .none, order: -1, side: .buy, instrument: InstrumentID(0))
}
