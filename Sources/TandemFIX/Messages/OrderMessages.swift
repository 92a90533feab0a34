import TandemCore

/// NewOrderSingle(D). Symbol(55) is the venue's name; mapping it to an `InstrumentID` is the caller's.
///
/// ClOrdID, Account and Symbol are kept as ``FIXText`` (short ASCII inline, no `String`) and
/// handed out as the core's ID types and `String` when read, as in ``ExecutionReport``.
public struct NewOrderSingle: FIXMessageBody, Hashable {
    public var msgType: MsgType { .newOrderSingle }
    var clOrdIDText: FIXText
    var accountText: FIXText?
    var symbolText: FIXText
    public var side: Side
    public var transactTime: Timestamp
    public var orderQty: Quantity
    public var orderType: OrderType
    public var timeInForce: TimeInForce

    public var clOrdID: ClOrdID {
        get { ClOrdID(clOrdIDText.string) }
        set { clOrdIDText = FIXText(newValue.rawValue) }
    }
    public var account: AccountID? {
        get { accountText.map { AccountID($0.string) } }
        set { accountText = newValue.map { FIXText($0.rawValue) } }
    }
    public var symbol: String {
        get { symbolText.string }
        set { symbolText = FIXText(newValue) }
    }

    public init(clOrdID: ClOrdID, account: AccountID?, symbol: String, side: Side, transactTime: Timestamp,
                orderQty: Quantity, orderType: OrderType, timeInForce: TimeInForce) {
        clOrdIDText = FIXText(clOrdID.rawValue)
        accountText = account.map { FIXText($0.rawValue) }
        symbolText = FIXText(symbol)
        self.side = side
        self.transactTime = transactTime
        self.orderQty = orderQty
        self.orderType = orderType
        self.timeInForce = timeInForce
    }

    /// The wire form of a core order request.
    public init(_ request: OrderRequest, symbol: String, transactTime: Timestamp) {
        self.init(clOrdID: request.clOrdID, account: request.account, symbol: symbol, side: request.side,
                  transactTime: transactTime, orderQty: request.quantity, orderType: request.type, timeInForce: request.timeInForce)
    }

    /// The core order request; `account` is used when the message carries none.
    public func orderRequest(instrument: InstrumentID, defaultAccount: AccountID) -> OrderRequest {
        OrderRequest(clOrdID: clOrdID, account: account ?? defaultAccount, instrument: instrument, side: side,
                     type: orderType, timeInForce: timeInForce, quantity: orderQty)
    }

    public init(parsing m: FIXMessage) throws(FIXError) {
        // Filled through inout from a placeholder, as ``ExecutionReport`` is: building the value in
        // an initialiser makes the compiler copy it once more.
        var order = Self.placeholder
        try Self.read(m, into: &order)
        self = order
    }

    private static let placeholder = NewOrderSingle(
        clOrdID: ClOrdID(""), account: nil, symbol: "", side: .buy, transactTime: Timestamp(nanosecondsSinceEpoch: 0),
        orderQty: .zero, orderType: .market, timeInForce: .day)

    private static func read(_ m: FIXMessage, into r: inout NewOrderSingle) throws(FIXError) {
        var scan = OrderFieldScan()
        try scan.read(m)
        r.clOrdIDText = try scan.required(scan.clOrdID, 11, m)
        try scan.readOrder(in: m, symbol: &r.symbolText, side: &r.side, transactTime: &r.transactTime,
                           quantity: &r.orderQty, type: &r.orderType, timeInForce: &r.timeInForce)
        r.accountText = scan.account
    }

    public func encodeBody(into w: inout FIXWriter) {
        w.append(11, clOrdIDText)
        if let accountText { w.append(1, accountText) }
        w.appendOrder(symbol: symbolText, side: side, transactTime: transactTime, quantity: orderQty,
                      type: orderType, timeInForce: timeInForce)
    }
}

/// OrderCancelRequest(F).
public struct OrderCancelRequest: FIXMessageBody, Hashable {
    public var msgType: MsgType { .orderCancelRequest }
    public var origClOrdID: ClOrdID
    public var clOrdID: ClOrdID
    public var orderID: String?
    public var account: AccountID?
    public var symbol: String
    public var side: Side
    public var transactTime: Timestamp
    public var orderQty: Quantity?

    public init(origClOrdID: ClOrdID, clOrdID: ClOrdID, orderID: String? = nil, account: AccountID? = nil,
                symbol: String, side: Side, transactTime: Timestamp, orderQty: Quantity? = nil) {
        self.origClOrdID = origClOrdID
        self.clOrdID = clOrdID
        self.orderID = orderID
        self.account = account
        self.symbol = symbol
        self.side = side
        self.transactTime = transactTime
        self.orderQty = orderQty
    }

    public init(parsing m: FIXMessage) throws(FIXError) {
        var orig: String?, id: String?, sym: String?, sideF: FIXField?, tt: Timestamp?
        for f in m.fields {
            switch f.tag {
            case 41: orig = m.string(f)
            case 11: id = m.string(f)
            case 37: orderID = m.string(f)
            case 1: account = AccountID(m.string(f))
            case 55: sym = m.string(f)
            case 54: sideF = f
            case 60: tt = try m.timestamp(f)
            case 38: orderQty = try m.fixedPoint(f)
            default: break
            }
        }
        guard let orig else { throw m.missing(41) }
        guard let id else { throw m.missing(11) }
        guard let sym else { throw m.missing(55) }
        guard let sideF else { throw m.missing(54) }
        guard let tt else { throw m.missing(60) }
        origClOrdID = ClOrdID(orig)
        clOrdID = ClOrdID(id)
        symbol = sym
        side = try m.side(sideF)
        transactTime = tt
    }

    public func encodeBody(into w: inout FIXWriter) {
        w.append(41, origClOrdID.rawValue)
        w.append(11, clOrdID.rawValue)
        if let orderID { w.append(37, orderID) }
        if let account { w.append(1, account.rawValue) }
        w.append(55, symbol)
        w.append(54, side)
        w.append(60, transactTime)
        if let orderQty { w.append(38, orderQty) }
    }
}

/// OrderCancelReplaceRequest(G).
public struct OrderCancelReplaceRequest: FIXMessageBody, Hashable {
    public var msgType: MsgType { .orderCancelReplaceRequest }
    public var origClOrdID: ClOrdID
    public var clOrdID: ClOrdID
    public var orderID: String?
    public var account: AccountID?
    public var symbol: String
    public var side: Side
    public var transactTime: Timestamp
    public var orderQty: Quantity
    public var orderType: OrderType
    public var timeInForce: TimeInForce

    public init(origClOrdID: ClOrdID, clOrdID: ClOrdID, orderID: String? = nil, account: AccountID? = nil, symbol: String,
                side: Side, transactTime: Timestamp, orderQty: Quantity, orderType: OrderType, timeInForce: TimeInForce) {
        self.origClOrdID = origClOrdID
        self.clOrdID = clOrdID
        self.orderID = orderID
        self.account = account
        self.symbol = symbol
        self.side = side
        self.transactTime = transactTime
        self.orderQty = orderQty
        self.orderType = orderType
        self.timeInForce = timeInForce
    }

    /// The wire form of a core replace of `order` (FIX requires the full order on a replace).
    public init(_ replace: ReplaceRequest, of order: OrderRequest, orderID: String?, symbol: String, transactTime: Timestamp) {
        self.init(origClOrdID: order.clOrdID, clOrdID: replace.newClOrdID, orderID: orderID, account: order.account,
                  symbol: symbol, side: order.side, transactTime: transactTime, orderQty: replace.quantity,
                  orderType: replace.type ?? order.type, timeInForce: order.timeInForce)
    }

    public var replaceRequest: ReplaceRequest { ReplaceRequest(newClOrdID: clOrdID, quantity: orderQty, type: orderType) }

    public init(parsing m: FIXMessage) throws(FIXError) {
        let scan = try OrderFieldScan(m)
        origClOrdID = ClOrdID(try scan.required(scan.origClOrdID, 41, m).string)
        clOrdID = ClOrdID(try scan.required(scan.clOrdID, 11, m).string)
        let order = try scan.order(in: m)
        orderID = scan.orderID?.string
        account = scan.account.map { AccountID($0.string) }
        symbol = order.symbol.string
        (side, transactTime, orderQty, orderType, timeInForce) = (order.side, order.transactTime, order.quantity, order.type, order.timeInForce)
    }

    public func encodeBody(into w: inout FIXWriter) {
        w.append(41, origClOrdID.rawValue)
        w.append(11, clOrdID.rawValue)
        if let orderID { w.append(37, orderID) }
        if let account { w.append(1, account.rawValue) }
        w.appendOrder(symbol: FIXText(symbol), side: side, transactTime: transactTime, quantity: orderQty,
                      type: orderType, timeInForce: timeInForce)
    }
}

/// OrderCancelReject(9).
public struct OrderCancelReject: FIXMessageBody, Hashable {
    public var msgType: MsgType { .orderCancelReject }
    public var orderID: String
    public var clOrdID: ClOrdID
    public var origClOrdID: ClOrdID
    public var ordStatus: OrderStatus
    /// CxlRejResponseTo(434): true when answering a cancel/replace (2), false for a cancel (1).
    public var respondingToReplace: Bool
    public var cxlRejReason: Int?
    public var text: String?

    public init(orderID: String, clOrdID: ClOrdID, origClOrdID: ClOrdID, ordStatus: OrderStatus,
                respondingToReplace: Bool, cxlRejReason: Int? = nil, text: String? = nil) {
        self.orderID = orderID
        self.clOrdID = clOrdID
        self.origClOrdID = origClOrdID
        self.ordStatus = ordStatus
        self.respondingToReplace = respondingToReplace
        self.cxlRejReason = cxlRejReason
        self.text = text
    }

    public init(parsing m: FIXMessage) throws(FIXError) {
        var oid: String?, id: String?, orig: String?, st: OrderStatus?, to: FIXField?
        for f in m.fields {
            switch f.tag {
            case 37: oid = m.string(f)
            case 11: id = m.string(f)
            case 41: orig = m.string(f)
            case 39: st = try m.ordStatus(f)
            case 434: to = f
            case 102: cxlRejReason = try m.int(f)
            case 58: text = m.string(f)
            default: break
            }
        }
        guard let oid else { throw m.missing(37) }
        guard let id else { throw m.missing(11) }
        guard let orig else { throw m.missing(41) }
        guard let st else { throw m.missing(39) }
        guard let to else { throw m.missing(434) }
        switch try m.char(to) {
        case UInt8(ascii: "1"): respondingToReplace = false
        case UInt8(ascii: "2"): respondingToReplace = true
        default: throw m.bad(to, "is not CxlRejResponseTo 1 or 2")
        }
        orderID = oid
        clOrdID = ClOrdID(id)
        origClOrdID = ClOrdID(orig)
        ordStatus = st
    }

    public func encodeBody(into w: inout FIXWriter) {
        w.append(37, orderID)
        w.append(11, clOrdID.rawValue)
        w.append(41, origClOrdID.rawValue)
        w.append(39, ordStatus)
        w.append(434, char: respondingToReplace ? UInt8(ascii: "2") : UInt8(ascii: "1"))
        if let cxlRejReason { w.append(102, cxlRejReason) }
        if let text { w.append(58, text) }
    }
}

/// OrderStatusRequest(H).
public struct OrderStatusRequest: FIXMessageBody, Hashable {
    public var msgType: MsgType { .orderStatusRequest }
    public var orderID: String?
    public var clOrdID: ClOrdID
    public var symbol: String
    public var side: Side

    public init(orderID: String? = nil, clOrdID: ClOrdID, symbol: String, side: Side) {
        self.orderID = orderID
        self.clOrdID = clOrdID
        self.symbol = symbol
        self.side = side
    }

    public init(parsing m: FIXMessage) throws(FIXError) {
        var id: String?, sym: String?, sideF: FIXField?
        for f in m.fields {
            switch f.tag {
            case 37: orderID = m.string(f)
            case 11: id = m.string(f)
            case 55: sym = m.string(f)
            case 54: sideF = f
            default: break
            }
        }
        guard let id else { throw m.missing(11) }
        guard let sym else { throw m.missing(55) }
        guard let sideF else { throw m.missing(54) }
        clOrdID = ClOrdID(id)
        symbol = sym
        side = try m.side(sideF)
    }

    public func encodeBody(into w: inout FIXWriter) {
        if let orderID { w.append(37, orderID) }
        w.append(11, clOrdID.rawValue)
        w.append(55, symbol)
        w.append(54, side)
    }
}

/// OrderMassStatusRequest(AF): the reconciliation request a new leader sends after takeover.
public struct OrderMassStatusRequest: FIXMessageBody, Hashable {
    public var msgType: MsgType { .orderMassStatusRequest }
    public var massStatusReqID: String
    /// MassStatusReqType(585): 1 security, 7 all orders, 8 party/account, …
    public var massStatusReqType: Int
    public var account: AccountID?
    public var symbol: String?

    public init(massStatusReqID: String, massStatusReqType: Int = 7, account: AccountID? = nil, symbol: String? = nil) {
        self.massStatusReqID = massStatusReqID
        self.massStatusReqType = massStatusReqType
        self.account = account
        self.symbol = symbol
    }

    public init(parsing m: FIXMessage) throws(FIXError) {
        var id: String?, type: Int?
        for f in m.fields {
            switch f.tag {
            case 584: id = m.string(f)
            case 585: type = try m.int(f)
            case 1: account = AccountID(m.string(f))
            case 55: symbol = m.string(f)
            default: break
            }
        }
        guard let id else { throw m.missing(584) }
        guard let type else { throw m.missing(585) }
        massStatusReqID = id
        massStatusReqType = type
    }

    public func encodeBody(into w: inout FIXWriter) {
        w.append(584, massStatusReqID)
        w.append(585, massStatusReqType)
        if let account { w.append(1, account.rawValue) }
        if let symbol { w.append(55, symbol) }
    }
}

/// The fields NewOrderSingle and OrderCancelReplaceRequest share, collected in one pass over the
/// message; each parser then checks what it requires.
struct OrderFieldScan {
    var clOrdID: FIXText?, origClOrdID: FIXText?, orderID: FIXText?, account: FIXText?, symbol: FIXText?
    var side: FIXField?, transactTime: Timestamp?, quantity: Quantity?, type: FIXField?, timeInForce: FIXField?
    var price: Price?, stopPrice: Price?, expireTime: Timestamp?

    init() {}

    init(_ m: FIXMessage) throws(FIXError) {
        try read(m)
    }

    mutating func read(_ m: FIXMessage) throws(FIXError) {
        for f in m.fields {
            switch f.tag {
            case 11: clOrdID = m.text(f)
            case 41: origClOrdID = m.text(f)
            case 37: orderID = m.text(f)
            case 1: account = m.text(f)
            case 55: symbol = m.text(f)
            case 54: side = f
            case 60: transactTime = try m.timestamp(f)
            case 38: quantity = try m.fixedPoint(f)
            case 40: type = f
            case 44: price = try m.fixedPoint(f)
            case 99: stopPrice = try m.fixedPoint(f)
            case 59: timeInForce = f
            case 126: expireTime = try m.timestamp(f)
            default: break
            }
        }
    }

    func required<T>(_ value: T?, _ tag: Int, _ m: FIXMessage) throws(FIXError) -> T {
        guard let value else { throw m.missing(tag) }
        return value
    }

    /// ``order(in:)`` written into place.
    func readOrder(in m: FIXMessage, symbol: inout FIXText, side: inout Side, transactTime: inout Timestamp,
                   quantity: inout Quantity, type: inout OrderType, timeInForce: inout TimeInForce) throws(FIXError) {
        symbol = try required(self.symbol, 55, m)
        let sideField = try required(self.side, 54, m)
        transactTime = try required(self.transactTime, 60, m)
        quantity = try required(self.quantity, 38, m)
        let typeField = try required(self.type, 40, m)
        side = try m.side(sideField)
        type = try m.orderType(typeField, price: price, stopPx: stopPrice)
        timeInForce = try m.timeInForce(self.timeInForce, expireTime: expireTime)
    }

    /// Symbol, Side, TransactTime, OrderQty, the order type (with its prices) and time in force:
    /// required in both messages, checked in this tag order.
    func order(in m: FIXMessage) throws(FIXError)
        -> (symbol: FIXText, side: Side, transactTime: Timestamp, quantity: Quantity, type: OrderType, timeInForce: TimeInForce)
    {
        let symbol = try required(symbol, 55, m)
        let side = try required(side, 54, m)
        let transactTime = try required(transactTime, 60, m)
        let quantity = try required(quantity, 38, m)
        let type = try required(type, 40, m)
        return (symbol, try m.side(side), transactTime, quantity,
                try m.orderType(type, price: price, stopPx: stopPrice),
                try m.timeInForce(timeInForce, expireTime: expireTime))
    }
}

extension FIXWriter {
    /// Symbol, Side, TransactTime, OrderQty, the order type and time in force: the block that
    /// NewOrderSingle and OrderCancelReplaceRequest share (read back by `OrderFieldScan.order(in:)`).
    mutating func appendOrder(
        symbol: FIXText, side: Side, transactTime: Timestamp, quantity: Quantity, type: OrderType, timeInForce: TimeInForce
    ) {
        append(55, symbol)
        append(54, side)
        append(60, transactTime)
        append(38, quantity)
        append(type)
        append(timeInForce)
    }
}
