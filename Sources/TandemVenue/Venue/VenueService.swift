import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TandemCore
import TandemFIX
import TandemMarketData

/// `tandem venue` as a `Service`: the FIX acceptor (order entry, drop copy, risk sessions), the
/// matching engine behind ``VenueCore``, the market-data feed, the synthetic market, and the
/// state file.
///
/// Every input goes through one lock around the core, and its outputs (FIX writes, feed packets)
/// are issued inside it, so execution reports and feed messages leave in engine order.
public final class VenueService: Service, Sendable {
    public let configuration: VenueConfiguration
    public let acceptor: FIXAcceptor<VenueFIXStore>
    public let feed: FeedServer
    /// How this start began: restored from the state file, or fresh (also the Logon text).
    public let startNote: String
    private let core: Mutex<VenueCore>
    private let market: Mutex<SyntheticMarket?>
    /// Each session's store, shared with its live connection, by initiator CompID.
    private let stores: [String: VenueFIXStore]
    /// Serialises state file writes (taken before the core's lock, never inside it).
    private let saving = Mutex<UInt64>(0)
    private let stopping = Mutex(false)
    private let logger: Logger

    public init(configuration: VenueConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let engineConfig = try configuration.engineConfig()
        // Everything that can fail comes before the acceptor and the feed (their bind promises must be run).
        try configuration.validateFaults()
        let instruments = configuration.instruments.map { (id: InstrumentID($0.id), symbol: $0.symbol) }
        var saved: VenueStateFile?
        if let path = configuration.stateFile { saved = try VenueStateFile.load(path: path) }
        let now = FIXClock.now().utc
        var restoredBook: [VenueEvent] = []
        var stores: [String: VenueFIXStore] = [:]
        var market: SyntheticMarket?
        if configuration.market.enabled {
            let refs = try configuration.instruments.map { i in
                (id: InstrumentID(i.id), tick: try Price(i.tickSize), lot: try Quantity(i.lotSize), reference: try Price(i.referencePrice))
            }
            var replay: MarketReplay?
            if let r = configuration.market.replay {
                let symbols = Dictionary(instruments.map { ($0.symbol, $0.id) }, uniquingKeysWith: { a, _ in a })
                replay = try MarketReplay.load(path: r.csv, symbols: symbols, speed: r.speed ?? "1", loop: r.loop ?? false)
            }
            market = SyntheticMarket(config: configuration.market, instruments: refs, replay: replay)
        }
        if let saved, let path = configuration.stateFile {
            let engine = try MatchingEngine(config: engineConfig, restoring: saved.engine, book: &restoredBook)
            core = Mutex(VenueCore(engine: engine, instruments: instruments, sessions: configuration.sessions, saved: saved.core))
            let gap = saved.clean ? 0 : max(0, configuration.stateSeqGapAfterCrash)
            for s in saved.sessions { stores[s.compID] = VenueFIXStore(saved: s, senderGap: gap) }
            if let m = saved.market { market?.restore(m) }
            startNote = "venue state restored from \(path) written at \(saved.writtenAt)" + (saved.clean ? "" : " (after a crash: MsgSeqNum +\(gap))")
        } else {
            core = Mutex(VenueCore(engine: try MatchingEngine(config: engineConfig), instruments: instruments, sessions: configuration.sessions))
            startNote = "venue state reset at \(UTCTime.format(now))"
                + (configuration.stateFile == nil ? " (no state file)" : " (no state file at \(configuration.stateFile!) yet)")
        }
        for s in configuration.sessions where stores[s.compID] == nil { stores[s.compID] = VenueFIXStore() }
        self.stores = stores
        self.market = Mutex(market)
        let note = startNote
        let sessions = configuration.sessions.map {
            FIXSessionConfig(role: .acceptor, senderCompID: configuration.compID, targetCompID: $0.compID,
                             heartBtInt: configuration.heartBtIntSeconds, logonText: note)
        }
        // The feed continues its sequence (past a crash window, like the FIX seqs), so a subscriber sees
        // a gap and recovers by snapshot instead of taking reused numbers for new messages.
        let feedFirstSeq = saved.map { $0.feedNextSeq + ($0.clean ? 0 : UInt64(max(0, configuration.stateSeqGapAfterCrash))) } ?? 1
        feed = FeedServer(configuration: .init(host: configuration.host, recoveryPort: configuration.feedRecoveryPort, firstSeq: max(1, feedFirstSeq)),
                          logger: logger)
        if saved != nil {
            // Every book starts over (clear), then the restored resting orders are its first messages.
            var messages = instruments.map { FeedMessage(kind: .clearBook, instrument: $0.id, time: now) }
            messages += restoredBook.compactMap { e -> FeedMessage? in
                if case .book(let u) = e, case .added(let id, let q) = u.change {
                    return .add(u.instrument, order: id.rawValue, u.side, price: u.price, quantity: q, at: now)
                }
                return nil
            }
            feed.publish(messages, at: now)
        }
        let box = VenueBox()
        let compID = configuration.compID
        let keyed = Dictionary(uniqueKeysWithValues: stores.map {
            (FIXAcceptorRegistry.SessionKey(initiatorCompID: $0.key, acceptorCompID: compID), $0.value)
        })
        acceptor = FIXAcceptor(configuration: .init(host: configuration.host, port: configuration.fixPort, sessions: sessions),
                               stores: keyed, makeStore: { _ in VenueFIXStore() }, logger: logger,
                               application: { [VenueFIXHandler(box: box)] })
        box.set(self)
        applyConfiguredFaults()
        logger.info("venue state", metadata: ["venue.state": "\(note)"])
    }

    /// The `faults` section: FIX faults per session, reject percentages, feed faults.
    private func applyConfiguredFaults() {
        guard let faults = configuration.faults else { return }
        for (compID, f) in faults.sessions ?? [:] {
            acceptor.setFaults(f.fix, for: .init(initiatorCompID: compID, acceptorCompID: configuration.compID))
            if let p = f.rejectPercent { core.withLock { $0.setRejectPercent(p, for: compID) } }
            logger.warning("venue fault from the configuration", metadata: ["venue.session": "\(compID)", "venue.fault": "\(f)"])
        }
        let paused = faults.feedPaused ?? false
        let drops = faults.feedDropNext ?? [:]
        if paused || !drops.isEmpty {
            feed.updateFaults {
                $0.paused = paused
                for (line, n) in drops { $0.dropNext[line == "A" ? .a : .b, default: 0] += n }
            }
        }
    }

    /// Applies `body` to the core and sends its outputs, under the core's lock.
    func withCore(_ body: (inout VenueCore, Timestamp) -> VenueOutput) {
        core.withLock { core in
            let now = FIXClock.now().utc
            let out = body(&core, now)
            for (to, message) in out.fix {
                acceptor.write(message, to: .init(initiatorCompID: to, acceptorCompID: configuration.compID))
            }
            if !out.feed.isEmpty { feed.publish(out.feed, at: now) }
            for c in out.control {
                logger.warning("venue fault/control", metadata: ["venue.control": "\(c)"])
                switch c {
                case .disconnect(let compID): acceptor.disconnect(.init(initiatorCompID: compID, acceptorCompID: configuration.compID))
                case .feedDrop(let line, let n): feed.updateFaults { $0.dropNext[line, default: 0] += n }
                case .feedPaused(let paused): feed.updateFaults { $0.paused = paused }
                case .fixOneShot(let compID, let fault, let n):
                    acceptor.inject(fault, count: n, on: .init(initiatorCompID: compID, acceptorCompID: configuration.compID))
                case .fixDelay(let compID, let ms):
                    let key = FIXAcceptorRegistry.SessionKey(initiatorCompID: compID, acceptorCompID: configuration.compID)
                    var f = acceptor.faults(for: key)
                    f.delay = .milliseconds(ms)
                    acceptor.setFaults(f, for: key)
                }
            }
        }
    }

    public func topOfBook(_ instrument: InstrumentID) -> TopOfBook? { core.withLock { $0.engine.topOfBook(instrument) } }

    /// The FIX and feed-recovery ports from the `venue ready` log line (`venue.fix=HOST:PORT
    /// venue.feedRecovery=HOST:PORT`): how a process that started `tandem venue` on port 0 learns them.
    public static func readyPorts(inLog log: String) -> (fix: Int, feed: Int)? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains("venue ready") }) else { return nil }
        func port(_ key: String) -> Int? {
            let prefix = key + "="
            guard let token = line.split(separator: " ").first(where: { $0.hasPrefix(prefix) }) else { return nil }
            return token.dropFirst(prefix.count).split(separator: ":").last.flatMap { Int($0) }
        }
        guard let fix = port("venue.fix"), let feed = port("venue.feedRecovery") else { return nil }
        return (fix, feed)
    }

    /// The venue's view of one order of an order-entry session (tests and drills compare it with the node's).
    public func order(session: String, clOrdID: ClOrdID) -> OrderStatusReport? {
        core.withLock { $0.engine.order(session: SessionID(session), clOrdID: clOrdID) }
    }

    func store(_ compID: String) -> VenueFIXStore? { stores[compID] }

    /// Writes the state file now (when one is configured); `clean` marks a write after which nothing is sent.
    /// Safe from any thread that holds none of the venue's locks.
    public func saveState(clean: Bool = false) {
        guard let path = configuration.stateFile else { return }
        saving.withLock { count in
            let file = core.withLock { core in
                VenueStateFile(format: VenueStateFile.formatName, version: VenueStateFile.currentVersion,
                               writtenAt: UTCTime.format(FIXClock.now().utc), clean: clean,
                               sessions: stores.keys.sorted().map { stores[$0]!.saved(compID: $0) },
                               core: core.saved, engine: core.engine.snapshot(), market: market.withLock { $0?.saved },
                               feedNextSeq: feed.nextSeq)
            }
            do {
                try file.write(path: path)
                count += 1
            } catch {
                logger.error("venue state not written", metadata: ["error": "\(error)"])
            }
        }
    }

    /// How many times the state file has been written by this process.
    public var stateWrites: Int { Int(saving.withLock { $0 }) }

    /// What a graceful shutdown does: stop accepting, log every session out; ``run()`` then stops
    /// the market and the feed, writes the state file a last time and returns.
    public func shutdown() {
        stopping.withLock { $0 = true }
        acceptor.shutdown()
    }

    private var isStopping: Bool { stopping.withLock { $0 } }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await runParts()
        } onGracefulShutdown: {
            self.shutdown()
        }
        let clean = configuration.sessions.allSatisfy {
            !acceptor.isLoggedOn(.init(initiatorCompID: $0.compID, acceptorCompID: configuration.compID))
        }
        saveState(clean: clean)
        logger.info("venue stopped", metadata: ["venue.stateFile": "\(configuration.stateFile ?? "none")", "venue.clean": "\(clean)"])
    }

    private enum Part: Sendable { case acceptor, other }

    private func runParts() async throws {
        try await withThrowingTaskGroup(of: Part.self) { group in
            group.addTask { try await self.acceptor.run(); return .acceptor }
            group.addTask { try await self.feed.run(); return .other }
            if configuration.market.enabled {
                group.addTask {
                    let step = Duration.milliseconds(max(1, self.configuration.market.stepMillis))
                    let start = ContinuousClock.now
                    while !Task.isCancelled, !self.isStopping {
                        self.withCore { core, now in
                            // The market steps under the core's lock, so a state file sees its quotes and the book agree.
                            let commands = self.market.withLock { $0?.step(after: ContinuousClock.now - start) ?? [] }
                            var all = VenueOutput()
                            for c in commands {
                                let o = core.handle(c, at: now)
                                all.fix += o.fix
                                all.feed += o.feed
                            }
                            return all
                        }
                        try? await Task.sleep(for: step)
                    }
                    return .other
                }
            }
            if configuration.stateFile != nil {
                group.addTask {
                    let interval = Duration.milliseconds(max(10, self.configuration.stateIntervalMillis))
                    while !Task.isCancelled, !self.isStopping {
                        try? await Task.sleep(for: interval)
                        if !Task.isCancelled, !self.isStopping { self.saveState() }
                    }
                    return .other
                }
            }
            let fixPort = try await acceptor.listeningPort()
            let feedPort = try await feed.recoveryPort()
            logger.info("venue ready", metadata: ["venue.fix": "\(configuration.host):\(fixPort)",
                                                  "venue.feedRecovery": "\(configuration.host):\(feedPort)",
                                                  "venue.instruments": "\(configuration.instruments.map(\.symbol))"])
            // The acceptor returns once shut down (its sessions logged out) or cancelled; then the rest
            // stops. The feed may stop first (it has its own graceful shutdown): keep waiting.
            while let part = try await group.next(), part != .acceptor {}
            stopping.withLock { $0 = true }
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}

/// Lets the acceptor's handler factory (made before `self` exists) reach the service.
/// Weak, so the service and its acceptor's handler factory do not keep each other alive.
final class VenueBox: Sendable {
    struct Ref { weak var service: VenueService? }
    private let ref = Mutex(Ref())
    var service: VenueService? { ref.withLock { $0.service } }
    func set(_ s: VenueService) { ref.withLock { $0.service = s } }
}

/// Sits behind the FIX handler on every venue connection: application messages into the core;
/// after each read, the session's inbound sequence is committed for the state file, which is
/// written at once after a logon or logout.
final class VenueFIXHandler: ChannelInboundHandler {
    typealias InboundIn = FIXInbound
    private let box: VenueBox
    private var compID: String?
    private var saveWanted = false

    init(box: VenueBox) { self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let inbound = unwrapInboundIn(data)
        if let compID, let venue = box.service {
            venue.withCore { core, now in core.received(inbound, from: compID, at: now) }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        commit()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        saveWanted = true
        commit()
        context.fireChannelInactive()
    }

    private func commit() {
        guard let compID, let venue = box.service else { return }
        venue.store(compID)?.commitTarget()
        if saveWanted {
            saveWanted = false
            venue.saveState()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let notice = event as? FIXSessionNotice {
            if let key = notice.session { compID = key.initiatorCompID }
            switch notice.event {
            case .loggedOn(_, let reset):
                saveWanted = true
                if reset, let compID, let venue = box.service { venue.withCore { core, _ in core.sessionReset(compID); return VenueOutput() } }
            case .loggedOut:
                saveWanted = true
                if let compID, let venue = box.service { venue.withCore { core, now in core.disconnected(compID, at: now) } }
            default:
                break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
