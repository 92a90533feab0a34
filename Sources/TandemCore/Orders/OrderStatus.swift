/// FIX OrdStatus (tag 39) vocabulary. Raw values are the FIX character codes, and are also the
/// stable wire form.
public enum OrderStatus: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case pendingNew = 0x41       // 'A'
    case new = 0x30              // '0'
    case partiallyFilled = 0x31  // '1'
    case filled = 0x32           // '2'
    case pendingCancel = 0x36    // '6'
    case canceled = 0x34         // '4'
    case pendingReplace = 0x45   // 'E'
    case replaced = 0x35         // '5'
    case rejected = 0x38         // '8'
    case expired = 0x43          // 'C'
    case suspended = 0x39        // '9'

    /// Final states accept no further events.
    public var isFinal: Bool {
        switch self {
        case .filled, .canceled, .replaced, .rejected, .expired: true
        default: false
        }
    }

    /// The FIX tag 39 character.
    public var fixCode: Character { Character(Unicode.Scalar(rawValue)) }

    public var description: String {
        switch self {
        case .pendingNew: "pending-new"
        case .new: "new"
        case .partiallyFilled: "partially-filled"
        case .filled: "filled"
        case .pendingCancel: "pending-cancel"
        case .canceled: "canceled"
        case .pendingReplace: "pending-replace"
        case .replaced: "replaced"
        case .rejected: "rejected"
        case .expired: "expired"
        case .suspended: "suspended"
        }
    }
}

/// One input to the order state machine.
public enum OrderEvent: Sendable, Hashable {
    /// The venue accepted the new order (ExecType=New).
    case acknowledged
    /// Risk or the venue refused the new order.
    case rejected
    /// An execution of `quantity` at `price`; partial or complete is derived from the totals.
    case fill(quantity: Quantity, price: Price)
    case cancelRequested
    /// The venue canceled the order, on request or unsolicited (IOC remainder, venue action).
    case canceled
    case cancelRejected
    case replaceRequested(ReplaceRequest)
    case replaceAccepted
    case replaceRejected
    case expired
    case suspended
    case resumed

    /// Payload-free names, for tables and messages.
    public enum Kind: UInt8, Sendable, Hashable, CaseIterable {
        case acknowledged, rejected, fill, cancelRequested, canceled, cancelRejected
        case replaceRequested, replaceAccepted, replaceRejected, expired, suspended, resumed
    }

    public var kind: Kind {
        switch self {
        case .acknowledged: .acknowledged
        case .rejected: .rejected
        case .fill: .fill
        case .cancelRequested: .cancelRequested
        case .canceled: .canceled
        case .cancelRejected: .cancelRejected
        case .replaceRequested: .replaceRequested
        case .replaceAccepted: .replaceAccepted
        case .replaceRejected: .replaceRejected
        case .expired: .expired
        case .suspended: .suspended
        case .resumed: .resumed
        }
    }
}

/// An event that does not fit an order's state.
public struct OrderError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: UInt8, Sendable, Hashable {
        /// The order is filled, canceled, replaced, rejected or expired.
        case orderIsFinal
        /// The event is not defined for the current state.
        case invalidTransition
        /// A cancel or replace is already outstanding; one request at a time.
        case requestPending
        /// The fill would take cumulative quantity above the order quantity.
        case overfill
        /// A fill or replace quantity, or a fill price computation, is not positive/representable.
        case invalidQuantity
        /// A replace would set the order quantity at or below what is already filled.
        case replaceBelowFilled
    }

    public var code: Code
    public var clOrdID: ClOrdID
    public var status: OrderStatus
    public var event: OrderEvent.Kind
    public var message: String

    public var description: String { "OrderError.\(code) for \(clOrdID) in \(status) on \(event): \(message)" }
}
