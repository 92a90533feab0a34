/// Logon(A).
public struct Logon: FIXMessageBody, Hashable {
    public var msgType: MsgType { .logon }
    /// EncryptMethod(98); 0 = none, the only value this engine speaks.
    public var encryptMethod: Int
    /// HeartBtInt(108), seconds.
    public var heartBtInt: Int
    public var resetSeqNumFlag: Bool
    public var username: String?
    public var password: String?
    /// Text(58): not in FIX 4.4's Logon, but common practice (and FIX 5's) for a note to the
    /// counterparty, such as a venue saying its state was reset. Receivers ignore it.
    public var text: String?

    public init(encryptMethod: Int = 0, heartBtInt: Int, resetSeqNumFlag: Bool = false, username: String? = nil, password: String? = nil,
                text: String? = nil) {
        self.encryptMethod = encryptMethod
        self.heartBtInt = heartBtInt
        self.resetSeqNumFlag = resetSeqNumFlag
        self.username = username
        self.password = password
        self.text = text
    }

    public init(parsing m: FIXMessage) throws(FIXError) {
        var enc: Int?, hb: Int?
        resetSeqNumFlag = false
        for f in m.fields {
            switch f.tag {
            case 98: enc = try m.int(f)
            case 108: hb = try m.int(f)
            case 141: resetSeqNumFlag = try m.bool(f)
            case 553: username = m.string(f)
            case 554: password = m.string(f)
            case 58: text = m.string(f)
            default: break
            }
        }
        guard let enc else { throw m.missing(98) }
        guard let hb else { throw m.missing(108) }
        encryptMethod = enc
        heartBtInt = hb
    }

    public func encodeBody(into w: inout FIXWriter) {
        w.append(98, encryptMethod)
        w.append(108, heartBtInt)
        if resetSeqNumFlag { w.append(141, true) }
        if let username { w.append(553, username) }
        if let password { w.append(554, password) }
        if let text { w.append(58, text) }
    }
}

/// Logout(5).
public struct Logout: FIXMessageBody, Hashable {
    public var msgType: MsgType { .logout }
    public var text: String?
    public init(text: String? = nil) { self.text = text }
    public init(parsing m: FIXMessage) throws(FIXError) { text = m.string(58) }
    public func encodeBody(into w: inout FIXWriter) { if let text { w.append(58, text) } }
}

/// Heartbeat(0); carries TestReqID(112) when it answers a TestRequest.
public struct Heartbeat: FIXMessageBody, Hashable {
    public var msgType: MsgType { .heartbeat }
    public var testReqID: String?
    public init(testReqID: String? = nil) { self.testReqID = testReqID }
    public init(parsing m: FIXMessage) throws(FIXError) { testReqID = m.string(112) }
    public func encodeBody(into w: inout FIXWriter) { if let testReqID { w.append(112, testReqID) } }
}

/// TestRequest(1).
public struct TestRequest: FIXMessageBody, Hashable {
    public var msgType: MsgType { .testRequest }
    public var testReqID: String
    public init(testReqID: String) { self.testReqID = testReqID }
    public init(parsing m: FIXMessage) throws(FIXError) {
        guard let id = m.string(112) else { throw m.missing(112) }
        testReqID = id
    }
    public func encodeBody(into w: inout FIXWriter) { w.append(112, testReqID) }
}

/// ResendRequest(2). EndSeqNo(16) 0 means "through the latest".
public struct ResendRequest: FIXMessageBody, Hashable {
    public var msgType: MsgType { .resendRequest }
    public var beginSeqNo: Int
    public var endSeqNo: Int
    public init(beginSeqNo: Int, endSeqNo: Int) {
        self.beginSeqNo = beginSeqNo
        self.endSeqNo = endSeqNo
    }
    public init(parsing m: FIXMessage) throws(FIXError) {
        guard let b = try m.int(7) else { throw m.missing(7) }
        guard let e = try m.int(16) else { throw m.missing(16) }
        beginSeqNo = b
        endSeqNo = e
    }
    public func encodeBody(into w: inout FIXWriter) {
        w.append(7, beginSeqNo)
        w.append(16, endSeqNo)
    }
}

/// SequenceReset(4): GapFill (GapFillFlag=Y, in sequence) or Reset (sequence ignored).
public struct SequenceReset: FIXMessageBody, Hashable {
    public var msgType: MsgType { .sequenceReset }
    public var gapFillFlag: Bool
    public var newSeqNo: Int
    public init(gapFillFlag: Bool, newSeqNo: Int) {
        self.gapFillFlag = gapFillFlag
        self.newSeqNo = newSeqNo
    }
    public init(parsing m: FIXMessage) throws(FIXError) {
        guard let n = try m.int(36) else { throw m.missing(36) }
        newSeqNo = n
        gapFillFlag = try m.bool(123) ?? false
    }
    public func encodeBody(into w: inout FIXWriter) {
        if gapFillFlag { w.append(123, true) }
        w.append(36, newSeqNo)
    }
}

/// Reject(3): a session-level rejection of one inbound message.
public struct Reject: FIXMessageBody, Hashable {
    public var msgType: MsgType { .reject }
    public var refSeqNum: Int
    public var refTagID: Int?
    public var refMsgType: String?
    public var sessionRejectReason: Int?
    public var text: String?

    public init(refSeqNum: Int, refTagID: Int? = nil, refMsgType: String? = nil, sessionRejectReason: Int? = nil, text: String? = nil) {
        self.refSeqNum = refSeqNum
        self.refTagID = refTagID
        self.refMsgType = refMsgType
        self.sessionRejectReason = sessionRejectReason
        self.text = text
    }

    public init(parsing m: FIXMessage) throws(FIXError) {
        var ref: Int?
        for f in m.fields {
            switch f.tag {
            case 45: ref = try m.int(f)
            case 371: refTagID = try m.int(f)
            case 372: refMsgType = m.string(f)
            case 373: sessionRejectReason = try m.int(f)
            case 58: text = m.string(f)
            default: break
            }
        }
        guard let ref else { throw m.missing(45) }
        refSeqNum = ref
    }

    public func encodeBody(into w: inout FIXWriter) {
        w.append(45, refSeqNum)
        if let refTagID { w.append(371, refTagID) }
        if let refMsgType { w.append(372, refMsgType) }
        if let sessionRejectReason { w.append(373, sessionRejectReason) }
        if let text { w.append(58, text) }
    }
}

/// BusinessMessageReject(j): an application message understood at session level but refused.
public struct BusinessMessageReject: FIXMessageBody, Hashable {
    public var msgType: MsgType { .businessMessageReject }
    public var refSeqNum: Int?
    public var refMsgType: String
    public var businessRejectRefID: String?
    /// BusinessRejectReason(380): 0 other, 1 unknown ID, 2 unknown security, 3 unsupported message type, …
    public var businessRejectReason: Int
    public var text: String?

    public init(refSeqNum: Int? = nil, refMsgType: String, businessRejectRefID: String? = nil, businessRejectReason: Int, text: String? = nil) {
        self.refSeqNum = refSeqNum
        self.refMsgType = refMsgType
        self.businessRejectRefID = businessRejectRefID
        self.businessRejectReason = businessRejectReason
        self.text = text
    }

    public init(parsing m: FIXMessage) throws(FIXError) {
        var type: String?, reason: Int?
        for f in m.fields {
            switch f.tag {
            case 45: refSeqNum = try m.int(f)
            case 372: type = m.string(f)
            case 379: businessRejectRefID = m.string(f)
            case 380: reason = try m.int(f)
            case 58: text = m.string(f)
            default: break
            }
        }
        guard let type else { throw m.missing(372) }
        guard let reason else { throw m.missing(380) }
        refMsgType = type
        businessRejectReason = reason
    }

    public func encodeBody(into w: inout FIXWriter) {
        if let refSeqNum { w.append(45, refSeqNum) }
        w.append(372, refMsgType)
        if let businessRejectRefID { w.append(379, businessRejectRefID) }
        w.append(380, businessRejectReason)
        if let text { w.append(58, text) }
    }
}
