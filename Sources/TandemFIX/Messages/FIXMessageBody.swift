/// A typed FIX message: read from a parsed frame, written after the standard header.
public protocol FIXMessageBody: Sendable {
    var msgType: MsgType { get }
    /// Reads the fields this type defines; throws naming the first missing or invalid tag.
    init(parsing message: FIXMessage) throws(FIXError)
    /// Writes the body fields (after the header, before CheckSum).
    func encodeBody(into writer: inout FIXWriter)
}

/// Any message, decoded to its type when this engine knows it; others stay raw.
public enum FIXTypedMessage: Sendable {
    case logon(Logon), logout(Logout), heartbeat(Heartbeat), testRequest(TestRequest)
    case resendRequest(ResendRequest), sequenceReset(SequenceReset), reject(Reject)
    case businessMessageReject(BusinessMessageReject)
    case newOrderSingle(NewOrderSingle), orderCancelRequest(OrderCancelRequest)
    case orderCancelReplaceRequest(OrderCancelReplaceRequest), orderCancelReject(OrderCancelReject)
    case executionReport(ExecutionReport), orderStatusRequest(OrderStatusRequest)
    case orderMassStatusRequest(OrderMassStatusRequest)
    case unknown(FIXMessage)

    public init(parsing m: FIXMessage) throws(FIXError) {
        switch m.msgType {
        case .logon: self = .logon(try Logon(parsing: m))
        case .logout: self = .logout(try Logout(parsing: m))
        case .heartbeat: self = .heartbeat(try Heartbeat(parsing: m))
        case .testRequest: self = .testRequest(try TestRequest(parsing: m))
        case .resendRequest: self = .resendRequest(try ResendRequest(parsing: m))
        case .sequenceReset: self = .sequenceReset(try SequenceReset(parsing: m))
        case .reject: self = .reject(try Reject(parsing: m))
        case .businessMessageReject: self = .businessMessageReject(try BusinessMessageReject(parsing: m))
        case .newOrderSingle: self = .newOrderSingle(try NewOrderSingle(parsing: m))
        case .orderCancelRequest: self = .orderCancelRequest(try OrderCancelRequest(parsing: m))
        case .orderCancelReplaceRequest: self = .orderCancelReplaceRequest(try OrderCancelReplaceRequest(parsing: m))
        case .orderCancelReject: self = .orderCancelReject(try OrderCancelReject(parsing: m))
        case .executionReport: self = .executionReport(try ExecutionReport(parsing: m))
        case .orderStatusRequest: self = .orderStatusRequest(try OrderStatusRequest(parsing: m))
        case .orderMassStatusRequest: self = .orderMassStatusRequest(try OrderMassStatusRequest(parsing: m))
        case .other: self = .unknown(m)
        }
    }
}

/// A message of a type this engine does not model, sent with its fields verbatim.
public struct RawMessageBody: FIXMessageBody, Hashable {
    public var msgType: MsgType
    public var fields: [(tag: Int, value: String)] { get { storage.map { ($0.tag, $0.value) } } set { storage = newValue.map(Pair.init) } }
    private var storage: [Pair]
    private struct Pair: Sendable, Hashable { var tag: Int; var value: String }

    public init(msgType: MsgType, fields: [(tag: Int, value: String)]) {
        self.msgType = msgType
        self.storage = fields.map(Pair.init)
    }

    /// Every body field after the standard header, verbatim.
    public init(parsing m: FIXMessage) throws(FIXError) {
        msgType = m.msgType
        storage = m.fields.dropFirst().filter { !FIXEncoder.isHeaderTag($0.tag) }
            .map { Pair(tag: $0.tag, value: m.string($0)) }
    }

    public func encodeBody(into w: inout FIXWriter) {
        for p in storage { w.append(p.tag, p.value) }
    }
}
