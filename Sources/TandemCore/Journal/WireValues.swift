/// The canonical byte form of each value type: big-endian, fixed field order, u32-prefixed strings
/// and byte runs, u8 tags for enums. Part of the stable format documented in docs/core.md.
protocol WireValue {
    func write<S: ByteSink>(to out: inout S)
    static func read(_ r: inout ByteReader) throws(CodecError) -> Self
}

extension Timestamp: WireValue {
    @inline(__always) func write<S: ByteSink>(to out: inout S) { out.put(nanosecondsSinceEpoch) }
    @inline(__always) static func read(_ r: inout ByteReader) throws(CodecError) -> Timestamp {
        Timestamp(nanosecondsSinceEpoch: try r.i64("timestamp"))
    }
}

extension Price: WireValue {
    @inline(__always) func write<S: ByteSink>(to out: inout S) { out.put(units) }
    @inline(__always) static func read(_ r: inout ByteReader) throws(CodecError) -> Price { Price(units: try r.i64("price")) }
}

extension Quantity: WireValue {
    @inline(__always) func write<S: ByteSink>(to out: inout S) { out.put(units) }
    @inline(__always) static func read(_ r: inout ByteReader) throws(CodecError) -> Quantity {
        Quantity(units: try r.i64("quantity"))
    }
}

extension Currency: WireValue {
    @inline(__always) func write<S: ByteSink>(to out: inout S) { out.put(rawValue) }
    static func read(_ r: inout ByteReader) throws(CodecError) -> Currency {
        let start = r.offset
        let raw = try r.u64("currency")
        guard let c = Currency(rawValue: raw) else {
            throw r.fail(.invalidValue, "expected a currency code (1–8 of A–Z0–9, left-aligned), found 0x\(String(raw, radix: 16))", at: start)
        }
        return c
    }
}

extension Money: WireValue {
    @inline(__always) func write<S: ByteSink>(to out: inout S) {
        out.put(units)
        currency.write(to: &out)
    }
    @inline(__always) static func read(_ r: inout ByteReader) throws(CodecError) -> Money {
        let units = try r.i64("money")
        return Money(units: units, currency: try .read(&r))
    }
}

extension Ratio: WireValue {
    func write<S: ByteSink>(to out: inout S) {
        out.put(numerator)
        out.put(denominator)
    }
    static func read(_ r: inout ByteReader) throws(CodecError) -> Ratio {
        let start = r.offset
        let n = try r.i64("ratio.numerator")
        let d = try r.i64("ratio.denominator")
        guard n > 0, d > 0 else { throw r.fail(.invalidValue, "expected a ratio with positive terms, found \(n)/\(d)", at: start) }
        return Ratio(uncheckedNumerator: n, denominator: d)
    }
}

extension ClOrdID: WireValue {
    @inline(__always) func write<S: ByteSink>(to out: inout S) { out.put(rawValue) }
    @inline(__always) static func read(_ r: inout ByteReader) throws(CodecError) -> ClOrdID { ClOrdID(try r.string("clOrdID")) }
}

extension AccountID: WireValue {
    @inline(__always) func write<S: ByteSink>(to out: inout S) { out.put(rawValue) }
    @inline(__always) static func read(_ r: inout ByteReader) throws(CodecError) -> AccountID { AccountID(try r.string("account")) }
}

extension InstrumentID: WireValue {
    @inline(__always) func write<S: ByteSink>(to out: inout S) { out.put(rawValue) }
    @inline(__always) static func read(_ r: inout ByteReader) throws(CodecError) -> InstrumentID {
        InstrumentID(try r.u32("instrument"))
    }
}

extension Side: WireValue {
    func write<S: ByteSink>(to out: inout S) { out.put(rawValue) }
    static func read(_ r: inout ByteReader) throws(CodecError) -> Side {
        let start = r.offset
        let raw = try r.u8("side")
        guard let s = Side(rawValue: raw) else { throw r.fail(.invalidValue, "expected side 1, 2 or 5, found \(raw)", at: start) }
        return s
    }
}

extension OrderStatus: WireValue {
    func write<S: ByteSink>(to out: inout S) { out.put(rawValue) }
    static func read(_ r: inout ByteReader) throws(CodecError) -> OrderStatus {
        let start = r.offset
        let raw = try r.u8("status")
        guard let s = OrderStatus(rawValue: raw) else { throw r.fail(.invalidValue, "expected a FIX OrdStatus code, found \(raw)", at: start) }
        return s
    }
}

extension OrderType: WireValue {
    func write<S: ByteSink>(to out: inout S) {
        switch self {
        case .market: out.put(UInt8(0))
        case .limit(let p): out.put(UInt8(1)); p.write(to: &out)
        case .stop(let p): out.put(UInt8(2)); p.write(to: &out)
        case .stopLimit(let s, let l): out.put(UInt8(3)); s.write(to: &out); l.write(to: &out)
        }
    }
    static func read(_ r: inout ByteReader) throws(CodecError) -> OrderType {
        let start = r.offset
        switch try r.u8("orderType") {
        case 0: return .market
        case 1: return .limit(try .read(&r))
        case 2: return .stop(try .read(&r))
        case 3: return .stopLimit(stop: try .read(&r), limit: try .read(&r))
        case let t: throw r.fail(.invalidValue, "expected order type tag 0–3, found \(t)", at: start)
        }
    }
}

extension TimeInForce: WireValue {
    func write<S: ByteSink>(to out: inout S) {
        switch self {
        case .day: out.put(UInt8(0))
        case .goodTillCancel: out.put(UInt8(1))
        case .immediateOrCancel: out.put(UInt8(2))
        case .fillOrKill: out.put(UInt8(3))
        case .goodTillDate(let t): out.put(UInt8(4)); t.write(to: &out)
        }
    }
    static func read(_ r: inout ByteReader) throws(CodecError) -> TimeInForce {
        let start = r.offset
        switch try r.u8("timeInForce") {
        case 0: return .day
        case 1: return .goodTillCancel
        case 2: return .immediateOrCancel
        case 3: return .fillOrKill
        case 4: return .goodTillDate(try .read(&r))
        case let t: throw r.fail(.invalidValue, "expected time-in-force tag 0–4, found \(t)", at: start)
        }
    }
}

extension OrderRequest: WireValue {
    func write<S: ByteSink>(to out: inout S) {
        clOrdID.write(to: &out)
        account.write(to: &out)
        instrument.write(to: &out)
        side.write(to: &out)
        type.write(to: &out)
        timeInForce.write(to: &out)
        quantity.write(to: &out)
    }
    static func read(_ r: inout ByteReader) throws(CodecError) -> OrderRequest {
        OrderRequest(clOrdID: try .read(&r), account: try .read(&r), instrument: try .read(&r), side: try .read(&r),
                     type: try .read(&r), timeInForce: try .read(&r), quantity: try .read(&r))
    }
}

extension ReplaceRequest: WireValue {
    func write<S: ByteSink>(to out: inout S) {
        newClOrdID.write(to: &out)
        quantity.write(to: &out)
        if let type { out.put(true); type.write(to: &out) } else { out.put(false) }
    }
    static func read(_ r: inout ByteReader) throws(CodecError) -> ReplaceRequest {
        let id = try ClOrdID.read(&r)
        let q = try Quantity.read(&r)
        let type: OrderType? = try r.bool("replace.hasType") ? try .read(&r) : nil
        return ReplaceRequest(newClOrdID: id, quantity: q, type: type)
    }
}

extension RiskDecision: WireValue {
    func write<S: ByteSink>(to out: inout S) {
        switch self {
        case .accepted: out.put(UInt8(0))
        case .rejected(let rule, let reason): out.put(UInt8(1)); out.put(rule); out.put(reason)
        }
    }
    static func read(_ r: inout ByteReader) throws(CodecError) -> RiskDecision {
        let start = r.offset
        switch try r.u8("decision") {
        case 0: return .accepted
        case 1: return .rejected(rule: try r.string("rule"), reason: try r.string("reason"))
        case let t: throw r.fail(.invalidValue, "expected risk decision tag 0–1, found \(t)", at: start)
        }
    }
}

extension Instrument: WireValue {
    func write<S: ByteSink>(to out: inout S) {
        id.write(to: &out)
        out.put(symbol)
        out.put(venue)
        tickSize.write(to: &out)
        lotSize.write(to: &out)
        multiplier.write(to: &out)
        currency.write(to: &out)
        out.put(calendar)
    }
    static func read(_ r: inout ByteReader) throws(CodecError) -> Instrument {
        Instrument(id: try .read(&r), symbol: try r.string("symbol"), venue: try r.string("venue"),
                   tickSize: try .read(&r), lotSize: try .read(&r), multiplier: try .read(&r),
                   currency: try .read(&r), calendar: try r.string("calendar"))
    }
}

extension RiskAction: WireValue {
    func write<S: ByteSink>(to out: inout S) { out.put(rawValue) }
    static func read(_ r: inout ByteReader) throws(CodecError) -> RiskAction {
        let start = r.offset
        let raw = try r.u8("riskAction")
        guard let a = RiskAction(rawValue: raw) else { throw r.fail(.invalidValue, "expected risk action 1–4, found \(raw)", at: start) }
        return a
    }
}

extension RiskScope: WireValue {
    func write<S: ByteSink>(to out: inout S) {
        switch self {
        case .global: out.put(UInt8(0))
        case .account(let a): out.put(UInt8(1)); a.write(to: &out)
        case .instrument(let i): out.put(UInt8(2)); i.write(to: &out)
        }
    }
    static func read(_ r: inout ByteReader) throws(CodecError) -> RiskScope {
        let start = r.offset
        switch try r.u8("riskScope") {
        case 0: return .global
        case 1: return .account(try .read(&r))
        case 2: return .instrument(try .read(&r))
        case let t: throw r.fail(.invalidValue, "expected risk scope tag 0–2, found \(t)", at: start)
        }
    }
}

extension CorporateAction: WireValue {
    func write<S: ByteSink>(to out: inout S) {
        switch self {
        case .split(let ratio): out.put(UInt8(1)); ratio.write(to: &out)
        case .cashDividend(let m): out.put(UInt8(2)); m.write(to: &out)
        case .symbolChange(let s): out.put(UInt8(3)); out.put(s)
        }
    }
    static func read(_ r: inout ByteReader) throws(CodecError) -> CorporateAction {
        let start = r.offset
        switch try r.u8("corporateAction") {
        case 1: return .split(try .read(&r))
        case 2: return .cashDividend(perUnit: try .read(&r))
        case 3: return .symbolChange(newSymbol: try r.string("newSymbol"))
        case let t: throw r.fail(.invalidValue, "expected corporate action tag 1–3, found \(t)", at: start)
        }
    }
}

extension TradingMode: WireValue {
    func write<S: ByteSink>(to out: inout S) { out.put(level) }
    static func read(_ r: inout ByteReader) throws(CodecError) -> TradingMode {
        let start = r.offset
        let raw = try r.u8("tradingMode")
        guard let m = TradingMode(level: raw) else { throw r.fail(.invalidValue, "expected trading mode tag 0–2, found \(raw)", at: start) }
        return m
    }
}
