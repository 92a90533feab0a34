import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// TCP ports on 127.0.0.1 for tools, tests and the demo, through NIO (no socket calls by hand).
/// Synchronous: each waits on one bind or connect on NIO's loop, so never call them from an event loop.
public enum LocalPorts {
    public struct NoFreePort: Error, CustomStringConvertible {
        public var description: String
    }

    /// A port free right now, for a process to listen on a moment later, and not handed out before
    /// by this process.
    ///
    /// Picked below the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`), where
    /// outgoing connections take their local ports: a port the kernel picks for a bind to 0 lies
    /// inside that range, and between closing it and the listener's bind any connection on the
    /// machine could take it as its own (the alert tests' sinks then failed with "address already in
    /// use"). Below the range, only another listener can, and one that already listens is skipped.
    /// Falls back to a bind to 0 when that range leaves no room below it.
    public static func free() throws -> Int {
        let candidates = 10_000..<ephemeralLow
        if candidates.count >= 1_000 {
            for _ in 0..<200 {
                let port = Int.random(in: candidates)
                guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
                if canBind(port) { return port }
            }
        }
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        guard let port = channel.localAddress?.port else { throw NoFreePort(description: "bound to port 0 but read no port back") }
        return port
    }

    /// Ports `free()` returned in this process (two callers in one process never get the same one).
    private static let handedOut = Mutex(Set<Int>())

    /// The low end of the kernel's ephemeral port range (32768, Linux's default, if unreadable).
    static let ephemeralLow: Int = {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
              let low = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap({ Int($0) })
        else { return 32_768 }
        return low
    }()

    /// Whether a listener without SO_REUSEADDR can bind `port` now (stricter than ``isFree(_:)``).
    private static func canBind(_ port: Int) -> Bool {
        guard let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: port).wait() else { return false }
        try? channel.close().wait()
        return true
    }

    /// Whether a listener could bind `port` now.
    public static func isFree(_ port: Int) -> Bool {
        guard let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: port).wait() else { return false }
        try? channel.close().wait()
        return true
    }

    /// Whether something accepts TCP connections on `port`.
    public static func accepts(_ port: Int) -> Bool {
        guard let channel = try? ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(1))
            .connect(host: "127.0.0.1", port: port).wait() else { return false }
        try? channel.close().wait()
        return true
    }
}
