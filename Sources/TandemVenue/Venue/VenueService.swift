import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TandemCore
import TandemFIX
import TandemMarketData

/// `tandem venue` as a `Service`: the FIX acceptor (order entry, drop copy, risk sessions), the
/// matching engine behind ``VenueCore``, the market-data feed, and the synthetic market.
///
/// Every input goes through one lock around the core, and its outputs (FIX writes, feed packets)
/// are issued inside it, so execution reports and feed messages leave in engine order.
public final class VenueService: Service, Sendable {
    public let configuration: VenueConfiguration
    public let acceptor: FIXAcceptor<InMemoryFIXStore>
    public let feed: FeedServer
    private let core: Mutex<VenueCore>
    private let market: Mutex<SyntheticMarket?>
    private let logger: Logger

    public init(configuration: VenueConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let engineConfig = try configuration.engineConfig()
        let engine = try MatchingEngine(config: engineConfig)
        let instruments = configuration.instruments.map { (id: InstrumentID($0.id), symbol: $0.symbol) }
        core = Mutex(VenueCore(engine: engine, instruments: instruments, sessions: configuration.sessions))
        if configuration.market.enabled {
            let refs = try configuration.instruments.map { i in
                (id: InstrumentID(i.id), tick: try Price(i.tickSize), lot: try Quantity(i.lotSize), reference: try Price(i.referencePrice))
            }
            market = Mutex(SyntheticMarket(config: configuration.market, instruments: refs))
        } else {
            market = Mutex(nil)
        }
        let sessions = configuration.sessions.map {
            FIXSessionConfig(role: .acceptor, senderCompID: configuration.compID, targetCompID: $0.compID,
                             heartBtInt: configuration.heartBtIntSeconds)
        }
        feed = FeedServer(configuration: .init(host: configuration.host, recoveryPort: configuration.feedRecoveryPort), logger: logger)
        let box = VenueBox()
        acceptor = FIXAcceptor(configuration: .init(host: configuration.host, port: configuration.fixPort, sessions: sessions),
                               makeStore: { _ in InMemoryFIXStore() }, logger: logger,
                               application: { [VenueFIXHandler(box: box)] })
        box.set(self)
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
                }
            }
        }
    }

    public func topOfBook(_ instrument: InstrumentID) -> TopOfBook? { core.withLock { $0.engine.topOfBook(instrument) } }

    /// The venue's view of one order of an order-entry session (tests and drills compare it with the node's).
    public func order(session: String, clOrdID: ClOrdID) -> OrderStatusReport? {
        core.withLock { $0.engine.order(session: SessionID(session), clOrdID: clOrdID) }
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.acceptor.run() }
            group.addTask { try await self.feed.run() }
            if configuration.market.enabled {
                group.addTask {
                    let step = Duration.milliseconds(max(1, self.configuration.market.stepMillis))
                    await cancelWhenGracefulShutdown {
                        while !Task.isCancelled {
                            let commands = self.market.withLock { $0?.step() ?? [] }
                            self.withCore { core, now in
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
                    }
                }
            }
            let fixPort = try await acceptor.listeningPort()
            let feedPort = try await feed.recoveryPort()
            logger.info("venue ready", metadata: ["venue.fix": "\(configuration.host):\(fixPort)",
                                                  "venue.feedRecovery": "\(configuration.host):\(feedPort)",
                                                  "venue.instruments": "\(configuration.instruments.map(\.symbol))"])
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

/// Sits behind the FIX handler on every venue connection: application messages into the core.
final class VenueFIXHandler: ChannelInboundHandler {
    typealias InboundIn = FIXInbound
    private let box: VenueBox
    private var compID: String?

    init(box: VenueBox) { self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let inbound = unwrapInboundIn(data)
        if let compID, let venue = box.service {
            venue.withCore { core, now in core.received(inbound, from: compID, at: now) }
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let notice = event as? FIXSessionNotice {
            if let key = notice.session { compID = key.initiatorCompID }
            if case .loggedOut = notice.event, let compID, let venue = box.service {
                venue.withCore { core, now in core.disconnected(compID, at: now) }
            }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
