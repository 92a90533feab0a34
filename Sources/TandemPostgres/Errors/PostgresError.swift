/// An error at the TandemPostgres boundary: what failed (`code`, `operation`), why (`message`, and the
/// server's own `sqlState`, `detail`, `hint` when the server reported it), and where in our code.
///
/// Modelled on postgres-nio's `PSQLError`: one struct with a small, stable code plus context, so callers
/// can switch on `code` or `sqlState` and operators still get one readable sentence from `description`.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Stable; switch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case invalidDSN, connectionFailed, connectionClosed, server, timeout, decoding
            case pipeline, copy, notImplemented, binaryNotFound, portInUse, dataDirectory, serverStart, process
        }
        let base: Base
        public var description: String { base.rawValue }

        /// The DSN or URL could not be parsed by libpq.
        public static let invalidDSN = Code(base: .invalidDSN)
        /// No server in the DSN accepted the connection.
        public static let connectionFailed = Code(base: .connectionFailed)
        /// The connection was lost (server stopped, network cut); reconnect to go on.
        public static let connectionClosed = Code(base: .connectionClosed)
        /// The server rejected a statement; see `sqlState`.
        public static let server = Code(base: .server)
        /// A wait (notification, connect) ran out of time.
        public static let timeout = Code(base: .timeout)
        /// A column value could not be decoded as the requested Swift type.
        public static let decoding = Code(base: .decoding)
        /// A pipeline could not be run (not a statement failing inside it; that is `server`).
        public static let pipeline = Code(base: .pipeline)
        /// A COPY could not be completed.
        public static let copy = Code(base: .copy)
        /// The PostgreSQL server binaries (initdb, pg_ctl) were not found.
        public static let binaryNotFound = Code(base: .binaryNotFound)
        /// The requested TCP port is taken by another process.
        public static let portInUse = Code(base: .portInUse)
        /// The data directory cannot be used (owned by someone else, not a cluster, unwritable).
        public static let dataDirectory = Code(base: .dataDirectory)
        /// The embedded server did not come up.
        public static let serverStart = Code(base: .serverStart)
        /// A helper process (initdb, pg_ctl, runuser) could not be run.
        public static let process = Code(base: .process)
    }

    public var code: Code
    /// One sentence for a human: what failed, why, and what to do where we know it.
    public var message: String
    /// The operation that failed: "connect", "query", "pipeline", "copy", "listen", "initdb", …
    public var operation: String
    /// The server's SQLSTATE (e.g. "23505" for a unique violation), when the server reported the error.
    public var sqlState: String?
    /// The server's DETAIL and HINT fields, when present.
    public var detail: String?
    public var hint: String?
    /// The statement that failed, when there was one.
    public var statement: String?
    /// The underlying error, when another layer failed first.
    public var cause: (any Error & Sendable)?
    /// Where in Tandem the error was raised.
    public var file: String
    public var line: Int

    public init(
        _ code: Code, _ message: String, operation: String,
        sqlState: String? = nil, detail: String? = nil, hint: String? = nil,
        statement: String? = nil, cause: (any Error & Sendable)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.operation = operation
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.statement = statement
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String {
        var text = "PostgreSQL \(operation) failed (\(code)"
        if let sqlState { text += ", SQLSTATE \(sqlState)" }
        text += "): \(message)"
        if let detail { text += " DETAIL: \(detail)" }
        if let hint { text += " HINT: \(hint)" }
        if let statement { text += " [statement: \(statement.prefix(200))]" }
        if let cause { text += " (cause: \(cause))" }
        return text
    }

    /// True for errors after which the connection is unusable and must be re-established.
    public var isConnectionLoss: Bool { code == .connectionClosed || code == .connectionFailed }
}
