import Logging
import NIOCore
import NIOPosix
import Synchronization
import TandemCore
@testable import TandemFIX
import TandemFIXTestKit
import Testing

/// The shell's flushing: one flush per batch of writes (a read and the answers the application
/// writes inline while it is handled; one outside write), never an empty one.
@Suite("FIX shell flushes once per batch", .timeLimit(.minutes(1)))
struct FlushTests {
    @Test("a read carrying a Logon and three orders: four frames written, one flush")
    func burstOfOrdersOneFlush() async throws {
        try await withAcceptorChannel { channel, counter in
            try await fireRead(on: channel, [logon(seq: 1), order(seq: 2, n: 1), order(seq: 3, n: 2), order(seq: 4, n: 3)])
            #expect(counter.counts == Counts(writes: 4, flushes: 1))
            try await fireRead(on: channel, [order(seq: 5, n: 4), order(seq: 6, n: 5)])
            #expect(counter.counts == Counts(writes: 6, flushes: 2))
        }
    }

    @Test("an outside writeAndFlush: one frame, one flush, and its promise succeeds")
    func outsideWriteOneFlush() async throws {
        try await withAcceptorChannel { channel, counter in
            try await fireRead(on: channel, [logon(seq: 1)])
            #expect(counter.counts == Counts(writes: 1, flushes: 1))
            let report = ExecutionReport(orderID: "O9", clOrdID: ClOrdID("C9"), execID: "E9", execType: .new, ordStatus: .new,
                                         account: nil, symbol: "AAPL", side: .buy, orderQty: Quantity(units: 100_000_000),
                                         price: nil, leavesQty: Quantity(units: 100_000_000), cumQty: .zero, avgPx: .zero,
                                         lastQty: nil, lastPx: nil, transactTime: t0)
            try await channel.writeAndFlush(FIXOutbound.application(report))
            #expect(counter.counts == Counts(writes: 2, flushes: 2))
        }
    }
}

struct Counts: Equatable {
    var writes = 0
    var flushes = 0
}

/// Sits between the FIX handler and the socket and counts what reaches the socket.
private final class WireCounter: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = ByteBuffer
    private let state = Mutex(Counts())
    var counts: Counts { state.withLock { $0 } }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        state.withLock { $0.writes += 1 }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        state.withLock { $0.flushes += 1 }
        context.flush()
    }
}

/// Calls `onActive` when `channelActive` reaches it (last in the pipeline: every handler before it has seen it).
private final class ActiveSignal: ChannelInboundHandler, Sendable {
    typealias InboundIn = FIXInbound
    let onActive: @Sendable () -> Void
    init(_ onActive: @escaping @Sendable () -> Void) { self.onActive = onActive }
    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        onActive()
    }
}

/// An acceptor connection (VENUE, answering orders with fills) over real loopback TCP, whose
/// inbound bytes the test fires into its pipeline itself, so a read's contents are exact.
private func withAcceptorChannel(_ body: (any Channel, WireCounter) async throws -> Void) async throws {
    let group = MultiThreadedEventLoopGroup.singleton
    let accepted = group.next().makePromise(of: (any Channel, WireCounter).self)
    let config = FIXSessionConfig(role: .acceptor, senderCompID: "VENUE", targetCompID: "NODE", heartBtInt: 30)
    let server = try await ServerBootstrap(group: group)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let counter = WireCounter()
                let handler = FIXChannelHandler<InMemoryFIXStore>(
                    resolve: { _ in .accept(config, InMemoryFIXStore()) }, faults: .none,
                    logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), ended: { _ in })
                let sync = channel.pipeline.syncOperations
                try sync.addHandler(counter)
                try sync.addHandler(handler)
                try sync.addHandler(FillingExecutor())
                // Handed to the test once active: a read fired before `channelActive` reached the FIX
                // handler would be undone by it (the session restarts awaiting a Logon): a flaky test.
                try sync.addHandler(ActiveSignal { accepted.succeed((channel, counter)) })
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    let port = try #require(server.localAddress?.port)
    let client = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
    let (channel, counter) = try await accepted.futureResult.get()
    do {
        try await body(channel, counter)
    } catch {
        try? await client.close()
        try? await server.close()
        throw error
    }
    try? await client.close()
    try? await server.close()
}

/// Delivers `frames` to the FIX handler as one read, as the socket would.
private func fireRead(on channel: any Channel, _ frames: [[UInt8]]) async throws {
    let bytes = frames.flatMap { $0 }
    try await channel.eventLoop.submit {
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(channel.allocator.buffer(bytes: bytes)))
        channel.pipeline.syncOperations.fireChannelReadComplete()
    }.get()
}

private func header(seq: Int) -> FIXHeader {
    FIXHeader(senderCompID: "NODE", targetCompID: "VENUE", msgSeqNum: seq, sendingTime: FIXClock.now().utc)
}

private func logon(seq: Int) -> [UInt8] {
    var encoder = FIXEncoder()
    return encoder.encode(Logon(heartBtInt: 30), header: header(seq: seq))
}

private func order(seq: Int, n: Int) -> [UInt8] {
    var encoder = FIXEncoder()
    return encoder.encode(limitOrder(n), header: header(seq: seq))
}
