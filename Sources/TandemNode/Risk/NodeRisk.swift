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
/// its intent by the order manager (a refusal names its rule). Mode changes and breaches are logged
/// and counted; on HALTED the node stops its strategy and cancels its open orders (the way out is
/// never blocked: the engine accepts reducing orders in every mode).
public final class NodeRisk: PreTradeRisk {
    private struct State {
        var engine: RiskEngine
        var marks: [InstrumentID: Price] = [:]
        var outputs: [RiskOutput] = []
    }
    private let state: Mutex<State>
    private let logger: Logger

    public init(limits: RiskLimits, logger: Logger) {
        self.state = Mutex(State(engine: RiskEngine(limits: limits)))
        self.logger = logger
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

    public var mode: TradingMode { state.withLock { $0.engine.mode } }

    public func check(_ request: OrderRequest, state ledger: borrowing TradingState, now: Timestamp) -> RiskDecision {
        let copy = copy ledger
        return state.withLock { st in
            let (decision, outputs) = st.engine.check(request, state: copy, marks: st.marks, now: now)
            st.outputs += outputs
            return decision
        }
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

    /// Periodic evaluation (stale data, P&L limits); returns everything the engine said since the last call.
    public func evaluate(state ledger: borrowing TradingState, now: Timestamp) -> [RiskOutput] {
        let copy = copy ledger
        let outputs = state.withLock { st in
            st.outputs += st.engine.evaluate(state: copy, marks: st.marks, now: now)
            defer { st.outputs.removeAll() }
            return st.outputs
        }
        for o in outputs {
            switch o {
            case .modeChanged(let from, let to, let rule, let reason, _):
                logger.warning("risk: trading mode changed", metadata: ["risk.from": "\(from)", "risk.to": "\(to)", "risk.rule": "\(rule)", "risk.reason": "\(reason)"])
            case .breach(let rule, let reason, _):
                logger.warning("risk: breach", metadata: ["risk.rule": "\(rule)", "risk.reason": "\(reason)"])
            case .positionRestricted(let key, let rule, let reason, _):
                logger.warning("risk: position restricted to reducing", metadata: ["risk.position": "\(key)", "risk.rule": "\(rule)", "risk.reason": "\(reason)"])
            case .positionReleased(let key, _):
                logger.info("risk: position restriction lifted", metadata: ["risk.position": "\(key)"])
            }
        }
        return outputs
    }
}

/// Counts every new outbound FIX message for the risk engine's message-rate rule, then persists it
/// through the journal gate it wraps.
struct RiskCountingGate: FIXOutboundGate {
    let inner: any FIXOutboundGate
    let risk: NodeRisk
    func persist(_ message: FIXPersistedMessage, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        risk.record(.messageSent(at: FIXClock.now().utc))
        return inner.persist(message, on: eventLoop)
    }
    func mayWrite() -> Bool { inner.mayWrite() }
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
