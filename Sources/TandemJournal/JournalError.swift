import TandemCore
import TandemPostgres

/// An error at the TandemJournal boundary: what failed (`code`), a sentence saying what, where and why
/// (`message`), the journal position it concerns (`seq`, `epoch`) and the underlying `cause`.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case database, schema, invalidArgument, headMoved, chainBroken, corruptPayload, fold, snapshot, notFound
        }
        let base: Base
        public var description: String { base.rawValue }

        /// PostgreSQL failed (connection lost, statement rejected); see `cause`.
        public static let database = Code(base: .database)
        /// The schema is missing or newer than this binary knows.
        public static let schema = Code(base: .schema)
        /// The caller passed something unusable (an empty batch, a bad range).
        public static let invalidArgument = Code(base: .invalidArgument)
        /// Another writer appended with the same epoch (should never happen: one writer per epoch).
        public static let headMoved = Code(base: .headMoved)
        /// The stored journal fails verification at `seq`: a gap, a hash mismatch or an epoch going back.
        public static let chainBroken = Code(base: .chainBroken)
        /// The payload at `seq` is not a valid canonical event.
        public static let corruptPayload = Code(base: .corruptPayload)
        /// The fold rejected the event at `seq`.
        public static let fold = Code(base: .fold)
        /// A snapshot failed its checks (checksum, or its chain hash does not match the journal).
        public static let snapshot = Code(base: .snapshot)
        /// A requested row or snapshot does not exist.
        public static let notFound = Code(base: .notFound)
    }

    public var code: Code
    public var message: String
    public var seq: UInt64?
    public var epoch: UInt64?
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, seq: UInt64? = nil, epoch: UInt64? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.seq = seq
        self.epoch = epoch
        self.cause = cause
    }

    public var description: String {
        var text = "journal \(code)"
        if let seq { text += " at seq \(seq)" }
        text += ": \(message)"
        if let cause { text += " (cause: \(cause))" }
        return text
    }

    static func database(_ error: PostgresError, _ doing: String, seq: UInt64? = nil) -> JournalError {
        JournalError(.database, "\(doing) failed: \(error.message)", seq: seq, cause: error)
    }
}

/// The append was refused because the writer's lease epoch is no longer current (a newer leader took
/// the lease) or the lease is halted. Nothing of the batch was stored. A fenced writer must stop: it is
/// a zombie of an older leadership and must not journal or send anything more.
public struct FencedError: Error, Sendable, CustomStringConvertible {
    /// The epoch the writer appended with.
    public var writerEpoch: UInt64
    /// The lease's epoch when the append was checked, when known.
    public var leaseEpoch: UInt64?
    /// True when the lease is halted (the watchdog's HALT).
    public var halted: Bool
    public var message: String

    public init(writerEpoch: UInt64, leaseEpoch: UInt64?, halted: Bool, message: String) {
        self.writerEpoch = writerEpoch
        self.leaseEpoch = leaseEpoch
        self.halted = halted
        self.message = message
    }

    public var description: String {
        "append fenced: writer epoch \(writerEpoch), lease epoch \(leaseEpoch.map(String.init) ?? "?")"
            + (halted ? " (halted)" : "") + ": \(message)"
    }
}
