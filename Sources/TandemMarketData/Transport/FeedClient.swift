import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import TandemCore

/// What a feed client reports, in order.
public enum FeedClientEvent: Sendable {
    /// Messages applied to the client's book, with their seqs, contiguous and in order.
    case delivered([(seq: UInt64, message: FeedMessage)])
    case notice(FeedHandler.Notice)
}

/// A feed client's health at one instant (``FeedClient/health()``).
public struct FeedHealth: Sendable, Hashable {
    /// A line is up when it delivered a packet (heartbeats count) within the handler's `staleAfter`.
    public var lineAUp: Bool
    public var lineBUp: Bool
    /// Since the last packet on either line (heartbeats count: a quiet market is not a dead feed), or
    /// since the client started when none came yet.
    public var lastMessageAge: Duration
    public var hasReceived: Bool
    /// The handler's counters since the client started.
    public var gaps: Int
    public var retransmitRecoveries: Int
    public var snapshotRecoveries: Int
    public var messagesApplied: Int
}

/// The client side of the feed as a `Service`: both UDP lines and the recovery connection on one
/// event loop, driving one ``FeedHandler``. This is what a node's strategy and the watchdog consume.
public final class FeedClient: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var recoveryPort: Int
        public var handler: FeedHandler.Configuration
        /// Called on the client's event loop with every delivery, before it goes to ``FeedClient/events``:
        /// for a consumer that must act without a thread hop (the node's strategy, on the same loop as its
        /// FIX sessions). It must not block.
        public var onDeliver: (@Sendable ([(seq: UInt64, message: FeedMessage)]) -> Void)?
        /// Whether ``FeedClient/events`` carries anything. False for an owner that never reads it (the
        /// engine node, which takes every delivery through `onDeliver`): the stream then stays empty,
        /// instead of buffering up to 65,536 unread deliveries at a lock and an allocation per packet
        /// on the event loop.
        public var publishesEvents: Bool
        public init(host: String = "127.0.0.1", recoveryPort: Int, handler: FeedHandler.Configuration = .init(),
                    onDeliver: (@Sendable ([(seq: UInt64, message: FeedMessage)]) -> Void)? = nil, publishesEvents: Bool = true) {
            self.host = host
            self.recoveryPort = recoveryPort
            self.handler = handler
            self.onDeliver = onDeliver
            self.publishesEvents = publishesEvents
        }
    }

    public let configuration: Configuration
    public let events: AsyncStream<FeedClientEvent>
    private let continuation: AsyncStream<FeedClientEvent>.Continuation
    private let loop: any EventLoop
    private let core: FeedClientCore
    private let logger: Logger
    private let stopping = Mutex(false)

    public init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        self.configuration = configuration
        self.loop = group.next()
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: FeedClientEvent.self, bufferingPolicy: .bufferingNewest(1 << 16))
        self.core = FeedClientCore(handler: FeedHandler(configuration: configuration.handler), loop: loop,
                                   continuation: configuration.publishesEvents ? continuation : nil, onDeliver: configuration.onDeliver,
                                   logger: logger)
    }

    public func counters() async throws -> FeedHandler.Counters { try await loop.submit { [core] in core.handler.counters }.get() }
    public func book() async throws -> FeedBook { try await loop.submit { [core] in core.handler.book }.get() }
    /// A mark per instrument — the book's mid, else its last trade — computed on the client's loop, so
    /// a reader polling marks does not copy the book (and the next update does not copy it back).
    public func marks(_ instruments: [InstrumentID]) async throws -> [InstrumentID: Price] {
        try await loop.submit { [core] in
            var marks: [InstrumentID: Price] = [:]
            for i in instruments {
                if let price = core.handler.book.mid(i) ?? core.handler.book.lastTrade[i]?.price { marks[i] = price }
            }
            return marks
        }.get()
    }
    public func isConsistent() async throws -> Bool { try await loop.submit { [core] in core.handler.isConsistent }.get() }
    public func staleLines() async throws -> Set<FeedLine> { try await loop.submit { [core] in core.handler.staleLines }.get() }
    public func nextSeq() async throws -> UInt64? { try await loop.submit { [core] in core.handler.nextSeq }.get() }

    /// The feed's health now, for metrics and readiness: read on the client's loop.
    public func health() async throws -> FeedHealth {
        try await loop.submit { [core] in core.health() }.get()
    }

    public func run() async throws {
        defer { continuation.finish() }
        let a = try await bindLine(.a)
        let b = try await bindLine(.b)
        let ports = (UInt16(a.localAddress?.port ?? 0), UInt16(b.localAddress?.port ?? 0))
        logger.info("feed client listening", metadata: ["feed.portA": "\(ports.0)", "feed.portB": "\(ports.1)"])
        await withGracefulShutdownHandler {
            var attempt = 0
            while !Task.isCancelled, !stopping.withLock({ $0 }) {
                do {
                    let tcp = try await ClientBootstrap(group: loop)
                        .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                        .channelInitializer { [core] channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RecoveryFrameDecoder()))
                                try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(RecoveryFrameEncoder()))
                                try channel.pipeline.syncOperations.addHandler(RecoveryClientHandler(core: core))
                            }
                        }
                        .connect(host: configuration.host, port: configuration.recoveryPort).get()
                    attempt = 0
                    try await tcp.writeAndFlush(RecoveryFrame.subscribe(portA: ports.0, portB: ports.1))
                    try await withTaskCancellationHandler {
                        try await tcp.closeFuture.get()
                    } onCancel: {
                        tcp.close(promise: nil)
                    }
                } catch {
                    logger.warning("feed recovery connection failed", metadata: ["error": "\(error)"])
                }
                attempt += 1
                let delay = Duration.milliseconds(min(2_000, 50 << min(attempt, 6)))
                try? await Task.sleep(for: delay)
            }
        } onGracefulShutdown: {
            self.stopping.withLock { $0 = true }
        }
        try? await a.close()
        try? await b.close()
    }

    private func bindLine(_ line: FeedLine) async throws -> any Channel {
        try await DatagramBootstrap(group: loop)
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelInitializer { [core] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FeedLineHandler(core: core, line: line))
                }
            }
            .bind(host: configuration.host, port: 0).get()
    }
}

/// The handler state and the recovery channel, confined to the client's event loop (every access
/// goes through the loop: channel handlers on it, or `loop.submit`), hence `@unchecked Sendable`.
final class FeedClientCore: @unchecked Sendable {
    var handler: FeedHandler
    private let loop: any EventLoop
    /// Nil when the client does not publish ``FeedClient/events``.
    private let continuation: AsyncStream<FeedClientEvent>.Continuation?
    private let onDeliver: (@Sendable ([(seq: UInt64, message: FeedMessage)]) -> Void)?
    private let logger: Logger
    private var recovery: (any Channel)?
    private var timer: Scheduled<Void>?

    init(handler: FeedHandler, loop: any EventLoop, continuation: AsyncStream<FeedClientEvent>.Continuation?,
         onDeliver: (@Sendable ([(seq: UInt64, message: FeedMessage)]) -> Void)? = nil, logger: Logger) {
        self.handler = handler
        self.loop = loop
        self.continuation = continuation
        self.onDeliver = onDeliver
        self.logger = logger
    }

    func now() -> FeedTime {
        FeedTime(utc: wallClock(), monotonic: .nanoseconds(Int64(NIODeadline.now().uptimeNanoseconds)))
    }

    let created = NIODeadline.now()

    func health() -> FeedHealth {
        let now = now().monotonic
        let staleAfter = handler.configuration.staleAfter
        func up(_ line: FeedLine) -> Bool {
            guard let last = handler.lastPacket(on: line) else { return false }
            return now - last < staleAfter && !handler.staleLines.contains(line)
        }
        let last = [handler.lastPacket(on: .a), handler.lastPacket(on: .b)].compactMap { $0 }.max()
        let since = last ?? .nanoseconds(Int64(created.uptimeNanoseconds))
        let c = handler.counters
        return FeedHealth(lineAUp: up(.a), lineBUp: up(.b), lastMessageAge: max(.zero, now - since), hasReceived: last != nil,
                          gaps: c.gaps, retransmitRecoveries: c.retransmitRecoveries, snapshotRecoveries: c.snapshotRecoveries,
                          messagesApplied: c.messagesApplied)
    }

    func recoveryConnected(_ channel: any Channel) {
        loop.preconditionInEventLoop()
        recovery = channel
    }

    func recoveryClosed() {
        recovery = nil
        drive(.recoveryDisconnected(now()))
    }

    func drive(_ event: FeedHandler.Event) {
        loop.preconditionInEventLoop()
        for action in handler.handle(event) {
            switch action {
            case .deliver(let messages):
                if !messages.isEmpty {
                    onDeliver?(messages)
                    continuation?.yield(.delivered(messages))
                }
            case .requestRetransmit(let from, let through):
                logger.info("feed retransmit request", metadata: ["feed.from": "\(from)", "feed.through": "\(through)"])
                recovery?.writeAndFlush(RecoveryFrame.retransmitRequest(from: from, through: through), promise: nil)
            case .requestSnapshot:
                logger.info("feed snapshot request")
                recovery?.writeAndFlush(RecoveryFrame.snapshotRequest, promise: nil)
            case .scheduleTimer(let at):
                timer?.cancel()
                let (s, atto) = at.components
                let nanos = UInt64(max(0, s * 1_000_000_000 + atto / 1_000_000_000))
                timer = loop.scheduleTask(deadline: .uptimeNanoseconds(nanos)) { [self] in
                    timer = nil
                    drive(.timerFired(now()))
                }
            case .notice(let n):
                switch n {
                case .gapDetected, .bookInconsistent, .lineStale, .malformed:
                    logger.warning("feed", metadata: ["feed.notice": "\(n)"])
                default:
                    logger.info("feed", metadata: ["feed.notice": "\(n)"])
                }
                continuation?.yield(.notice(n))
            }
        }
    }
}

final class FeedLineHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let core: FeedClientCore
    private let line: FeedLine

    init(core: FeedClientCore, line: FeedLine) {
        self.core = core
        self.line = line
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        core.drive(.packet(Array(envelope.data.readableBytesView), core.now()))
    }
}

final class RecoveryClientHandler: ChannelInboundHandler {
    typealias InboundIn = RecoveryFrame
    private let core: FeedClientCore

    init(core: FeedClientCore) { self.core = core }

    func channelActive(context: ChannelHandlerContext) {
        core.recoveryConnected(context.channel)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = core.now()
        switch unwrapInboundIn(data) {
        case .retransmission(let packets): core.drive(.retransmission(packets, now))
        case .snapshot(let s): core.drive(.snapshot(s, now))
        case .unavailable: core.drive(.retransmitUnavailable(now))
        case .subscribed, .subscribe, .retransmitRequest, .snapshotRequest: break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.recoveryClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
