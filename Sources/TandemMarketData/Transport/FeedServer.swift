#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import TandemCore

/// The venue's feed as a `Service`: publishes sequenced packets on lines A and B over UDP, sends a
/// heartbeat on both lines when idle, and serves retransmissions and snapshots over TCP.
///
/// Loopback has no multicast here, so each line is a unicast fan-out: a client subscribes over
/// the recovery connection, naming its UDP ports for A and B, and gets every packet on both for
/// as long as that connection lives. A real venue's lines are multicast groups; the packets are
/// the same.
public final class FeedServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// TCP port of the recovery service; 0 picks one (see ``recoveryPort()``).
        public var recoveryPort: Int
        public var heartbeatInterval: Duration
        public var retransmitCapacity: Int
        /// The first sequence number published (a restarted venue continues its sequence).
        public var firstSeq: UInt64
        public init(host: String = "127.0.0.1", recoveryPort: Int = 0, heartbeatInterval: Duration = .milliseconds(100),
                    retransmitCapacity: Int = 100_000, firstSeq: UInt64 = 1) {
            self.firstSeq = firstSeq
            self.host = host
            self.recoveryPort = recoveryPort
            self.heartbeatInterval = heartbeatInterval
            self.retransmitCapacity = retransmitCapacity
        }
    }

    /// Faults, settable at run time (drills, tests, the venue's admin session).
    public struct Faults: Sendable, Hashable {
        /// Packets not sent on a line (the next N packets).
        public var dropNext: [FeedLine: Int] = [:]
        /// Nothing at all is sent (no data, no heartbeats) while true.
        public var paused = false
        public init() {}
    }

    private struct State {
        var publisher: FeedPublisher
        var subscribers: [ObjectIdentifier: (a: SocketAddress, b: SocketAddress)] = [:]
        var faults = Faults()
        var lastSend: ContinuousClock.Instant = .now
        var udp: (any Channel)?
        var tcp: (any Channel)?
        var stopping = false
    }

    public let configuration: Configuration
    private let state: Mutex<State>
    private let group: any EventLoopGroup
    private let logger: Logger
    private let bound: EventLoopPromise<Int>

    public init(configuration: Configuration = .init(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        self.configuration = configuration
        self.state = Mutex(State(publisher: FeedPublisher(retransmitCapacity: configuration.retransmitCapacity, firstSeq: configuration.firstSeq)))
        self.group = group
        self.logger = logger
        self.bound = group.next().makePromise(of: Int.self)
    }

    public func recoveryPort() async throws -> Int { try await bound.futureResult.get() }

    public var nextSeq: UInt64 { state.withLock { $0.publisher.nextSeq } }
    public var book: FeedBook { state.withLock { $0.publisher.book } }
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    public func setFaults(_ f: Faults) { state.withLock { $0.faults = f } }
    public func updateFaults(_ body: @Sendable (inout Faults) -> Void) { state.withLock { body(&$0.faults) } }

    /// Sequences and sends `messages` on both lines; returns the seq of the first.
    @discardableResult
    public func publish(_ messages: [FeedMessage], at time: Timestamp) -> UInt64 {
        let (first, sends, udp) = state.withLock { st -> (UInt64, [(SocketAddress, [UInt8])], (any Channel)?) in
            let first = st.publisher.nextSeq
            let packets = st.publisher.publish(messages, sendTime: time)
            st.lastSend = .now
            return (first, Self.route(packets.map(\.bytes), &st), st.udp)
        }
        send(sends, on: udp)
        return first
    }

    private static func route(_ packets: [[UInt8]], _ st: inout State) -> [(SocketAddress, [UInt8])] {
        guard !st.faults.paused else { return [] }
        var out: [(SocketAddress, [UInt8])] = []
        for p in packets {
            for line in [FeedLine.a, .b] {
                if let n = st.faults.dropNext[line], n > 0 {
                    st.faults.dropNext[line] = n - 1
                    continue
                }
                let bytes = line == .a ? p : FeedPublisher.relabel(p, as: .b)
                for sub in st.subscribers.values { out.append((line == .a ? sub.a : sub.b, bytes)) }
            }
        }
        return out
    }

    private func send(_ sends: [(SocketAddress, [UInt8])], on udp: (any Channel)?) {
        guard let udp, !sends.isEmpty else { return }
        for (address, bytes) in sends {
            let envelope = AddressedEnvelope(remoteAddress: address, data: udp.allocator.buffer(bytes: bytes))
            udp.write(envelope, promise: nil)
        }
        udp.flush()
    }

    public func run() async throws {
        let udp = try await DatagramBootstrap(group: group).bind(host: configuration.host, port: 0).get()
        let tcp: any Channel
        do {
            tcp = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RecoveryFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(RecoveryFrameEncoder()))
                        try channel.pipeline.syncOperations.addHandler(RecoveryServerHandler(server: self))
                    }
                }
                .bind(host: configuration.host, port: configuration.recoveryPort).get()
        } catch {
            bound.fail(error)
            try? await udp.close()
            throw error
        }
        state.withLock {
            $0.udp = udp
            $0.tcp = tcp
        }
        let port = tcp.localAddress?.port ?? configuration.recoveryPort
        logger.info("feed recovery service listening", metadata: ["feed.recovery": "\(configuration.host):\(port)"])
        bound.succeed(port)
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                while !Task.isCancelled, !state.withLock({ $0.stopping }) {
                    try? await Task.sleep(for: configuration.heartbeatInterval / 2)
                    heartbeatIfIdle()
                }
            } onCancel: {
                self.stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
        try? await tcp.close()
        try? await udp.close()
    }

    private func stop() { state.withLock { $0.stopping = true } }

    private func heartbeatIfIdle() {
        let (sends, udp) = state.withLock { st -> ([(SocketAddress, [UInt8])], (any Channel)?) in
            guard ContinuousClock.now - st.lastSend >= configuration.heartbeatInterval else { return ([], nil) }
            st.lastSend = .now
            let hb = st.publisher.heartbeat(sendTime: wallClock())
            return (Self.route([hb], &st), st.udp)
        }
        send(sends, on: udp)
    }

    // MARK: Recovery requests (called on the connection's event loop)

    func subscribe(_ id: ObjectIdentifier, remote: SocketAddress?, portA: UInt16, portB: UInt16) -> RecoveryFrame {
        let host = configuration.host
        let a = try? SocketAddress(ipAddress: host, port: Int(portA))
        let b = try? SocketAddress(ipAddress: host, port: Int(portB))
        return state.withLock { st in
            if let a, let b { st.subscribers[id] = (a, b) }
            logger.info("feed subscriber", metadata: ["feed.portA": "\(portA)", "feed.portB": "\(portB)",
                                                      "feed.subscribers": "\(st.subscribers.count)"])
            return .subscribed(nextSeq: st.publisher.nextSeq)
        }
    }

    func unsubscribe(_ id: ObjectIdentifier) { state.withLock { _ = $0.subscribers.removeValue(forKey: id) } }

    func answer(_ request: RecoveryFrame) -> RecoveryFrame? {
        state.withLock { st in
            switch request {
            case .retransmitRequest(let from, let through):
                switch st.publisher.retransmit(from: from, through: through, sendTime: wallClock()) {
                case .success(let packets): return .retransmission(packets)
                case .failure(.unavailable(let oldest, let next)): return .unavailable(oldest: oldest, next: next)
                }
            case .snapshotRequest:
                return .snapshot(st.publisher.snapshot(at: wallClock()))
            default:
                return nil
            }
        }
    }
}

final class RecoveryServerHandler: ChannelInboundHandler {
    typealias InboundIn = RecoveryFrame
    typealias OutboundOut = RecoveryFrame
    private let server: FeedServer

    init(server: FeedServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if case .subscribe(let a, let b) = frame {
            let reply = server.subscribe(ObjectIdentifier(self), remote: context.remoteAddress, portA: a, portB: b)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        } else if let reply = server.answer(frame) {
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.unsubscribe(ObjectIdentifier(self))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

func wallClock() -> Timestamp {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Timestamp(nanosecondsSinceEpoch: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
}
