import TandemCore
import TandemFIX
import TandemMarketData

/// A FIX session the venue accepts, and what it may do.
public struct VenueSession: Sendable, Hashable, Codable {
    public enum Role: String, Sendable, Hashable, Codable {
        /// Sends orders; gets execution reports for its own orders.
        case orderEntry = "order-entry"
        /// Sends nothing; gets a copy of every execution report of every order-entry session.
        case dropCopy = "drop-copy"
        /// The kill switch: blocks/unblocks an order-entry session and cancels its orders.
        case risk
    }

    /// The initiator's CompID (its SenderCompID).
    public var compID: String
    public var role: Role
    /// Account for orders that carry none.
    public var account: String?
    /// Cancel the session's resting orders when it disconnects.
    public var cancelOnDisconnect: Bool?

    public init(compID: String, role: Role, account: String? = nil, cancelOnDisconnect: Bool? = nil) {
        self.compID = compID
        self.role = role
        self.account = account
        self.cancelOnDisconnect = cancelOnDisconnect
    }
}

/// The control message on the risk session: a user-defined FIX message (MsgType `UKS`), since
/// FIX 4.4 has no standard kill switch. Tags: 20001 target session CompID, 20002 action, 20003
/// request id, 20006 feed lines (`A`, `B` or `AB`), 20007 a count or percentage. Answered with `UKR`
/// echoing 20001-20003 plus 20004 result (`OK` or the reason) and 20005 orders canceled.
///
/// Actions: the kill switch (`BLOCK`, `UNBLOCK`, `CANCEL_ALL` a session) and run-time faults for
/// drills (`DISCONNECT` a session, `REJECT_PERCENT` of a session's new orders, `FEED_DROP` the
/// next 20007 packets on the lines in 20006, `FEED_PAUSE`, `FEED_RESUME`, `FIX_DROP` /
/// `FIX_DUPLICATE` the session's next 20007 outbound application messages, `FIX_DELAY` its
/// outbound messages by 20007 ms, 0 to stop).
public enum KillSwitch {
    public static let request = MsgType(wireValue: "UKS")
    public static let response = MsgType(wireValue: "UKR")
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case block = "BLOCK", unblock = "UNBLOCK", cancelAll = "CANCEL_ALL"
        case disconnect = "DISCONNECT", rejectPercent = "REJECT_PERCENT"
        case feedDrop = "FEED_DROP", feedPause = "FEED_PAUSE", feedResume = "FEED_RESUME"
        case fixDrop = "FIX_DROP", fixDuplicate = "FIX_DUPLICATE", fixDelay = "FIX_DELAY"
    }

    /// `lines`: "A", "B" or "AB" for FEED_DROP.
    public static func message(target: String, action: Action, requestID: String, lines: String? = nil, count: Int? = nil) -> RawMessageBody {
        // FIX forbids empty values: an empty target (the feed actions need none) is left out.
        var fields: [(tag: Int, value: String)] = target.isEmpty ? [] : [(20001, target)]
        fields += [(20002, action.rawValue), (20003, requestID)]
        if let lines { fields.append((20006, lines)) }
        if let count { fields.append((20007, "\(count)")) }
        return RawMessageBody(msgType: request, fields: fields)
    }
}

/// What the shell must do beyond sending messages (faults and disconnects from the risk session).
public enum VenueControl: Sendable, Hashable {
    case disconnect(compID: String)
    case feedDrop(FeedLine, count: Int)
    case feedPaused(Bool)
    case fixOneShot(compID: String, FIXOneShotFault, count: Int)
    case fixDelay(compID: String, milliseconds: Int)
}

/// What the venue must send after an input: FIX messages by the initiator's CompID, feed messages.
public struct VenueOutput: Sendable {
    public var fix: [(to: String, body: any FIXMessageBody)] = []
    public var feed: [FeedMessage] = []
    public var control: [VenueControl] = []
    public init() {}
}

/// The venue simulator's logic, sans-I/O: FIX in (by session), the matching engine, FIX and feed
/// out. The process shell (`tandem venue`) owns the sockets, the clock and the state file.
public struct VenueCore: Sendable {
    public private(set) var engine: MatchingEngine
    public let sessions: [String: VenueSession]
    /// Drop-copy CompIDs in a fixed order, computed once (every execution report goes to each).
    private let dropCopies: [String]
    private let symbols: [String: InstrumentID]
    private let names: [InstrumentID: String]
    private var execSeq: UInt64 = 0
    /// Fault injection: the percentage of a session's new orders rejected, and the running credit
    /// that spreads them exactly (every order adds p; at 100 one is rejected).
    private var rejectPercent: [String: Int] = [:]
    private var rejectCredit: [String: Int] = [:]
    /// The order being entered, so a rejection can echo its Symbol, Side and OrderQty (FIX requires them).
    private var incoming: NewOrderSingle?
    /// Σ price × quantity of each order's fills (1e-16 units), for AvgPx.
    private var notional: [OrderID: Int128] = [:]
    /// The MsgSeqNum of the last application message applied, by session: after a restart from a
    /// state file, a resent message (PossDupFlag=Y) at or below it was applied already and is skipped.
    private var appliedThrough: [String: Int] = [:]

    /// What the state file keeps of the core beyond the engine (docs/venue.md).
    public struct Saved: Sendable, Codable, Hashable {
        public var execSeq: UInt64
        /// AvgPx numerators of live orders with fills: OrderID → Σ price × quantity (1e-16 units), as decimal text.
        public var notional: [String: String]
        public var appliedThrough: [String: Int]
    }

    public var saved: Saved {
        Saved(execSeq: execSeq, notional: Dictionary(uniqueKeysWithValues: notional.map { ("\($0.key.rawValue)", "\($0.value)") }),
              appliedThrough: appliedThrough)
    }

    /// Continues from a state file's core and engine.
    public init(engine: MatchingEngine, instruments: [(id: InstrumentID, symbol: String)], sessions: [VenueSession], saved: Saved) {
        self.init(engine: engine, instruments: instruments, sessions: sessions)
        execSeq = saved.execSeq
        appliedThrough = saved.appliedThrough
        for (k, v) in saved.notional {
            if let id = UInt64(k), let n = Int128(v) { notional[OrderID(id)] = n }
        }
    }

    /// Rejects `percent` of the session's new orders (0 stops), as `REJECT_PERCENT` does.
    public mutating func setRejectPercent(_ percent: Int, for compID: String) {
        rejectPercent[compID] = percent == 0 ? nil : percent
        rejectCredit[compID] = 0
    }

    /// The session logged on with ResetSeqNumFlag: its sequence numbers start again at 1.
    public mutating func sessionReset(_ compID: String) { appliedThrough[compID] = nil }

    public init(engine: MatchingEngine, instruments: [(id: InstrumentID, symbol: String)], sessions: [VenueSession]) {
        self.engine = engine
        self.symbols = Dictionary(instruments.map { ($0.symbol, $0.id) }, uniquingKeysWith: { a, _ in a })
        self.names = Dictionary(instruments.map { ($0.id, $0.symbol) }, uniquingKeysWith: { a, _ in a })
        self.sessions = Dictionary(sessions.map { ($0.compID, $0) }, uniquingKeysWith: { a, _ in a })
        self.dropCopies = self.sessions.values.filter { $0.role == .dropCopy }.map(\.compID).sorted()
    }

    public func symbol(_ id: InstrumentID) -> String { names[id] ?? "#\(id.rawValue)" }

    /// A command from inside the venue (the synthetic market's agents, the end of day).
    public mutating func handle(_ command: VenueCommand, at time: Timestamp) -> VenueOutput {
        var out = VenueOutput()
        route(engine.handle(command, at: time), at: time, &out)
        return out
    }

    /// An application message from the session `compID`.
    public mutating func received(_ inbound: FIXInbound, from compID: String, at time: Timestamp) -> VenueOutput {
        var out = VenueOutput()
        guard let session = sessions[compID] else { return out }
        if let seq = inbound.message.msgSeqNum {
            if inbound.message.possDupFlag, let applied = appliedThrough[compID], seq <= applied { return out }
            appliedThrough[compID] = seq
        }
        let sid = SessionID(compID)
        switch (session.role, inbound.typed) {
        case (.orderEntry, .newOrderSingle(let nos)):
            guard let instrument = symbols[nos.symbol] else {
                out.fix.append((compID, reject(nos, reason: 1, text: "unknown symbol \(nos.symbol)")))
                return out
            }
            let account = nos.account ?? AccountID(session.account ?? compID)
            let order = NewOrder(clOrdID: nos.clOrdID, session: sid, account: account, instrument: instrument, side: nos.side,
                                 type: nos.orderType, timeInForce: nos.timeInForce, quantity: nos.orderQty)
            if let p = rejectPercent[compID] {
                rejectCredit[compID, default: 0] += p
                if rejectCredit[compID]! >= 100 {
                    rejectCredit[compID]! -= 100
                    let report = reject(nos, reason: 99, text: "rejected by fault injection (REJECT_PERCENT \(p))")
                    out.fix.append((compID, report))
                    copyToDropCopies(report, &out)
                    return out
                }
            }
            incoming = nos
            route(engine.handle(.newOrder(order), at: time), at: time, &out)
            incoming = nil
        case (.orderEntry, .orderCancelRequest(let c)):
            route(engine.handle(.cancel(CancelOrder(session: sid, origClOrdID: c.origClOrdID, clOrdID: c.clOrdID)), at: time), at: time, &out)
        case (.orderEntry, .orderCancelReplaceRequest(let r)):
            let replace = ReplaceOrder(session: sid, origClOrdID: r.origClOrdID, clOrdID: r.clOrdID, quantity: r.orderQty, type: r.orderType)
            route(engine.handle(.replace(replace), at: time), at: time, &out)
        case (.orderEntry, .orderStatusRequest(let s)):
            if let report = engine.order(session: sid, clOrdID: s.clOrdID) {
                out.fix.append((compID, statusReport(report, time)))
            } else {
                out.fix.append((compID, ExecutionReport(orderID: "NONE", clOrdID: s.clOrdID, execID: nextExecID(), execType: .orderStatus,
                                                        ordStatus: .rejected, symbol: s.symbol, side: s.side, leavesQty: .zero,
                                                        cumQty: .zero, avgPx: .zero, ordRejReason: 5, text: "unknown order")))
            }
        case (.orderEntry, .orderMassStatusRequest(let m)):
            let request = MassStatusRequest(requestID: m.massStatusReqID, session: sid, scope: .session(sid),
                                            instrument: m.symbol.flatMap { symbols[$0] })
            route(engine.handle(.massStatus(request), at: time), at: time, &out)
        case (.risk, .unknown(let m)) where m.msgType == KillSwitch.request:
            killSwitch(m, from: compID, at: time, &out)
        default:
            out.fix.append((compID, BusinessMessageReject(refSeqNum: inbound.message.msgSeqNum, refMsgType: inbound.message.msgType.wireValue,
                                                          businessRejectReason: 3, text: "\(inbound.message.msgType) is not accepted on a \(session.role.rawValue) session")))
        }
        return out
    }

    /// The session disconnected: cancel its resting orders if configured so.
    public mutating func disconnected(_ compID: String, at time: Timestamp) -> VenueOutput {
        var out = VenueOutput()
        guard let s = sessions[compID], s.role == .orderEntry, s.cancelOnDisconnect == true else { return out }
        let sid = SessionID(compID)
        let cancel = MassCancel(requestID: "COD-\(compID)", session: sid, scope: .session(sid), reason: .requested)
        route(engine.handle(.cancelAll(cancel), at: time), at: time, &out)
        return out
    }

    // MARK: Kill switch

    private mutating func killSwitch(_ m: FIXMessage, from compID: String, at time: Timestamp, _ out: inout VenueOutput) {
        let target = m.string(20001) ?? ""
        let requestID = m.string(20003) ?? ""
        let count = m.string(20007).flatMap { Int($0) }
        var result = "OK"
        var canceled = 0
        let isOrderEntry = sessions[target]?.role == .orderEntry
        let sid = SessionID(target)
        let action = m.string(20002).flatMap(KillSwitch.Action.init(rawValue:))
        let needsOrderEntry: Set<KillSwitch.Action> = [.block, .cancelAll, .unblock, .rejectPercent]
        switch action {
        case nil:
            result = "action must be one of \(KillSwitch.Action.allCases.map(\.rawValue).joined(separator: ", "))"
        case let a? where needsOrderEntry.contains(a) && !isOrderEntry:
            result = "no order-entry session \(target)"
        case .block?, .cancelAll?:
            if m.string(20002) == KillSwitch.Action.block.rawValue {
                route(engine.handle(.setSessionBlocked(sid, blocked: true), at: time), at: time, &out)
            }
            let cancel = MassCancel(requestID: requestID, session: SessionID(compID), scope: .session(sid), reason: .killSwitch)
            let events = engine.handle(.cancelAll(cancel), at: time)
            canceled = events.count { if case .canceled = $0 { true } else { false } }
            route(events, at: time, &out)
        case .unblock?:
            route(engine.handle(.setSessionBlocked(sid, blocked: false), at: time), at: time, &out)
        case .rejectPercent?:
            if let p = count, (0...100).contains(p) {
                rejectPercent[target] = p == 0 ? nil : p
                rejectCredit[target] = 0
            } else {
                result = "REJECT_PERCENT needs 20007 = 0...100"
            }
        case .disconnect?:
            if sessions[target] == nil { result = "no session \(target)" } else { out.control.append(.disconnect(compID: target)) }
        case .feedDrop?:
            let lines: [FeedLine] = switch m.string(20006) {
            case "A": [.a]
            case "B": [.b]
            case "AB": [.a, .b]
            default: []
            }
            if !lines.isEmpty, let n = count, n > 0 {
                for line in lines { out.control.append(.feedDrop(line, count: n)) }
            } else {
                result = "FEED_DROP needs 20006 = A, B or AB and 20007 > 0"
            }
        case .fixDrop?, .fixDuplicate?, .fixDelay?:
            if sessions[target] == nil {
                result = "no session \(target)"
            } else if let n = count, n >= (action == .fixDelay ? 0 : 1) {
                out.control.append(action == .fixDelay ? .fixDelay(compID: target, milliseconds: n)
                                   : .fixOneShot(compID: target, action == .fixDrop ? .drop : .duplicate, count: n))
            } else {
                result = "\(m.string(20002) ?? "") needs 20007 " + (action == .fixDelay ? "≥ 0 (ms)" : "> 0")
            }
        case .feedPause?:
            out.control.append(.feedPaused(true))
        case .feedResume?:
            out.control.append(.feedPaused(false))
        }
        let echo: [(tag: Int, value: String)] = [(20001, target), (20002, m.string(20002) ?? ""), (20003, requestID)].filter { !$0.value.isEmpty }
        out.fix.append((compID, RawMessageBody(msgType: KillSwitch.response, fields: echo + [(20004, result), (20005, "\(canceled)")])))
    }

    // MARK: Engine events → FIX and feed

    private mutating func route(_ events: [VenueEvent], at time: Timestamp, _ out: inout VenueOutput) {
        for event in events {
            switch event {
            case .accepted(let a):
                report(a.ref, ExecutionReport(orderID: "\(a.ref.orderID)", clOrdID: a.ref.clOrdID, execID: nextExecID(), execType: .new,
                                              ordStatus: .new, account: a.ref.account, symbol: symbol(a.instrument), side: a.side,
                                              orderQty: a.quantity, price: a.type.limitPrice, leavesQty: a.quantity, cumQty: .zero,
                                              avgPx: .zero, transactTime: time), &out)
            case .rejected(let r):
                rejected(r, at: time, &out)
            case .fill(let f):
                for (side, other) in [(f.maker, f.taker), (f.taker, f.maker)] {
                    _ = other
                    let id = side.ref.orderID
                    notional[id, default: 0] += Int128(f.price.units) * Int128(f.quantity.units)
                    let avg = Price(units: Int64(notional[id]! / Int128(max(1, side.cumulativeQuantity.units))))
                    let done = side.leavesQuantity.units == 0
                    report(side.ref, ExecutionReport(orderID: "\(id)", clOrdID: side.ref.clOrdID, execID: nextExecID(), execType: .trade,
                                                     ordStatus: done ? .filled : .partiallyFilled, account: side.ref.account,
                                                     symbol: symbol(f.instrument), side: side.side, leavesQty: side.leavesQuantity,
                                                     cumQty: side.cumulativeQuantity, avgPx: avg, lastQty: f.quantity, lastPx: f.price,
                                                     transactTime: time, text: "fee \(side.fee)"), &out)
                    if done { notional[id] = nil }
                }
                out.feed.append(.trade(f.instrument, aggressor: f.aggressor, price: f.price, quantity: f.quantity, at: time))
            case .canceled(let c):
                notional[c.ref.orderID] = nil
                report(c.ref, ExecutionReport(orderID: "\(c.ref.orderID)", clOrdID: c.requestClOrdID ?? c.ref.clOrdID,
                                              origClOrdID: c.requestClOrdID == nil ? nil : c.ref.clOrdID, execID: nextExecID(),
                                              execType: .canceled, ordStatus: .canceled, account: c.ref.account, symbol: symbol(c.instrument),
                                              side: c.side, leavesQty: .zero, cumQty: c.cumulativeQuantity, avgPx: .zero,
                                              transactTime: time, text: c.reason.description), &out)
            case .replaced(let r):
                report(r.ref, ExecutionReport(orderID: "\(r.ref.orderID)", clOrdID: r.ref.clOrdID, origClOrdID: r.origClOrdID,
                                              execID: nextExecID(), execType: .replaced,
                                              ordStatus: r.cumulativeQuantity.units > 0 ? .partiallyFilled : .new,
                                              account: r.ref.account, symbol: symbol(r.instrument), side: r.side, orderQty: r.quantity,
                                              price: r.type.limitPrice, leavesQty: r.leavesQuantity, cumQty: r.cumulativeQuantity,
                                              avgPx: .zero, transactTime: time), &out)
            case .massStatus(let m):
                for o in m.orders { out.fix.append((m.session.rawValue, statusReport(o, time))) }
            case .book(let u):
                out.feed.append(feedMessage(u, at: time))
            case .triggered, .massCanceled, .sessionBlocked:
                break
            }
        }
    }

    private func feedMessage(_ u: BookUpdate, at time: Timestamp) -> FeedMessage {
        switch u.change {
        case .added(let id, let q): .add(u.instrument, order: id.rawValue, u.side, price: u.price, quantity: q, at: time)
        case .modified(let id, let q): .modify(u.instrument, order: id.rawValue, u.side, price: u.price, remaining: q, at: time)
        case .deleted(let id): .delete(u.instrument, order: id.rawValue, u.side, price: u.price, at: time)
        case .executed(let id, _, let remaining, _, _):
            remaining.units == 0
                ? .delete(u.instrument, order: id.rawValue, u.side, price: u.price, at: time)
                : .modify(u.instrument, order: id.rawValue, u.side, price: u.price, remaining: remaining, at: time)
        }
    }

    private mutating func rejected(_ r: Rejection, at time: Timestamp, _ out: inout VenueOutput) {
        let to = r.session.rawValue
        switch r.command {
        case .newOrder:
            let nos = incoming?.clOrdID == r.clOrdID ? incoming : nil
            let report = ExecutionReport(orderID: r.orderID.map { "\($0)" } ?? "NONE", clOrdID: r.clOrdID, execID: nextExecID(),
                                         execType: .rejected, ordStatus: .rejected, account: nos?.account, symbol: nos?.symbol ?? "?",
                                         side: nos?.side ?? .buy, orderQty: nos?.orderQty, leavesQty: .zero,
                                         cumQty: .zero, avgPx: .zero, transactTime: time, ordRejReason: ordRejReason(r.reason),
                                         text: r.reason.description)
            out.fix.append((to, report))
            copyToDropCopies(report, &out)
        case .cancel, .replace:
            out.fix.append((to, OrderCancelReject(orderID: r.orderID.map { "\($0)" } ?? "NONE", clOrdID: r.clOrdID,
                                                  origClOrdID: r.origClOrdID ?? r.clOrdID, ordStatus: .rejected,
                                                  respondingToReplace: r.command == .replace,
                                                  cxlRejReason: r.reason == .unknownOrder ? 1 : (r.reason == .tooLateToCancel ? 0 : 99),
                                                  text: r.reason.description)))
        case .massCancel, .massStatus:
            break
        }
    }

    private func ordRejReason(_ r: RejectReason) -> Int {
        switch r {
        case .unknownInstrument: 1
        case .duplicateClOrdID: 6
        case .quantityAboveMaximum: 3
        case .unknownOrder: 5
        case .sessionBlocked: 99
        default: 99
        }
    }

    private func report(_ ref: OrderRef, _ er: ExecutionReport, _ out: inout VenueOutput) {
        guard sessions[ref.session.rawValue] != nil else { return }  // the synthetic market's own orders
        out.fix.append((ref.session.rawValue, er))
        copyToDropCopies(er, &out)
    }

    private func copyToDropCopies(_ er: ExecutionReport, _ out: inout VenueOutput) {
        for compID in dropCopies { out.fix.append((compID, er)) }
    }

    private func statusReport(_ o: OrderStatusReport, _ time: Timestamp) -> ExecutionReport {
        ExecutionReport(orderID: "\(o.ref.orderID)", clOrdID: o.ref.clOrdID, execID: "STATUS", execType: .orderStatus, ordStatus: o.status,
                        account: o.ref.account, symbol: symbol(o.instrument), side: o.side, orderQty: o.quantity, price: o.type.limitPrice,
                        leavesQty: o.leavesQuantity, cumQty: o.cumulativeQuantity,
                        avgPx: notional[o.ref.orderID].map { Price(units: Int64($0 / Int128(max(1, o.cumulativeQuantity.units)))) } ?? .zero,
                        transactTime: time)
    }

    private mutating func nextExecID() -> String {
        execSeq += 1
        return "X\(execSeq)"
    }
}

private func reject(_ nos: NewOrderSingle, reason: Int, text: String) -> ExecutionReport {
    ExecutionReport(orderID: "NONE", clOrdID: nos.clOrdID, execID: "REJ-\(nos.clOrdID)", execType: .rejected, ordStatus: .rejected,
                    account: nos.account, symbol: nos.symbol, side: nos.side, orderQty: nos.orderQty, leavesQty: .zero, cumQty: .zero,
                    avgPx: .zero, ordRejReason: reason, text: text)
}
