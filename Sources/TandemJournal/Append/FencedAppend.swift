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
