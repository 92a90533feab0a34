import Logging
import TandemCore
import TandemPostgres

/// What `tandem audit verify` found.
public struct AuditReport: Sendable {
    /// Rows that passed, from seq 1.
    public var verifiedThrough: UInt64
    /// The head row's seq (the journal's own idea of its end).
    public var headSeq: UInt64
    /// The first failure, or nil when the whole journal verifies.
    public var failure: JournalError?

    public var isValid: Bool { failure == nil }
}

/// The library behind `tandem audit verify`: reads every row from seq 1 in order and checks the hash
/// chain, gaplessness, non-decreasing epochs, the kind/timestamp columns, that every payload decodes,
/// and that the head row agrees with the last row. Stops at, and names, the first bad seq.
public enum AuditVerifier {
    /// `batchSize` is kept for source compatibility and ignored: the read is one chunked cursor.
    ///
    /// The head and the rows are read in one REPEATABLE READ snapshot, so a journal being appended to
    /// while it is verified (a live cluster) is checked as of one instant, not torn between two.
    public static func verify(_ conn: PGConnection, batchSize: Int = 20_000, logger: Logger) throws(JournalError) -> AuditReport {
        do {
            try conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        } catch {
            throw JournalError.database(error, "starting the audit's snapshot")
        }
        do {
            let report = try verifyInSnapshot(conn, logger: logger)
            try? conn.execute("COMMIT")
            return report
        } catch {
            try? conn.execute("ROLLBACK")
            throw error
        }
    }

    private static func verifyInSnapshot(_ conn: PGConnection, logger: Logger) throws(JournalError) -> AuditReport {
        let head = try FencedAppend.readHead(conn)
        var verifier = ChainVerifier()
        var chain = HashChain()
        // One cursor read in chunks (see `JournalReader.forEachRow`: batches of `LIMIT` re-sorted the
        // rest of the table each time on a journal without statistics). A failing row stops the read.
        var failed: (seq: UInt64, error: JournalError)?
        do throws(JournalError) {
            try JournalReader.forEachRow(conn, after: 0, limit: Int(Int64.max)) { (row) throws(JournalError) in
                do throws(JournalError) {
                    _ = try ReplayFolder.check(row, verifier: &verifier, chain: &chain)
                } catch {
                    failed = (row.seq, error)
                    throw error
                }
            }
        } catch {
            guard let failed else { throw error }
            logger.warning("journal verification failed", metadata: [
                "journal.seq": "\(failed.seq)", "journal.error": "\(failed.error.message)",
            ])
            return AuditReport(verifiedThrough: failed.seq - 1, headSeq: head.seq, failure: failed.error)
        }
        let end = verifier.head
        if end.seq != head.seq || end.hash != head.hash {
            let failure = end.seq < head.seq
                ? JournalError(.chainBroken, "the head says seq \(head.seq) but the rows end at \(end.seq): events are missing", seq: end.seq + 1)
                : JournalError(.chainBroken, "the head row (seq \(head.seq)) does not match the last event", seq: head.seq)
            return AuditReport(verifiedThrough: end.seq, headSeq: head.seq, failure: failure)
        }
        return AuditReport(verifiedThrough: end.seq, headSeq: head.seq, failure: nil)
    }
}
