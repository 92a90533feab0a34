import TandemCrypto

/// Where the chain ends: the last seq and its hash. The genesis head is seq 0 with 32 zero bytes.
public struct ChainHead: Sendable, Hashable, CustomStringConvertible {
    public var seq: UInt64
    public var hash: [UInt8]

    public init(seq: UInt64, hash: [UInt8]) {
        self.seq = seq
        self.hash = hash
    }

    public static let genesis = ChainHead(seq: 0, hash: [UInt8](repeating: 0, count: 32))

    public var description: String { "seq \(seq) hash \(hash.hexString.prefix(16))…" }
}

/// The journal's hash chain. The exact bytes hashed for the event at `seq`:
///
///     hash(seq) = SHA-256( prev_hash (32 bytes)
///                        ‖ seq   (u64 big-endian)
///                        ‖ epoch (u64 big-endian)
///                        ‖ payload (the event's canonical frame from EventCodec, all of it) )
///
/// `prev_hash` is the hash of seq − 1, or 32 zero bytes for seq 1. The frame already carries the
/// event's kind and timestamp, so the `kind` and `ts_ns` columns are checked against it, not hashed
/// twice. Binding seq and epoch in means a row cannot be moved or re-attributed to another leader
/// without breaking the chain.
public struct HashChain: Sendable {
    private var hasher = SHA256Hasher()

    public init() {}

    public mutating func hash(prevHash: [UInt8], seq: UInt64, epoch: UInt64, payload: [UInt8]) -> [UInt8] {
        hasher.update(prevHash)
        hasher.update(bigEndian: seq)
        hasher.update(bigEndian: epoch)
        hasher.update(payload)
        return hasher.finalize()
    }

    /// The same digest, written into `digest` (reused storage: no allocation per event).
    public mutating func hash(prevHash: [UInt8], seq: UInt64, epoch: UInt64, payload: [UInt8], into digest: inout [UInt8]) {
        hasher.update(prevHash)
        hasher.update(bigEndian: seq)
        hasher.update(bigEndian: epoch)
        hasher.update(payload)
        hasher.finalize(into: &digest)
    }

    public mutating func hash(prevHash: [UInt8], seq: UInt64, epoch: UInt64, payload: ArraySlice<UInt8>) -> [UInt8] {
        hasher.update(prevHash)
        hasher.update(bigEndian: seq)
        hasher.update(bigEndian: epoch)
        hasher.update(payload)
        return hasher.finalize()
    }
}

/// One stored journal row, as read back.
public struct JournalRow: Sendable, Hashable {
    public var seq: UInt64
    public var epoch: UInt64
    public var kind: UInt16
    public var timestampNanos: Int64
    public var payload: [UInt8]
    public var prevHash: [UInt8]
    public var hash: [UInt8]

    public init(seq: UInt64, epoch: UInt64, kind: UInt16, timestampNanos: Int64, payload: [UInt8], prevHash: [UInt8], hash: [UInt8]) {
        self.seq = seq
        self.epoch = epoch
        self.kind = kind
        self.timestampNanos = timestampNanos
        self.payload = payload
        self.prevHash = prevHash
        self.hash = hash
    }
}

/// Why a row fails verification.
public enum ChainViolation: Sendable, Hashable, CustomStringConvertible {
    /// The row's seq is not the one after the previous row (a gap, a duplicate, or rows out of order).
    case gap(expected: UInt64, found: UInt64)
    /// The stored `prev_hash` is not the previous row's hash.
    case prevHashMismatch
    /// The stored `hash` is not SHA-256 of the row's bytes: the row was changed after it was written.
    case hashMismatch
    /// The epoch is lower than an earlier row's: a fenced writer's row, or a tampered epoch.
    case epochDecreased(previous: UInt64, found: UInt64)
    /// The `kind` or `ts_ns` column disagrees with the payload's frame header.
    case headerMismatch(String)

    public var description: String {
        switch self {
        case .gap(let expected, let found): "expected seq \(expected), found \(found) (gap or out of order)"
        case .prevHashMismatch: "prev_hash is not the previous event's hash"
        case .hashMismatch: "hash does not match SHA-256(prev_hash ‖ seq ‖ epoch ‖ payload): the row was altered"
        case .epochDecreased(let previous, let found): "epoch went back from \(previous) to \(found)"
        case .headerMismatch(let what): "the row's columns disagree with its payload: \(what)"
        }
    }
}

/// Verifies rows in seq order against the chain (sans-I/O: feed rows, get the first violation).
/// Checks gaplessness, `prev_hash`, `hash`, non-decreasing epochs and the kind/timestamp columns.
public struct ChainVerifier: Sendable {
    public private(set) var head: ChainHead
    public private(set) var lastEpoch: UInt64
    public private(set) var verifiedCount: UInt64 = 0
    /// Where the next digest is computed; swapped with `head.hash` on success, so verifying a row
    /// allocates nothing (the old head's storage becomes the next scratch).
    private var scratch: [UInt8] = []

    /// Starts after `head` (genesis to verify from seq 1, or a snapshot's seq and chain hash).
    public init(after head: ChainHead = .genesis, lastEpoch: UInt64 = 0) {
        self.head = head
        self.lastEpoch = lastEpoch
    }

    /// Checks `row` follows the head; on success it becomes the new head. On a violation the head stays.
    public mutating func verify(_ row: JournalRow, chain: inout HashChain) -> ChainViolation? {
        guard row.seq == head.seq &+ 1 else { return .gap(expected: head.seq &+ 1, found: row.seq) }
        guard row.prevHash == head.hash else { return .prevHashMismatch }
        chain.hash(prevHash: head.hash, seq: row.seq, epoch: row.epoch, payload: row.payload, into: &scratch)
        guard scratch == row.hash else { return .hashMismatch }
        guard row.epoch >= lastEpoch else { return .epochDecreased(previous: lastEpoch, found: row.epoch) }
        if let problem = Self.headerProblem(row) { return .headerMismatch(problem) }
        head.seq = row.seq
        swap(&head.hash, &scratch)
        lastEpoch = row.epoch
        verifiedCount += 1
        return nil
    }

    /// Takes `row` as the new head without checking it: for a second verifier that follows one which
    /// already verified `row` (the replay pipeline's folding side). Reuses the head's storage.
    mutating func accept(verified row: JournalRow) {
        head.seq = row.seq
        head.hash.removeAll(keepingCapacity: true)
        head.hash.append(contentsOf: row.hash)
        lastEpoch = row.epoch
        verifiedCount += 1
    }

    /// The frame header is `u8 version · u16 kind · u32 length`, then the payload, which starts with
    /// the i64 timestamp (see EventCodec).
    static func headerProblem(_ row: JournalRow) -> String? {
        let p = row.payload
        guard p.count >= 15 else { return "payload of \(p.count) bytes is shorter than a frame header and timestamp" }
        let kind = UInt16(p[1]) << 8 | UInt16(p[2])
        guard kind == row.kind else { return "kind column \(row.kind), payload kind \(kind)" }
        var ts: UInt64 = 0
        for i in 7..<15 { ts = ts << 8 | UInt64(p[i]) }
        guard Int64(bitPattern: ts) == row.timestampNanos else {
            return "ts_ns column \(row.timestampNanos), payload timestamp \(Int64(bitPattern: ts))"
        }
        return nil
    }
}
