/// Canonical snapshot bytes:
///
///     "TNDS" · u8 version (= 2) · u64 eventCount · opt u64 lastSnapshotSequence · opt leader
///     · u32 n · n × instrument (by id) · u32 n · n × order (by ClOrdID)
///     · u32 n · n × position (by account, instrument) · u32 n · n × session (by id)
///     · u32 n · n × restriction (by scope)
///     · u8 risk mode · opt last risk mode change (u8 from, u8 to, rule, reason, i64 ts)    (version 2)
///
/// Version 1 snapshots (written before the risk mode was folded) still decode: they end after the
/// restrictions and restore as ACTIVE with no last change, which is what their journal said.
///
/// `opt` is a u8 0/1 presence flag. Keys are written in strictly increasing order, and decoding
/// requires that, so a decoded snapshot re-encodes to the same bytes.
extension TradingState {
    static let snapshotMagic: UInt32 = 0x544E_4453  // "TNDS"
    public static let snapshotVersion: UInt8 = 2

    public func snapshotBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + orderStore.count * 96 + positionStore.count * 80)
        out.put(TradingState.snapshotMagic)
        out.put(TradingState.snapshotVersion)
        out.put(eventCount)
        out.putOptional(lastSnapshotSequence) { $0.put($1) }
        out.putOptional(leader) { out, l in out.put(l.epoch); out.put(l.nodeID); l.at.write(to: &out) }

        out.put(UInt32(instruments.count))
        for key in instruments.keys.sorted() { instruments[key]?.write(to: &out) }

        out.put(UInt32(orderStore.count))
        let byClOrdID = orderStore.indices.sorted { orderStore[$0].request.clOrdID < orderStore[$1].request.clOrdID }
        for handle in byClOrdID { orderStore[handle].write(to: &out) }

        out.put(UInt32(positionStore.count))
        for slot in positionKeys.indices.sorted(by: { positionKeys[$0] < positionKeys[$1] }) {
            let key = positionKeys[slot], p = positionStore[slot]
            key.account.write(to: &out)
            key.instrument.write(to: &out)
            p.netQuantity.write(to: &out)
            p.costBasis.write(to: &out)
            p.realizedPnL.write(to: &out)
            p.fees.write(to: &out)
            p.multiplier.write(to: &out)
        }

        out.put(UInt32(fixSessions.count))
        for key in fixSessions.keys.sorted() {
            guard let s = fixSessions[key] else { continue }
            out.put(key)
            out.put(s.lastInbound)
            out.put(s.lastOutbound)
        }

        out.put(UInt32(restrictions.count))
        for key in restrictions.keys.sorted() {
            guard let a = restrictions[key] else { continue }
            key.write(to: &out)
            a.write(to: &out)
        }

        riskMode.write(to: &out)
        out.putOptional(lastRiskModeChange) { out, c in
            c.from.write(to: &out)
            c.to.write(to: &out)
            out.put(c.rule)
            out.put(c.reason)
            c.at.write(to: &out)
        }
        return out
    }

    public init(snapshotBytes bytes: [UInt8]) throws(CodecError) {
        let result: Result<TradingState, CodecError> = bytes.withUnsafeBytes { raw in
            do throws(CodecError) { return .success(try TradingState.decodeSnapshot(raw)) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    static func decodeSnapshot(_ raw: UnsafeRawBufferPointer) throws(CodecError) -> TradingState {
        var r = ByteReader(raw)
        let magic = try r.u32("magic")
        guard magic == snapshotMagic else { throw r.fail(.badMagic, "expected snapshot magic \"TNDS\"", at: 0) }
        let version = try r.u8("version")
        guard version == 1 || version == snapshotVersion else {
            throw r.fail(.unsupportedVersion, "expected snapshot version 1 or \(snapshotVersion), found \(version)", at: 4)
        }
        var state = TradingState()
        state.eventCount = try r.u64("eventCount")
        state.lastSnapshotSequence = try r.bool("hasSnapshotSequence") ? try r.u64("lastSnapshotSequence") : nil
        if try r.bool("hasLeader") {
            state.leader = Leader(epoch: try r.u64("epoch"), nodeID: try r.string("nodeID"), at: try .read(&r))
        }

        var n = try r.count("instruments", minimumItemSize: 56)
        var previousInstrument: InstrumentID?
        for _ in 0..<n {
            let start = r.offset
            let i = try Instrument.read(&r)
            try r.ascending(previousInstrument, i.id, at: start)
            previousInstrument = i.id
            state.instruments[i.id] = i
            state.definedInstruments.insert(i.id)
        }

        n = try r.count("orders", minimumItemSize: 52)
        state.reserveCapacity(orders: n)
        var previousOrder: ClOrdID?
        for _ in 0..<n {
            let start = r.offset
            let o = try Order.read(&r)
            try r.ascending(previousOrder, o.clOrdID, at: start)
            previousOrder = o.clOrdID
            state.restore(o)  // strictly increasing keys: no duplicates
        }

        n = try r.count("positions", minimumItemSize: 80)
        var previousPosition: PositionKey?
        for _ in 0..<n {
            let start = r.offset
            let key = PositionKey(account: try .read(&r), instrument: try .read(&r))
            try r.ascending(previousPosition, key, at: start)
            previousPosition = key
            let p = Position(netQuantity: try .read(&r), costBasis: try .read(&r), realizedPnL: try .read(&r),
                             fees: try .read(&r), multiplier: try .read(&r))
            guard p.realizedPnL.currency == p.currency, p.fees.currency == p.currency else {
                throw r.fail(.invalidValue, "position \(key) mixes currencies", at: start)
            }
            _ = state.addPosition(key, p)  // strictly increasing keys: no duplicates
        }

        n = try r.count("fixSessions", minimumItemSize: 20)
        var previousSession: String?
        for _ in 0..<n {
            let start = r.offset
            let id = try r.string("sessionID")
            try r.ascending(previousSession, id, at: start)
            previousSession = id
            state.fixSessions[id] = FixSequences(lastInbound: try r.u64("lastInbound"), lastOutbound: try r.u64("lastOutbound"))
        }

        n = try r.count("restrictions", minimumItemSize: 2)
        var previousScope: RiskScope?
        for _ in 0..<n {
            let start = r.offset
            let scope = try RiskScope.read(&r)
            try r.ascending(previousScope, scope, at: start)
            previousScope = scope
            state.restrictions[scope] = try .read(&r)
        }
        if version >= 2 {
            state.riskMode = try .read(&r)
            if try r.bool("hasLastRiskModeChange") {
                state.lastRiskModeChange = RiskModeChange(from: try .read(&r), to: try .read(&r), rule: try r.string("rule"),
                                                          reason: try r.string("reason"), at: try .read(&r))
            }
        }
        if r.remaining != 0 { throw r.fail(.lengthMismatch, "expected end of snapshot, \(r.remaining) bytes remain") }
        return state
    }
}

extension TradingState {
    /// Adds a decoded order to the store and both indexes.
    fileprivate mutating func restore(_ order: __owned Order) {
        let hash = ClOrdIDHash.of(order.clOrdID)
        let handle = orderStore.count
        let open = !order.status.isFinal
        orderStore.append(order)
        orderPositions.append(-1)
        if orderIndex.isFull { orderIndex.grow(orderStore) }
        orderIndex.insert(hash: hash, handle: handle)
        if open { openIndex.insert(hash: hash, handle: handle) }
    }
}

extension Order: WireValue {
    func write<S: ByteSink>(to out: inout S) {
        request.write(to: &out)
        status.write(to: &out)
        filledQuantity.write(to: &out)
        out.put(Int64(truncatingIfNeeded: filledValue >> 64))
        out.put(UInt64(truncatingIfNeeded: filledValue))
        out.putOptional(statusBeforeRequest) { out, s in s.write(to: &out) }
        out.putOptional(pendingReplace) { out, p in p.write(to: &out) }
        out.putOptional(venueOrderID) { out, v in out.put(v) }
        out.putOptional(replaces) { out, c in c.write(to: &out) }
    }

    static func read(_ r: inout ByteReader) throws(CodecError) -> Order {
        let request = try OrderRequest.read(&r)
        let status = try OrderStatus.read(&r)
        let filled = try Quantity.read(&r)
        let high = try r.i64("filledValue.high")
        let low = try r.u64("filledValue.low")
        let prior: OrderStatus? = try r.bool("hasPriorStatus") ? try .read(&r) : nil
        let replace: ReplaceRequest? = try r.bool("hasPendingReplace") ? try .read(&r) : nil
        let venueID: String? = try r.bool("hasVenueOrderID") ? try r.string("venueOrderID") : nil
        let replaces: ClOrdID? = try r.bool("hasReplaces") ? try .read(&r) : nil
        return Order(request: request, status: status, filledQuantity: filled,
                     filledValue: Int128(high) << 64 | Int128(low), statusBeforeRequest: prior,
                     pendingReplace: replace, venueOrderID: venueID, replaces: replaces)
    }
}

extension ByteReader {
    /// A u32 item count, rejected up front when the remaining bytes cannot hold that many items.
    public mutating func count(_ field: StaticString, minimumItemSize: Int) throws(CodecError) -> Int {
        let start = offset
        let n = Int(try u32(field))
        guard n <= remaining / Swift.max(1, minimumItemSize) + 1 else {
            throw fail(.truncated, "count \(n) of '\(field)' cannot fit in the \(remaining) bytes that remain", at: start)
        }
        return n
    }

    func ascending<K: Comparable>(_ previous: K?, _ key: K, at start: Int) throws(CodecError) {
        if let previous, !(previous < key) {
            throw fail(.invalidValue, "expected keys in strictly increasing order; \(key) follows \(previous)", at: start)
        }
    }
}
