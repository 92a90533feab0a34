import TandemCore

/// Builders shared by the tests: one fixed sample of every event kind, and random events of any kind.
enum Fixtures {
    static let t0 = Timestamp(nanosecondsSinceEpoch: 1_700_000_000_123_456_789)
    static let aapl = Instrument(id: InstrumentID(7), symbol: "AAPL", venue: "XNAS", tickSize: Price(units: 1_000_000),
                                 lotSize: Quantity(units: 100_000_000), currency: .usd, calendar: "XNYS")
    static let acct = AccountID("ACC1")

    static func request(_ id: String = "C1", side: Side = .buy, quantity: Int64 = 10, instrument: InstrumentID = aapl.id) -> OrderRequest {
        OrderRequest(clOrdID: ClOrdID(id), account: acct, instrument: instrument, side: side,
                     type: .limit(Price(units: 101_25_000_000)), timeInForce: .day,
                     quantity: Quantity(units: quantity * 100_000_000))
    }

    static func px(_ s: String) -> Price { (try? Price(s)) ?? .zero }
    static func qty(_ s: String) -> Quantity { (try? Quantity(s)) ?? .zero }
    static func usd(_ s: String) -> Money { (try? Money(s, .usd)) ?? .zero(.usd) }

    /// One event of every kind, with fixed field values (also the golden-bytes inputs).
    static func sampleEvents() -> [JournalEvent] {
        let t = t0
        let id = ClOrdID("C1")
        let exec = Execution(clOrdID: id, execID: "E1", quantity: Quantity(units: 300_000_000), price: Price(units: 101_25_000_000),
                             fee: Money(units: 1_050_000, currency: .usd), at: t)
        let events: [JournalEvent] = [
            .instrumentDefined(aapl, at: t),
            .orderIntent(OrderIntent(request: request(), decision: .accepted, at: t)),
            .orderAcknowledged(clOrdID: id, venueOrderID: "V1", at: t),
            .partialFill(exec),
            .fill(exec),
            .cancelRequested(clOrdID: id, at: t),
            .cancelAccepted(clOrdID: id, at: t),
            .cancelRejected(clOrdID: id, reason: "late", at: t),
            .replaceRequested(clOrdID: id, replacement: ReplaceRequest(newClOrdID: ClOrdID("C2"), quantity: Quantity(units: 2_000_000_000),
                                                                        type: .stopLimit(stop: Price(units: 100_00_000_000), limit: Price(units: 99_00_000_000))), at: t),
            .replaceAccepted(clOrdID: id, at: t),
            .replaceRejected(clOrdID: id, reason: "no", at: t),
            .orderRejected(clOrdID: id, reason: "band", at: t),
            .orderExpired(clOrdID: id, at: t),
            .orderSuspended(clOrdID: id, at: t),
            .orderResumed(clOrdID: id, at: t),
            .fixSessionState(FixSessionState(sessionID: "S", lastInboundSequence: 5, lastOutboundSequence: 9, at: t)),
            .fixOutboundMessage(FixOutboundMessage(sessionID: "S", sequence: 10, raw: [0x38, 0x3D, 0x01], at: t)),
            .leaderElected(epoch: 3, nodeID: "node-a", at: t),
            .riskCommand(RiskCommand(action: .halt, scope: .account(acct), issuedBy: "ops", signature: [0xDE, 0xAD], at: t)),
            .reconciliationCorrection(ReconciliationCorrection(account: acct, instrument: aapl.id, quantity: Quantity(units: -500_000_000),
                                                               price: Price(units: 100_00_000_000), reason: "stmt", at: t)),
            .snapshotMarker(journalSequence: 1000, at: t),
            .corporateAction(CorporateActionEvent(instrument: aapl.id, action: .split((try? Ratio(4, 1)) ?? .one), at: t)),
            .riskModeChanged(RiskModeChange(from: .active, to: .halted, rule: "max_daily_loss", reason: "loss", at: t)),
        ]
        return events
    }

    // MARK: random values

    static func string(_ rng: inout SplitMix64) -> String {
        let alphabet: [String] = ["A", "b", "7", "-", " ", "é", "日", "€", "\u{1}", "🚀", "_"]
        return String((0..<rng.below(12)).map { _ in alphabet[rng.below(alphabet.count)] }.joined())
    }

    static func int64(_ rng: inout SplitMix64) -> Int64 {
        switch rng.below(4) {
        case 0: Int64(bitPattern: rng.next())
        case 1: Int64(rng.below(1_000_000)) - 500_000
        case 2: [Int64.min, Int64.max, 0, -1, 1][rng.below(5)]
        default: Int64(rng.below(100_000)) * 1_000_000
        }
    }

    static func bytes(_ rng: inout SplitMix64) -> [UInt8] { (0..<rng.below(40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    static func ts(_ rng: inout SplitMix64) -> Timestamp { Timestamp(nanosecondsSinceEpoch: int64(&rng)) }
    static func price(_ rng: inout SplitMix64) -> Price { Price(units: int64(&rng)) }
    static func quantity(_ rng: inout SplitMix64) -> Quantity { Quantity(units: int64(&rng)) }
    static func currency(_ rng: inout SplitMix64) -> Currency { [Currency.usd, .eur, .jpy, .usdt][rng.below(4)] }
    static func money(_ rng: inout SplitMix64) -> Money { Money(units: int64(&rng), currency: currency(&rng)) }
    static func ratio(_ rng: inout SplitMix64) -> Ratio { (try? Ratio(Int64(1 + rng.below(1000)), Int64(1 + rng.below(1000)))) ?? .one }
    static func clOrdID(_ rng: inout SplitMix64) -> ClOrdID { ClOrdID(string(&rng)) }

    static func orderType(_ rng: inout SplitMix64) -> OrderType {
        switch rng.below(4) {
        case 0: .market
        case 1: .limit(price(&rng))
        case 2: .stop(price(&rng))
        default: .stopLimit(stop: price(&rng), limit: price(&rng))
        }
    }

    static func tif(_ rng: inout SplitMix64) -> TimeInForce {
        switch rng.below(5) {
        case 0: .day
        case 1: .goodTillCancel
        case 2: .immediateOrCancel
        case 3: .fillOrKill
        default: .goodTillDate(ts(&rng))
        }
    }

    static func randomRequest(_ rng: inout SplitMix64) -> OrderRequest {
        OrderRequest(clOrdID: clOrdID(&rng), account: AccountID(string(&rng)), instrument: InstrumentID(UInt32(truncatingIfNeeded: rng.next())),
                     side: Side.allCases[rng.below(3)], type: orderType(&rng), timeInForce: tif(&rng), quantity: quantity(&rng))
    }

    static func execution(_ rng: inout SplitMix64) -> Execution {
        Execution(clOrdID: clOrdID(&rng), execID: string(&rng), quantity: quantity(&rng), price: price(&rng), fee: money(&rng), at: ts(&rng))
    }

    /// A random event of the given kind with arbitrary (not necessarily foldable) field values.
    static func randomEvent(_ kind: JournalEventKind, _ rng: inout SplitMix64) -> JournalEvent {
        let at = ts(&rng)
        switch kind {
        case .instrumentDefined:
            return .instrumentDefined(Instrument(id: InstrumentID(UInt32(truncatingIfNeeded: rng.next())), symbol: string(&rng), venue: string(&rng),
                                                 tickSize: price(&rng), lotSize: quantity(&rng), multiplier: ratio(&rng),
                                                 currency: currency(&rng), calendar: string(&rng)), at: at)
        case .orderIntent:
            let decision: RiskDecision = rng.below(2) == 0 ? .accepted : .rejected(rule: string(&rng), reason: string(&rng))
            return .orderIntent(OrderIntent(request: randomRequest(&rng), decision: decision, at: at))
        case .orderAcknowledged: return .orderAcknowledged(clOrdID: clOrdID(&rng), venueOrderID: string(&rng), at: at)
        case .partialFill: return .partialFill(execution(&rng))
        case .fill: return .fill(execution(&rng))
        case .cancelRequested: return .cancelRequested(clOrdID: clOrdID(&rng), at: at)
        case .cancelAccepted: return .cancelAccepted(clOrdID: clOrdID(&rng), at: at)
        case .cancelRejected: return .cancelRejected(clOrdID: clOrdID(&rng), reason: string(&rng), at: at)
        case .replaceRequested:
            let r = ReplaceRequest(newClOrdID: clOrdID(&rng), quantity: quantity(&rng), type: rng.below(2) == 0 ? nil : orderType(&rng))
            return .replaceRequested(clOrdID: clOrdID(&rng), replacement: r, at: at)
        case .replaceAccepted: return .replaceAccepted(clOrdID: clOrdID(&rng), at: at)
        case .replaceRejected: return .replaceRejected(clOrdID: clOrdID(&rng), reason: string(&rng), at: at)
        case .orderRejected: return .orderRejected(clOrdID: clOrdID(&rng), reason: string(&rng), at: at)
        case .orderExpired: return .orderExpired(clOrdID: clOrdID(&rng), at: at)
        case .orderSuspended: return .orderSuspended(clOrdID: clOrdID(&rng), at: at)
        case .orderResumed: return .orderResumed(clOrdID: clOrdID(&rng), at: at)
        case .fixSessionState:
            return .fixSessionState(FixSessionState(sessionID: string(&rng), lastInboundSequence: rng.next(), lastOutboundSequence: rng.next(), at: at))
        case .fixOutboundMessage:
            return .fixOutboundMessage(FixOutboundMessage(sessionID: string(&rng), sequence: rng.next(), raw: bytes(&rng), at: at))
        case .leaderElected: return .leaderElected(epoch: rng.next(), nodeID: string(&rng), at: at)
        case .riskCommand:
            let scope: RiskScope = switch rng.below(3) {
            case 0: .global
            case 1: .account(AccountID(string(&rng)))
            default: .instrument(InstrumentID(UInt32(truncatingIfNeeded: rng.next())))
            }
            return .riskCommand(RiskCommand(action: RiskAction.allCases[rng.below(4)], scope: scope, issuedBy: string(&rng), signature: bytes(&rng), at: at))
        case .reconciliationCorrection:
            return .reconciliationCorrection(ReconciliationCorrection(account: AccountID(string(&rng)), instrument: InstrumentID(UInt32(rng.below(1000))),
                                                                      quantity: quantity(&rng), price: price(&rng), reason: string(&rng), at: at))
        case .snapshotMarker: return .snapshotMarker(journalSequence: rng.next(), at: at)
        case .corporateAction:
            let action: CorporateAction = switch rng.below(3) {
            case 0: .split(ratio(&rng))
            case 1: .cashDividend(perUnit: money(&rng))
            default: .symbolChange(newSymbol: string(&rng))
            }
            return .corporateAction(CorporateActionEvent(instrument: InstrumentID(UInt32(rng.below(1000))), action: action, at: at))
        case .riskModeChanged:
            return .riskModeChanged(RiskModeChange(from: TradingMode.allCases[rng.below(3)], to: TradingMode.allCases[rng.below(3)],
                                                   rule: string(&rng), reason: string(&rng), at: at))
        }
    }
}
