import TandemPostgres

/// Reads stored rows in seq order, in PostgreSQL's binary format (bytea as raw bytes, no hex).
public enum JournalReader {
    static let sql = """
        SELECT seq, epoch, kind, ts_ns, payload, prev_hash, hash FROM tandem.events
        WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3
        """

    /// Up to `limit` rows with `after < seq ≤ through`, ascending.
    public static func rows(
        _ conn: PGConnection, after: UInt64, through: UInt64 = UInt64(Int64.max), limit: Int = 10_000
    ) throws(JournalError) -> [JournalRow] {
        var rows: [JournalRow] = []
        rows.reserveCapacity(min(limit, 16_384))
        do {
            try conn.forEachBinaryRow(Statement(sql, [Int64(bitPattern: after), Int64(bitPattern: min(through, UInt64(Int64.max))), limit])) { r in
                guard let seq = r.int64(0), let epoch = r.int64(1), let kind = r.int64(2), let ts = r.int64(3),
                      let payload = r.bytes(4), let prev = r.bytes(5), let hash = r.bytes(6)
                else {
                    throw JournalError(.database, "row \(r.index) of tandem.events has an unexpected NULL or type")
                }
                rows.append(JournalRow(
                    seq: UInt64(bitPattern: seq), epoch: UInt64(bitPattern: epoch), kind: UInt16(truncatingIfNeeded: kind),
                    timestampNanos: ts, payload: payload, prevHash: prev, hash: hash))
            }
        } catch let error as PostgresError {
            throw JournalError.database(error, "reading events after seq \(after)", seq: after + 1)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.database, "reading events after seq \(after) failed: \(error)", seq: after + 1)
        }
        return rows
    }

    /// Calls `body` with every row `after < seq ≤ through` (at most `limit`), ascending, **streamed**:
    /// one statement whose rows arrive one at a time (libpq single-row mode), so PostgreSQL produces
    /// rows while `body` verifies and folds earlier ones, and memory stays bounded by one row. This is
    /// the replay's read path; `rows` (buffered) remains for small reads.
    ///
    /// `body` must not use `conn` (it is busy streaming). An error thrown by `body` cancels the
    /// statement and is rethrown as is (a `JournalError` stays one); a database error becomes
    /// `JournalError(.database)` naming the first seq not yet delivered. Returns the rows delivered.
    @discardableResult
    public static func forEachRow(
        _ conn: PGConnection, after: UInt64, through: UInt64 = UInt64(Int64.max), limit: Int = Int(Int64.max),
        _ body: (JournalRow) throws(JournalError) -> Void
    ) throws(JournalError) -> Int {
        var delivered: UInt64 = after
        do {
            let statement = Statement(sql, [
                Int64(bitPattern: after), Int64(bitPattern: min(through, UInt64(Int64.max))), Int64(max(0, limit)),
            ])
            // One row value reused for every row: its three arrays are emptied and refilled in place
            // (no allocation per row) as long as `body` keeps no copy; if it does, copy-on-write keeps
            // that copy intact and this row simply gets fresh storage.
            var row = JournalRow(seq: 0, epoch: 0, kind: 0, timestampNanos: 0, payload: [], prevHash: [], hash: [])
            row.payload.reserveCapacity(512)
            row.prevHash.reserveCapacity(32)
            row.hash.reserveCapacity(32)
            return try conn.forEachBinaryRowStreamed(statement) { r in
                row.payload.removeAll(keepingCapacity: true)
                row.prevHash.removeAll(keepingCapacity: true)
                row.hash.removeAll(keepingCapacity: true)
                guard let seq = r.int64(0), let epoch = r.int64(1), let kind = r.int64(2), let ts = r.int64(3),
                      r.appendBytes(4, to: &row.payload) != nil, r.appendBytes(5, to: &row.prevHash) != nil,
                      r.appendBytes(6, to: &row.hash) != nil
                else {
                    throw JournalError(.database, "row \(r.index) of tandem.events has an unexpected NULL or type", seq: delivered + 1)
                }
                row.seq = UInt64(bitPattern: seq)
                row.epoch = UInt64(bitPattern: epoch)
                row.kind = UInt16(truncatingIfNeeded: kind)
                row.timestampNanos = ts
                try body(row)
                delivered = row.seq
            }
        } catch let error as JournalError {
            throw error
        } catch let error as PostgresError {
            throw JournalError.database(error, "reading events after seq \(delivered)", seq: delivered + 1)
        } catch {
            throw JournalError(.database, "reading events after seq \(delivered) failed: \(error)", seq: delivered + 1)
        }
    }

    /// One row by seq, or nil.
    public static func row(_ conn: PGConnection, seq: UInt64) throws(JournalError) -> JournalRow? {
        guard seq > 0 else { return nil }
        return try rows(conn, after: seq - 1, through: seq, limit: 1).first
    }

    /// The first seq whose event timestamp is after `timestampNanos`, minus one: replay "as of" a time
    /// stops there (journal order is the truth; timestamps are expected not to go backwards).
    public static func lastSeq(_ conn: PGConnection, atOrBefore timestampNanos: Int64) throws(JournalError) -> UInt64 {
        do {
            let r = try conn.query(
                "SELECT coalesce((SELECT min(seq) - 1 FROM tandem.events WHERE ts_ns > $1), (SELECT seq FROM tandem.journal_head WHERE id = 1))",
                [timestampNanos])
            return UInt64(try r[0].decode(Int64.self, at: 0))
        } catch {
            throw JournalError.database(error, "finding the last seq at or before \(timestampNanos) ns")
        }
    }
}
