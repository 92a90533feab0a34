import Synchronization
import TandemCore
import TandemExecution
import TandemFIX
import TandemStrategy

/// Runs one strategy on a leader: market updates, its account's order updates and fills, and timers
/// in; its actions become order-manager commands. Callbacks are serialized by one mutex; the
/// strategy's actions are carried out after it is released (a command folds events, which come back
/// here as order updates).
///
/// Nothing reaches the strategy before ``start()`` (DESIGN failover step 7: the strategy resumes only
/// once the venue confirmed every open order). Until then the latest market update of each instrument
/// is kept and handed to the strategy right after its `start`; order updates are not (the context at
/// `start` holds every order as the journal has it then). Before this gate, a leader's strategy saw the
/// feed as soon as the term began, quoted before the FIX session was up, had the order journaled as
/// rejected (`venue_unavailable`), and the market maker's reject backoff then kept it from quoting for
/// 1 s after the takeover.
public final class StrategyRunner: Sendable {
    private struct State {
        var strategy: any Strategy
        var timers: [String: Duration] = [:]
        var started = false
        /// Before `start`, and while `start` hands them over (`draining`): the latest update of each
        /// instrument, delivered right after the strategy's `start`, in order with later ones.
        var latestMarket: [InstrumentID: MarketUpdate] = [:]
        var draining = false
        var stopped = false
    }

    private let state: Mutex<State>
    private let account: AccountID
    private let pipeline: JournalPipeline
    private let submit: @Sendable (OrderManager.Command) -> Void

    public init(strategy: any Strategy, account: AccountID, pipeline: JournalPipeline,
                submit: @escaping @Sendable (OrderManager.Command) -> Void) {
        self.state = Mutex(State(strategy: strategy))
        self.account = account
        self.pipeline = pipeline
        self.submit = submit
    }

    /// The strategy's view of the ledger now.
    public func context() -> StrategyContext {
        let now = FIXClock.now().utc
        let account = self.account
        return pipeline.read { ledger in
            var positions: [InstrumentID: Quantity] = [:]
            for (key, p) in ledger.state.positions where key.account == account { positions[key.instrument] = p.netQuantity }
            return StrategyContext(now: now, account: account, instruments: ledger.state.instruments, positions: positions,
                                   openOrders: ledger.state.openOrders.filter { $0.request.account == account })
        }
    }

    /// Starts the strategy (once): its `start`, then the market as it is now.
    public func start() {
        run(starting: true) { s, c in s.start(context: c) }
        while true {
            let pending = state.withLock { st -> [MarketUpdate] in
                defer { st.latestMarket = [:] }
                if st.latestMarket.isEmpty { st.draining = false }
                return st.latestMarket.sorted { $0.key < $1.key }.map(\.value)
            }
            if pending.isEmpty { return }
            for update in pending { run { s, c in s.onMarketData(update, context: c) } }
        }
    }

    /// No more callbacks (a draining or stepping-down node).
    public func stop() { state.withLock { $0.stopped = true } }

    public func onMarket(_ update: MarketUpdate) {
        let early = state.withLock { st -> Bool in
            guard !st.started || st.draining else { return false }
            st.latestMarket[update.instrument] = update
            return true
        }
        if !early { run { s, c in s.onMarketData(update, context: c) } }
    }

    /// Feeds the events the engine folded; only this account's order updates and fills reach the strategy.
    public func onEvents(_ events: [JournalEvent]) {
        for event in events {
            guard let id = event.clOrdID else { continue }
            guard let order = pipeline.read({ $0.state.order(id) }), order.request.account == account else { continue }
            switch event {
            case .orderIntent:
                continue
            case .fill(let e), .partialFill(let e):
                run { s, c in s.onFill(e, order: order, context: c) + s.onOrderUpdate(order, context: c) }
            default:
                run { s, c in s.onOrderUpdate(order, context: c) }
            }
        }
    }

    /// Fires due timers.
    public func tick(mono: Duration) {
        let due = state.withLock { st -> [String] in
            let ids = st.timers.filter { $0.value <= mono }.map(\.key).sorted()
            for id in ids { st.timers[id] = nil }
            return ids
        }
        for id in due { run { s, c in s.onTimer(id: id, context: c) } }
    }

    /// Runs a callback of a started strategy (`starting`: the `start` callback itself, which starts it).
    private func run(starting: Bool = false, _ body: (inout any Strategy, StrategyContext) -> [StrategyAction]) {
        let context = context()
        let actions = state.withLock { st -> [StrategyAction] in
            guard !st.stopped, st.started != starting else { return [] }
            if starting { st.draining = true }
            st.started = true
            return body(&st.strategy, context)
        }
        let mono = FIXClock.now().monotonic
        for action in actions {
            switch action {
            case .submit(let o):
                submit(.submit(instrument: o.instrument, side: o.side, type: o.type, timeInForce: o.timeInForce, quantity: o.quantity))
            case .cancel(let id):
                submit(.cancel(id))
            case .replace(let id, let quantity, let type):
                submit(.replace(id, quantity: quantity, type: type))
            case .setTimer(let id, let after):
                state.withLock { $0.timers[id] = mono + after }
            }
        }
    }
}
