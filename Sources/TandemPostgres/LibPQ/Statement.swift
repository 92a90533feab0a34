/// One statement to run: SQL text with `$n` placeholders, or the name of a prepared statement, and its
/// bound parameters.
public struct Statement: Sendable, Hashable {
    enum Source: Sendable, Hashable {
        case sql(String)
        case prepared(String)
    }

    let source: Source
    public let parameters: [PostgresParameter]

    public init(_ sql: String, _ parameters: [any PostgresEncodable] = []) {
        self.source = .sql(sql)
        self.parameters = parameters.map(\.postgresParameter)
    }

    /// Runs a statement prepared earlier with `PGConnection.prepare(name:sql:)`.
    public init(prepared name: String, _ parameters: [any PostgresEncodable] = []) {
        self.source = .prepared(name)
        self.parameters = parameters.map(\.postgresParameter)
    }

    var label: String {
        switch source {
        case .sql(let sql): sql
        case .prepared(let name): "EXECUTE \(name)"
        }
    }
}

/// One step of a pipeline: a statement, or a sync point. Statements between two sync points run in one
/// implicit transaction: if one fails, the statements after it up to the next sync are skipped
/// (`PipelineOutcome.aborted`) and that whole segment rolls back; segments before and after it commit.
public enum PipelineStep: Sendable, Hashable {
    case statement(Statement)
    case sync
}

/// What happened to one statement of a pipeline, in the order the statements were given.
public enum PipelineOutcome: Sendable {
    case success(QueryResult)
    case failure(PostgresError)
    /// Not run, because an earlier statement in the same sync segment failed.
    case aborted

    public var result: QueryResult? {
        if case .success(let r) = self { r } else { nil }
    }
    public var error: PostgresError? {
        if case .failure(let e) = self { e } else { nil }
    }
}

/// A NOTIFY received on a channel this connection LISTENs on.
public struct PostgresNotification: Sendable, Hashable {
    public var channel: String
    public var payload: String
    /// The backend process that sent it.
    public var senderPID: Int32
}
