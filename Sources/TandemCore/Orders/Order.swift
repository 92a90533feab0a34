/// One order version and its FIX OrdStatus state machine, as a sans-I/O value.
///
/// `apply(_:)` takes an ``OrderEvent`` and either moves to the next state or throws an
/// ``OrderError`` and leaves the value untouched. Every (status, event) pair is one or the other;
/// nothing traps. The transition table is documented in docs/core.md and walked by a test.
public struct Order: Sendable, Hashable {
    // Stored-property order packs the value (the one-byte statuses fill the request's tail padding).
    public private(set) var request: OrderRequest
    public private(set) var status: OrderStatus
    /// The status to return to when an outstanding cancel or replace is rejected.
    public private(set) var statusBeforeRequest: OrderStatus?
    /// FIX CumQty: carried across replaces.
    public private(set) var filledQuantity: Quantity
    /// The venue's OrderID (tag 37), once acknowledged.
    public internal(set) var venueOrderID: String?
    // Stored split and boxed so the hot value stays small (it is copied on every fold step);
    // rare fields cost a pointer, and nothing when absent.
    private var filledValueHigh: Int64
    private var filledValueLow: UInt64
    private var pendingReplaceBox: Boxed<ReplaceRequest>?
    private var replacesBox: Boxed<ClOrdID>?

    /// Exact Σ price.units × quantity.units over fills, for ``averagePrice``.
    public private(set) var filledValue: Int128 {
        get { Int128(filledValueHigh) << 64 | Int128(filledValueLow) }
        set {
            filledValueHigh = Int64(truncatingIfNeeded: newValue >> 64)
            filledValueLow = UInt64(truncatingIfNeeded: newValue)
        }
    }

    /// The outstanding replace, kept after acceptance so the successor can be built from it.
    public private(set) var pendingReplace: ReplaceRequest? {
        get { pendingReplaceBox?.value }
        set { pendingReplaceBox = newValue.map(Boxed.init) }
    }

    /// The ClOrdID this order replaced (FIX OrigClOrdID), if any.
    public private(set) var replaces: ClOrdID? {
        get { replacesBox?.value }
        set { replacesBox = newValue.map(Boxed.init) }
    }

    public init(request: OrderRequest) {
        // Field by field rather than delegating: delegation built a temporary and copied it into self.
        self.request = request
        self.status = .pendingNew
        self.statusBeforeRequest = nil
        self.filledQuantity = .zero
        self.venueOrderID = nil
        self.filledValueHigh = 0
        self.filledValueLow = 0
        self.pendingReplaceBox = nil
        self.replacesBox = nil
    }

    init(
        request: OrderRequest, status: OrderStatus, filledQuantity: Quantity, filledValue: Int128,
        statusBeforeRequest: OrderStatus?, pendingReplace: ReplaceRequest?, venueOrderID: String?, replaces: ClOrdID?
    ) {
        self.request = request
        self.status = status
        self.filledQuantity = filledQuantity
        self.filledValueHigh = Int64(truncatingIfNeeded: filledValue >> 64)
        self.filledValueLow = UInt64(truncatingIfNeeded: filledValue)
        self.statusBeforeRequest = statusBeforeRequest
        self.venueOrderID = venueOrderID
        self.pendingReplaceBox = pendingReplace.map(Boxed.init)
        self.replacesBox = replaces.map(Boxed.init)
    }

    /// The order that continues after `pendingReplace` was accepted; nil unless this order is `.replaced`.
    public func successor() -> Order? {
        guard status == .replaced, let r = pendingReplace else { return nil }
        var next = request
        next.clOrdID = r.newClOrdID
        next.quantity = r.quantity
        if let t = r.type { next.type = t }
        return Order(request: next, status: filledQuantity.isZero ? .new : .partiallyFilled,
                     filledQuantity: filledQuantity, filledValue: filledValue, statusBeforeRequest: nil,
                     pendingReplace: nil, venueOrderID: venueOrderID, replaces: request.clOrdID)
    }

    public var clOrdID: ClOrdID { request.clOrdID }

    /// FIX LeavesQty: zero once final.
    public var leavesQuantity: Quantity {
        status.isFinal ? .zero : Quantity(units: request.quantity.units - filledQuantity.units)
    }

    /// FIX AvgPx, rounded half-even to the price scale; nil before any fill.
    public var averagePrice: Price? {
        guard filledQuantity.units > 0 else { return nil }
        return Price(units: Int64(RoundingRule.halfEven.divide(filledValue, by: Int128(filledQuantity.units))))
    }

    public func applying(_ event: OrderEvent) throws(OrderError) -> Order {
        var copy = self
        try copy.apply(event)
        return copy
    }

    public mutating func apply(_ event: OrderEvent) throws(OrderError) {
        if status.isFinal { throw error(.orderIsFinal, event, "a \(status) order accepts no further events") }
        switch event {
        case .acknowledged:
            switch status {
            case .pendingNew: status = .new
            case .pendingCancel where statusBeforeRequest == .pendingNew: statusBeforeRequest = .new
            default: throw invalid(event)
            }
        case .rejected:
            switch status {
            case .pendingNew: status = .rejected
            case .pendingCancel where statusBeforeRequest == .pendingNew:
                status = .rejected
                statusBeforeRequest = nil
            default: throw invalid(event)
            }
        case .fill(let quantity, let price):
            try applyFill(quantity, price, event)
        case .cancelRequested:
            switch status {
            case .pendingNew, .new, .partiallyFilled, .suspended:
                statusBeforeRequest = status
                status = .pendingCancel
            case .pendingCancel, .pendingReplace:
                throw error(.requestPending, event, "a \(status == .pendingCancel ? "cancel" : "replace") is already outstanding")
            default: throw invalid(event)
            }
        case .canceled:
            switch status {
            case .pendingNew, .new, .partiallyFilled, .pendingCancel, .pendingReplace, .suspended:
                status = .canceled
                statusBeforeRequest = nil
                pendingReplace = nil
            default: throw invalid(event)
            }
        case .cancelRejected:
            guard status == .pendingCancel else { throw invalid(event) }
            restore()
        case .replaceRequested(let r):
            switch status {
            case .new, .partiallyFilled:
                guard r.quantity.units > filledQuantity.units else {
                    throw error(.replaceBelowFilled, event, "new quantity \(r.quantity) does not exceed filled \(filledQuantity)")
                }
                statusBeforeRequest = status
                pendingReplace = r
                status = .pendingReplace
            case .pendingCancel, .pendingReplace:
                throw error(.requestPending, event, "a \(status == .pendingCancel ? "cancel" : "replace") is already outstanding")
            default: throw invalid(event)
            }
        case .replaceAccepted:
            guard status == .pendingReplace, let r = pendingReplace else { throw invalid(event) }
            guard r.quantity.units > filledQuantity.units else {
                throw error(.replaceBelowFilled, event, "new quantity \(r.quantity) does not exceed filled \(filledQuantity)")
            }
            status = .replaced
            statusBeforeRequest = nil
        case .replaceRejected:
            guard status == .pendingReplace else { throw invalid(event) }
            pendingReplace = nil
            restore()
        case .expired:
            switch status {
            case .new, .partiallyFilled, .pendingCancel, .pendingReplace, .suspended:
                status = .expired
                statusBeforeRequest = nil
                pendingReplace = nil
            default: throw invalid(event)
            }
        case .suspended:
            switch status {
            case .new, .partiallyFilled: status = .suspended
            default: throw invalid(event)
            }
        case .resumed:
            guard status == .suspended else { throw invalid(event) }
            status = filledQuantity.isZero ? .new : .partiallyFilled
        }
    }

    private mutating func applyFill(_ quantity: Quantity, _ price: Price, _ event: OrderEvent) throws(OrderError) {
        switch status {
        case .pendingNew, .new, .partiallyFilled, .pendingCancel, .pendingReplace: break
        default: throw invalid(event)
        }
        guard quantity.units > 0 else { throw error(.invalidQuantity, event, "fill quantity \(quantity) is not positive") }
        let (cum, o) = filledQuantity.units.addingReportingOverflow(quantity.units)
        guard !o, cum <= request.quantity.units else {
            throw error(.overfill, event, "fill of \(quantity) after \(filledQuantity) exceeds order quantity \(request.quantity)")
        }
        let (value, vo) = filledValue.addingReportingOverflow(Int128(price.units) * Int128(quantity.units))
        guard !vo else { throw error(.invalidQuantity, event, "cumulative fill value overflows") }
        filledQuantity = Quantity(units: cum)
        filledValue = value
        if cum == request.quantity.units {
            status = .filled
            statusBeforeRequest = nil
            pendingReplace = nil
        } else if status == .pendingNew || status == .new {
            status = .partiallyFilled
        }
    }

    private mutating func restore() {
        let prior = statusBeforeRequest ?? .new
        statusBeforeRequest = nil
        if prior == .suspended { status = .suspended } else { status = filledQuantity.isZero ? prior : .partiallyFilled }
    }

    /// What a fill can change, so the fold can apply fills in place and still be all-or-nothing.
    struct FillUndo {
        fileprivate let status: OrderStatus
        fileprivate let filledQuantity: Quantity
        fileprivate let filledValueHigh: Int64
        fileprivate let filledValueLow: UInt64
        fileprivate let statusBeforeRequest: OrderStatus?
        fileprivate let pendingReplaceBox: Boxed<ReplaceRequest>?
    }

    var fillUndo: FillUndo {
        FillUndo(status: status, filledQuantity: filledQuantity, filledValueHigh: filledValueHigh,
                 filledValueLow: filledValueLow, statusBeforeRequest: statusBeforeRequest, pendingReplaceBox: pendingReplaceBox)
    }

    mutating func undo(_ u: FillUndo) {
        status = u.status
        filledQuantity = u.filledQuantity
        filledValueHigh = u.filledValueHigh
        filledValueLow = u.filledValueLow
        statusBeforeRequest = u.statusBeforeRequest
        pendingReplaceBox = u.pendingReplaceBox
    }

    private func invalid(_ event: OrderEvent) -> OrderError {
        error(.invalidTransition, event, "\(event.kind) is not defined in state \(status)")
    }

    private func error(_ code: OrderError.Code, _ event: OrderEvent, _ message: String) -> OrderError {
        OrderError(code: code, clOrdID: request.clOrdID, status: status, event: event.kind, message: message)
    }
}

/// An immutable heap box with value semantics, for rarely-present fields of hot values.
indirect enum Boxed<Value: Sendable & Hashable>: Sendable, Hashable {
    case boxed(Value)
    init(_ value: Value) { self = .boxed(value) }
    var value: Value { switch self { case .boxed(let v): v } }
}
