import TandemCore

/// What the evaluation and the exposure rules need from the positions, at given marks: per currency
/// the P&L (realized − fees, + unrealized for positions with a mark) and the gross and net exposure
/// (each position at its mark, else its average price), the positions beyond their per-trade loss
/// limit, and the positions that cannot be valued. ``fromScratch(state:marks:limits:)`` computes it
/// with one plain pass; ``PositionBook`` keeps it up to date incrementally and must always agree
/// with it (the property test `PositionBookTests` checks that after random streams).
struct BookFigures: Sendable, Equatable {
    struct Totals: Sendable, Equatable {
        var currency: Currency
        /// Positions counted in `pnl` (every position but those with a mark that cannot be valued).
        var positions: Int
        var pnl: Int128
        var gross: Int128
        var net: Int128
    }
    /// Ascending by currency; only currencies with at least one counted position.
    var totals: [Totals] = []
    /// Unrealized P&L (clamped to `Int64`) of the positions whose loss is beyond their per-trade limit.
    var losses: [PositionKey: Int64] = [:]
    /// Positions with a mark whose value overflows `Money` (the P&L cannot be computed: `pnl_overflow`).
    var markFailures: Set<PositionKey> = []
    /// Positions whose value (at the mark or the average price) overflows `Money`.
    var exposureFailures: Set<PositionKey> = []

    /// The reference computation: every position valued again, nothing remembered.
    static func fromScratch(state: borrowing TradingState, marks: [InstrumentID: Price], limits: RiskLimits) -> BookFigures {
        var figures = BookFigures()
        var byCurrency: [Currency: Totals] = [:]
        for slot in 0..<state.positionCount {
            let (key, position) = state.positionEntry(at: slot)
            let lossLimit = (limits.overrides(for: key.instrument)?.perTradeLossLimit ?? limits.perTradeLossLimit).units
            let v = SlotValue(position, mark: marks[key.instrument], lossLimit: lossLimit)
            var t = byCurrency[position.currency] ?? Totals(currency: position.currency, positions: 0, pnl: 0, gross: 0, net: 0)
            if v.markFailure { figures.markFailures.insert(key) } else {
                t.positions += 1
                t.pnl += v.pnl
            }
            switch v.result {
            case .value(let units):
                t.gross += abs(Int128(units))
                t.net += Int128(units)
            case .failed: figures.exposureFailures.insert(key)
            case .noPrice: break
            }
            if let loss = v.loss { figures.losses[key] = loss }
            byCurrency[position.currency] = t
        }
        figures.totals = byCurrency.values.filter { $0.positions > 0 }.sorted { $0.currency < $1.currency }
        return figures
    }
}

/// One position's contribution at one mark: its value for exposure, its P&L, and its loss beyond
/// the per-trade limit. A pure function of the position, the mark and the limit.
struct SlotValue: Sendable {
    var result: PositionValue.Result
    /// realized − fees, + unrealized with a mark; 128 bits (only totals must fit `Money`).
    var pnl: Int128
    /// Has a mark but cannot be valued at it: counted in no total, halts with `pnl_overflow`.
    var markFailure: Bool
    /// The unrealized P&L (clamped) when the loss is beyond the per-trade limit (at the limit passes).
    var loss: Int64?

    init(_ position: Position, mark: Price?, lossLimit: Int64) {
        result = .noPrice
        if !position.isFlat {
            result = PositionValue.compute(PositionValue.Inputs(net: position.netQuantity.units, cost: position.costBasis.units, mark: mark,
                                                                multiplier: position.multiplier, currency: position.currency),
                                           averagePrice: position.averagePrice)
        }
        pnl = Int128(position.realizedPnL.units) - Int128(position.fees.units)
        markFailure = false
        loss = nil
        guard mark != nil else { return }
        var value: Int64 = 0
        if !position.isFlat {
            guard case .value(let v) = result else {
                markFailure = true
                return
            }
            value = v
        }
        let u = Int128(value) - Int128(position.costBasis.units)
        pnl += u
        if -u > Int128(lossLimit) { loss = Int64(clamping: u) }
    }
}

/// ``BookFigures`` kept up to date between evaluations instead of recomputed: each position's
/// contribution is remembered and the per-currency sums are adjusted (exactly, in 128-bit
/// integers) when a position or its instrument's mark changes.
///
/// - **Positions**: ``TradingState/positionRevision`` is drawn from a process-wide counter whenever
///   any position changes, so an unchanged revision means the same positions (whatever copy of the
///   state is passed). When it moved, each slot's key and position are compared with the remembered
///   ones (plain integer compares, no valuation) and only the slots that differ are valued again; a
///   slot whose key differs (another state altogether) or fewer slots start the book over.
/// - **Marks**: the `marks` dictionary is walked once (no hashing) against the remembered mark of
///   each instrument that has positions; the positions of an instrument whose mark moved, appeared or
///   disappeared are valued again.
///
/// A check is then O(instruments with marks) for the walk, plus O(positions of the instruments whose
/// marks moved), plus O(positions) integer compares only after a fill changed the positions.
struct PositionBook: Sendable {
    private struct Slot: Sendable {
        var key: PositionKey
        var position: Position
        var instrument: Int32   // index into `instruments`
        var currency: Int32     // index into `totals`
        var lossLimit: Int64
        var value: SlotValue
    }
    private struct InstrumentEntry: Sendable {
        var id: InstrumentID
        var mark: Price?
        var seen: UInt32 = 0
        var slots: [Int32] = []
    }

    private var revision: UInt64?
    private var slots: ContiguousArray<Slot> = []
    private var instruments: ContiguousArray<InstrumentEntry> = []
    /// Instrument id → index into `instruments`: a flat table for small ids, a dictionary beyond.
    private var denseIndex: ContiguousArray<Int32> = []
    private var sparseIndex: [InstrumentID: Int32] = [:]
    private var marked = 0              // entries whose `mark` is not nil
    private var generation: UInt32 = 0
    private(set) var totals: [BookFigures.Totals] = []  // ascending by currency (entries may count 0 positions)
    private(set) var lossSlots: [Int32] = []
    private(set) var markFailureSlots: [Int32] = []
    private(set) var exposureFailureSlots: [Int32] = []
    private var changedInstruments: [Int32] = []

    private static let denseLimit: UInt32 = 4_096

    /// Brings the figures to `state` and `marks`.
    mutating func sync(state: borrowing TradingState, marks: [InstrumentID: Price], limits: RiskLimits) {
        if state.positionRevision != revision { syncPositions(state, marks, limits) }
        syncMarks(marks)
    }

    // MARK: Positions

    private mutating func syncPositions(_ state: borrowing TradingState, _ marks: [InstrumentID: Price], _ limits: RiskLimits) {
        let count = state.positionCount
        if count < slots.count { reset() }
        for slot in 0..<count {
            if slot < slots.count {
                guard state.positionKey(at: slot) == slots[slot].key else {
                    // Another state altogether: start over.
                    reset()
                    syncPositions(state, marks, limits)
                    return
                }
                let position = state.position(at: slot)
                if position == slots[slot].position { continue }
                let i = Int(slots[slot].instrument)
                remove(slot)
                slots[slot].position = position
                slots[slot].value = SlotValue(position, mark: instruments[i].mark, lossLimit: slots[slot].lossLimit)
                add(slot)
            } else {
                let (key, position) = state.positionEntry(at: slot)
                let i = entry(for: key.instrument, marks)
                instruments[i].slots.append(Int32(slot))
                let lossLimit = (limits.overrides(for: key.instrument)?.perTradeLossLimit ?? limits.perTradeLossLimit).units
                slots.append(Slot(key: key, position: position, instrument: Int32(i), currency: currencyIndex(position.currency),
                                  lossLimit: lossLimit, value: SlotValue(position, mark: instruments[i].mark, lossLimit: lossLimit)))
                add(slot)
            }
        }
        revision = state.positionRevision
    }

    private mutating func reset() {
        self = PositionBook()
    }

    /// The entry of an instrument, created (with its current mark) on first use.
    private mutating func entry(for id: InstrumentID, _ marks: [InstrumentID: Price]) -> Int {
        if let i = index(of: id) { return i }
        let i = instruments.count
        let mark = marks[id]
        instruments.append(InstrumentEntry(id: id, mark: mark, seen: generation))
        if mark != nil { marked += 1 }
        if id.rawValue < Self.denseLimit {
            let need = Int(id.rawValue) + 1
            if denseIndex.count < need { denseIndex.append(contentsOf: repeatElement(-1, count: need - denseIndex.count)) }
            denseIndex[Int(id.rawValue)] = Int32(i)
        } else {
            sparseIndex[id] = Int32(i)
        }
        return i
    }

    @inline(__always) private func index(of id: InstrumentID) -> Int? {
        if id.rawValue < Self.denseLimit {
            let r = Int(id.rawValue)
            guard r < denseIndex.count, denseIndex[r] >= 0 else { return nil }
            return Int(denseIndex[r])
        }
        return sparseIndex[id].map(Int.init)
    }

    private mutating func currencyIndex(_ currency: Currency) -> Int32 {
        if let i = totals.firstIndex(where: { $0.currency == currency }) { return Int32(i) }
        // Kept ascending: insert and renumber the slots that point past the insertion.
        let i = totals.firstIndex(where: { $0.currency > currency }) ?? totals.count
        totals.insert(BookFigures.Totals(currency: currency, positions: 0, pnl: 0, gross: 0, net: 0), at: i)
        for s in slots.indices where slots[s].currency >= Int32(i) { slots[s].currency += 1 }
        return Int32(i)
    }

    // MARK: Marks

    private mutating func syncMarks(_ marks: [InstrumentID: Price]) {
        guard !instruments.isEmpty else { return }
        generation &+= 1
        if generation == 0 {  // wrapped: no entry may look seen
            for i in instruments.indices { instruments[i].seen = 0 }
            generation = 1
        }
        changedInstruments.removeAll(keepingCapacity: true)
        var seen = 0
        for (id, price) in marks {
            guard let i = index(of: id) else { continue }
            seen += 1
            instruments[i].seen = generation
            if instruments[i].mark != price {
                if instruments[i].mark == nil { marked += 1 }
                instruments[i].mark = price
                changedInstruments.append(Int32(i))
            }
        }
        if seen != marked {  // some mark disappeared
            for i in instruments.indices where instruments[i].mark != nil && instruments[i].seen != generation {
                instruments[i].mark = nil
                marked -= 1
                changedInstruments.append(Int32(i))
            }
        }
        for i in changedInstruments {
            let mark = instruments[Int(i)].mark
            for s in instruments[Int(i)].slots {
                let slot = Int(s)
                remove(slot)
                slots[slot].value = SlotValue(slots[slot].position, mark: mark, lossLimit: slots[slot].lossLimit)
                add(slot)
            }
        }
    }

    // MARK: Sums

    private mutating func add(_ slot: Int) { apply(slot, 1) }
    private mutating func remove(_ slot: Int) { apply(slot, -1) }

    private mutating func apply(_ slot: Int, _ sign: Int128) {
        let v = slots[slot].value
        let c = Int(slots[slot].currency)
        if v.markFailure { toggle(&markFailureSlots, slot, sign) } else {
            totals[c].positions += Int(sign)
            totals[c].pnl += sign * v.pnl
        }
        switch v.result {
        case .value(let units):
            totals[c].gross += sign * abs(Int128(units))
            totals[c].net += sign * Int128(units)
        case .failed: toggle(&exposureFailureSlots, slot, sign)
        case .noPrice: break
        }
        if v.loss != nil { toggle(&lossSlots, slot, sign) }
    }

    /// Adds (sign 1) or removes (−1) a slot of a short list kept ascending (losses and failures are rare).
    private func toggle(_ list: inout [Int32], _ slot: Int, _ sign: Int128) {
        let s = Int32(slot)
        if sign > 0 {
            list.insert(s, at: list.firstIndex { $0 > s } ?? list.count)
        } else if let i = list.firstIndex(of: s) {
            list.remove(at: i)
        }
    }

    // MARK: Reading

    func key(_ slot: Int32) -> PositionKey { slots[Int(slot)].key }
    func loss(_ slot: Int32) -> Money {
        let s = slots[Int(slot)]
        return Money(units: s.value.loss ?? 0, currency: s.position.currency)
    }
    func currency(_ slot: Int32) -> Currency { slots[Int(slot)].position.currency }

    /// Gross and net exposure of the positions in `currency` (zero when there are none).
    func exposure(_ currency: Currency) -> (gross: Int128, net: Int128) {
        for t in totals where t.currency == currency { return (t.gross, t.net) }
        return (0, 0)
    }

    /// Why the first position (in storage order) other than `key` cannot be valued, if one cannot.
    func exposureFailure(excluding key: PositionKey) -> ArithmeticError? {
        for s in exposureFailureSlots where slots[Int(s)].key != key {
            let slot = slots[Int(s)], p = slot.position
            return PositionValue.error(PositionValue.Inputs(net: p.netQuantity.units, cost: p.costBasis.units, mark: instruments[Int(slot.instrument)].mark,
                                                            multiplier: p.multiplier, currency: p.currency),
                                       averagePrice: p.averagePrice)
        }
        return nil
    }

    /// The least key (the one the one-pass evaluation reported) of the positions with a mark that
    /// cannot be valued at it.
    func firstMarkFailure() -> PositionKey? {
        var first: PositionKey?
        for s in markFailureSlots where first.map({ slots[Int(s)].key < $0 }) ?? true { first = slots[Int(s)].key }
        return first
    }

    /// The first currency, in the order the positions were created (the order the one-pass
    /// evaluation met them in), whose P&L total does not fit `Money`.
    func firstOverflowingCurrency() -> Currency? {
        guard totals.contains(where: { Int64(exactly: $0.pnl) == nil }) else { return nil }
        for s in slots where !s.value.markFailure && Int64(exactly: totals[Int(s.currency)].pnl) == nil { return s.position.currency }
        return nil
    }

    /// The figures as ``BookFigures`` (for tests: compare with ``BookFigures/fromScratch(state:marks:limits:)``).
    var figures: BookFigures {
        var f = BookFigures()
        f.totals = totals.filter { $0.positions > 0 }
        for s in lossSlots { f.losses[key(s)] = slots[Int(s)].value.loss }
        f.markFailures = Set(markFailureSlots.map(key))
        f.exposureFailures = Set(exposureFailureSlots.map(key))
        return f
    }
}
