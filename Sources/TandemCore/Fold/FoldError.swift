/// A journal event that does not fit the current ``TradingState``. The state is left unchanged.
public struct FoldError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: UInt8, Sendable, Hashable {
        /// The event names a ClOrdID the state has never seen.
        case unknownOrder
        /// An intent or replace reuses a ClOrdID already in the state.
        case duplicateOrder
        /// The event names an instrument that was never defined.
        case unknownInstrument
        /// An instrument id was redefined with different reference data, or defined with a non-positive tick or lot.
        case invalidInstrument
        /// An order intent is malformed (non-positive quantity).
        case invalidOrder
        /// The order state machine refused the event; see ``FoldError/orderError``.
        case orderTransition
        /// A `fill` did not complete the order, or a `partialFill` did.
        case fillKindMismatch
        /// Position arithmetic overflowed or mixed currencies; see ``FoldError/arithmeticError``.
        case arithmetic
        /// A leader election did not raise the epoch.
        case staleLeaderEpoch
        /// An outbound FIX message is not the session's next sequence number.
        case sequenceGap
    }

    public var code: Code
    public var eventKind: JournalEventKind
    public var message: String
    public var clOrdID: ClOrdID?
    public var orderError: OrderError?
    public var arithmeticError: ArithmeticError?

    init(_ code: Code, _ kind: JournalEventKind, _ message: String, clOrdID: ClOrdID? = nil,
         orderError: OrderError? = nil, arithmeticError: ArithmeticError? = nil) {
        self.code = code
        self.eventKind = kind
        self.message = message
        self.clOrdID = clOrdID
        self.orderError = orderError
        self.arithmeticError = arithmeticError
    }

    public var description: String { "FoldError.\(code) on \(eventKind.name): \(message)" }
}
