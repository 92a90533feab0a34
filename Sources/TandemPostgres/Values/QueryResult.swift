/// The rows and status of one statement, copied out of libpq's `PGresult` so it is a plain `Sendable`
/// value with no pointer lifetime to manage.
public struct QueryResult: Sendable {
    public struct Column: Sendable, Hashable {
        public var name: String
        public var type: PostgresTypeOID
    }

    public let columns: [Column]
    /// Row-major cells in text format; `nil` is SQL NULL.
    let cells: [String?]
    /// Rows affected by an INSERT/UPDATE/DELETE/COPY (libpq's `PQcmdTuples`), or 0.
    public let affectedRows: Int
    /// The command tag, e.g. "INSERT 0 1".
    public let commandTag: String

    init(columns: [Column], cells: [String?], affectedRows: Int, commandTag: String) {
        self.columns = columns
        self.cells = cells
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }

    public var count: Int { columns.isEmpty ? 0 : cells.count / columns.count }
    public var isEmpty: Bool { count == 0 }

    public var rows: [Row] { (0..<count).map { Row(result: self, index: $0) } }

    public subscript(row: Int) -> Row { Row(result: self, index: row) }

    public func columnIndex(named name: String) -> Int? { columns.firstIndex { $0.name == name } }

    /// One row. Decoding names the column and row in its error, so a bad value is easy to find.
    public struct Row: Sendable {
        let result: QueryResult
        public let index: Int

        /// The raw text of a cell, or nil for NULL.
        public func text(_ column: Int) -> String? { result.cells[index * result.columns.count + column] }

        public func isNull(_ column: Int) -> Bool { text(column) == nil }

        /// Decodes a non-NULL value; NULL is an error (use `decodeIfPresent` where NULL is allowed).
        public func decode<T: PostgresDecodable>(_ type: T.Type, at column: Int) throws(PostgresError) -> T {
            guard let value = try decodeIfPresent(type, at: column) else {
                throw PostgresError(
                    .decoding, "column \(describe(column)) of row \(index) is NULL, expected \(T.self)",
                    operation: "decode")
            }
            return value
        }

        public func decode<T: PostgresDecodable>(_ type: T.Type, named name: String) throws(PostgresError) -> T {
            try decode(type, at: try columnIndex(name))
        }

        /// Decodes a value that may be NULL.
        public func decodeIfPresent<T: PostgresDecodable>(_ type: T.Type, at column: Int) throws(PostgresError) -> T? {
            guard column >= 0, column < result.columns.count else {
                throw PostgresError(
                    .decoding, "column index \(column) is out of range; the result has \(result.columns.count) columns",
                    operation: "decode")
            }
            guard let text = text(column) else { return nil }
            do {
                return try T(postgresText: text, type: result.columns[column].type)
            } catch {
                throw PostgresError(
                    .decoding,
                    "column \(describe(column)) of row \(index): expected \(error.expected), found \(error.found)",
                    operation: "decode", cause: error)
            }
        }

        public func decodeIfPresent<T: PostgresDecodable>(_ type: T.Type, named name: String) throws(PostgresError) -> T? {
            try decodeIfPresent(type, at: try columnIndex(name))
        }

        private func columnIndex(_ name: String) throws(PostgresError) -> Int {
            guard let i = result.columnIndex(named: name) else {
                throw PostgresError(
                    .decoding, "no column named \"\(name)\"; the result has \(result.columns.map(\.name))",
                    operation: "decode")
            }
            return i
        }

        private func describe(_ column: Int) -> String {
            "\(column) (\"\(result.columns[column].name)\", \(result.columns[column].type))"
        }
    }
}
