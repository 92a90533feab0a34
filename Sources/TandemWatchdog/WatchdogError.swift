/// An error at the TandemWatchdog boundary: what failed (`code`), a sentence saying what, where and
/// why (`message`), and the underlying `cause`.
public struct WatchdogError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable { case configuration, database, venue, command, arithmetic }
        let base: Base
        public var description: String { base.rawValue }

        /// The watchdog's configuration is invalid; the message names the key.
        public static let configuration = Code(base: .configuration)
        /// PostgreSQL failed or refused (a missing grant, a lost connection); see `cause`.
        public static let database = Code(base: .database)
        /// The venue did not answer or refused a kill-switch request.
        public static let venue = Code(base: .venue)
        /// An operator command is malformed, unsigned, stale or replayed.
        public static let command = Code(base: .command)
        /// A position or P&L computation overflowed.
        public static let arithmetic = Code(base: .arithmetic)
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        "watchdog \(code): \(message)" + (cause.map { " (cause: \($0))" } ?? "")
    }
}
