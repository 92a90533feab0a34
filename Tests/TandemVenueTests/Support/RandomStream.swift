import TandemCore
import TandemVenue

/// Seeded random command streams that exercise everything: every order type and time in force,
/// cancels and replaces of live, finished and unknown orders, invalid input, self-trade groups,
/// mass commands, expiries, blocked sessions, two instruments.
struct RandomStream {
    var rng: SplitMix64
    var now: Int64 = V.t0
    private var counter = 0
    typealias Target = (session: SessionID, clOrdID: ClOrdID, kind: UInt8, instrument: Instrument, side: Side)
    /// Every ClOrdID sent (live, finished or rejected), for cancels and replaces that should fail.
    private var issued: [Target] = []
    /// Orders the engine reports live, learned from its events (``observe(_:)``).
    private var live: [Target] = []
    private var livePosition: [String: Int] = [:]
    let sessions = [V.s1, V.s2, SessionID("S3")]
    let accounts = [V.a1, V.a2, AccountID("A3"), AccountID("A4")]

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    private mutating func chance(_ percent: Int) -> Bool { rng.below(100) < percent }
    private mutating func pick<T>(_ xs: [T]) -> T { xs[rng.below(xs.count)] }

    /// Around a fixed mid: limits mostly on their own side (buys below, sells above, a few ticks
    /// through now and then), so books build depth and some orders cross; stops anywhere near.
    private mutating func price(_ instrument: Instrument, limitFor side: Side? = nil) -> Price {
        let mid: Int64 = instrument == V.fut ? 4_000 * 100_000_000 : 100 * 100_000_000
        let ticks: Int64
        if let side {
            let away = Int64(rng.below(15)) - 3
            ticks = side == .buy ? -away : away
        } else {
            ticks = Int64(rng.below(21) - 10)
        }
        var p = mid + ticks * instrument.tickSize.units
        if chance(1) { p += 1 }  // off tick
        return Price(units: p)
    }

    private mutating func quantity() -> Quantity {
        if chance(1) { return pick([Quantity.zero, Quantity(units: 50_000_000), Quantity(units: -100_000_000)]) }
        return Quantity(units: Int64(1 + rng.below(10)) * 100_000_000)
    }

    private mutating func type(_ kind: UInt8, _ instrument: Instrument, _ side: Side) -> OrderType {
        switch kind {
        case 0: return .market
        case 1: return .limit(price(instrument, limitFor: side))
        case 2: return .stop(price(instrument))
        default: return .stopLimit(stop: price(instrument), limit: price(instrument, limitFor: side))
        }
    }

    private static func key(_ session: SessionID, _ clOrdID: ClOrdID) -> String { session.rawValue + "|" + clOrdID.rawValue }

    private mutating func addLive(_ t: Target) {
        livePosition[Self.key(t.session, t.clOrdID)] = live.count
        live.append(t)
    }

    private mutating func removeLive(_ session: SessionID, _ clOrdID: ClOrdID) -> Target? {
        guard let i = livePosition.removeValue(forKey: Self.key(session, clOrdID)) else { return nil }
        let gone = live[i]
        let moved = live.removeLast()
        if i < live.count {
            live[i] = moved
            livePosition[Self.key(moved.session, moved.clOrdID)] = i
        }
        return gone
    }

    /// Learns which orders are live from the engine's answer to the last command.
    mutating func observe(_ events: [VenueEvent]) {
        for e in events {
            switch e {
            case .accepted(let a):
                let kind: UInt8 = switch a.type { case .market: 0; case .limit: 1; case .stop: 2; case .stopLimit: 3 }
                addLive((a.ref.session, a.ref.clOrdID, kind, a.instrument == V.fut.id ? V.fut : V.xyz, a.side))
            case .fill(let f):
                if f.maker.leavesQuantity.isZero { _ = removeLive(f.maker.ref.session, f.maker.ref.clOrdID) }
                if f.taker.leavesQuantity.isZero { _ = removeLive(f.taker.ref.session, f.taker.ref.clOrdID) }
            case .canceled(let c):
                _ = removeLive(c.ref.session, c.ref.clOrdID)
            case .replaced(let r):
                if let t = removeLive(r.ref.session, r.origClOrdID) { addLive((t.session, r.ref.clOrdID, t.kind, t.instrument, t.side)) }
            default:
                break
            }
        }
    }

    /// The next command and its time.
    mutating func next() -> (VenueCommand, Timestamp) {
        now += 1_000
        let at = Timestamp(nanosecondsSinceEpoch: now)
        let roll = rng.below(1000)
        // Mostly live orders; sometimes any ClOrdID sent (finished, rejected, or another session's).
        let target: Target? = !live.isEmpty && !chance(15) ? pick(live)
            : issued.isEmpty ? nil : issued[max(0, issued.count - 1 - rng.below(min(issued.count, 300)))]
        if roll < 120, let t = target {
            counter += 1
            let clOrdID = chance(3) ? ClOrdID("unknown\(counter)") : t.clOrdID
            return (.cancel(CancelOrder(session: chance(2) ? pick(sessions) : t.session, origClOrdID: clOrdID, clOrdID: ClOrdID("c\(counter)"))), at)
        }
        if roll < 240, let t = target {
            counter += 1
            let newID = chance(2) ? t.clOrdID : ClOrdID("r\(counter)")
            let kind = chance(3) ? UInt8(rng.below(4)) : t.kind
            let newType: OrderType? = chance(50) ? nil : type(kind, t.instrument, t.side)
            issued.append((t.session, newID, t.kind, t.instrument, t.side))
            return (.replace(ReplaceOrder(session: t.session, origClOrdID: t.clOrdID, clOrdID: newID, quantity: quantity(), type: newType)), at)
        }
        if roll < 243 {
            let scope: OrderScope = pick([.session(pick(sessions)), .account(pick(accounts)), .all])
            return (.cancelAll(MassCancel(requestID: "m\(now)", session: pick(sessions), scope: scope,
                                          instrument: chance(50) ? nil : pick([V.xyz.id, V.fut.id]), reason: chance(50) ? .killSwitch : .requested)), at)
        }
        if roll < 248 { return (.massStatus(MassStatusRequest(requestID: "q\(now)", session: pick(sessions), scope: .all)), at) }
        if roll < 251 { return (.setSessionBlocked(pick(sessions), blocked: chance(15)), at) }
        if roll < 253 { return (chance(20) ? .endOfDay : .tick, at) }

        counter += 1
        let instrument = chance(12) ? V.fut : V.xyz
        let kindRoll = rng.below(100)
        let kind: UInt8 = kindRoll < 10 ? 0 : kindRoll < 88 ? 1 : kindRoll < 94 ? 2 : 3
        let tifRoll = rng.below(100)
        let tif: TimeInForce = tifRoll < 60 ? .day : tifRoll < 72 ? .goodTillCancel : tifRoll < 84 ? .immediateOrCancel
            : tifRoll < 92 ? .fillOrKill : .goodTillDate(Timestamp(nanosecondsSinceEpoch: now + Int64(rng.below(60_000)) - 2_000))
        let s = rng.below(sessions.count)
        let clOrdID = chance(1) && !issued.isEmpty ? pick(issued).clOrdID : ClOrdID("o\(counter)")
        let session = sessions[s]
        let side: Side = pick([.buy, .buy, .sell, .sellShort])
        issued.append((session, clOrdID, kind, instrument, side))
        let group: SelfTradeGroup? = chance(10) ? SelfTradeGroup(pick(["G1", "G2"])) : nil
        let unknownInstrument = chance(1)
        return (.newOrder(NewOrder(clOrdID: clOrdID, session: session, account: accounts[(s + rng.below(2)) % accounts.count],
                                   instrument: unknownInstrument ? InstrumentID(404) : instrument.id, side: side,
                                   type: type(kind, instrument, side), timeInForce: tif, quantity: quantity(), selfTradeGroup: group)), at)
    }
}
