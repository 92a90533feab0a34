import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A FIX acceptor as a `Service`: listens, admits each connection to the session its Logon names,
/// keeps one live connection per session, and keeps each session's store between connections.
///
/// A Logon for an unknown CompID pair, or for a session that already has a live connection, is
/// answered with a Logout stating the reason and the connection is closed. Credentials, HeartBtInt and
/// sequence checks are the session's (``FIXSession``).
///
/// A competing Logon (the session's own CompIDs and credentials, from a second connection) usually
/// means the counterparty failed over and its old connection is dead without a FIN: a crashed host, a
/// paused process, a cut network. So the acceptor checks the connection holding the session: silent
/// for more than 1.2 × HeartBtInt (a live peer sends at least a Heartbeat every HeartBtInt) → closed at
/// once; otherwise it is sent a TestRequest and closed unless something arrives on it within
/// `competingLogonProbeTimeout` (a live peer answers a TestRequest at once). A live holder keeps the
/// session. The competing Logon is refused in every case ("retry"); its initiator retries on a short
/// fixed interval (``FIXInitiator/Configuration/logonRetryInterval``) and gets in once the old
/// connection is gone.
public final class FIXAcceptor<Store: FIXSessionStore>: Service, Sendable {
    public struct Configuration: Sendable {
        /// Listen address; loopback by default. Port 0 picks a free port (see ``listeningPort()``).
        public var host: String
        public var port: Int
        /// One per session, role `.acceptor`: `senderCompID` is ours, `targetCompID` the initiator's.
        public var sessions: [FIXSessionConfig]
        public var faults: FIXFaultInjection
        /// A second Logon for a session whose connection is live: a connection silent for more than
        /// 1.2 × HeartBtInt is closed at once; otherwise it is sent a TestRequest and closed if nothing
        /// comes back within this time (nil: no probe, only the silence rule). The Logon itself is refused
        /// either way (its initiator retries). See ``FIXAcceptor``.
        public var competingLogonProbeTimeout: Duration?
        /// Whether ``FIXAcceptor/events`` carries anything; false for an owner that never reads it (see
        /// ``FIXInitiator/Configuration/publishesEvents``).
        public var publishesEvents: Bool

        public init(host: String = "127.0.0.1", port: Int, sessions: [FIXSessionConfig], faults: FIXFaultInjection = .none,
                    competingLogonProbeTimeout: Duration? = .milliseconds(250), publishesEvents: Bool = true) {
            self.publishesEvents = publishesEvents
            self.host = host
            self.port = port
            self.sessions = sessions
            self.faults = faults
            self.competingLogonProbeTimeout = competingLogonProbeTimeout
        }
    }

    public typealias SessionKey = FIXAcceptorRegistry.SessionKey
    public typealias ApplicationHandlers = @Sendable () -> [any ChannelHandler]

    private struct State {
        var registry = FIXAcceptorRegistry()
        var stores: [SessionKey: Store]
        var live: [SessionKey: any Channel] = [:]
        var liveness: [UInt64: FIXConnectionLiveness] = [:]
        var liveConnection: [SessionKey: UInt64] = [:]
        /// Connections sent a TestRequest because of a competing Logon, and when (uptime nanoseconds).
        var probing: [UInt64: UInt64] = [:]
        /// Per-session faults set by ``setFaults(_:for:)``; others use `configuration.faults`.
        var faults: [SessionKey: FIXFaultInjection] = [:]
        var nextConnection: UInt64 = 1
        var server: (any Channel)?
        var shuttingDown = false
    }

    public let configuration: Configuration
    public let events: AsyncStream<FIXEvent>
    private let continuation: AsyncStream<FIXEvent>.Continuation
    private let state: Mutex<State>
    private let group: any EventLoopGroup
    private let logger: Logger
    private let makeStore: @Sendable (FIXSessionConfig) -> Store
    private let application: ApplicationHandlers
    private let bound: EventLoopPromise<Int>

    /// `stores` continues sessions persisted elsewhere; sessions without one start from `makeStore`.
    public init(configuration: Configuration, stores: [SessionKey: Store] = [:],
                makeStore: @escaping @Sendable (FIXSessionConfig) -> Store,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
                application: @escaping ApplicationHandlers = { [] }) {
        self.configuration = configuration
        self.state = Mutex(State(stores: stores))
        self.group = group
        self.logger = logger
        self.makeStore = makeStore
        self.application = application
        self.bound = group.next().makePromise(of: Int.self)
        (events, continuation) = AsyncStream.makeStream(of: FIXEvent.self, bufferingPolicy: .bufferingNewest(1 << 16))
    }

    /// The port the acceptor listens on, once it does; throws if binding failed.
    public func listeningPort() async throws -> Int { try await bound.futureResult.get() }

    public func isLoggedOn(_ key: SessionKey) -> Bool { state.withLock { $0.live[key] != nil } }

    /// A session's store as of its last disconnect.
    public func store(for key: SessionKey) -> Store? { state.withLock { $0.stores[key] } }

    /// Sends an application message on a session's live connection.
    public func send(_ body: any FIXMessageBody, to key: SessionKey) async throws {
        guard let channel = state.withLock({ $0.live[key] }) else {
            throw FIXTransportError(.notLoggedOn, "session has no live connection",
                                    location: "\(key.acceptorCompID)<-\(key.initiatorCompID)")
        }
        try await channel.writeAndFlush(FIXOutbound.application(body)).get()
    }

    /// Writes an application message on a session's live connection without waiting for it;
    /// false when the session has none. The write is always queued on the channel's event loop,
    /// never run inline, so a caller may hold a lock that the pipeline's handlers also take (a
    /// failed write closes the channel, and its handlers run). Calls made in one order — from one
    /// thread, or serialised by the caller's lock — reach the wire in that order.
    ///
    /// A session with no live connection (its counterparty is away: crashed, paused, failing over)
    /// still gets the message: it is sequenced into the session's store as if sent, so the
    /// counterparty's next Logon finds the gap and the ResendRequest delivers it — what a venue does,
    /// and what keeps a failover from losing an execution report. The same happens when the write
    /// reaches a connection that is closing and the session refuses it. Returns false only when the
    /// session is not configured.
    @discardableResult
    public func write(_ body: any FIXMessageBody, to key: SessionKey) -> Bool {
        guard let channel = state.withLock({ $0.live[key] }) else { return storeForLater(body, key) }
        let command = FIXOutbound.application(body)
        channel.eventLoop.execute {
            channel.writeAndFlush(command).whenFailure { [self] error in
                // Refused by the session (not logged on any more): never sequenced, so keep it for the
                // next connection. A socket error after the session stored it needs nothing: it is in
                // the store already.
                if let e = error as? FIXTransportError, e.code == .notLoggedOn || e.code == .sendRefused {
                    _ = storeForLater(body, key)
                }
            }
        }
        return true
    }

    /// Sequences `body` into the session's store (MsgSeqNum, SendingTime now) for a later resend.
    private func storeForLater(_ body: any FIXMessageBody, _ key: SessionKey) -> Bool {
        guard let config = configuration.sessions.first(where: { $0.senderCompID == key.acceptorCompID && $0.targetCompID == key.initiatorCompID })
        else { return false }
        let seq = state.withLock { st -> Int in
            var store = st.stores[key] ?? makeStore(config)
            let seq = store.nextSenderSeq
            var encoder = FIXEncoder()
            let header = FIXHeader(senderCompID: config.senderCompID, targetCompID: config.targetCompID, msgSeqNum: seq,
                                   sendingTime: FIXClock.now().utc)
            store.store(seq: seq, bytes: encoder.encode(body, header: header))
            store.nextSenderSeq = seq + 1
            st.stores[key] = store
            return seq
        }
        logger.info("no live FIX connection: message sequenced for resend", metadata: [
            "fix.session": "\(key.acceptorCompID)->\(key.initiatorCompID)", "fix.msgSeqNum": "\(seq)", "fix.msgType": "\(body.msgType)",
        ])
        return true
    }

    /// A session's faults (drills): `configuration.faults` until set here.
    public func faults(for key: SessionKey) -> FIXFaultInjection {
        state.withLock { $0.faults[key] } ?? configuration.faults
    }

    /// Sets a session's faults for its live connection (at once, queued on its event loop) and
    /// every later one. Ordinals in `dropApplicationMessages` and `duplicateApplicationMessages`
    /// count from the start of each connection.
    public func setFaults(_ faults: FIXFaultInjection, for key: SessionKey) {
        let channel = state.withLock { st -> (any Channel)? in
            st.faults[key] = faults
            return st.live[key]
        }
        guard let channel else { return }
        channel.eventLoop.execute { channel.triggerUserOutboundEvent(FIXFaultCommand.set(faults), promise: nil) }
    }

    /// Drops or duplicates the next `count` outbound application messages of a session's live
    /// connection (for drills); false when the session has none.
    @discardableResult
    public func inject(_ fault: FIXOneShotFault, count: Int, on key: SessionKey) -> Bool {
        guard let channel = state.withLock({ $0.live[key] }) else { return false }
        channel.eventLoop.execute { channel.triggerUserOutboundEvent(FIXFaultCommand.next(fault, count: count), promise: nil) }
        return true
    }

    /// Closes a session's live connection (no Logout): a network failure, for drills. Queued on
    /// the channel's event loop like ``write(_:to:)``, for the same reason.
    @discardableResult
    public func disconnect(_ key: SessionKey) -> Bool {
        guard let channel = state.withLock({ $0.live[key] }) else { return false }
        channel.eventLoop.execute { channel.close(promise: nil) }
        return true
    }

    public func run() async throws {
        defer { continuation.finish() }
        let server: any Channel
        do {
            server = try await bootstrap().bind(host: configuration.host, port: configuration.port).get()
        } catch {
            let e = FIXTransportError(.bindFailed, "could not listen", cause: error,
                                      location: "\(configuration.host):\(configuration.port)")
            bound.fail(e)
            throw e
        }
        let port = server.localAddress?.port ?? configuration.port
        state.withLock { $0.server = server }
        logger.info("FIX acceptor listening", metadata: ["fix.listen": "\(configuration.host):\(port)",
                                                         "fix.sessions": "\(configuration.sessions.count)"])
        bound.succeed(port)
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await server.closeFuture.get()
            } onCancel: {
                server.close(promise: nil)
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
        // Let live sessions finish their Logout exchange (bounded by the logout timeout) and hand
        // back their stores, so `store(for:)` is current when `run()` returns.
        let timeout = (configuration.sessions.map(\.logoutTimeout).max() ?? .seconds(2)) + .seconds(1)
        let deadline = ContinuousClock.now + timeout
        while state.withLock({ !$0.live.isEmpty }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Stops accepting, logs every live session out, and closes them after their logout timeout.
    public func shutdown() {
        let (server, live) = state.withLock { st in
            st.shuttingDown = true
            return (st.server, Array(st.live.values))
        }
        server?.close(promise: nil)
        let timeout = configuration.sessions.map(\.logoutTimeout).max() ?? .seconds(2)
        for channel in live {
            channel.writeAndFlush(FIXOutbound.logout(text: "acceptor shutting down"), promise: nil)
            channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds * 1_000_000_000))) {
                channel.close(promise: nil)
            }
        }
    }

    private func bootstrap() -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = state.withLock { st -> UInt64 in
                        defer { st.nextConnection += 1 }
                        return st.nextConnection
                    }
                    var logger = self.logger
                    logger[metadataKey: "fix.connection"] = "\(connection)"
                    if let remote = channel.remoteAddress { logger[metadataKey: "fix.remote"] = "\(remote)" }
                    let liveness = FIXConnectionLiveness()
                    liveness.lastReadNanos.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
                    state.withLock { $0.liveness[connection] = liveness }
                    let handler = FIXChannelHandler<Store>(
                        resolve: { [self] logon in resolve(logon, connection: connection, channel: channel) },
                        faults: configuration.faults, faultsFor: { [self] key in state.withLock { $0.faults[key] } },
                        liveness: liveness, logger: logger
                    ) { [self] end in
                        ended(end, connection: connection)
                    }
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(handler)
                    try sync.addHandlers(application())
                    if configuration.publishesEvents { try sync.addHandler(FIXEventBridge(continuation: continuation, key: nil)) }
                }
            }
    }

    private func resolve(_ logon: FIXMessage, connection: UInt64, channel: any Channel) -> FIXSessionResolution<Store> {
        guard let initiator = logon.senderCompID, let acceptor = logon.targetCompID else {
            return .refuse(reason: "Logon without SenderCompID(49) and TargetCompID(56)")
        }
        guard let config = configuration.sessions.first(where: { $0.senderCompID == acceptor && $0.targetCompID == initiator }) else {
            return .refuse(reason: "no session \(initiator)->\(acceptor) is configured here")
        }
        return state.withLock { st in
            if st.shuttingDown { return .refuse(reason: "acceptor shutting down") }
            switch st.registry.admit(logon: logon, connection: connection) {
            case .refused(let reason):
                st.liveness[connection] = nil
                // A second Logon for a live session: if the connection holding it has been silent for
                // longer than 1.2 × its HeartBtInt, its peer is gone (crashed, paused, cut off) — close it,
                // so the retry of this Logon finds the session free (a failover need not wait for the
                // session's own TestRequest timeout). The Logon itself is still refused.
                let key = SessionKey(initiatorCompID: initiator, acceptorCompID: acceptor)
                if let holder = st.liveConnection[key], let liveness = st.liveness[holder], let old = st.live[key] {
                    let heartBtInt = max(1, liveness.heartBtIntSeconds.load(ordering: .relaxed))
                    let silentNanos = NIODeadline.now().uptimeNanoseconds &- liveness.lastReadNanos.load(ordering: .relaxed)
                    if silentNanos > UInt64(heartBtInt) * 1_200_000_000 {
                        logger.warning("a second Logon for a silent session: closing its old connection", metadata: [
                            "fix.session": "\(acceptor)<-\(initiator)", "fix.connection": "\(holder)",
                            "fix.silent_ms": "\(silentNanos / 1_000_000)",
                        ])
                        old.eventLoop.execute { old.close(promise: nil) }
                        return .refuse(reason: reason + "; it was silent for \(silentNanos / 1_000_000) ms and is being closed: retry")
                    }
                    if let timeout = configuration.competingLogonProbeTimeout {
                        if st.probing[holder] == nil {
                            let sentAt = NIODeadline.now().uptimeNanoseconds
                            st.probing[holder] = sentAt
                            probe(old, connection: holder, liveness: liveness, sentAt: sentAt, timeout: timeout, session: "\(acceptor)<-\(initiator)")
                        }
                        return .refuse(reason: reason + "; sent it a TestRequest, closing it unless it answers within \(timeout): retry")
                    }
                }
                return .refuse(reason: reason)
            case .admitted(let key):
                st.live[key] = channel
                st.liveConnection[key] = connection
                return .accept(config, st.stores[key] ?? makeStore(config))
            }
        }
    }

    /// Sends the holder of a session a TestRequest and closes it unless it receives something within `timeout`.
    private func probe(_ channel: any Channel, connection: UInt64, liveness: FIXConnectionLiveness, sentAt: UInt64,
                       timeout: Duration, session: String) {
        let nanos = Int64(timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        channel.eventLoop.execute { [self] in
            channel.writeAndFlush(FIXOutbound.testRequest(id: "COMPETING-LOGON-\(connection)-\(sentAt)"), promise: nil)
            channel.eventLoop.scheduleTask(in: .nanoseconds(nanos)) { [self] in
                state.withLock { _ = $0.probing.removeValue(forKey: connection) }
                let lastRead = liveness.lastReadNanos.load(ordering: .relaxed)
                guard lastRead < sentAt, channel.isActive else { return }
                logger.warning("a second Logon for a session whose connection did not answer a TestRequest: closing it", metadata: [
                    "fix.session": "\(session)", "fix.connection": "\(connection)",
                    "fix.silent_ms": "\((NIODeadline.now().uptimeNanoseconds &- lastRead) / 1_000_000)",
                ])
                channel.close(promise: nil)
            }
        }
    }

    private func ended(_ end: FIXSessionEnd<Store>, connection: UInt64) {
        state.withLock { st in
            st.registry.release(connection: connection)
            st.liveness[connection] = nil
            st.probing[connection] = nil
            guard let config = end.config else { return }
            let key = SessionKey(initiatorCompID: config.targetCompID, acceptorCompID: config.senderCompID)
            if let store = end.store { st.stores[key] = store }
            st.live[key] = nil
            if st.liveConnection[key] == connection { st.liveConnection[key] = nil }
        }
    }
}
