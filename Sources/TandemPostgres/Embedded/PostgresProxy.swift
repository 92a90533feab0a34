#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// A small TCP proxy on 127.0.0.1 in front of a local PostgreSQL, for fault injection: one per node in
/// the cut-leader-from-postgres drill (`tandem drill`) and the node process tests. `cut()` closes every
/// proxied connection (both sides see the connection end, so the server ends the node's sessions) and
/// refuses new ones (accepted and closed at once) until `heal()`. Point a client's DSN at `port`.
///
/// Plain blocking sockets on threads (one accept thread, two pump threads per connection): the traffic is
/// a node's few PostgreSQL sessions, and a thread per direction keeps it obviously correct. Not for
/// production traffic.
public final class PostgresProxy: Sendable {
    public let name: String
    /// The proxy's own port on 127.0.0.1.
    public let port: Int
    public let upstreamPort: Int
    private let listener: Int32
    private let state = Mutex(State())

    private struct State {
        var cut = false
        var closed = false
        var open: [Int: (Int32, Int32)] = [:]
        var nextID = 0
        var accepted = 0
        var refused = 0
    }

    /// Listens on a free port of 127.0.0.1 and forwards every connection to `upstreamPort` there.
    public init(upstreamPort: Int, name: String) throws(PostgresError) {
        self.name = name
        self.upstreamPort = upstreamPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresError(.connectionFailed, "proxy \(name): socket() failed: errno \(errno)", operation: "proxy listen") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 64) == 0 else {
            Glibc.close(fd)
            throw PostgresError(.connectionFailed, "proxy \(name): bind/listen on 127.0.0.1 failed: errno \(errno)", operation: "proxy listen")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        listener = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "pg-proxy-\(name)"
        thread.start()
    }

    static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        return addr
    }

    public var isCut: Bool { state.withLock { $0.cut } }
    public var counters: (accepted: Int, refused: Int, open: Int) { state.withLock { ($0.accepted, $0.refused, $0.open.count) } }

    /// Closes every proxied connection and refuses new ones.
    public func cut() {
        // Under the lock: a pair unregisters itself (under it) before closing its sockets, so no fd
        // shut down here has been closed and reused.
        state.withLock { st in
            st.cut = true
            for (a, b) in st.open.values {
                shutdown(a, Int32(SHUT_RDWR))
                shutdown(b, Int32(SHUT_RDWR))
            }
        }
    }

    /// Accepts connections again.
    public func heal() { state.withLock { $0.cut = false } }

    /// Cuts and stops listening, for good.
    public func close() {
        state.withLock { $0.closed = true }
        cut()
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if state.withLock({ $0.closed }) { return }
                if errno == EINTR || errno == ECONNABORTED { continue }
                usleep(10_000)
                continue
            }
            if state.withLock({ st in
                if st.cut || st.closed { st.refused += 1; return true }
                return false
            }) {
                Glibc.close(client)
                continue
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = Self.loopback(port: upstreamPort)
            let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard upstream >= 0, connected == 0 else {
                if upstream >= 0 { Glibc.close(upstream) }
                Glibc.close(client)
                continue
            }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(upstream, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let id = state.withLock { st -> Int in
                st.nextID += 1
                st.accepted += 1
                st.open[st.nextID] = (client, upstream)
                return st.nextID
            }
            let pair = ProxyPair(id: id, a: client, b: upstream, proxy: self)
            for (from, to) in [(client, upstream), (upstream, client)] {
                let t = Thread { pair.pump(from: from, to: to) }
                t.name = "pg-proxy-\(name)-\(id)"
                t.start()
            }
        }
    }

    fileprivate func finished(_ id: Int) { _ = state.withLock { $0.open.removeValue(forKey: id) } }
}

/// One proxied connection: two pumps; when either direction ends both sockets are shut down, and the
/// second pump to finish closes them.
private final class ProxyPair: Sendable {
    let id: Int
    let a: Int32
    let b: Int32
    let proxy: PostgresProxy
    private let running = Mutex(2)

    init(id: Int, a: Int32, b: Int32, proxy: PostgresProxy) {
        self.id = id
        self.a = a
        self.b = b
        self.proxy = proxy
    }

    func pump(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        outer: while true {
            let n = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            var sent = 0
            while sent < n {
                let w = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                if w < 0, errno == EINTR { continue }
                if w <= 0 { break outer }
                sent += w
            }
        }
        shutdown(a, Int32(SHUT_RDWR))
        shutdown(b, Int32(SHUT_RDWR))
        let last = running.withLock { r -> Bool in
            r -= 1
            return r == 0
        }
        if last {
            proxy.finished(id)
            Glibc.close(a)
            Glibc.close(b)
        }
    }
}
