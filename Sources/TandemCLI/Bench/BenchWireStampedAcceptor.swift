import CNIOLinux  // socket constants, as in RawLoopback
import Foundation
import Glibc
import TandemCore
import TandemFIX

/// The counterparty of `bench node`'s order session: a FIX acceptor on a plain blocking socket, on a
/// thread of its own, that reads with `recvmsg` and takes the **kernel's receive timestamp** of each
/// read (`SO_TIMESTAMPNS`, `CLOCK_REALTIME`).
///
/// Why: a sample of `bench node` ends when the NewOrderSingle is written to the socket. On loopback
/// the kernel stamps a segment when the sending `write` hands it to the loopback device, inside that
/// `write` and before it delivers the segment into this socket and wakes this thread. So the stamp is
/// the moment the bytes left the node's TCP stack — the "on the wire" point of a real deployment,
/// where the same `write` ends at the NIC's queue and wakes nobody. The time the node's `write`
/// returned (which on loopback also pays this thread's wake-up) is measured beside it, in the same
/// samples.
///
/// It logs on, answers every NewOrderSingle with ExecutionReport(New) and calls `onOrder` with the
/// stamp of the read that completed it; nothing else (no matching, no timers: the bench's sessions
/// are shorter than a heartbeat interval). Glibc socket calls on `[UInt8]` buffers through
/// `withUnsafe(Mutable)Bytes`, as in ``RawLoopback``: bench-only code, kept to this file.
final class WireStampedAcceptor: Sendable {
    let port: Int
    private let listener: Int32

    /// `SO_TIMESTAMPNS` (= `SCM_TIMESTAMPNS`) on 64-bit Linux; Glibc's macro does not import.
    private static let soTimestampNS: Int32 = 35

    /// Listens on 127.0.0.1 (an ephemeral port) and serves one connection at a time for `compID`
    /// until the listener is closed by ``stop()``. `onOrder` runs on the acceptor's thread.
    /// `onOrder` gets nil if the kernel attached no timestamp to the read.
    init(compID: String, onOrder: @escaping @Sendable (_ kernelRealtimeNanos: Int64?) -> Void) throws {
        let (listener, address) = try RawLoopback.loopbackListener()
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread {
            while true {
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { return }  // listener closed: stop
                Self.serve(fd, compID: compID, onOrder: onOrder)
                close(fd)
            }
        }
        thread.start()
    }

    /// Stops accepting (a connection being served ends when the node closes it).
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private static func serve(_ fd: Int32, compID: String, onOrder: (Int64?) -> Void) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard setsockopt(fd, SOL_SOCKET, soTimestampNS, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else { return }
        var session = FIXSession(config: FIXSessionConfig(role: .acceptor, senderCompID: "VENUE", targetCompID: compID, heartBtInt: 30),
                                 store: InMemoryFIXStore())
        var actions: [FIXSessionAction] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var control = [UInt8](repeating: 0, count: 256)
        var orders = 0
        /// `fromRead`: the event is bytes read, and `stamp` that read's timestamp (nil if none came).
        func drive(_ event: FIXSessionEvent, fromRead: Bool = false, stamp: Int64? = nil) -> Bool {
            actions.removeAll(keepingCapacity: true)
            session.handle(event, into: &actions)
            for action in actions {
                switch action {
                case .send(let bytes, _):
                    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    if n != bytes.count { return false }
                case .deliver(let inbound):
                    guard case .newOrderSingle(let o) = inbound.typed else { continue }
                    if fromRead { onOrder(stamp) }
                    orders += 1
                    let ack = ExecutionReport(orderID: "O\(orders)", clOrdID: o.clOrdID, execID: "E\(orders)", execType: .new,
                                              ordStatus: .new, account: o.account, symbol: o.symbol, side: o.side,
                                              orderQty: o.orderQty, price: o.orderType.limitPrice, leavesQty: o.orderQty,
                                              cumQty: .zero, avgPx: .zero, transactTime: FIXClock.now().utc)
                    if !drive(.sendApplication(ack, FIXClock.now())) { return false }
                case .disconnect: return false
                case .event, .scheduleTimer: break
                }
            }
            return true
        }
        guard drive(.connected(FIXClock.now())) else { return }
        while true {
            let (count, stamp) = receive(fd, &buffer, &control)
            guard count > 0 else { return }
            if !drive(.received(Array(buffer[0..<count]), FIXClock.now()), fromRead: true, stamp: stamp) { return }
        }
    }

    /// One `recvmsg`: the bytes read (0 at end of stream or on error) and the kernel's receive
    /// timestamp of the last segment in them, if the kernel attached one.
    private static func receive(_ fd: Int32, _ buffer: inout [UInt8], _ control: inout [UInt8]) -> (Int, Int64?) {
        let capacity = buffer.count
        let controlCapacity = control.count
        let n = buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { cmsgs in
                var iov = iovec(iov_base: data.baseAddress, iov_len: capacity)
                return withUnsafeMutablePointer(to: &iov) { iovp in
                    var msg = msghdr()
                    msg.msg_iov = iovp
                    msg.msg_iovlen = 1
                    msg.msg_control = cmsgs.baseAddress
                    msg.msg_controllen = controlCapacity
                    while true {
                        let r = recvmsg(fd, &msg, 0)
                        if r >= 0 || errno != EINTR { return (r, Int(msg.msg_controllen)) }
                    }
                }
            }
        }
        let (read, controlLength) = n
        guard read > 0 else { return (0, nil) }
        return (read, timestamp(in: control, length: controlLength))
    }

    /// Walks the control messages (`struct cmsghdr`: `size_t` length, `int` level, `int` type, data
    /// aligned to 8) for `SCM_TIMESTAMPNS`'s `struct timespec`.
    private static func timestamp(in control: [UInt8], length: Int) -> Int64? {
        func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
            control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        }
        var offset = 0
        while offset + 16 <= length {
            let cmsgLength = Int(load(offset, as: UInt64.self))
            guard cmsgLength >= 16 else { return nil }
            if load(offset + 8, as: Int32.self) == SOL_SOCKET, load(offset + 12, as: Int32.self) == soTimestampNS,
               offset + 32 <= length {
                return load(offset + 16, as: Int64.self) * 1_000_000_000 + load(offset + 24, as: Int64.self)
            }
            offset += (cmsgLength + 7) & ~7
        }
        return nil
    }
}
