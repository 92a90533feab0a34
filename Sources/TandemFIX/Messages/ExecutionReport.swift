import TandemCore

/// ExecutionReport(8).
public struct ExecutionReport: FIXMessageBody, Hashable {
    public var msgType: MsgType { .executionReport }
    public var orderID: String
    public var clOrdID: ClOrdID?
    public var origClOrdID: ClOrdID?
    public var execID: String
    public var execType: ExecType
    public var ordStatus: OrderStatus
    public var account: AccountID?
    public var symbol: String
    public var side: Side
    public var orderQty: Quantity?
    public var price: Price?
    public var leavesQty: Quantity
    public var cumQty: Quantity
    public var avgPx: Price
    public var lastQty: Quantity?
    public var lastPx: Price?
    public var transactTime: Timestamp?
    public var ordRejReason: Int?
    public var text: String?

    public init(orderID: String, clOrdID: ClOrdID?, origClOrdID: ClOrdID? = nil, execID: String, execType: ExecType,
                ordStatus: OrderStatus, account: AccountID? = nil, symbol: String, side: Side, orderQty: Quantity? = nil,
                price: Price? = nil, leavesQty: Quantity, cumQty: Quantity, avgPx: Price, lastQty: Quantity? = nil,
                lastPx: Price? = nil, transactTime: Timestamp? = nil, ordRejReason: Int? = nil, text: String? = nil) {
        self.orderID = orderID
        self.clOrdID = consume clOrdID
        self.origClOrdID = consume origClOrdID
        self.execID = execID
        self.execType = execType
        self.ordStatus = ordStatus
        self.account = consume account
        self.symbol = consume symbol
        self.side = side
        self.orderQty = orderQty
        self.price = price
        self.leavesQty = leavesQty
        self.cumQty = cumQty
        self.avgPx = avgPx
        self.lastQty = lastQty
        self.lastPx = lastPx
        self.transactTime = transactTime
        self.ordRejReason = ordRejReason
        self.text = consume text
    }

    /// The core order event this report means, or nil for reports that move no state
    /// (pending-*, order status, restated, and the trade corrections the core does not model yet).
    public var orderEvent: OrderEvent? {
        switch execType {
        case .new: .acknowledged
        case .rejected: .rejected
        case .trade:
            if let lastQty, let lastPx { .fill(quantity: lastQty, price: lastPx) } else { nil }
        case .canceled: .canceled
        case .replaced: .replaceAccepted
        case .expired, .doneForDay: .expired
        case .suspended: .suspended
        default: nil
        }
    }

    public init(parsing m: FIXMessage) throws(FIXError) {
        // Locals, then one memberwise init: assigning `self`'s fields in the loop made the compiler
        // build the value in a temporary and copy it out (retaining and releasing every String).
        var oid: String?, clOrdID: ClOrdID?, origClOrdID: ClOrdID?, eid: String?, et: ExecType?, st: OrderStatus?
        var account: AccountID?, sym: String?, sideF: FIXField?, orderQty: Quantity?, price: Price?
        var leaves: Quantity?, cum: Quantity?, avg: Price?, lastQty: Quantity?, lastPx: Price?
        var transactTime: Timestamp?, ordRejReason: Int?, text: String?
        for f in m.fields {
            switch f.tag {
            case 37: oid = m.string(f)
            case 11: clOrdID = ClOrdID(m.string(f))
            case 41: origClOrdID = ClOrdID(m.string(f))
            case 17: eid = m.string(f)
            case 150: et = try m.execType(f)
            case 39: st = try m.ordStatus(f)
            case 1: account = AccountID(m.string(f))
            case 55: sym = m.string(f)
            case 54: sideF = f
            case 38: orderQty = try m.fixedPoint(f)
            case 44: price = try m.fixedPoint(f)
            case 151: leaves = try m.fixedPoint(f)
            case 14: cum = try m.fixedPoint(f)
            case 6: avg = try m.fixedPoint(f)
            case 32: lastQty = try m.fixedPoint(f)
            case 31: lastPx = try m.fixedPoint(f)
            case 60: transactTime = try m.timestamp(f)
            case 103: ordRejReason = try m.int(f)
            case 58: text = m.string(f)
            default: break
            }
        }
        guard let oid else { throw m.missing(37) }
        guard let eid else { throw m.missing(17) }
        guard let et else { throw m.missing(150) }
        guard let st else { throw m.missing(39) }
        guard let sym else { throw m.missing(55) }
        guard let sideF else { throw m.missing(54) }
        guard let leaves else { throw m.missing(151) }
        guard let cum else { throw m.missing(14) }
        guard let avg else { throw m.missing(6) }
        let side = try m.side(sideF)
        self.orderID = consume oid
        self.clOrdID = consume clOrdID
        self.origClOrdID = consume origClOrdID
        self.execID = consume eid
        self.execType = et
        self.ordStatus = st
        self.account = consume account
        self.symbol = consume sym
        self.side = side
        self.orderQty = orderQty
        self.price = price
        self.leavesQty = leaves
        self.cumQty = cum
        self.avgPx = avg
        self.lastQty = lastQty
        self.lastPx = lastPx
        self.transactTime = transactTime
        self.ordRejReason = ordRejReason
        self.text = consume text
    }

    public func encodeBody(into w: inout FIXWriter) {
        w.append(37, orderID)
        if let clOrdID { w.append(11, clOrdID.rawValue) }
        if let origClOrdID { w.append(41, origClOrdID.rawValue) }
        w.append(17, execID)
        w.append(150, execType)
        w.append(39, ordStatus)
        if let account { w.append(1, account.rawValue) }
        w.append(55, symbol)
        w.append(54, side)
        if let orderQty { w.append(38, orderQty) }
        if let price { w.append(44, price) }
        w.append(151, leavesQty)
        w.append(14, cumQty)
        w.append(6, avgPx)
        if let lastQty { w.append(32, lastQty) }
        if let lastPx { w.append(31, lastPx) }
        if let transactTime { w.append(60, transactTime) }
        if let ordRejReason { w.append(103, ordRejReason) }
        if let text { w.append(58, text) }
    }
}
