import Foundation
import CNIOLinux  // <sys/epoll.h> (Glibc does not export it); built with NIOPosix, which we depend on
import Glibc
import Histogram
import Synchronization
import TandemCore
import TandemFIX

/// The floor under ``FIXRoundTrip``, measured in the same run: a raw loopback TCP ping-pong with the
/// round trip's message sizes (a 150-byte "order" out, a 250-byte "report" back) and no FIX work.
///
/// - `sameThread`: both sockets non-blocking on one thread, driven by one epoll set — per round trip
///   exactly what the same-loop FIX figure's loop does in the kernel (2 `write`, 2 `read`,
///   2 `epoll_wait`), so its latency and CPU are that figure's floor.
/// - two threads, blocking sockets: each leg wakes the other thread — the floor of the two-loop figure.
///
/// Glibc socket calls on `[UInt8]` buffers through `withUnsafe(Mutable)Bytes`: bench-only code, kept
/// to this file.
enum RawLoopback {
    static let requestSize = 150
    static let replySize = 250

    struct Result {
        var p50Micros: Double
        var p99Micros: Double
        /// CPU time of the measuring thread(s) per round trip (both ends' work).
        var cpuMicros: Double
    }

    enum Failure: Error, CustomStringConvertible {
        case sys(String, Int32)
        var description: String {
            switch self { case .sys(let call, let e): "raw loopback anchor: \(call): \(String(cString: strerror(e)))" }
        }
    }

    static func measure(roundTrips: Int, warmup: Int, sameThread: Bool) throws -> Result {
        let (client, server) = try connectedPair()
        defer { close(client); close(server) }
        return sameThread ? try sameThreadRun(client: client, server: server, roundTrips: roundTrips, warmup: warmup)
                          : try twoThreadRun(client: client, server: server, roundTrips: roundTrips, warmup: warmup)
    }

    /// The floor of the node's tick → order sample (`bench node`), whose last step is the
    /// NewOrderSingle's `write`: a 150-byte `write` on loopback TCP timed around the system call
    /// alone, its reader a thread asleep in a blocking `read` (as the venue's loop is between
    /// orders), so the call includes the loopback delivery and that thread's wake-up. One write
    /// every `gapMicros`, so the reader is asleep again at each.
    static func writeWakingReader(samples: Int, warmup: Int, gapMicros: UInt32 = 500) throws -> Result {
        let (client, server) = try connectedPair()
        defer { close(client); close(server) }
        let total = warmup + samples
        let readerDone = DispatchSemaphore(value: 0)
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = try? blockingReceive(server, total * requestSize, &buffer)
            readerDone.signal()
        }
        reader.start()
        let request = [UInt8](repeating: 0x41, count: requestSize)
        var histogram = makeHistogram()
        var cpu: UInt64 = 0
        for i in 0..<total {
            usleep(gapMicros)
            let c0 = UInt64(BenchClock.threadCPUNanos())
            let start = UInt64(BenchClock.monotonicNanos())
            try send(client, request)
            let elapsed = UInt64(BenchClock.monotonicNanos()) - start
            if i >= warmup {
                _ = histogram.record(elapsed)
                cpu += UInt64(BenchClock.threadCPUNanos()) - c0
            }
        }
        readerDone.wait()
        return result(histogram, cpuNanos: cpu, roundTrips: samples)
    }

    /// Between the one-thread anchor and `roundtrip_same_loop`: the same two sockets and epoll loop
    /// with the FIX work and no NIO. Two ``FIXSession``s (initiator and acceptor, in-memory stores,
    /// as in the NIO round trip) are driven by this loop directly: logon, then NewOrderSingle →
    /// ExecutionReport, each end building its message as the NIO bench's handlers do, each read copied
    /// into a `[UInt8]` as the NIO shell does. What lies between this and `roundtrip_same_loop` is
    /// the NIO shell and pipeline.
    static func sessionsSameThread(roundTrips: Int, warmup: Int) throws -> Result {
        let (client, server) = try connectedPair()
        defer { close(client); close(server) }
        let ep = try nonBlockingEpoll(watching: [client, server])
        defer { close(ep) }
        var initiator = FIXSession(config: FIXSessionConfig(role: .initiator, senderCompID: "NODE", targetCompID: "VENUE"),
                                   store: InMemoryFIXStore())
        var acceptor = FIXSession(config: FIXSessionConfig(role: .acceptor, senderCompID: "VENUE", targetCompID: "NODE"),
                                  store: InMemoryFIXStore())
        var buffer = [UInt8](repeating: 0, count: 4096)
        var events = [epoll_event](repeating: epoll_event(), count: 4)
        var actions: [FIXSessionAction] = []
        /// Hands `event` to a session, writes what it sends to `fd`; returns what it delivered and
        /// whether it logged on.
        func drive(_ session: inout FIXSession<InMemoryFIXStore>, _ event: FIXSessionEvent, _ fd: Int32) throws -> (FIXInbound?, Bool) {
            actions.removeAll(keepingCapacity: true)
            session.handle(event, into: &actions)
            var delivered: FIXInbound?
            var loggedOn = false
            for action in actions {
                switch action {
                case .send(let bytes, _): try send(fd, bytes)
                case .deliver(let inbound): delivered = inbound
                case .event(.loggedOn): loggedOn = true
                case .disconnect(let reason): throw Failure.sys("FIX session disconnected: \(reason)", 0)
                case .event, .scheduleTimer: break
                }
            }
            return (delivered, loggedOn)
        }
        /// Waits for bytes on `fd` and feeds them to the session until it delivers a message or logs on.
        func receive(_ session: inout FIXSession<InMemoryFIXStore>, _ fd: Int32) throws -> FIXInbound? {
            while true {
                let n = events.withUnsafeMutableBufferPointer { epoll_wait(ep, $0.baseAddress, 4, -1) }
                guard n >= 0 else { if errno == EINTR { continue }; throw Failure.sys("epoll_wait", errno) }
                let r = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
                if r == 0 { throw Failure.sys("read (closed)", 0) }
                if r < 0 { if errno == EAGAIN { continue }; throw Failure.sys("read", errno) }
                let (delivered, loggedOn) = try drive(&session, .received(Array(buffer[0..<r]), FIXClock.now()), fd)
                if delivered != nil || loggedOn { return delivered }
            }
        }
        _ = try drive(&acceptor, .connected(FIXClock.now()), server)
        _ = try drive(&initiator, .connected(FIXClock.now()), client)
        _ = try receive(&acceptor, server)
        _ = try receive(&initiator, client)
        guard initiator.isLoggedOn, acceptor.isLoggedOn else { throw Failure.sys("FIX logon", 0) }
        let price = Price(units: 10_125_000_000)
        let quantity = Quantity(units: 100 * 100_000_000)
        var histogram = makeHistogram()
        var cpu0: UInt64 = 0
        for i in 0..<(warmup + roundTrips) {
            if i == warmup { cpu0 = UInt64(BenchClock.threadCPUNanos()) }
            let start = UInt64(BenchClock.monotonicNanos())
            let order = NewOrderSingle(clOrdID: ClOrdID("C\(i + 1)"), account: nil, symbol: "AAPL", side: .buy,
                                       transactTime: FIXClock.now().utc, orderQty: quantity, orderType: .limit(price), timeInForce: .day)
            _ = try drive(&initiator, .sendApplication(order, FIXClock.now()), client)
            guard case .newOrderSingle(let o)? = try receive(&acceptor, server)?.typed else { throw Failure.sys("no order delivered", 0) }
            let px = o.orderType.limitPrice ?? price
            let report = ExecutionReport(orderID: "O\(i + 1)", clOrdID: o.clOrdID, execID: "E\(i + 1)", execType: .trade,
                                         ordStatus: .filled, account: o.account, symbol: o.symbol, side: o.side,
                                         orderQty: o.orderQty, price: o.orderType.limitPrice, leavesQty: .zero,
                                         cumQty: o.orderQty, avgPx: px, lastQty: o.orderQty, lastPx: px, transactTime: o.transactTime)
            _ = try drive(&acceptor, .sendApplication(report, FIXClock.now()), server)
            guard case .executionReport? = try receive(&initiator, client)?.typed else { throw Failure.sys("no report delivered", 0) }
            if i >= warmup { _ = histogram.record(UInt64(BenchClock.monotonicNanos()) - start) }
        }
        let cpu = UInt64(BenchClock.threadCPUNanos()) - cpu0
        return result(histogram, cpuNanos: cpu, roundTrips: roundTrips)
    }

    /// Makes `fds` non-blocking and returns a new epoll set watching each for input.
    private static func nonBlockingEpoll(watching fds: [Int32]) throws -> Int32 {
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let ep = epoll_create1(0)
        guard ep >= 0 else { throw Failure.sys("epoll_create1", errno) }
        for fd in fds {
            var ev = epoll_event()
            ev.events = EPOLLIN.rawValue
            ev.data.fd = fd
            guard epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 else {
                let e = errno
                close(ep)
                throw Failure.sys("epoll_ctl", e)
            }
        }
        return ep
    }

    // MARK: - runs

    private static func sameThreadRun(client: Int32, server: Int32, roundTrips: Int, warmup: Int) throws -> Result {
        let ep = try nonBlockingEpoll(watching: [client, server])
        defer { close(ep) }
        let request = [UInt8](repeating: 0x41, count: requestSize)
        let reply = [UInt8](repeating: 0x42, count: replySize)
        var buffer = [UInt8](repeating: 0, count: 4096)
        var events = [epoll_event](repeating: epoll_event(), count: 4)
        var histogram = makeHistogram()
        var cpu0: UInt64 = 0
        /// Waits until `fd` is readable and reads `size` bytes from it (more waits if it comes split).
        func receive(_ fd: Int32, _ size: Int) throws {
            var got = 0
            while got < size {
                let n = events.withUnsafeMutableBufferPointer { epoll_wait(ep, $0.baseAddress, 4, -1) }
                guard n >= 0 else { if errno == EINTR { continue }; throw Failure.sys("epoll_wait", errno) }
                let r = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
                if r > 0 { got += r } else if r == 0 { throw Failure.sys("read (closed)", 0) }
                else if errno != EAGAIN { throw Failure.sys("read", errno) }
            }
        }
        for i in 0..<(warmup + roundTrips) {
            if i == warmup { cpu0 = UInt64(BenchClock.threadCPUNanos()) }
            let start = UInt64(BenchClock.monotonicNanos())
            try send(client, request)
            try receive(server, requestSize)
            try send(server, reply)
            try receive(client, replySize)
            if i >= warmup { _ = histogram.record(UInt64(BenchClock.monotonicNanos()) - start) }
        }
        let cpu = UInt64(BenchClock.threadCPUNanos()) - cpu0
        return result(histogram, cpuNanos: cpu, roundTrips: roundTrips)
    }

    private static func twoThreadRun(client: Int32, server: Int32, roundTrips: Int, warmup: Int) throws -> Result {
        let total = warmup + roundTrips
        let echoCPU = CPUCell()
        let echoDone = DispatchSemaphore(value: 0)
        let echo = Thread {
            let reply = [UInt8](repeating: 0x42, count: replySize)
            var buffer = [UInt8](repeating: 0, count: 4096)
            var cpu0: UInt64 = 0
            for i in 0..<total {
                if i == warmup { cpu0 = UInt64(BenchClock.threadCPUNanos()) }
                guard (try? blockingReceive(server, requestSize, &buffer)) != nil, (try? send(server, reply)) != nil else { break }
            }
            let cpu = UInt64(BenchClock.threadCPUNanos()) - cpu0
            echoCPU.nanos.withLock { $0 = cpu }
            echoDone.signal()
        }
        echo.start()
        let request = [UInt8](repeating: 0x41, count: requestSize)
        var buffer = [UInt8](repeating: 0, count: 4096)
        var histogram = makeHistogram()
        var cpu0: UInt64 = 0
        for i in 0..<total {
            if i == warmup { cpu0 = UInt64(BenchClock.threadCPUNanos()) }
            let start = UInt64(BenchClock.monotonicNanos())
            try send(client, request)
            try blockingReceive(client, replySize, &buffer)
            if i >= warmup { _ = histogram.record(UInt64(BenchClock.monotonicNanos()) - start) }
        }
        let cpu = UInt64(BenchClock.threadCPUNanos()) - cpu0
        echoDone.wait()
        return result(histogram, cpuNanos: cpu + echoCPU.nanos.withLock { $0 }, roundTrips: roundTrips)
    }

    /// The echo thread's CPU time, handed to the measuring thread.
    private final class CPUCell: Sendable {
        let nanos = Mutex<UInt64>(0)
    }

    // MARK: - sockets

    /// A connected loopback TCP pair (client, accepted server side), TCP_NODELAY on both as NIO sets it.
    /// A TCP socket listening on 127.0.0.1 at an ephemeral port, and its address.
    static func loopbackListener() throws -> (fd: Int32, address: sockaddr_in) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw Failure.sys("socket", errno) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutableBytes(of: &addr) { raw in
            bind(listener, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), len) == 0
                && listen(listener, 1) == 0
                && getsockname(listener, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &len) == 0
        }
        guard bound else { let e = errno; close(listener); throw Failure.sys("bind/listen", e) }
        return (listener, addr)
    }

    private static func connectedPair() throws -> (Int32, Int32) {
        let (listener, address) = try loopbackListener()
        defer { close(listener) }
        var addr = address
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard client >= 0 else { throw Failure.sys("socket", errno) }
        let connected = withUnsafeBytes(of: &addr) { raw in
            connect(client, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
        guard connected else { close(client); throw Failure.sys("connect", errno) }
        let server = accept(listener, nil, nil)
        guard server >= 0 else { close(client); throw Failure.sys("accept", errno) }
        var one: Int32 = 1
        for fd in [client, server] { _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        return (client, server)
    }

    private static func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw Failure.sys("write (\(n) of \(bytes.count))", errno) }
    }

    private static func blockingReceive(_ fd: Int32, _ size: Int, _ buffer: inout [UInt8]) throws {
        var got = 0
        while got < size {
            let r = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
            if r > 0 { got += r } else if r == 0 { throw Failure.sys("read (closed)", 0) }
            else if errno != EINTR { throw Failure.sys("read", errno) }
        }
    }

    private static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
    }

    private static func result(_ h: Histogram<UInt64>, cpuNanos: UInt64, roundTrips: Int) -> Result {
        Result(p50Micros: Double(h.valueAtPercentile(50)) / 1000, p99Micros: Double(h.valueAtPercentile(99)) / 1000,
               cpuMicros: Double(cpuNanos) / 1000 / Double(roundTrips))
    }
}
