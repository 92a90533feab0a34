import TandemCore
import TandemPostgres

/// One event ready to append: its canonical frame and the two header fields stored as columns.
public struct EncodedEvent: Sendable, Hashable {
    public var kind: UInt16
    public var timestampNanos: Int64
    public var frame: [UInt8]

    public init(_ event: JournalEvent) {
        kind = event.kind.rawValue
        timestampNanos = event.timestamp.nanosecondsSinceEpoch
        frame = EventCodec.encode(event)
    }

    /// For tests and tools that store raw frames (e.g. to exercise corrupt payloads).
    public init(kind: UInt16, timestampNanos: Int64, frame: [UInt8]) {
        self.kind = kind
        self.timestampNanos = timestampNanos
        self.frame = frame
    }
}

/// The fenced append of one batch: the synchronous I/O shell around `tandem.append_events`.
///
/// One statement, one round trip, one commit: the hashes are chained here from `head`, then the server
/// function locks the head, checks it, inserts every row with `unnest`, moves the head, checks the
/// epoch under `FOR SHARE` on the lease row (held to commit) and notifies tailers. The payloads travel
/// as one binary `bytea` with offsets, so nothing is hex-encoded.
public enum FencedAppend {
    static let sql = "SELECT tandem.append_events($1, $2, $3, $4::smallint[], $5::bigint[], $6::integer[], $7::integer[], $8, $9)"

    /// Appends `events` after `head` with `epoch`, in the current autocommit session (the statement is
    /// its own transaction, committed with the server's `synchronous_commit`, on by default). Returns
    /// the new head. Throws `FencedError` when fenced, `JournalError` otherwise; either way nothing of
    /// the batch is stored.
    public static func append(
        _ conn: PGConnection, epoch: UInt64, head: ChainHead, events: [EncodedEvent]
    ) throws -> ChainHead {
        guard !events.isEmpty else {
            throw JournalError(.invalidArgument, "an append needs at least one event", epoch: epoch)
        }
        var chain = HashChain()
        var hashes: [UInt8] = []
        hashes.reserveCapacity(events.count * 32)
        var payloads: [UInt8] = []
        payloads.reserveCapacity(events.reduce(0) { $0 + $1.frame.count })
        var kinds = "{", stamps = "{", offsets = "{", lengths = "{"
        var prev = head.hash
        var seq = head.seq
        for (i, event) in events.enumerated() {
            seq += 1
            prev = chain.hash(prevHash: prev, seq: seq, epoch: epoch, payload: event.frame)
            hashes.append(contentsOf: prev)
            if i > 0 { kinds += ","; stamps += ","; offsets += ","; lengths += "," }
            kinds += String(event.kind)
            stamps += String(event.timestampNanos)
            offsets += String(payloads.count)
            lengths += String(event.frame.count)
            payloads.append(contentsOf: event.frame)
        }
        kinds += "}"; stamps += "}"; offsets += "}"; lengths += "}"
        do {
            let result = try conn.query(sql, [
                Int64(bitPattern: epoch), Int64(bitPattern: head.seq), head.hash,
                kinds, stamps, offsets, lengths, payloads, hashes,
            ])
            let last = try result[0].decode(Int64.self, at: 0)
            guard UInt64(last) == seq else {
                throw JournalError(.database, "the append returned head seq \(last), expected \(seq)", seq: seq, epoch: epoch)
            }
            return ChainHead(seq: seq, hash: prev)
        } catch let error as PostgresError {
            throw classify(error, epoch: epoch, head: head)
        }
    }

    /// How a batch reaches the server. All three are one transaction with the same fencing: the head
    /// row is locked and checked first, the lease row is read `FOR SHARE` (held to commit) after the
    /// rows are in, and a moved epoch or a halt rolls everything back with `FencedError`. The hashes are
    /// chained here identically, so the stored rows are byte-identical whichever method wrote them.
    public enum Method: String, Sendable, CaseIterable {
        /// `tandem.append_events`: one statement, one round trip (arrays + one bytea of payloads).
        case function
        /// libpq pipeline: BEGIN, the head `UPDATE … WHERE seq = head`, one prepared INSERT per event,
        /// the lease read, in one round trip; then COMMIT (or ROLLBACK) after the client checked them.
        case pipelinedInserts
        /// BEGIN + head `UPDATE` (pipelined), `COPY tandem.events FROM STDIN (FORMAT binary)`, the lease
        /// read, then COMMIT after the client checked it: four round trips, no per-row statement.
        case copyBinary
    }

    /// `append` by `method` (see `Method`): the same contract, result and errors.
    public static func append(
        _ conn: PGConnection, epoch: UInt64, head: ChainHead, events: [EncodedEvent], method: Method
    ) throws -> ChainHead {
        switch method {
        case .function: return try append(conn, epoch: epoch, head: head, events: events)
        case .pipelinedInserts, .copyBinary: break
        }
        guard !events.isEmpty else {
            throw JournalError(.invalidArgument, "an append needs at least one event", epoch: epoch)
        }
        var chain = HashChain()
        var hashes: [[UInt8]] = []
        hashes.reserveCapacity(events.count)
        var prev = head.hash
        for (i, event) in events.enumerated() {
            prev = chain.hash(prevHash: prev, seq: head.seq + UInt64(i) + 1, epoch: epoch, payload: event.frame)
            hashes.append(prev)
        }
        let newHead = ChainHead(seq: head.seq + UInt64(events.count), hash: prev)
        let moveHead = Statement(
            "UPDATE tandem.journal_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3 AND hash = $4",
            [Int64(bitPattern: newHead.seq), newHead.hash, Int64(bitPattern: head.seq), head.hash])
        let leaseCheck = Statement(
            "SELECT epoch, halted, pg_notify('\(JournalSchema.notifyChannel)', $1) FROM tandem.lease WHERE id = 1 FOR SHARE",
            [String(newHead.seq)])
        var open = false
        do {
            let moved: Int
            let lease: QueryResult
            switch method {
            case .function:
                preconditionFailure("handled above")
            case .pipelinedInserts:
                try prepareInsertRow(conn)
                var steps: [PipelineStep] = [.statement(Statement("BEGIN")), .statement(moveHead)]
                steps.reserveCapacity(events.count + 4)
                var before = head.hash
                for (i, event) in events.enumerated() {
                    steps.append(.statement(Statement(prepared: insertRowName, [
                        Int64(bitPattern: head.seq + UInt64(i) + 1), Int64(bitPattern: epoch), Int64(event.kind),
                        event.timestampNanos, event.frame, before, hashes[i],
                    ])))
                    before = hashes[i]
                }
                steps.append(.statement(leaseCheck))
                steps.append(.sync)
                open = true
                let outcomes = try conn.pipeline(steps)
                if let failure = outcomes.lazy.compactMap(\.error).first {
                    // The head moved (a concurrent append took our seqs: the INSERT hits the primary key)
                    // or a real error: classify after the rollback, as the server function does.
                    try conn.execute("ROLLBACK")
                    open = false
                    if outcomes[1].result?.affectedRows == 0 || failure.sqlState == "23505" {
                        throw try headMovedOrFenced(conn, epoch: epoch, head: head, cause: failure)
                    }
                    throw failure
                }
                moved = outcomes[1].result?.affectedRows ?? 0
                guard let result = outcomes[outcomes.count - 1].result else {
                    throw JournalError(.database, "the lease check returned no result", seq: head.seq + 1, epoch: epoch)
                }
                lease = result
            case .copyBinary:
                open = true
                let outcomes = try conn.pipeline([.statement(Statement("BEGIN")), .statement(moveHead), .sync])
                if let failure = outcomes.lazy.compactMap(\.error).first { throw failure }
                moved = outcomes[1].result?.affectedRows ?? 0
                if moved == 1 {
                    try conn.copyFromStdin(
                        "COPY tandem.events (seq, epoch, kind, ts_ns, payload, prev_hash, hash) FROM STDIN (FORMAT binary)",
                        data: binaryCopy(epoch: epoch, head: head, events: events, hashes: hashes))
                }
                lease = try conn.run(leaseCheck)
            }
            if moved != 1 {
                try conn.execute("ROLLBACK")
                open = false
                throw try headMovedOrFenced(conn, epoch: epoch, head: head, cause: nil)
            }
            if let fenced = try fence(lease, epoch: epoch) {
                try conn.execute("ROLLBACK")
                open = false
                throw fenced
            }
            open = false
            try conn.execute("COMMIT")
            return newHead
        } catch {
            if open, conn.isInTransaction { try? conn.execute("ROLLBACK") }
            if let error = error as? PostgresError { throw classify(error, epoch: epoch, head: head) }
            throw error
        }
    }

    static let insertRowName = "tandem_append_row"

    /// Prepares the pipelined path's INSERT on this session, once (a session that has it answers 42P05).
    private static func prepareInsertRow(_ conn: PGConnection) throws(PostgresError) {
        do {
            try conn.prepare(name: insertRowName, sql: """
                INSERT INTO tandem.events (seq, epoch, kind, ts_ns, payload, prev_hash, hash)
                VALUES ($1::bigint, $2::bigint, $3::smallint, $4::bigint, $5::bytea, $6::bytea, $7::bytea)
                """)
        } catch where error.sqlState == "42P05" {
            // already prepared on this session
        }
    }

    /// After a head mismatch (and the rollback): fenced if the lease moved on or is halted, else the
    /// head moved under a writer that still holds the lease — the server function's two answers.
    private static func headMovedOrFenced(_ conn: PGConnection, epoch: UInt64, head: ChainHead, cause: PostgresError?) throws -> any Error {
        if let fenced = try fence(conn.query("SELECT epoch, halted FROM tandem.lease WHERE id = 1"), epoch: epoch) {
            return fenced
        }
        return JournalError(.headMoved, "the journal head is not at seq \(head.seq) any more", seq: head.seq, epoch: epoch, cause: cause)
    }

    /// The lease row's `epoch, halted` as this writer's fence: the error if the lease moved to another
    /// epoch or is halted, nil while it is still the writer's (the server function's check).
    private static func fence(_ lease: QueryResult, epoch: UInt64) throws -> FencedError? {
        let leaseEpoch = UInt64(bitPattern: try lease[0].decode(Int64.self, at: 0))
        let halted = try lease[0].decode(Bool.self, at: 1)
        guard leaseEpoch != epoch || halted else { return nil }
        return FencedError(writerEpoch: epoch, leaseEpoch: leaseEpoch, halted: halted,
                           message: "writer epoch \(epoch) is fenced: lease epoch \(leaseEpoch), halted \(halted)")
    }

    /// The rows in PostgreSQL's binary COPY format: signature, flags, header extension length, then per
    /// row a field count and each field as a length and its bytes (integers big-endian), then -1.
    static func binaryCopy(epoch: UInt64, head: ChainHead, events: [EncodedEvent], hashes: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
        out.reserveCapacity(out.count + events.reduce(0) { $0 + $1.frame.count + 2 + 7 * 4 + 8 * 3 + 2 + 64 } + 2)
        func int32(_ v: Int32) {
            let u = UInt32(bitPattern: v)
            out.append(UInt8(truncatingIfNeeded: u >> 24)); out.append(UInt8(truncatingIfNeeded: u >> 16))
            out.append(UInt8(truncatingIfNeeded: u >> 8)); out.append(UInt8(truncatingIfNeeded: u))
        }
        func int64(_ v: Int64) {
            int32(8)
            let u = UInt64(bitPattern: v)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: u >> UInt64(shift))) }
        }
        func bytes(_ b: [UInt8]) { int32(Int32(b.count)); out.append(contentsOf: b) }
        var before = head.hash
        for (i, event) in events.enumerated() {
            out.append(0); out.append(7)
            int64(Int64(bitPattern: head.seq + UInt64(i) + 1))
            int64(Int64(bitPattern: epoch))
            int32(2); out.append(UInt8(truncatingIfNeeded: event.kind >> 8)); out.append(UInt8(truncatingIfNeeded: event.kind))
            int64(event.timestampNanos)
            bytes(event.frame)
            bytes(before)
            bytes(hashes[i])
            before = hashes[i]
        }
        out.append(0xFF); out.append(0xFF)
        return out
    }

    /// Maps the server's custom SQLSTATEs to the journal's errors.
    static func classify(_ error: PostgresError, epoch: UInt64, head: ChainHead) -> any Error {
        switch error.sqlState {
        case JournalSchema.fencedSQLState:
            let detail = (error.detail ?? "").split(separator: " ")
            return FencedError(
                writerEpoch: epoch,
                leaseEpoch: detail.first.flatMap { UInt64($0) },
                halted: detail.contains("halted"),
                message: error.message)
        case JournalSchema.headMovedSQLState:
            return JournalError(.headMoved, error.message, seq: head.seq, epoch: epoch, cause: error)
        default:
            return JournalError.database(error, "appending after seq \(head.seq)", seq: head.seq + 1)
        }
    }

    /// The head row: the last seq and its hash.
    public static func readHead(_ conn: PGConnection) throws(JournalError) -> ChainHead {
        do {
            let row = try conn.query("SELECT seq, hash FROM tandem.journal_head WHERE id = 1")
            guard !row.isEmpty else { throw JournalError(.schema, "tandem.journal_head has no row; run `tandem db migrate`") }
            return ChainHead(seq: UInt64(try row[0].decode(Int64.self, at: 0)), hash: try row[0].decode([UInt8].self, at: 1))
        } catch let error as PostgresError {
            throw JournalError.database(error, "reading the journal head")
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.database, "reading the journal head failed: \(error)")
        }
    }
}
