import NIOCore
import NIOPosix

/// TCP ports on 127.0.0.1 for tools, tests and the demo, through NIO (no socket calls by hand).
/// Synchronous: each waits on one bind or connect on NIO's loop, so never call them from an event loop.
public enum LocalPorts {
    public struct NoFreePort: Error, CustomStringConvertible {
        public var description: String
    }

    /// A port free right now (bound to 0, read back, closed).
    public static func free() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        guard let port = channel.localAddress?.port else { throw NoFreePort(description: "bound to port 0 but read no port back") }
        return port
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
