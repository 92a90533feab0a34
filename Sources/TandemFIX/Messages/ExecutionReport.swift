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
        // Fields are written into a copy of a placeholder report, not collected into optionals and
        // assembled at the end: building the (large) value in an initialiser makes the compiler copy
        // it, with every text in it, once more.
        var report = Self.placeholder
        try Self.read(m, into: &report)
        self = report
    }

    private static let placeholder = ExecutionReport(
        orderID: FIXText.empty, clOrdID: nil, origClOrdID: nil, execID: FIXText.empty, execType: .new, ordStatus: .new,
        account: nil, symbol: FIXText.empty, side: .buy, orderQty: nil, price: nil, leavesQty: .zero, cumQty: .zero,
        avgPx: .zero, lastQty: nil, lastPx: nil, transactTime: nil, ordRejReason: nil, text: nil)

    /// The fields in wire order (a faulty one throws as it is met), then the required tags in
    /// order, then Side's value.
    private static func read(_ m: FIXMessage, into r: inout ExecutionReport) throws(FIXError) {
        var present: UInt16 = 0
        var sideF = FIXField(tag: 0, value: 0..<0)
        for f in m.fields {
            switch f.tag {
            case 37: r.orderIDText = m.text(f); present |= 1
            case 11: r.clOrdIDText = m.text(f)
            case 41: r.origClOrdIDText = m.text(f)
            case 17: r.execIDText = m.text(f); present |= 2
            case 150: r.execType = try m.execType(f); present |= 4
            case 39: r.ordStatus = try m.ordStatus(f); present |= 8
            case 1: r.accountText = m.text(f)
            case 55: r.symbolText = m.text(f); present |= 16
            case 54: sideF = f; present |= 32
            case 38: r.orderQty = try m.fixedPoint(f)
            case 44: r.price = try m.fixedPoint(f)
            case 151: r.leavesQty = try m.fixedPoint(f); present |= 64
            case 14: r.cumQty = try m.fixedPoint(f); present |= 128
            case 6: r.avgPx = try m.fixedPoint(f); present |= 256
            case 32: r.lastQty = try m.fixedPoint(f)
            case 31: r.lastPx = try m.fixedPoint(f)
            case 60: r.transactTime = try m.timestamp(f)
            case 103: r.ordRejReason = try m.int(f)
            case 58: r.textText = m.text(f)
            default: break
            }
        }
        if present != 511 {
            for (bit, tag) in [(1, 37), (2, 17), (4, 150), (8, 39), (16, 55), (32, 54), (64, 151), (128, 14), (256, 6)]
            where present & UInt16(bit) == 0 {
                throw m.missing(tag)
            }
        }
        r.side = try m.side(sideF)
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
