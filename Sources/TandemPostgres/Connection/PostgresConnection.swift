import Logging

/// An async PostgreSQL connection: an actor that owns one `PGConnection` and runs on a thread of its own
/// (`DedicatedThreadExecutor`), so libpq's blocking calls never occupy Swift's cooperative thread pool.
///
/// Calls are serialized, as on any single database session. For LISTEN, use a connection of its own:
/// `waitForNotification` holds the actor for up to its timeout.
public actor PostgresConnection {
    private let executor: DedicatedThreadExecutor
    private var connection: PGConnection?
    public nonisolated let dsn: String
    public nonisolated let connectTimeoutSeconds: Int
    private let logger: Logger

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Runs `body` on this connection's thread (FIFO with the actor's jobs) without a `Task`: for
    /// callers that are not tasks. `body` may use `assumeIsolated` on this actor, or on any actor that
    /// shares its executor.
    public nonisolated func perform(_ body: @escaping @Sendable () -> Void) {
        executor.perform(body)
    }

    private init(dsn: String, connectTimeoutSeconds: Int, logger: Logger) {
        self.executor = DedicatedThreadExecutor(name: "tandem-pg")
        self.dsn = dsn
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.logger = logger
    }

    deinit {
        executor.shutdown()
    }

    /// Connects on the connection's own thread. See `PGConnection.connect` for the DSN forms accepted.
    public static func connect(
        _ dsn: String, connectTimeoutSeconds: Int = 5, logger: Logger = Logger(label: "tandem.postgres")
    ) async throws(PostgresError) -> PostgresConnection {
        let connection = PostgresConnection(dsn: dsn, connectTimeoutSeconds: connectTimeoutSeconds, logger: logger)
        try await connection.open()
        return connection
    }

    private func open() throws(PostgresError) {
        let opened = try PGConnection.connect(dsn, connectTimeoutSeconds: connectTimeoutSeconds, logger: logger)
        logger.debug("connected", metadata: [
            "pg.host": "\(opened.connectedHost)", "pg.port": "\(opened.connectedPort)", "pg.pid": "\(opened.backendPID)",
        ])
        connection = opened
    }

    /// Runs `body` with the underlying synchronous connection, on this actor's thread. This is the one
    /// primitive the rest is built on: a caller that needs several statements (a transaction, a fenced
    /// append) does them all in one hop.
    public func withConnection<T: Sendable>(_ body: @Sendable (PGConnection) throws -> T) throws -> T {
        guard let connection else {
            throw PostgresError(.connectionClosed, "the connection is closed; reconnect first", operation: "query")
        }
        return try body(connection)
    }

    /// Same as `withConnection`, for bodies that throw only `PostgresError`.
    public func withConnection<T: Sendable>(
        _ body: @Sendable (PGConnection) throws(PostgresError) -> T
    ) throws(PostgresError) -> T {
        guard let connection else {
            throw PostgresError(.connectionClosed, "the connection is closed; reconnect first", operation: "query")
        }
        return try body(connection)
    }

    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws(PostgresError) -> QueryResult {
        try withConnection { (c) throws(PostgresError) in try c.query(sql, parameters) }
    }

    @discardableResult
    public func run(_ statement: Statement) throws(PostgresError) -> QueryResult {
        try withConnection { (c) throws(PostgresError) in try c.run(statement) }
    }

    public func execute(_ sql: String) throws(PostgresError) {
        try withConnection { (c) throws(PostgresError) in try c.execute(sql) }
    }

    public func prepare(name: String, sql: String) throws(PostgresError) {
        try withConnection { (c) throws(PostgresError) in try c.prepare(name: name, sql: sql) }
    }

    /// BEGIN, `body`, COMMIT; rolled back if `body` or COMMIT throws.
    @discardableResult
    public func transaction<T: Sendable>(_ body: @Sendable (PGConnection) throws -> T) throws -> T {
        try withConnection { c in try c.transaction(body) }
    }

    public func pipeline(_ steps: [PipelineStep]) throws(PostgresError) -> [PipelineOutcome] {
        try withConnection { (c) throws(PostgresError) in try c.pipeline(steps) }
    }

    @discardableResult
    public func copyFromStdin(_ sql: String, rows: [[String?]]) throws(PostgresError) -> Int {
        try withConnection { (c) throws(PostgresError) in try c.copyFromStdin(sql, rows: rows) }
    }

    public func listen(_ channel: String) throws(PostgresError) {
        try withConnection { (c) throws(PostgresError) in try c.listen(channel) }
    }

    public func notify(_ channel: String, payload: String = "") throws(PostgresError) {
        try withConnection { (c) throws(PostgresError) in try c.notify(channel, payload: payload) }
    }

    public func waitForNotification(timeout: Duration) throws(PostgresError) -> PostgresNotification? {
        try withConnection { (c) throws(PostgresError) in try c.waitForNotification(timeout: timeout) }
    }

    /// Reconnects with the same DSN after a lost connection (e.g. a server restart).
    public func reconnect() throws(PostgresError) {
        if let connection {
            try connection.reconnect()
        } else {
            try open()
        }
        logger.info("reconnected", metadata: ["pg.pid": "\(connection?.backendPID ?? 0)"])
    }

    public func close() {
        connection?.close()
        connection = nil
    }

    public var isConnected: Bool { connection?.isConnected ?? false }
}
