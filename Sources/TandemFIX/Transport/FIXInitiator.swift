import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A FIX initiator as a `Service`: connects, logs on, keeps the session, reconnects with backoff.
///
/// The session's store survives reconnects inside the service (each connection starts from the
/// store the last one ended with), so a reconnect continues the sequence; hand a store in at
/// `init` to continue a sequence persisted elsewhere (a failover). Application messages go out
/// through ``send(_:)`` from any task, or inline from an application handler in the pipeline;
/// everything received is also on ``events``. Graceful shutdown sends Logout and waits for the
/// reply (or the logout timeout) before closing.
public final class FIXInitiator<Store: FIXSessionStore>: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var session: FIXSessionConfig
        /// Reconnect backoff: 0, then `reconnectBase` doubling up to `reconnectCap` (``FIXSession/reconnectDelay(attempt:base:cap:)``).
        public var reconnectBase: Duration
        public var reconnectCap: Duration
        /// After the counterparty *refused* a Logon (answered it with a Logout: typically "the session is
        /// already logged on" while a failed-over peer's old connection still holds it), retry every
        /// `logonRetryInterval` instead of backing off, until `logonRetryWindow` has passed since the first
        /// refusal in a row; then the backoff above. The venue frees a session whose connection went
        /// silent for 1.2 × HeartBtInt (sooner when it probes it), so the default window is that plus
        /// 500 ms; a waiting initiator logs on within one interval of the session coming free.
        public var logonRetryInterval: Duration
        public var logonRetryWindow: Duration
        public var connectTimeout: Duration
        /// Reconnect after a session ends. False for one-shot tools: `run()` returns after the first session.
        public var reconnect: Bool
        public var faults: FIXFaultInjection
        /// Makes every new outbound message durable before it is written (the engine node's journal).
        public var gate: (any FIXOutboundGate)?
        /// Whether ``FIXInitiator/events`` carries anything. False for an owner that never reads it (the
        /// engine node, whose handlers consume everything inline): the stream then stays empty, instead
        /// of buffering up to 65,536 unread events (every report, each with its frame) at a lock and an
        /// allocation per message on the event loop.
        public var publishesEvents: Bool

        public init(host: String, port: Int, session: FIXSessionConfig, reconnectBase: Duration = .seconds(1),
                    reconnectCap: Duration = .seconds(30), connectTimeout: Duration = .seconds(5),
                    reconnect: Bool = true, faults: FIXFaultInjection = .none, gate: (any FIXOutboundGate)? = nil,
                    logonRetryInterval: Duration = .milliseconds(50), logonRetryWindow: Duration? = nil,
                    publishesEvents: Bool = true) {
            self.gate = gate
            self.publishesEvents = publishesEvents
            self.logonRetryInterval = logonRetryInterval
            self.logonRetryWindow = logonRetryWindow ?? .milliseconds(1200 * max(1, session.heartBtInt) + 500)
            self.host = host
            self.port = port
            self.session = session
            self.reconnectBase = reconnectBase
            self.reconnectCap = reconnectCap
            self.connectTimeout = connectTimeout
            self.reconnect = reconnect
            self.faults = faults
        }
    }

    /// Builds the application's handlers for each new connection; they sit between the FIX handler
    /// and the event bridge, read ``FIXInbound`` and ``FIXSessionNotice``, and write ``FIXOutbound``.
    public typealias ApplicationHandlers = @Sendable () -> [any ChannelHandler]

    private struct State {
        var store: Store
        var channel: (any Channel)?
        var shuttingDown = false
        var connections = 0
    }

    public let configuration: Configuration
    /// Connections, messages and session events, in order; finishes when `run()` returns.
    public let events: AsyncStream<FIXEvent>
    private let continuation: AsyncStream<FIXEvent>.Continuation
    private let state: Mutex<State>
    private let group: any EventLoopGroup
    private let logger: Logger
    private let application: ApplicationHandlers

    public init(configuration: Configuration, store: Store, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger, application: @escaping ApplicationHandlers = { [] }) {
        self.configuration = configuration
        self.state = Mutex(State(store: store))
        self.group = group
        var logger = logger
        logger[metadataKey: "fix.peer"] = "\(configuration.host):\(configuration.port)"
        self.logger = logger
        self.application = application
        (events, continuation) = AsyncStream.makeStream(of: FIXEvent.self, bufferingPolicy: .bufferingNewest(1 << 16))
    }

    /// The store as of the last disconnect (the live one is inside the connection).
    public var store: Store { state.withLock { $0.store } }

    /// How many TCP connections have been made so far.
    public var connectionCount: Int { state.withLock { $0.connections } }

    /// Sends an application message on the live session; throws ``FIXTransportError`` when there is none.
    public func send(_ body: any FIXMessageBody) async throws {
        guard let channel = state.withLock({ $0.channel }) else {
            throw FIXTransportError(.notLoggedOn, "not connected", location: "\(configuration.host):\(configuration.port)")
        }
        try await channel.writeAndFlush(FIXOutbound.application(body)).get()
    }

    /// Sends an application message whose gate record carries `context` (``FIXOutbound/gated(_:context:)``);
    /// returns once its bytes are written.
    public func send(_ body: any FIXMessageBody, gateContext: any Sendable) async throws {
        guard let channel = state.withLock({ $0.channel }) else {
            throw FIXTransportError(.notLoggedOn, "not connected", location: "\(configuration.host):\(configuration.port)")
        }
        try await channel.writeAndFlush(FIXOutbound.gated(body, context: gateContext)).get()
    }

    /// Writes `outbound` on the live connection without waiting: the future completes when the bytes
    /// are written (or fails). For callers that must not suspend (a lock holder, an event-loop handler).
    public func write(_ outbound: FIXOutbound) -> EventLoopFuture<Void> {
        guard let channel = state.withLock({ $0.channel }) else {
            return group.any().makeFailedFuture(
                FIXTransportError(.notLoggedOn, "not connected", location: "\(configuration.host):\(configuration.port)"))
        }
        return channel.writeAndFlush(outbound)
    }

    /// Sends a TestRequest on the live session (a liveness probe).
    public func testRequest(id: String) async throws {
        guard let channel = state.withLock({ $0.channel }) else {
            throw FIXTransportError(.notLoggedOn, "not connected", location: "\(configuration.host):\(configuration.port)")
        }
        try await channel.writeAndFlush(FIXOutbound.testRequest(id: id)).get()
    }

    /// Starts an orderly Logout; `run()` then returns (no reconnect).
    public func logout(text: String? = nil) {
        let channel = state.withLock { st -> (any Channel)? in
            st.shuttingDown = true
            return st.channel
        }
        guard let channel else { return }
        channel.writeAndFlush(FIXOutbound.logout(text: text), promise: nil)
        let timeout = configuration.session.logoutTimeout
        channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds * 1_000_000_000))) {
            channel.close(promise: nil)
        }
    }

    public func run() async throws {
        defer { continuation.finish() }
        await withGracefulShutdownHandler {
            var attempt = 0
            var retry = FIXLogonRetry(interval: configuration.logonRetryInterval, window: configuration.logonRetryWindow)
            var delay = Duration.zero
            while !Task.isCancelled, !state.withLock({ $0.shuttingDown }) {
                if delay > .zero {
                    if retry.refusals <= 1 {
                        logger.info("FIX reconnecting after backoff", metadata: ["fix.attempt": "\(attempt)", "fix.delay": "\(delay)"])
                    } else {
                        logger.debug("FIX retrying a refused Logon", metadata: ["fix.refusals": "\(retry.refusals)", "fix.delay": "\(delay)"])
                    }
                    if !(await sleepUnlessStopping(delay)) { break }
                }
                var end = FIXConnectionOutcome(loggedOn: false, logonRefusal: nil)
                do {
                    let channel = try await connect()
                    end = try await withTaskCancellationHandler {
                        try await channel.closeFuture.get()
                        state.withLock { $0.channel = nil }
                        return lastEnd.withLock { $0 }
                    } onCancel: {
                        channel.close(promise: nil)
                    }
                } catch {
                    logger.warning("FIX connect failed", metadata: ["error": "\(error)"])
                }
                if !configuration.reconnect { break }
                if let fixed = retry.next(after: end, now: .now) {
                    delay = fixed
                } else {
                    attempt = end.loggedOn ? 0 : attempt + 1
                    delay = FIXSession<Store>.reconnectDelay(attempt: attempt, base: configuration.reconnectBase,
                                                             cap: configuration.reconnectCap)
                }
            }
        } onGracefulShutdown: {
            self.logout(text: "shutting down")
        }
    }

    private let lastEnd = Mutex(FIXConnectionOutcome(loggedOn: false, logonRefusal: nil))

    private func sleepUnlessStopping(_ delay: Duration) async -> Bool {
        let clock = ContinuousClock()
        let until = clock.now + delay
        while clock.now < until {
            if Task.isCancelled || state.withLock({ $0.shuttingDown }) { return false }
            try? await Task.sleep(for: min(.milliseconds(100), until - clock.now))
        }
        return !state.withLock { $0.shuttingDown }
    }

    private func connect() async throws -> any Channel {
        let store = state.withLock { $0.store }
        let config = configuration
        let logger = self.logger
        let continuation = self.continuation
        let application = self.application
        let timeout = TimeAmount.nanoseconds(Int64(config.connectTimeout.components.seconds * 1_000_000_000
                                                   + config.connectTimeout.components.attoseconds / 1_000_000_000))
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = FIXChannelHandler(session: FIXSession(config: config.session, store: store),
                                                    faults: config.faults, gate: config.gate, logger: logger) { [self] end in
                        lastEnd.withLock { $0 = FIXConnectionOutcome(loggedOn: end.wasLoggedOn, logonRefusal: end.logonRefusal) }
                        if let s = end.store { state.withLock { $0.store = s } }
                    }
                    let key = FIXAcceptorRegistry.SessionKey(initiatorCompID: config.session.senderCompID,
                                                             acceptorCompID: config.session.targetCompID)
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(handler)
                    try sync.addHandlers(application())
                    if config.publishesEvents { try sync.addHandler(FIXEventBridge(continuation: continuation, key: key)) }
                    // Known before the connection is active: the Logon exchange runs on the loop and
                    // its events can reach a reader before `connect().get()` resumes this task, and a
                    // `send` right after "logged on" must find the channel.
                    state.withLock { $0.channel = channel }
                }
            }
        do {
            let channel = try await bootstrap.connect(host: config.host, port: config.port).get()
            state.withLock { $0.connections += 1 }
            return channel
        } catch {
            state.withLock { $0.channel = nil }
            throw error
        }
    }
}

/// How one connection of an initiator ended, for its reconnect policy.
struct FIXConnectionOutcome: Sendable {
    var loggedOn: Bool
    var logonRefusal: String?
}

/// The initiator's answer to refused Logons (sans-I/O, tested alone): while the counterparty keeps refusing
/// them, retry every `interval` until `window` has passed since the first refusal in a row; nil means "use
/// the exponential backoff" (not a refusal, or the window is over). A successful Logon, or a connection that
/// ended any other way, starts a new run.
struct FIXLogonRetry: Sendable {
    let interval: Duration
    let window: Duration
    private(set) var firstRefusal: ContinuousClock.Instant?
    private(set) var refusals = 0

    init(interval: Duration, window: Duration) {
        self.interval = interval
        self.window = window
    }

    mutating func next(after end: FIXConnectionOutcome, now: ContinuousClock.Instant) -> Duration? {
        guard !end.loggedOn, end.logonRefusal != nil else {
            firstRefusal = nil
            refusals = 0
            return nil
        }
        let first = firstRefusal ?? now
        firstRefusal = first
        refusals += 1
        return now - first < window ? interval : nil
    }
}
