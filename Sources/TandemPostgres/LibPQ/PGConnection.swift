import CLibPQ
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection (`PGconn`), the thin, synchronous Swift face on libpq. All of Tandem's unsafe
/// pointer handling for libpq lives in this file.
///
/// Every call blocks its thread on the network, so a `PGConnection` has exactly one owner and must not
/// be used from Swift's cooperative thread pool: `PostgresConnection` wraps it in an actor that runs on a
/// dedicated thread. It is deliberately not `Sendable`.
public final class PGConnection {
    private var handle: OpaquePointer?
    /// The DSN or URL this connection was opened with (kept to reconnect).
    public let dsn: String
    public let connectTimeoutSeconds: Int
    /// Receives the server's NOTICE/WARNING messages (libpq would print them to stderr). Kept alive here
    /// because libpq holds an unretained pointer to it for the life of `handle`.
    private let notices: NoticeSink

    private init(handle: OpaquePointer, dsn: String, connectTimeoutSeconds: Int, logger: Logger) {
        self.handle = handle
        self.dsn = dsn
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.notices = NoticeSink(logger: logger)
        notices.install(on: handle)
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    // MARK: Connecting

    /// Opens a connection. `dsn` is anything libpq accepts: `key=value` pairs or a `postgresql://` URL,
    /// including the multi-host form (`host=a,b port=5432,5433 target_session_attrs=read-write`), which
    /// libpq tries in order. `connectTimeoutSeconds` applies per host unless the DSN sets its own
    /// `connect_timeout`.
    public static func connect(
        _ dsn: String, connectTimeoutSeconds: Int = 5, logger: Logger = Logger(label: "tandem.postgres")
    ) throws(PostgresError) -> PGConnection {
        try validate(dsn: dsn)
        let handle = openHandle(dsn: dsn, connectTimeoutSeconds: connectTimeoutSeconds)
        guard let handle else {
            throw PostgresError(.connectionFailed, "libpq could not allocate a connection", operation: "connect")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = errorText(PQerrorMessage(handle)) ?? "unknown error"
            PQfinish(handle)
            throw PostgresError(
                .connectionFailed,
                "could not connect to \(redacted(dsn)): \(message)",
                operation: "connect")
        }
        return PGConnection(handle: handle, dsn: dsn, connectTimeoutSeconds: connectTimeoutSeconds, logger: logger)
    }

    /// Checks a DSN with libpq's own parser, so a typo gets a precise message before any network I/O.
    public static func validate(dsn: String) throws(PostgresError) {
        var errorMessage: UnsafeMutablePointer<CChar>? = nil
        let options = PQconninfoParse(dsn, &errorMessage)
        defer {
            if let options { PQconninfoFree(options) }
            if let errorMessage { PQfreemem(errorMessage) }
        }
        if options == nil {
            let why = errorText(errorMessage) ?? "libpq could not parse it"
            throw PostgresError(
                .invalidDSN,
                "the connection string \"\(redacted(dsn))\" is not valid: \(why). Use key=value pairs "
                    + "(host=127.0.0.1 port=5432 dbname=tandem user=postgres) or a URL "
                    + "(postgresql://user@host:port/dbname).",
                operation: "connect")
        }
    }

    private static func openHandle(dsn: String, connectTimeoutSeconds: Int) -> OpaquePointer? {
        // Keywords before "dbname" are overridden by the expanded DSN, so the DSN's own connect_timeout wins.
        let keywords = ["connect_timeout", "dbname"]
        let values = [String(connectTimeoutSeconds), dsn]
        let cKeywords = keywords.map { strdup($0) }
        let cValues = values.map { strdup($0) }
        defer {
            cKeywords.forEach { free($0) }
            cValues.forEach { free($0) }
        }
        let keywordPointers = cKeywords.map { UnsafePointer($0) } + [nil]
        let valuePointers = cValues.map { UnsafePointer($0) } + [nil]
        return PQconnectdbParams(keywordPointers, valuePointers, 1)
    }

    /// Drops the current session (if any) and connects again with the same DSN.
    public func reconnect() throws(PostgresError) {
        if let handle { PQfinish(handle) }
        handle = nil
        let fresh = PGConnection.openHandle(dsn: dsn, connectTimeoutSeconds: connectTimeoutSeconds)
        guard let fresh, PQstatus(fresh) == CONNECTION_OK else {
            let message = fresh.flatMap { errorText(PQerrorMessage($0)) } ?? "unknown error"
            if let fresh { PQfinish(fresh) }
            throw PostgresError(
                .connectionFailed, "could not reconnect to \(PGConnection.redacted(dsn)): \(message)",
                operation: "reconnect")
        }
        handle = fresh
        notices.install(on: fresh)
    }

    /// Closes the session. Further calls fail with `connectionClosed`.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// True while libpq believes the session is usable.
    public var isConnected: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// The server process serving this session.
    public var backendPID: Int32 { handle.map { PQbackendPID($0) } ?? 0 }

    /// The host and port actually connected to (useful with multi-host DSNs).
    public var connectedHost: String { handle.flatMap { errorText(PQhost($0)) } ?? "" }
    public var connectedPort: String { handle.flatMap { errorText(PQport($0)) } ?? "" }

    // MARK: Statements

    /// Runs one statement with bound parameters and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws(PostgresError) -> QueryResult {
        try run(Statement(sql, parameters))
    }

    /// Runs one statement (SQL text or prepared) and returns its rows.
    @discardableResult
    public func run(_ statement: Statement) throws(PostgresError) -> QueryResult {
        let conn = try liveHandle(operation: "query")
        let result: OpaquePointer? = withParameters(statement.parameters) { count, values, lengths, formats in
            switch statement.source {
            case .sql(let sql):
                PQexecParams(conn, sql, count, nil, values, lengths, formats, 0)
            case .prepared(let name):
                PQexecPrepared(conn, name, count, values, lengths, formats, 0)
            }
        }
        return try consume(result, statement: statement.label, operation: "query")
    }

    /// Runs one or more statements without parameters, in the simple query protocol (for DDL scripts).
    public func execute(_ sql: String) throws(PostgresError) {
        let conn = try liveHandle(operation: "execute")
        // For a multi-statement string PQexec returns the last statement's result, or the first error
        // (which stops the script), so one check covers the whole script.
        _ = try consume(PQexec(conn, sql), statement: sql, operation: "execute")
    }

    /// Prepares a named statement on this session; run it with `Statement(prepared:)`.
    public func prepare(name: String, sql: String) throws(PostgresError) {
        let conn = try liveHandle(operation: "prepare")
        let result = PQprepare(conn, name, sql, 0, nil)
        _ = try consume(result, statement: sql, operation: "prepare")
    }

    /// Runs `body` inside BEGIN … COMMIT. If `body` throws, or COMMIT fails, the transaction is rolled
    /// back and the error rethrown; nothing of it is left behind.
    @discardableResult
    public func transaction<T>(_ body: (PGConnection) throws -> T) throws -> T {
        try execute("BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackQuietly()
            throw error
        }
        do {
            try execute("COMMIT")
        } catch {
            rollbackQuietly()
            throw error
        }
        return value
    }

    private func rollbackQuietly() {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return }
        if let result = PQexec(handle, "ROLLBACK") { PQclear(result) }
    }

    // MARK: Pipeline mode

    /// Sends every step in one stream (libpq pipeline mode) and reads all results, so N statements cost
    /// about one round trip. A trailing sync is added if the steps do not end with one.
    ///
    /// The connection runs non-blocking while it pipelines and keeps reading results as it writes, so a
    /// pipeline of any length cannot deadlock on full socket buffers. A statement that fails yields
    /// `.failure` with the server's SQLSTATE; the statements after it up to the next sync yield `.aborted`.
    /// Errors of the connection itself (lost, protocol) are thrown.
    public func pipeline(_ steps: [PipelineStep]) throws(PostgresError) -> [PipelineOutcome] {
        let conn = try liveHandle(operation: "pipeline")
        var steps = steps
        if steps.last != .sync { steps.append(.sync) }
        let statementCount = steps.reduce(0) { $1 == .sync ? $0 : $0 + 1 }
        let labels: [String] = steps.compactMap {
            if case .statement(let s) = $0 { s.label } else { nil }
        }
        let syncCount = steps.count - statementCount

        guard PQenterPipelineMode(conn) == 1 else {
            throw connectionError(operation: "pipeline", fallback: "could not enter pipeline mode")
        }
        PQsetnonblocking(conn, 1)
        defer {
            PQsetnonblocking(conn, 0)
            PQexitPipelineMode(conn)
        }

        var reader = PipelineReader(expectedStatements: statementCount, expectedSyncs: syncCount, labels: labels)
        for step in steps {
            let sent: Int32
            switch step {
            case .sync:
                sent = PQpipelineSync(conn)
            case .statement(let statement):
                sent = withParameters(statement.parameters) { count, values, lengths, formats in
                    switch statement.source {
                    case .sql(let sql):
                        PQsendQueryParams(conn, sql, count, nil, values, lengths, formats, 0)
                    case .prepared(let name):
                        PQsendQueryPrepared(conn, name, count, values, lengths, formats, 0)
                    }
                }
            }
            guard sent == 1 else {
                throw connectionError(operation: "pipeline", fallback: "could not queue a pipeline statement")
            }
            // Keep the socket moving in both directions; never wait here.
            guard PQflush(conn) != -1, PQconsumeInput(conn) == 1 else {
                throw connectionError(operation: "pipeline", fallback: "the connection failed while pipelining")
            }
            _ = try reader.drainAvailable(conn, owner: self)
        }
        while !reader.isComplete {
            let pending = PQflush(conn)
            guard pending != -1 else {
                throw connectionError(operation: "pipeline", fallback: "could not send the pipeline")
            }
            if try reader.drainAvailable(conn, owner: self) { continue }
            // Nothing more can be read without new input from the server: sleep until it comes.
            try waitForSocket(readable: true, writable: pending == 1, timeoutMilliseconds: 1000, operation: "pipeline")
            guard PQconsumeInput(conn) == 1 else {
                throw connectionError(operation: "pipeline", fallback: "the connection failed while reading pipeline results")
            }
        }
        return reader.outcomes
    }

    /// Collects pipeline results in order: each statement's result is followed by a NULL; each sync
    /// point yields one `PGRES_PIPELINE_SYNC`.
    private struct PipelineReader {
        let expectedStatements: Int
        let expectedSyncs: Int
        let labels: [String]
        var outcomes: [PipelineOutcome] = []
        var syncsSeen = 0
        var currentHasResult = false

        init(expectedStatements: Int, expectedSyncs: Int, labels: [String]) {
            self.expectedStatements = expectedStatements
            self.expectedSyncs = expectedSyncs
            self.labels = labels
            outcomes.reserveCapacity(expectedStatements)
        }

        var isComplete: Bool { syncsSeen == expectedSyncs && outcomes.count == expectedStatements }

        /// Takes every result libpq can hand over without waiting. Returns whether it took any.
        ///
        /// `PQgetResult` returns NULL once at the end of each statement's results; a second NULL in a row
        /// means libpq has nothing more until the server sends it (after a failure, libpq makes the
        /// `PIPELINE_ABORTED` results itself, but only for statements already queued), so stop there.
        mutating func drainAvailable(_ conn: OpaquePointer, owner: PGConnection) throws(PostgresError) -> Bool {
            var progressed = false
            var previousWasNull = false
            while !isComplete, PQisBusy(conn) == 0 {
                guard let result = PQgetResult(conn) else {
                    if previousWasNull { break }
                    previousWasNull = true
                    currentHasResult = false
                    continue
                }
                previousWasNull = false
                progressed = true
                let status = PQresultStatus(result)
                if status == PGRES_PIPELINE_SYNC {
                    PQclear(result)
                    syncsSeen += 1
                    continue
                }
                guard !currentHasResult else {
                    // A second result for one statement (e.g. multi-statement text) is not expected here.
                    PQclear(result)
                    continue
                }
                currentHasResult = true
                let index = outcomes.count
                let label = index < labels.count ? labels[index] : "?"
                if status == PGRES_PIPELINE_ABORTED {
                    PQclear(result)
                    outcomes.append(.aborted)
                } else {
                    do {
                        let value = try owner.consume(result, statement: label, operation: "pipeline")
                        outcomes.append(.success(value))
                    } catch {
                        if error.isConnectionLoss { throw error }
                        outcomes.append(.failure(error))
                    }
                }
            }
            return progressed
        }
    }

    // MARK: COPY

    /// Runs `COPY … FROM STDIN` (text format) and streams `rows` to it, 64 KiB at a time. Each row is an
    /// array of column values; `nil` is NULL. Tabs, newlines and backslashes in values are escaped.
    /// Returns the number of rows the server loaded. On any error the COPY is aborted and nothing of it
    /// remains.
    @discardableResult
    public func copyFromStdin<Rows: Sequence>(_ sql: String, rows: Rows) throws(PostgresError) -> Int
    where Rows.Element == [String?] {
        let conn = try beginCopy(sql)

        var buffer: [UInt8] = []
        buffer.reserveCapacity(70_000)
        var sendFailed = false
        func flush() {
            guard !buffer.isEmpty, !sendFailed else { return }
            let ok = buffer.withUnsafeBufferPointer { raw in
                raw.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32($0.count)) }
            }
            if ok != 1 { sendFailed = true }
            buffer.removeAll(keepingCapacity: true)
        }
        for row in rows {
            for (i, value) in row.enumerated() {
                if i > 0 { buffer.append(9) }
                if let value {
                    for byte in value.utf8 {
                        switch byte {
                        case UInt8(ascii: "\\"): buffer.append(92); buffer.append(92)
                        case 9: buffer.append(92); buffer.append(UInt8(ascii: "t"))
                        case 10: buffer.append(92); buffer.append(UInt8(ascii: "n"))
                        case 13: buffer.append(92); buffer.append(UInt8(ascii: "r"))
                        default: buffer.append(byte)
                        }
                    }
                } else {
                    buffer.append(92); buffer.append(UInt8(ascii: "N"))
                }
            }
            buffer.append(10)
            if buffer.count >= 65_536 { flush() }
            if sendFailed { break }
        }
        flush()
        return try endCopy(conn, sql, sendFailed: sendFailed)
    }

    /// Runs `COPY … FROM STDIN` and sends `data` as the COPY stream exactly as given (for
    /// `FORMAT binary`, the caller writes the header, tuples and trailer), 64 KiB at a time. Returns the
    /// number of rows the server loaded. On any error the COPY is aborted and nothing of it remains.
    @discardableResult
    public func copyFromStdin(_ sql: String, data: [UInt8]) throws(PostgresError) -> Int {
        let conn = try beginCopy(sql)
        var sendFailed = false
        data.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                var offset = 0
                while offset < chars.count, !sendFailed {
                    let n = min(65_536, chars.count - offset)
                    if PQputCopyData(conn, chars.baseAddress.map { $0 + offset }, Int32(n)) != 1 { sendFailed = true }
                    offset += n
                }
            }
        }
        return try endCopy(conn, sql, sendFailed: sendFailed)
    }

    /// Starts `COPY … FROM STDIN`; the connection is then in COPY IN state.
    private func beginCopy(_ sql: String) throws(PostgresError) -> OpaquePointer {
        let conn = try liveHandle(operation: "copy")
        guard let start = PQexec(conn, sql) else {
            throw connectionError(operation: "copy", fallback: "could not start COPY")
        }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try consume(start, statement: sql, operation: "copy")
            throw PostgresError(.copy, "the statement did not start a COPY FROM STDIN", operation: "copy", statement: sql)
        }
        PQclear(start)
        return conn
    }

    /// Ends the COPY (aborting it when sending failed, so nothing of it remains) and returns the rows loaded.
    private func endCopy(_ conn: OpaquePointer, _ sql: String, sendFailed: Bool) throws(PostgresError) -> Int {
        let ended = PQputCopyEnd(conn, sendFailed ? "client failed to send COPY data" : nil)
        guard ended == 1 else {
            throw connectionError(operation: "copy", fallback: "could not finish COPY")
        }
        let result = try consume(PQgetResult(conn), statement: sql, operation: "copy")
        while let extra = PQgetResult(conn) { PQclear(extra) }
        if sendFailed {
            throw connectionError(operation: "copy", fallback: "the connection failed while sending COPY data")
        }
        return result.affectedRows
    }

    // MARK: LISTEN / NOTIFY

    /// Subscribes this session to a channel. The name is quoted as an identifier, so any string is safe.
    public func listen(_ channel: String) throws(PostgresError) {
        try execute("LISTEN \(try quoteIdentifier(channel))")
    }

    public func unlisten(_ channel: String) throws(PostgresError) {
        try execute("UNLISTEN \(try quoteIdentifier(channel))")
    }

    /// Sends a notification (`pg_notify`), delivered to listeners when the current transaction commits.
    public func notify(_ channel: String, payload: String = "") throws(PostgresError) {
        try query("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// Waits for the next notification for up to `timeout`, sleeping in `poll(2)` on the socket (no busy
    /// loop). Returns nil when the time runs out.
    public func waitForNotification(timeout: Duration) throws(PostgresError) -> PostgresNotification? {
        let conn = try liveHandle(operation: "listen")
        if let pending = nextNotification(conn) { return pending }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return nil }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            try waitForSocket(readable: true, writable: false, timeoutMilliseconds: milliseconds, operation: "listen")
            guard PQconsumeInput(conn) == 1 else {
                throw connectionError(operation: "listen", fallback: "the connection failed while waiting for a notification")
            }
            if let notification = nextNotification(conn) { return notification }
        }
    }

    /// Returns notifications already received, without waiting.
    public func pendingNotifications() throws(PostgresError) -> [PostgresNotification] {
        let conn = try liveHandle(operation: "listen")
        guard PQconsumeInput(conn) == 1 else {
            throw connectionError(operation: "listen", fallback: "the connection failed while reading notifications")
        }
        var all: [PostgresNotification] = []
        while let n = nextNotification(conn) { all.append(n) }
        return all
    }

    private func nextNotification(_ conn: OpaquePointer) -> PostgresNotification? {
        guard let raw = PQnotifies(conn) else { return nil }
        defer { PQfreemem(raw) }
        return PostgresNotification(
            channel: errorText(raw.pointee.relname) ?? "",
            payload: errorText(raw.pointee.extra) ?? "",
            senderPID: raw.pointee.be_pid)
    }

    /// Quotes a string as an SQL identifier with libpq's own escaping.
    public func quoteIdentifier(_ name: String) throws(PostgresError) -> String {
        let conn = try liveHandle(operation: "quote")
        let utf8 = Array(name.utf8)
        guard let quoted = PQescapeIdentifier(conn, name, utf8.count) else {
            throw connectionError(operation: "quote", fallback: "could not quote identifier")
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    // MARK: Internals

    private func liveHandle(operation: String) throws(PostgresError) -> OpaquePointer {
        guard let handle else {
            throw PostgresError(.connectionClosed, "the connection is closed; reconnect first", operation: operation)
        }
        return handle
    }

    private func waitForSocket(readable: Bool, writable: Bool, timeoutMilliseconds: Int32, operation: String) throws(PostgresError) {
        let conn = try liveHandle(operation: operation)
        let fd = PQsocket(conn)
        guard fd >= 0 else {
            throw connectionError(operation: operation, fallback: "the connection has no socket")
        }
        var events: Int16 = 0
        if readable { events |= Int16(POLLIN) }
        if writable { events |= Int16(POLLOUT) }
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ready = poll(&descriptor, 1, timeoutMilliseconds)
            if ready >= 0 { return }
            if errno == EINTR { continue }
            throw PostgresError(.connectionClosed, "poll() on the connection socket failed (errno \(errno))", operation: operation)
        }
    }

    /// Turns a `PGresult` into a `QueryResult` or a `PostgresError`, and frees it.
    fileprivate func consume(_ result: OpaquePointer?, statement: String, operation: String) throws(PostgresError) -> QueryResult {
        guard let result else {
            throw connectionError(operation: operation, fallback: "no result from the server", statement: statement)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN:
            return copyOut(result)
        default:
            throw serverError(result, operation: operation, statement: statement)
        }
    }

    private func copyOut(_ result: OpaquePointer) -> QueryResult {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var columns: [QueryResult.Column] = []
        columns.reserveCapacity(columnCount)
        for c in 0..<columnCount {
            columns.append(.init(
                name: errorText(PQfname(result, Int32(c))) ?? "?",
                type: PostgresTypeOID(rawValue: PQftype(result, Int32(c)))))
        }
        var cells: [String?] = []
        cells.reserveCapacity(rowCount * columnCount)
        for r in 0..<Int32(rowCount) {
            for c in 0..<Int32(columnCount) {
                if PQgetisnull(result, r, c) == 1 {
                    cells.append(nil)
                } else {
                    cells.append(String(cString: PQgetvalue(result, r, c)))
                }
            }
        }
        let tag = errorText(PQcmdStatus(result)) ?? ""
        let affected = Int(errorText(PQcmdTuples(result)) ?? "") ?? 0
        return QueryResult(columns: columns, cells: cells, affectedRows: affected, commandTag: tag)
    }

    private func serverError(_ result: OpaquePointer, operation: String, statement: String) -> PostgresError {
        func field(_ code: Character) -> String? {
            errorText(PQresultErrorField(result, Int32(code.asciiValue ?? 0)))
        }
        let sqlState = field("C")
        let primary = field("M") ?? errorText(PQresultErrorMessage(result)) ?? "unknown server error"
        let lost = handle.map { PQstatus($0) != CONNECTION_OK } ?? true
        if lost && sqlState == nil {
            return PostgresError(
                .connectionClosed,
                "the connection to the server was lost: \(primary.trimmingTrailingNewlines)",
                operation: operation, statement: statement)
        }
        return PostgresError(
            lost ? .connectionClosed : .server, primary.trimmingTrailingNewlines, operation: operation,
            sqlState: sqlState, detail: field("D"), hint: field("H"), statement: statement)
    }

    private func connectionError(operation: String, fallback: String, statement: String? = nil) -> PostgresError {
        let libpq = handle.flatMap { errorText(PQerrorMessage($0)) }?.trimmingTrailingNewlines ?? ""
        let lost = handle.map { PQstatus($0) != CONNECTION_OK } ?? true
        return PostgresError(
            lost ? .connectionClosed : .pipeline,
            libpq.isEmpty ? fallback : "\(fallback): \(libpq)",
            operation: operation, statement: statement)
    }

    /// Calls `body` with the parameters laid out as libpq wants them: C-string values (binary for bytea),
    /// lengths and formats. The pointers are valid only inside `body`.
    private func withParameters<R>(
        _ parameters: [PostgresParameter],
        _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
    ) -> R {
        if parameters.isEmpty { return body(0, nil, nil, nil) }
        var storage: [UInt8] = []
        var offsets: [Int] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        offsets.reserveCapacity(parameters.count)
        for parameter in parameters {
            switch parameter {
            case .null:
                offsets.append(-1); lengths.append(0); formats.append(0)
            case .text(let text):
                offsets.append(storage.count)
                storage.append(contentsOf: text.utf8)
                storage.append(0)
                lengths.append(0); formats.append(0)
            case .binary(let bytes):
                offsets.append(storage.count)
                storage.append(contentsOf: bytes)
                storage.append(0)
                lengths.append(Int32(bytes.count)); formats.append(1)
            }
        }
        return storage.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                let values: [UnsafePointer<CChar>?] = offsets.map { offset in
                    offset < 0 ? nil : UnsafePointer(chars.baseAddress.map { $0 + offset })
                }
                return body(Int32(parameters.count), values, lengths, formats)
            }
        }
    }

    /// Replaces a password in a DSN before it is put in an error message or a log line.
    static func redacted(_ dsn: String) -> String {
        dsn
            .replacing(/password\s*=\s*('[^']*'|\S+)/) { _ in "password=***" }
            .replacing(/:\/\/([^:@\/]+):([^@\/]+)@/) { match in "://\(match.1):***@" }
    }
}

/// Routes server notices to swift-log: NOTICE and below at debug, WARNING at warning.
private final class NoticeSink {
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func install(on handle: OpaquePointer) {
        PQsetNoticeReceiver(handle, { context, result in
            guard let context, let result else { return }
            let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
            let severity = errorText(PQresultErrorField(result, Int32(UInt8(ascii: "V")))) ?? "NOTICE"
            let message = errorText(PQresultErrorField(result, Int32(UInt8(ascii: "M")))) ?? ""
            let level: Logger.Level = severity == "WARNING" ? .warning : .debug
            sink.logger.log(level: level, "server \(severity.lowercased()): \(message)", metadata: ["pg.severity": "\(severity)"])
        }, Unmanaged.passUnretained(self).toOpaque())
    }
}

private func errorText(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}

private func errorText(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}

extension String {
    var trimmingTrailingNewlines: String {
        var s = Substring(self)
        while let last = s.last, last.isNewline || last == " " { s = s.dropLast() }
        return String(s)
    }
}

// MARK: Binary results (additive: used by the journal's replay)

/// One row of a binary-format result, valid only inside the `forEachBinaryRow` callback that hands it
/// out (it reads libpq's result in place, without copying every cell into a `String`).
public struct PGBinaryRow {
    fileprivate let result: OpaquePointer
    public let index: Int
    public let columnCount: Int

    public func isNull(_ column: Int) -> Bool {
        PQgetisnull(result, Int32(index), Int32(column)) == 1
    }

    /// The cell's raw bytes (for `bytea`, the value itself), or nil for NULL.
    public func bytes(_ column: Int) -> [UInt8]? {
        guard column >= 0, column < columnCount, !isNull(column) else { return nil }
        let length = Int(PQgetlength(result, Int32(index), Int32(column)))
        guard let value = PQgetvalue(result, Int32(index), Int32(column)) else { return nil }
        return value.withMemoryRebound(to: UInt8.self, capacity: max(length, 1)) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    /// A binary `int2`, `int4` or `int8` cell as `Int64`, or nil for NULL or another width.
    public func int64(_ column: Int) -> Int64? {
        guard column >= 0, column < columnCount, !isNull(column) else { return nil }
        let length = Int(PQgetlength(result, Int32(index), Int32(column)))
        guard let value = PQgetvalue(result, Int32(index), Int32(column)) else { return nil }
        return value.withMemoryRebound(to: UInt8.self, capacity: max(length, 1)) { p -> Int64? in
            switch length {
            case 8:
                var v: UInt64 = 0
                for i in 0..<8 { v = v << 8 | UInt64(p[i]) }
                return Int64(bitPattern: v)
            case 4:
                var v: UInt32 = 0
                for i in 0..<4 { v = v << 8 | UInt32(p[i]) }
                return Int64(Int32(bitPattern: v))
            case 2:
                let v = UInt16(p[0]) << 8 | UInt16(p[1])
                return Int64(Int16(bitPattern: v))
            default:
                return nil
            }
        }
    }
}

extension PGConnection {
    /// Runs one statement asking for results in PostgreSQL's binary format and calls `body` once per
    /// row, in order. Returns the number of rows. Binary `bytea` arrives as raw bytes (no hex to parse),
    /// which is what makes a journal replay fast. The row must not escape `body`.
    ///
    /// Additive to the text-format `run`/`query`; errors are reported the same way.
    @discardableResult
    public func forEachBinaryRow(_ statement: Statement, _ body: (PGBinaryRow) throws -> Void) throws -> Int {
        guard let conn = handle else {
            throw PostgresError(.connectionClosed, "the connection is closed; reconnect first", operation: "query")
        }
        let result: OpaquePointer? = withParameters(statement.parameters) { count, values, lengths, formats in
            switch statement.source {
            case .sql(let sql):
                PQexecParams(conn, sql, count, nil, values, lengths, formats, 1)
            case .prepared(let name):
                PQexecPrepared(conn, name, count, values, lengths, formats, 1)
            }
        }
        guard let result else {
            throw connectionError(operation: "query", fallback: "no result from the server", statement: statement.label)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            throw serverError(result, operation: "query", statement: statement.label)
        }
        let rows = Int(PQntuples(result))
        let columns = Int(PQnfields(result))
        for r in 0..<rows {
            try body(PGBinaryRow(result: result, index: r, columnCount: columns))
        }
        return rows
    }
}

// MARK: Chunked binary results (additive: used by the journal's replay)

extension PGBinaryRow {
    /// Appends the cell's raw bytes to `buffer` and returns how many were appended, or nil for NULL
    /// (then `buffer` is unchanged). Lets a caller reuse one buffer for every row instead of allocating
    /// an array per cell, which a replay of millions of rows feels.
    /// Makes `buffer` hold exactly the cell's raw bytes, or returns nil for NULL (leaving `buffer`
    /// as it was). When the length is unchanged (a hash, a refilled row) the bytes are copied over the
    /// existing storage in place: no allocation, no resize.
    public func replaceBytes(_ column: Int, in buffer: inout [UInt8]) -> Int? {
        guard column >= 0, column < columnCount else { return nil }
        let row = Int32(index), col = Int32(column)
        guard PQgetisnull(result, row, col) == 0, let value = PQgetvalue(result, row, col) else { return nil }
        let length = Int(PQgetlength(result, row, col))
        value.withMemoryRebound(to: UInt8.self, capacity: max(length, 1)) { source in
            if buffer.count == length {
                buffer.withUnsafeMutableBufferPointer { target in
                    if let base = target.baseAddress, length > 0 { base.update(from: source, count: length) }
                }
            } else {
                buffer.removeAll(keepingCapacity: true)
                buffer.append(contentsOf: UnsafeBufferPointer(start: source, count: length))
            }
        }
        return length
    }

    public func appendBytes(_ column: Int, to buffer: inout [UInt8]) -> Int? {
        guard column >= 0, column < columnCount, !isNull(column) else { return nil }
        let length = Int(PQgetlength(result, Int32(index), Int32(column)))
        guard let value = PQgetvalue(result, Int32(index), Int32(column)) else { return nil }
        value.withMemoryRebound(to: UInt8.self, capacity: max(length, 1)) {
            buffer.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
        }
        return length
    }
}

extension PGConnection {
    /// True when the session is inside a transaction block (BEGIN without COMMIT/ROLLBACK yet, or a
    /// failed one awaiting ROLLBACK), so a caller can tell whether it may open its own.
    public var isInTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }
}

extension PGConnection {
    /// Runs `fetch` (a statement returning the next chunk of rows, typically `FETCH n FROM cursor`)
    /// over and over in binary format until it returns no rows, calling `body` once per row, in order.
    /// Returns the number of rows.
    ///
    /// **Why, and how it overlaps.** libpq's single-row mode (`PQsetSingleRowMode`; tried first and
    /// profiled: the replay spent more time in `PQgetResult` than in the fold) builds a whole
    /// `PGresult` per row (copying the column descriptors, several mallocs), which a replay of
    /// millions of rows feels. Here each chunk is one result, and the next chunk's `FETCH` is sent
    /// *before* the current chunk is handed to `body`, so PostgreSQL produces chunk k + 1 while the
    /// caller consumes chunk k (up to the socket buffers; a chunk of about 1,000 small rows fits).
    ///
    /// Contract: the connection is busy until this returns; `body` must not use it. If `body` throws,
    /// the chunk already requested is read and discarded (nothing is cancelled, so an enclosing
    /// transaction stays usable) and the error is rethrown. A server error is thrown as
    /// `PostgresError`. The row must not escape `body`. Additive.
    @discardableResult
    public func forEachBinaryRowInChunks(_ fetch: Statement, _ body: (PGBinaryRow) throws -> Void) throws -> Int {
        guard let conn = handle else {
            throw PostgresError(.connectionClosed, "the connection is closed; reconnect first", operation: "query")
        }
        func send() throws(PostgresError) {
            let sent: Int32 = withParameters(fetch.parameters) { count, values, lengths, formats in
                switch fetch.source {
                case .sql(let sql):
                    PQsendQueryParams(conn, sql, count, nil, values, lengths, formats, 1)
                case .prepared(let name):
                    PQsendQueryPrepared(conn, name, count, values, lengths, formats, 1)
                }
            }
            guard sent == 1 else {
                throw connectionError(operation: "query", fallback: "could not send the query", statement: fetch.label)
            }
        }
        /// The one result of the statement in flight (the caller owns it), after reading to the NULL
        /// that ends it, so the next statement may be sent.
        func receive() throws(PostgresError) -> OpaquePointer {
            var chunk: OpaquePointer?
            var failure: PostgresError?
            while let result = PQgetResult(conn) {
                let status = PQresultStatus(result)
                if failure == nil, chunk == nil, status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK {
                    chunk = result
                } else {
                    if failure == nil, status != PGRES_TUPLES_OK, status != PGRES_COMMAND_OK {
                        failure = serverError(result, operation: "query", statement: fetch.label)
                    }
                    PQclear(result)
                }
            }
            if let failure {
                if let chunk { PQclear(chunk) }
                throw failure
            }
            guard let chunk else {
                throw connectionError(operation: "query", fallback: "no result from the server", statement: fetch.label)
            }
            return chunk
        }

        var rows = 0
        try send()
        while true {
            let chunk = try receive()
            defer { PQclear(chunk) }
            let count = Int(PQntuples(chunk))
            if count == 0 { return rows }
            try send()  // the server works on the next chunk while `body` consumes this one
            let columns = Int(PQnfields(chunk))
            do {
                for r in 0..<count {
                    try body(PGBinaryRow(result: chunk, index: r, columnCount: columns))
                    rows += 1
                }
            } catch {
                if let next = try? receive() { PQclear(next) }
                throw error
            }
        }
    }
}
