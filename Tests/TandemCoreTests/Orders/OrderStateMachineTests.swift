import Testing
import TandemCore

@Suite struct OrderStateMachineTests {
    enum Outcome: Equatable, CustomStringConvertible {
        case to(OrderStatus)
        case error(OrderError.Code)
        var description: String {
            switch self {
            case .to(let s): "→ \(s)"
            case .error(let c): "✗ \(c)"
            }
        }
    }

    static let share: Int64 = 100_000_000
    static let replacement = ReplaceRequest(newClOrdID: ClOrdID("C1-R"), quantity: Quantity(units: 20 * share))

    static func event(_ kind: OrderEvent.Kind) -> OrderEvent {
        switch kind {
        case .acknowledged: .acknowledged
        case .rejected: .rejected
        case .fill: .fill(quantity: Quantity(units: share), price: Price(units: 100 * share))
        case .cancelRequested: .cancelRequested
        case .canceled: .canceled
        case .cancelRejected: .cancelRejected
        case .replaceRequested: .replaceRequested(replacement)
        case .replaceAccepted: .replaceAccepted
        case .replaceRejected: .replaceRejected
        case .expired: .expired
        case .suspended: .suspended
        case .resumed: .resumed
        }
    }

    /// A path of events from pending-new into each state (order quantity 10).
    static func order(in status: OrderStatus) throws -> Order {
        let all = OrderEvent.fill(quantity: Quantity(units: 10 * share), price: Price(units: 100 * share))
        let path: [OrderEvent] = switch status {
        case .pendingNew: []
        case .new: [.acknowledged]
        case .partiallyFilled: [.acknowledged, event(.fill)]
        case .filled: [.acknowledged, all]
        case .pendingCancel: [.acknowledged, .cancelRequested]
        case .canceled: [.acknowledged, .cancelRequested, .canceled]
        case .pendingReplace: [.acknowledged, event(.replaceRequested)]
        case .replaced: [.acknowledged, event(.replaceRequested), .replaceAccepted]
        case .rejected: [.rejected]
        case .expired: [.acknowledged, .expired]
        case .suspended: [.acknowledged, .suspended]
        }
        var order = Order(request: Fixtures.request())
        for e in path { try order.apply(e) }
        #expect(order.status == status)
        return order
    }

    static let invalid = Outcome.error(.invalidTransition)
    static let pending = Outcome.error(.requestPending)
    static let working: [OrderEvent.Kind: Outcome] = [
        .acknowledged: invalid, .rejected: invalid, .fill: .to(.partiallyFilled), .cancelRequested: .to(.pendingCancel),
        .canceled: .to(.canceled), .cancelRejected: invalid, .replaceRequested: .to(.pendingReplace),
        .replaceAccepted: invalid, .replaceRejected: invalid, .expired: .to(.expired), .suspended: .to(.suspended), .resumed: invalid,
    ]

    /// The whole transition table: every (state, event) pair, stated independently of the implementation.
    static let table: [OrderStatus: [OrderEvent.Kind: Outcome]] = [
        .pendingNew: [
            .acknowledged: .to(.new), .rejected: .to(.rejected), .fill: .to(.partiallyFilled), .cancelRequested: .to(.pendingCancel),
            .canceled: .to(.canceled), .cancelRejected: invalid, .replaceRequested: invalid, .replaceAccepted: invalid,
            .replaceRejected: invalid, .expired: invalid, .suspended: invalid, .resumed: invalid,
        ],
        .new: working,
        .partiallyFilled: working,
        .pendingCancel: [
            .acknowledged: invalid, .rejected: invalid, .fill: .to(.pendingCancel), .cancelRequested: pending,
            .canceled: .to(.canceled), .cancelRejected: .to(.new), .replaceRequested: pending, .replaceAccepted: invalid,
            .replaceRejected: invalid, .expired: .to(.expired), .suspended: invalid, .resumed: invalid,
        ],
        .pendingReplace: [
            .acknowledged: invalid, .rejected: invalid, .fill: .to(.pendingReplace), .cancelRequested: pending,
            .canceled: .to(.canceled), .cancelRejected: invalid, .replaceRequested: pending, .replaceAccepted: .to(.replaced),
            .replaceRejected: .to(.new), .expired: .to(.expired), .suspended: invalid, .resumed: invalid,
        ],
        .suspended: [
            .acknowledged: invalid, .rejected: invalid, .fill: invalid, .cancelRequested: .to(.pendingCancel),
            .canceled: .to(.canceled), .cancelRejected: invalid, .replaceRequested: invalid, .replaceAccepted: invalid,
            .replaceRejected: invalid, .expired: .to(.expired), .suspended: invalid, .resumed: .to(.new),
        ],
    ]

    @Test(arguments: OrderStatus.allCases)
    func everyEventInEveryState(status: OrderStatus) throws {
        let start = try Self.order(in: status)
        for kind in OrderEvent.Kind.allCases {
            let expected = status.isFinal ? Outcome.error(.orderIsFinal) : try #require(Self.table[status]?[kind], "table lacks \(status)/\(kind)")
            var order = start
            let actual: Outcome
            do {
                try order.apply(Self.event(kind))
                actual = .to(order.status)
            } catch {
                actual = .error(error.code)
                #expect(order == start, "a refused event must leave the order unchanged")
                #expect(error.status == status && error.event == kind && error.clOrdID == start.clOrdID)
            }
            #expect(actual == expected, "\(status) + \(kind): expected \(expected), got \(actual)")
        }
    }

    @Test func overfillAndFillsAfterFinalStatesAreErrors() throws {
        var order = try Self.order(in: .partiallyFilled)
        #expect(throws: OrderError.self) { try order.apply(.fill(quantity: Quantity(units: 10 * Self.share), price: .zero)) }
        do { try order.apply(.fill(quantity: Quantity(units: 10 * Self.share), price: .zero)) } catch { #expect(error.code == .overfill) }
        do { try order.apply(.fill(quantity: .zero, price: .zero)) } catch { #expect(error.code == .invalidQuantity) }
        try order.apply(.fill(quantity: Quantity(units: 9 * Self.share), price: Price(units: 110 * Self.share)))
        #expect(order.status == .filled && order.leavesQuantity == .zero)
        #expect(order.averagePrice == Price(units: 109 * Self.share))
        do { try order.apply(Self.event(.fill)); Issue.record("fill after filled") } catch { #expect(error.code == .orderIsFinal) }
    }

    @Test func replaceOfFilledQuantityIsAnError() throws {
        var order = try Self.order(in: .new)
        try order.apply(.fill(quantity: Quantity(units: 4 * Self.share), price: Price(units: 100 * Self.share)))
        for q in [Int64(0), 3, 4] {
            let r = ReplaceRequest(newClOrdID: ClOrdID("R"), quantity: Quantity(units: q * Self.share))
            do { try order.apply(.replaceRequested(r)); Issue.record("replace to \(q)") } catch { #expect(error.code == .replaceBelowFilled) }
        }
        try order.apply(.replaceRequested(ReplaceRequest(newClOrdID: ClOrdID("R"), quantity: Quantity(units: 6 * Self.share))))
        try order.apply(.fill(quantity: Quantity(units: 2 * Self.share), price: Price(units: 100 * Self.share)))
        do { try order.apply(.replaceAccepted); Issue.record("accepted below filled") } catch { #expect(error.code == .replaceBelowFilled) }
        try order.apply(.replaceRejected)
        #expect(order.status == .partiallyFilled)
    }

    @Test func replaceCarriesCumulativeQuantityToTheSuccessor() throws {
        var order = try Self.order(in: .partiallyFilled)
        try order.apply(.replaceRequested(Self.replacement))
        try order.apply(.replaceAccepted)
        let next = try #require(order.successor())
        #expect(next.clOrdID == ClOrdID("C1-R") && next.replaces == ClOrdID("C1"))
        #expect(next.status == .partiallyFilled && next.filledQuantity == Quantity(units: Self.share))
        #expect(next.leavesQuantity == Quantity(units: 19 * Self.share))
    }

    @Test func cancelBeforeAckThenAckThenRejectOfCancel() throws {
        var order = Order(request: Fixtures.request())
        try order.apply(.cancelRequested)
        try order.apply(.acknowledged)
        try order.apply(.cancelRejected)
        #expect(order.status == .new)
        var unacked = Order(request: Fixtures.request())
        try unacked.apply(.cancelRequested)
        try unacked.apply(.rejected)
        #expect(unacked.status == .rejected)
    }

    @Test func fillCompletingDuringPendingCancelFillsTheOrder() throws {
        var order = try Self.order(in: .pendingCancel)
        try order.apply(.fill(quantity: Quantity(units: 10 * Self.share), price: Price(units: 100 * Self.share)))
        #expect(order.status == .filled)
    }

    @Test func statusCodesAreFIX() {
        #expect(OrderStatus.allCases.map(\.fixCode) == ["A", "0", "1", "2", "6", "4", "E", "5", "8", "C", "9"])
    }
}
