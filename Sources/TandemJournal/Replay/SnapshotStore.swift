import TandemCore
import TandemCrypto
import TandemPostgres

/// A stored snapshot: the fold's state after `seq`, with the chain hash of `seq` (so a restore is tied
/// to exactly that journal) and a SHA-256 of the state bytes.
public struct StoredSnapshot: Sendable, Hashable {
    public var seq: UInt64
    public var chainHash: [UInt8]
    public var state: [UInt8]
    public var stateSHA256: [UInt8]
}

/// Snapshots bound a cold start: restore the latest, then replay only what follows it.
public enum SnapshotStore {
    /// Stores the state after `head.seq` (idempotent per seq).
    public static func write(_ conn: PGConnection, state: TradingState, head: ChainHead) throws(JournalError) {
        let bytes = state.snapshotBytes()
        do {
            try conn.query(
                "INSERT INTO tandem.snapshots (seq, chain_hash, state, state_sha256) VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING",
                [Int64(bitPattern: head.seq), head.hash, bytes, SHA256.hash(bytes)])
        } catch {
            throw JournalError.database(error, "writing the snapshot at seq \(head.seq)", seq: head.seq)
        }
    }

    /// The newest snapshot at or before `seq` (any when nil).
    public static func latest(_ conn: PGConnection, atOrBefore seq: UInt64? = nil) throws(JournalError) -> StoredSnapshot? {
        do {
            var found: StoredSnapshot?
            try conn.forEachBinaryRow(Statement(
                "SELECT seq, chain_hash, state, state_sha256 FROM tandem.snapshots WHERE seq <= $1 ORDER BY seq DESC LIMIT 1",
                [Int64(bitPattern: min(seq ?? UInt64(Int64.max), UInt64(Int64.max)))])
            ) { r in
                if let s = r.int64(0), let h = r.bytes(1), let st = r.bytes(2), let sum = r.bytes(3) {
                    found = StoredSnapshot(seq: UInt64(s), chainHash: h, state: st, stateSHA256: sum)
                }
            }
            return found
        } catch let error as PostgresError {
            throw JournalError.database(error, "reading the latest snapshot")
        } catch {
            throw JournalError(.snapshot, "reading the latest snapshot failed: \(error)")
        }
    }

    /// Checks a snapshot (checksum; its chain hash equals the journal's hash at its seq) and decodes it.
    /// Returns the state and the epoch of the event at its seq.
    public static func restore(_ conn: PGConnection, _ snapshot: StoredSnapshot) throws(JournalError) -> (TradingState, UInt64) {
        guard SHA256.hash(snapshot.state) == snapshot.stateSHA256 else {
            throw JournalError(.snapshot, "the snapshot's state bytes do not match their SHA-256", seq: snapshot.seq)
        }
        guard let row = try JournalReader.row(conn, seq: snapshot.seq) else {
            throw JournalError(.snapshot, "the snapshot refers to seq \(snapshot.seq), which is not in the journal", seq: snapshot.seq)
        }
        guard row.hash == snapshot.chainHash else {
            throw JournalError(.snapshot, "the snapshot's chain hash differs from the journal's hash at its seq", seq: snapshot.seq)
        }
        do {
            return (try TradingState(snapshotBytes: snapshot.state), row.epoch)
        } catch {
            throw JournalError(.snapshot, "the snapshot's state does not decode: \(error.description)", seq: snapshot.seq, cause: error)
        }
    }
}

/// When to write a snapshot (sans-I/O): every `everyEvents` events folded.
public struct SnapshotPolicy: Sendable, Hashable {
    public var everyEvents: UInt64
    public private(set) var sinceLast: UInt64 = 0

    public init(everyEvents: UInt64) { self.everyEvents = max(1, everyEvents) }

    /// Counts one folded event; true when a snapshot is due (and restarts the count).
    public mutating func eventFolded() -> Bool {
        sinceLast += 1
        if sinceLast >= everyEvents { sinceLast = 0; return true }
        return false
    }
}
