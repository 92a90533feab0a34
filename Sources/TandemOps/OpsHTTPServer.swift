import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization

/// The small HTTP face every Tandem process serves for operators and Prometheus:
/// `GET /metrics` (the registry in Prometheus text format), `GET /healthz` (200 while the process
/// runs) and `GET /readyz` (200 only when the process can do its job, else 503 with why).
/// `/metrics` ends with the standard `process_*` metrics read from `/proc/self` (``ProcessMetrics``).
/// With a `page`, `GET /` serves it as HTML (`tandem status --serve`).
public final class OpsHTTPServer: Service, Sendable {
    /// Whether the process can do its job now, and a one-line reason.
    public typealias Readiness = @Sendable () -> (ready: Bool, detail: String)
    /// An HTML page for `GET /`, produced without blocking (e.g. the last one rendered).
    public typealias Page = @Sendable () -> String

    public let host: String
    public let port: Int
    private let registry: PrometheusCollectorRegistry
    private let histograms: AtomicHistograms?
    private let readiness: Readiness
    private let page: Page?
    private let logger: Logger
    private let bound: EventLoopPromise<Int>

    /// - Parameter histograms: the lock-free histograms of the process's ``TandemMetricsFactory``,
    ///   served after the registry's metrics.
    public init(host: String = "127.0.0.1", port: Int, registry: PrometheusCollectorRegistry, histograms: AtomicHistograms? = nil,
                readiness: @escaping Readiness, page: Page? = nil, logger: Logger) {
        self.host = host
        self.port = port
        self.registry = registry
        self.histograms = histograms
        self.readiness = readiness
        self.page = page
        self.logger = logger
        self.bound = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Int.self)
    }

    /// The port it listens on (useful with port 0).
    public func listeningPort() async throws -> Int { try await bound.futureResult.get() }

    public func run() async throws {
        let registry = self.registry
        let histograms = self.histograms
        let readiness = self.readiness
        let page = self.page
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline().flatMap {
                        channel.pipeline.addHandler(OpsHTTPHandler(registry: registry, histograms: histograms, readiness: readiness, page: page))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            bound.fail(error)
            throw error
        }
        let port = channel.localAddress?.port ?? port
        bound.succeed(port)
        logger.info("ops HTTP listening", metadata: ["ops.listen": "\(host):\(port)"])
        // Stops on graceful shutdown or when its task is cancelled (tests), closing the listener.
        await withTaskCancellationOrGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

final class OpsHTTPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let histograms: AtomicHistograms?
    private let readiness: OpsHTTPServer.Readiness
    private let page: OpsHTTPServer.Page?
    private let pending = Mutex<HTTPRequestHead?>(nil)

    init(registry: PrometheusCollectorRegistry, histograms: AtomicHistograms?, readiness: @escaping OpsHTTPServer.Readiness,
         page: OpsHTTPServer.Page?) {
        self.registry = registry
        self.histograms = histograms
        self.readiness = readiness
        self.page = page
    }

    /// The registry's metrics, the lock-free histograms, then the process's.
    static func metricsText(_ registry: PrometheusCollectorRegistry, _ histograms: AtomicHistograms?) -> [UInt8] {
        var out = registry.emitToBuffer()
        histograms?.emit(into: &out)
        ProcessMetrics.current()?.emit(into: &out)
        return out
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): pending.withLock { $0 = head }
        case .body: break
        case .end:
            guard let head = pending.withLock({ $0.take() }) else { return }
            let (status, type, body): (HTTPResponseStatus, String, [UInt8])
            switch (head.method, head.uri.split(separator: "?").first.map(String.init) ?? head.uri) {
            case (.GET, "/metrics"):
                (status, type, body) = (.ok, "text/plain; version=0.0.4; charset=utf-8", Self.metricsText(registry, histograms))
            case (.GET, "/"), (.GET, "/index.html"):
                if let page {
                    (status, type, body) = (.ok, "text/html; charset=utf-8", Array(page().utf8))
                } else {
                    (status, type, body) = (.notFound, "text/plain; charset=utf-8", Array("not found: try /metrics, /healthz or /readyz\n".utf8))
                }
            case (.GET, "/healthz"):
                (status, type, body) = (.ok, "text/plain; charset=utf-8", Array("ok\n".utf8))
            case (.GET, "/readyz"):
                let r = readiness()
                (status, type, body) = (r.ready ? .ok : .serviceUnavailable, "text/plain; charset=utf-8", Array("\(r.detail)\n".utf8))
            default:
                (status, type, body) = (.notFound, "text/plain; charset=utf-8", Array("not found: try /metrics, /healthz or /readyz\n".utf8))
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: "\(body.count)")
            headers.add(name: "Cache-Control", value: "no-store")
            headers.add(name: "Connection", value: head.isKeepAlive ? "keep-alive" : "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            let keepAlive = head.isKeepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }
    }
}
