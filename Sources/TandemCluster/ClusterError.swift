/// An error at the TandemCluster boundary: what failed (`code`), a sentence saying what, where and why
/// (`message`), and the underlying `cause` (usually a `JournalError` or `PostgresError`).
public struct ClusterError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case database, configuration, misuse
        }
        let base: Base
        public var description: String { base.rawValue }

        /// PostgreSQL failed (connection lost, statement rejected, lease row missing); see `cause`.
        public static let database = Code(base: .database)
        /// The configuration cannot work (e.g. the safety margin leaves no time to renew, a bad DSN).
        public static let configuration = Code(base: .configuration)
        /// The API was used in a way it does not support (e.g. `run()` called twice).
        public static let misuse = Code(base: .misuse)
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
        var text = "cluster \(code): \(message)"
        if let cause { text += " (cause: \(cause))" }
        return text
    }
}
