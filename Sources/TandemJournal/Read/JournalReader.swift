import TandemPostgres

/// Reads stored rows in seq order, in PostgreSQL's binary format (bytea as raw bytes, no hex).
public enum JournalReader {
    static let sql = """
        SELECT seq, epoch, kind, ts_ns, payload, prev_hash, hash FROM tandem.events
        WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3
        """

    /// Up to `limit` rows with `after < seq ≤ through`, ascending.
    ///
    /// **Bounded by seq, not only by LIMIT.** Seqs are gapless (invariant 1), so the first `limit` rows
    /// are exactly `after < seq ≤ after + limit`, and the statement asks for that range. On a journal
    /// without statistics (freshly written, not yet auto-analysed) the planner may pick a bitmap scan
    /// plus a sort of every row it matches; with `seq > after` alone that is every row to the end of
    /// the journal, for every batch (a follower catching up went quadratic), with the range it is at
    /// most `limit` rows whatever the plan. Only if that range is empty while `through` lies beyond it
    /// (caught up at the head — or a tampered journal missing a whole range of rows, which the
    /// caller's chain check must get to see) is the open-ended statement asked too. (On such a journal
    /// a batch may also come back shorter than `limit` with rows still after it; a chain check stops
    /// at its gap either way.)
    public static func rows(
        _ conn: PGConnection, after: UInt64, through: UInt64 = UInt64(Int64.max), limit: Int = 10_000
    ) throws(JournalError) -> [JournalRow] {
        let through = min(through, UInt64(Int64.max))
        let (sum, overflow) = after.addingReportingOverflow(UInt64(max(0, limit)))
        let bounded = overflow ? through : min(through, sum)
        let batch = try rangeRows(conn, after: after, upTo: bounded, limit: limit)
        if batch.isEmpty, bounded < through {
            return try rangeRows(conn, after: after, upTo: through, limit: limit)
        }
        return batch
    }

    private static func rangeRows(_ conn: PGConnection, after: UInt64, upTo through: UInt64, limit: Int) throws(JournalError) -> [JournalRow] {
        var rows: [JournalRow] = []
        rows.reserveCapacity(min(limit, 16_384))
        do {
            try conn.forEachBinaryRow(Statement(sql, [Int64(bitPattern: after), Int64(bitPattern: through), limit])) { r in
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
    /// a cursor read in chunks of `fetchChunk` rows, the next chunk requested before the current one
    /// is handed out (`PGConnection.forEachBinaryRowInChunks`), so PostgreSQL produces rows while
    /// `body` verifies and folds earlier ones, and memory stays bounded by two chunks. This is the
    /// replay's read path; `rows` (buffered, one statement) remains for small reads.
    ///
    /// **Why a cursor.** Run as a plain statement, the planner (with the table's statistics missing or
    /// stale, as on a freshly written journal) picked a bitmap heap scan plus an *external merge sort*
    /// of every remaining row — a temp file, and no row before the whole sort. A cursor is planned for
    /// a fast start (`cursor_tuple_fraction`), which makes the ordered primary-key index scan the plan.
    /// Outside a transaction the cursor gets its own `BEGIN READ ONLY … COMMIT`; inside the caller's
    /// transaction it runs there and is closed before returning, on success or failure.
    ///
    /// `body` must not use `conn` (it is busy reading). An error thrown by `body` stops the read and
    /// is rethrown as is (a `JournalError` stays one); a database error becomes
    /// `JournalError(.database)` naming the first seq not yet delivered. Returns the rows delivered.
    @discardableResult
    public static func forEachRow(
        _ conn: PGConnection, after: UInt64, through: UInt64 = UInt64(Int64.max), limit: Int = Int(Int64.max),
        _ body: (JournalRow) throws(JournalError) -> Void
    ) throws(JournalError) -> Int {
        var delivered: UInt64 = after
        // One row value reused for every row: its three arrays are emptied and refilled in place (no
        // allocation per row) as long as `body` keeps no copy; if it does, copy-on-write keeps that copy
        // intact and this row simply gets fresh storage.
        var row = JournalRow(seq: 0, epoch: 0, kind: 0, timestampNanos: 0, payload: [], prevHash: [], hash: [])
        row.payload.reserveCapacity(512)
        row.prevHash.reserveCapacity(32)
        row.hash.reserveCapacity(32)
        return try streamRows(conn, after: after, through: through, limit: limit, delivered: { delivered }) { r in
            try fill(&row, from: r, delivered: delivered)
            try body(row)
            delivered = row.seq
        }
    }

    /// Refills `row` in place from a binary result row (its arrays keep their capacity).
    @inline(__always)
    static func fill(_ row: inout JournalRow, from r: PGBinaryRow, delivered: UInt64) throws(JournalError) {
        guard let seq = r.int64(0), let epoch = r.int64(1), let kind = r.int64(2), let ts = r.int64(3),
              r.replaceBytes(4, in: &row.payload) != nil, r.replaceBytes(5, in: &row.prevHash) != nil,
              r.replaceBytes(6, in: &row.hash) != nil
        else {
            throw JournalError(.database, "row \(r.index) of tandem.events has an unexpected NULL or type", seq: delivered + 1)
        }
        row.seq = UInt64(bitPattern: seq)
        row.epoch = UInt64(bitPattern: epoch)
        row.kind = UInt16(truncatingIfNeeded: kind)
        row.timestampNanos = ts
    }

    /// The streamed read of `forEachRow`, filling `queue`'s chunks for another thread to consume
    /// (`ReplayPipeline`), each row checked against the chain by `verifier` first: the first row that
    /// fails is not published and its `chainBroken` error is thrown. Every chunk filled, the last
    /// partial one included, is published, also when the read fails; the caller calls
    /// `queue.finish()`. Throws the consumer's failure (from `takeFree`) as is. Returns the rows read.
    static func readChunks(
        _ conn: PGConnection, after: UInt64, through: UInt64, limit: Int, verifier: inout ChainVerifier, queue: RowChunkQueue
    ) throws(JournalError) -> Int {
        var delivered: UInt64 = after
        var chain = HashChain()
        var chunk: RowChunk?
        defer { if let chunk, chunk.count > 0 { queue.publish(chunk) } }
        return try streamRows(conn, after: after, through: through, limit: limit, delivered: { delivered }) { r in
            let current: RowChunk
            if let chunk {
                current = chunk
            } else {
                current = try queue.takeFree()
                chunk = current
            }
            let i = current.count
            try fill(&current.rows[i], from: r, delivered: delivered)
            if let violation = verifier.verify(current.rows[i], chain: &chain) {
                throw ReplayFolder.chainError(violation, current.rows[i])
            }
            delivered = current.rows[i].seq
            current.count = i + 1
            if i + 1 == current.rows.count {
                queue.publish(current)
                chunk = nil
            }
        }
    }

    /// The same streamed read, handing `body` only each row's seq (no row built): a diagnostic for
    /// `tandem bench journal`, which reports what the read path costs without the journal's own work.
    @discardableResult
    public static func forEachRawSeq(
        _ conn: PGConnection, after: UInt64 = 0, _ body: (UInt64) throws(JournalError) -> Void
    ) throws(JournalError) -> Int {
        var delivered = after
        return try streamRows(conn, after: after, through: UInt64(Int64.max), limit: Int(Int64.max), delivered: { delivered }) { r in
            guard let seq = r.int64(0) else {
                throw JournalError(.database, "row \(r.index) of tandem.events has a NULL seq", seq: delivered + 1)
            }
            try body(UInt64(bitPattern: seq))
            delivered = UInt64(bitPattern: seq)
        }
    }

    static let cursorName = "tandem_journal_read"
    /// Rows per FETCH: big enough that a round trip per chunk is noise, small enough (≈ 200 KB) that
    /// the next chunk fits in the socket buffers while the current one is consumed.
    static let fetchChunk = 1_000

    /// The cursor dance shared by the streamed reads (see `forEachRow`).
    private static func streamRows(
        _ conn: PGConnection, after: UInt64, through: UInt64, limit: Int, delivered: () -> UInt64,
        _ body: (PGBinaryRow) throws -> Void
    ) throws(JournalError) -> Int {
        let ownTransaction = !conn.isInTransaction
        do {
            if ownTransaction { try conn.execute("BEGIN READ ONLY") }
            // Integers only, so formatting them into the text is safe (DECLARE takes no bind parameters).
            try conn.execute("""
                DECLARE \(cursorName) NO SCROLL CURSOR FOR
                SELECT seq, epoch, kind, ts_ns, payload, prev_hash, hash FROM tandem.events
                WHERE seq > \(Int64(bitPattern: after)) AND seq <= \(Int64(bitPattern: min(through, UInt64(Int64.max))))
                ORDER BY seq LIMIT \(max(0, limit))
                """)
            let count = try conn.forEachBinaryRowInChunks(Statement("FETCH \(fetchChunk) FROM \(cursorName)"), body)
            try conn.execute("CLOSE \(cursorName)")
            if ownTransaction { try conn.execute("COMMIT") }
            return count
        } catch {
            if ownTransaction {
                if conn.isInTransaction { try? conn.execute("ROLLBACK") }
            } else {
                // Leave the caller's transaction as we found it: no cursor left open under our name.
                try? conn.execute("CLOSE \(cursorName)")
            }
            if let error = error as? JournalError { throw error }
            let at = delivered()
            if let error = error as? PostgresError {
                throw JournalError.database(error, "reading events after seq \(at)", seq: at + 1)
            }
            throw JournalError(.database, "reading events after seq \(at) failed: \(error)", seq: at + 1)
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
