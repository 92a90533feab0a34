import TandemCore

/// ExecutionReport(8).
///
/// The text fields (OrderID, ClOrdID, OrigClOrdID, ExecID, Account, Symbol, Text) are kept as
/// ``FIXText`` — short ASCII values inline, no `String` — and handed out as `String`s (or the
/// core's ID types) when read: parsing a report builds no `String`, reading one of those
/// properties builds it then (about 20 ns, each read).
public struct ExecutionReport: FIXMessageBody, Hashable {
    public var msgType: MsgType { .executionReport }
    var orderIDText: FIXText
    var clOrdIDText: FIXText?
    var origClOrdIDText: FIXText?
    var execIDText: FIXText
    public var execType: ExecType
    public var ordStatus: OrderStatus
    var accountText: FIXText?
    var symbolText: FIXText
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
    var textText: FIXText?

    public var orderID: String {
        get { orderIDText.string }
        set { orderIDText = FIXText(newValue) }
    }
    public var clOrdID: ClOrdID? {
        get { clOrdIDText.map { ClOrdID($0.string) } }
        set { clOrdIDText = newValue.map { FIXText($0.rawValue) } }
    }
    public var origClOrdID: ClOrdID? {
        get { origClOrdIDText.map { ClOrdID($0.string) } }
        set { origClOrdIDText = newValue.map { FIXText($0.rawValue) } }
    }
    public var execID: String {
        get { execIDText.string }
        set { execIDText = FIXText(newValue) }
    }
    public var account: AccountID? {
        get { accountText.map { AccountID($0.string) } }
        set { accountText = newValue.map { FIXText($0.rawValue) } }
    }
    public var symbol: String {
        get { symbolText.string }
        set { symbolText = FIXText(newValue) }
    }
    public var text: String? {
        get { textText?.string }
        set { textText = newValue.map(FIXText.init) }
    }

    public init(orderID: String, clOrdID: ClOrdID?, origClOrdID: ClOrdID? = nil, execID: String, execType: ExecType,
                ordStatus: OrderStatus, account: AccountID? = nil, symbol: String, side: Side, orderQty: Quantity? = nil,
                price: Price? = nil, leavesQty: Quantity, cumQty: Quantity, avgPx: Price, lastQty: Quantity? = nil,
                lastPx: Price? = nil, transactTime: Timestamp? = nil, ordRejReason: Int? = nil, text: String? = nil) {
        self.init(orderID: FIXText(orderID), clOrdID: clOrdID.map { FIXText($0.rawValue) },
                  origClOrdID: origClOrdID.map { FIXText($0.rawValue) }, execID: FIXText(execID), execType: execType,
                  ordStatus: ordStatus, account: account.map { FIXText($0.rawValue) }, symbol: FIXText(symbol), side: side,
                  orderQty: orderQty, price: price, leavesQty: leavesQty, cumQty: cumQty, avgPx: avgPx, lastQty: lastQty,
                  lastPx: lastPx, transactTime: transactTime, ordRejReason: ordRejReason, text: text.map(FIXText.init))
    }

    init(orderID: FIXText, clOrdID: FIXText?, origClOrdID: FIXText?, execID: FIXText, execType: ExecType,
         ordStatus: OrderStatus, account: FIXText?, symbol: FIXText, side: Side, orderQty: Quantity?,
         price: Price?, leavesQty: Quantity, cumQty: Quantity, avgPx: Price, lastQty: Quantity?,
         lastPx: Price?, transactTime: Timestamp?, ordRejReason: Int?, text: FIXText?) {
        orderIDText = orderID
        clOrdIDText = clOrdID
        origClOrdIDText = origClOrdID
        execIDText = execID
        self.execType = execType
        self.ordStatus = ordStatus
        accountText = account
        symbolText = symbol
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
        textText = text
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
        var oid: FIXText?, clOrdID: FIXText?, origClOrdID: FIXText?, eid: FIXText?, et: ExecType?, st: OrderStatus?
        var account: FIXText?, sym: FIXText?, sideF: FIXField?, orderQty: Quantity?, price: Price?
        var leaves: Quantity?, cum: Quantity?, avg: Price?, lastQty: Quantity?, lastPx: Price?
        var transactTime: Timestamp?, ordRejReason: Int?, text: FIXText?
        for f in m.fields {
            switch f.tag {
            case 37: oid = m.text(f)
            case 11: clOrdID = m.text(f)
            case 41: origClOrdID = m.text(f)
            case 17: eid = m.text(f)
            case 150: et = try m.execType(f)
            case 39: st = try m.ordStatus(f)
            case 1: account = m.text(f)
            case 55: sym = m.text(f)
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
            case 58: text = m.text(f)
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
        self.init(orderID: oid, clOrdID: clOrdID, origClOrdID: origClOrdID, execID: eid, execType: et, ordStatus: st,
                  account: account, symbol: sym, side: try m.side(sideF), orderQty: orderQty, price: price,
                  leavesQty: leaves, cumQty: cum, avgPx: avg, lastQty: lastQty, lastPx: lastPx,
                  transactTime: transactTime, ordRejReason: ordRejReason, text: text)
    }

    public func encodeBody(into w: inout FIXWriter) {
        w.append(37, orderIDText)
        if let clOrdIDText { w.append(11, clOrdIDText) }
        if let origClOrdIDText { w.append(41, origClOrdIDText) }
        w.append(17, execIDText)
        w.append(150, execType)
        w.append(39, ordStatus)
        if let accountText { w.append(1, accountText) }
        w.append(55, symbolText)
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
        if let textText { w.append(58, textText) }
    }
}
