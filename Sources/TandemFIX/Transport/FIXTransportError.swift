/// A failure of the FIX shell (sockets, session availability), as opposed to a ``FIXError`` in the bytes.
public struct FIXTransportError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// There is no logged-on session to send on (not connected yet, reconnecting, or closed).
        case notLoggedOn
        /// The session refused the message (see the message for why).
        case sendRefused
        /// Could not bind the acceptor's listening socket.
        case bindFailed
        /// The service was shut down.
        case shutdown
    }

    public var code: Code
    public var message: String
    /// The underlying error (a NIO `IOError`, a `ChannelError`), when there is one.
    public var cause: (any Error & Sendable)?
    /// Where: host:port, or the session's CompIDs.
    public var location: String?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil, location: String? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
        self.location = location
    }

    public var description: String {
        var s = "FIX \(code): \(message)"
        if let location { s += " [\(location)]" }
        if let cause { s += " (cause: \(cause))" }
        return s
    }
}
