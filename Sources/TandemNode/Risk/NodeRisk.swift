import Foundation
import NIOCore
import TandemFIX
import Logging
import Synchronization
import TandemCore
import TandemExecution
import TandemRisk
import TandemStrategy

/// The node's pre-trade risk hook: TandemRisk's `RiskEngine` behind the order manager's
/// `PreTradeRisk`, with the marks the node's market data gives it. Every decision is journaled with
/// its intent by the order manager (a refusal names its rule); replaces are checked too.
///
/// **Mode changes are journaled** (`riskModeChanged`, through the term's `JournalPipeline` like every
/// other event, so only a leader writes them and a standby folds them) and logged with their
/// `journal.seq` once durable. **The mode is restored**: a term's engine starts in the fold's
/// ``TradingState/riskMode``, so HALTED survives a restart or a takeover until an operator resumes
/// (a global `riskCommand` resume). A global `halt` (or `flatten`) command in the fold makes the
/// engine refuse every opening order whatever its own mode; reducing orders always pass.
/// On HALTED the node stops its strategy and cancels its open orders.
public final class NodeRisk: PreTradeRisk {
    private struct State {
        var engine: RiskEngine
        var marks: [InstrumentID: Price] = [:]
        var outputs: [RiskOutput] = []
        /// The fold's last mode change this engine has accounted for: one it restored or adopted, or
        /// its own once submitted. A different one in the fold was journaled by someone else.
        var seenChange: RiskModeChange?
        /// The trading day of the last evaluation (``DayRoll/day(of:)``); nil before the first.
        var day: Int64?
        /// The engine's mode as the last check or evaluation applied it (global commands included).
        var effective: TradingMode
    }
    private let state: Mutex<State>
    private let dayRoll: DayRoll
    private let logger: Logger

    /// An engine in the journaled mode of `ledger` (its ``TradingState/riskMode``).
    public init(limits: RiskLimits, restoring ledger: borrowing TradingState, dayRoll: DayRoll = .midnight, logger: Logger) {
        let engine = RiskEngine(limits: limits, mode: ledger.riskMode)
        self.state = Mutex(State(engine: engine, seenChange: ledger.lastRiskModeChange, effective: engine.effectiveMode(state: ledger)))
        self.dayRoll = dayRoll
        self.logger = logger
    }

    /// The risk hook of a leader term starting from `ledger`: with the limits of `limitsFile`, or —
    /// when there is no file but the journal says the mode is not ACTIVE (or holds a global halt) —
    /// with the default limits, so a journaled HALTED or REDUCING is enforced by every node whatever
    /// its configuration. nil (accept everything) only with no file and an ACTIVE journal.
    public static func forTerm(limitsFile: String?, ledger: borrowing TradingState, dayRoll: DayRoll, logger: Logger) throws -> NodeRisk? {
        let restricted = ledger.riskMode != .active || ledger.restrictions[.global] == .halt || ledger.restrictions[.global] == .flatten
        guard limitsFile != nil || restricted else { return nil }
        let limits = try limitsFile.map { try Self.limits(fromFile: $0) } ?? RiskLimits()
        let risk = NodeRisk(limits: limits, restoring: ledger, dayRoll: dayRoll, logger: logger)
        if restricted {
            let last = ledger.lastRiskModeChange
            logger.warning("risk: trading mode restored from the journal", metadata: [
                "risk.mode": "\(risk.mode)", "risk.rule": "\(last?.rule ?? "-")", "risk.reason": "\(last?.reason ?? "-")",
                "risk.global_restriction": "\(ledger.restrictions[.global].map { "\($0)" } ?? "none")",
            ])
        }
        return risk
    }

    /// Reads and validates a JSON file of `RiskLimits`; the error names the file and the field.
    public static func limits(fromFile path: String) throws -> RiskLimits {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ExecutionError(.invalidInput, "execution.riskLimitsFile \(path): cannot be read (\(error.localizedDescription))")
        }
        let limits: RiskLimits
        do { limits = try JSONDecoder().decode(RiskLimits.self, from: data) } catch {
            throw ExecutionError(.invalidInput, "execution.riskLimitsFile \(path): not valid risk limits: \(error)")
        }
        do { try limits.validate() } catch {
            throw ExecutionError(.invalidInput, "execution.riskLimitsFile \(path): \(error)")
        }
        return limits
    }

    /// The mode orders are decided under: the engine's, raised to HALTED by a global halt or flatten
    /// command in the fold, as of the last check or evaluation.
    public var mode: TradingMode { state.withLock { $0.effective } }

    public func check(_ request: OrderRequest, state ledger: borrowing TradingState, now: Timestamp) -> RiskDecision {
        let copy = copy ledger
        return state.withLock { st in
            let (decision, outputs) = st.engine.check(request, state: copy, marks: st.marks, now: now)
            st.outputs += outputs
            st.effective = st.engine.effectiveMode(state: copy)
            return decision
        }
    }

    public func checkReplace(_ order: Order, with replacement: ReplaceRequest, state ledger: borrowing TradingState, now: Timestamp) -> RiskDecision {
        let copy = copy ledger
        return state.withLock { st in
            let (decision, outputs) = st.engine.checkReplace(order, with: replacement, state: copy, marks: st.marks, now: now)
            st.outputs += outputs
            st.effective = st.engine.effectiveMode(state: copy)
            return decision
        }
    }

    /// The engine's day P&L and drawdown per currency at its last evaluation, and the limits they are
    /// held to (for the metrics), under one lock.
    public func dayFigures() -> (figures: [(currency: Currency, pnl: Int128, drawdown: Int128)], limits: RiskLimits) {
        state.withLock { ($0.engine.dayFigures(), $0.engine.limits) }
    }

    /// Something the engine counts (a message sent, a venue reject, a disconnect) for its rate rules
    /// and breakers; what it says comes out of the next `evaluate`.
    public func record(_ input: RiskInput) {
        state.withLock { st in st.outputs += st.engine.handle(input) }
    }

    /// Marks the update's instrument at its last trade, else at the mid (rounded down to a unit);
    /// a one-sided book without a trade marks nothing.
    public func mark(_ update: MarketUpdate) {
        let price: Price
        if let trade = update.lastTrade {
            price = trade.price
        } else if let book = update.twoSidedBook {
            price = Price(units: Int64((Int128(book.bid.price.units) + Int128(book.ask.price.units)) / 2))
        } else {
            return
        }
        state.withLock { st in
            st.marks[update.instrument] = price
            st.outputs += st.engine.handle(.mark(update.instrument, price, at: update.at))
        }
    }

    /// The leader's periodic step: ``evaluate(state:now:)`` on the pipeline's ledger, then every mode
    /// change journaled through `pipeline` (one submission each, logged with its `journal.seq` once
    /// durable). Returns everything the engine said since the last call.
    @discardableResult
    public func evaluate(pipeline: JournalPipeline, now: Timestamp) -> [RiskOutput] {
        let outputs = evaluate(state: pipeline.read { $0.state }, now: now)
        for case .modeChanged(let from, let to, let rule, let reason, let at) in outputs {
            let change = RiskModeChange(from: from, to: to, rule: rule, reason: reason, at: at)
            let metadata: Logger.Metadata = ["risk.from": "\(from)", "risk.to": "\(to)", "risk.rule": "\(rule)", "risk.reason": "\(reason)"]
            let logger = self.logger
            let submitted = pipeline.submit([.riskModeChanged(change)]) { result in
                switch result {
                case .success(let seqs):
                    var m = metadata
                    if let seqs { m["journal.seq"] = "\(seqs.lowerBound)" }
                    logger.warning("risk: trading mode changed", metadata: m)
                case .failure(let error):
                    var m = metadata
                    m["error"] = "\(error)"
                    logger.error("risk: trading mode change not journaled (the term is ending; the next leader restores the journaled mode)", metadata: m)
                }
            }
            if let refused = submitted.refused.first {
                var m = metadata
                m["error"] = "\(refused.error)"
                logger.error("risk: trading mode change refused by the fold", metadata: m)
            } else {
                state.withLock { $0.seenChange = change }
            }
        }
        return outputs
    }

    /// Periodic evaluation (stale data, P&L limits), after two steps that need no clock of their own:
    /// a mode change someone else journaled (a global command) is adopted, and a passed
    /// ``DayRoll`` feeds the engine `dayRolled`, so the day's P&L starts over. Returns everything the
    /// engine said since the last call; breaches and position restrictions are logged here, mode
    /// changes by ``evaluate(pipeline:now:)`` once journaled.
    public func evaluate(state ledger: borrowing TradingState, now: Timestamp) -> [RiskOutput] {
        let copy = copy ledger
        let dayRoll = self.dayRoll
        let (outputs, adopted, rolledTo) = state.withLock { st -> ([RiskOutput], RiskModeChange?, Int64?) in
            var adopted: RiskModeChange?
            if copy.lastRiskModeChange != st.seenChange {
                st.seenChange = copy.lastRiskModeChange
                let pending = st.outputs.contains { if case .modeChanged = $0 { true } else { false } }
                if !pending, copy.riskMode != st.engine.mode {
                    st.engine.restore(mode: copy.riskMode)
                    adopted = copy.lastRiskModeChange
                }
            }
            let day = dayRoll.day(of: now)
            var rolledTo: Int64?
            if let last = st.day, day > last {
                st.outputs += st.engine.handle(.dayRolled(startOfDayPnL: nil, at: now))
                rolledTo = day
            }
            st.day = Swift.max(st.day ?? day, day)
            st.outputs += st.engine.evaluate(state: copy, marks: st.marks, now: now)
            st.effective = st.engine.effectiveMode(state: copy)
            defer { st.outputs.removeAll() }
            return (st.outputs, adopted, rolledTo)
        }
        if let adopted {
            logger.warning("risk: trading mode taken from the journal", metadata: [
                "risk.to": "\(adopted.to)", "risk.rule": "\(adopted.rule)", "risk.reason": "\(adopted.reason)"])
        }
        if let rolledTo {
            logger.info("risk: trading day rolled; daily loss and drawdown start over", metadata: ["risk.day": "\(rolledTo)", "risk.day_roll_utc": "\(dayRoll)"])
        }
        // Breaches and restrictions are not journaled: they carry the seq of the state they were found in.
        let seq = copy.eventCount
        for o in outputs {
            switch o {
            case .modeChanged:
                break  // logged with its journal seq by evaluate(pipeline:now:)
            case .breach(let rule, let reason, _):
                logger.warning("risk: breach", metadata: ["risk.rule": "\(rule)", "risk.reason": "\(reason)", "journal.seq": "\(seq)"])
            case .positionRestricted(let key, let rule, let reason, _):
                logger.warning("risk: position restricted to reducing", metadata: [
                    "risk.position": "\(key)", "risk.rule": "\(rule)", "risk.reason": "\(reason)", "journal.seq": "\(seq)"])
            case .positionReleased(let key, _):
                logger.info("risk: position restriction lifted", metadata: ["risk.position": "\(key)", "journal.seq": "\(seq)"])
            }
        }
        return outputs
    }
}

/// Tells the risk engine when a venue session's connection drops (its disconnect-storm breaker).
final class RiskSessionWatcher: ChannelInboundHandler, Sendable {
    typealias InboundIn = FIXInbound
    typealias InboundOut = FIXInbound
    let risk: NodeRisk
    let venue: String
    init(risk: NodeRisk, venue: String) {
        self.risk = risk
        self.venue = venue
    }
    func channelInactive(context: ChannelHandlerContext) {
        risk.record(.venueDisconnected(venue: venue, at: FIXClock.now().utc))
        context.fireChannelInactive()
    }
}
