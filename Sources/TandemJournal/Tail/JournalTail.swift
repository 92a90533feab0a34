import Logging
import TandemCore
import TandemPostgres

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How far a tail is behind the journal.
public struct TailLag: Sendable, Hashable {
    /// Committed events not yet delivered (head seq as last read − delivered seq).
    public var seqs: UInt64
    /// This machine's UTC clock minus the event's timestamp, in milliseconds. Across machines it
    /// includes their clock difference; it is an operator's gauge, never used for decisions.
    public var milliseconds: Int64
}

/// One delivered event.
public struct TailedEvent: Sendable {
    public var seq: UInt64
    public var epoch: UInt64
    public var event: JournalEvent
    public var lag: TailLag
    /// The event's chain hash, verified: with `seq`, the ``ChainHead`` a snapshot of the state
    /// folded through this event is stored under.
    public var hash: [UInt8]
}

/// Follows the journal: every event after `after` exactly once, in seq order, with no gaps, verified
/// against the hash chain, forever (until the task is cancelled, when the sequence ends).
///
/// It LISTENs on the journal's channel to wake and reads by `seq > last`, so a lost notification only
/// delays it (it also polls every `pollInterval`). On a lost connection or a PostgreSQL restart it
/// reconnects with exponential backoff and resumes from the last delivered seq: nothing is skipped
/// and nothing is delivered twice. Errors other than connection loss (a broken chain, a corrupt
/// payload) end the iteration with a `JournalError` naming the seq.
public struct JournalTail: AsyncSequence, Sendable {
    public typealias Element = TailedEvent

    public struct Options: Sendable {
        public var batchSize: Int = 5_000
        public var pollInterval: Duration = .milliseconds(500)
        public var initialBackoff: Duration = .milliseconds(50)
        public var maxBackoff: Duration = .seconds(2)
        public init() {}
    }

    let dsn: String
    let after: UInt64
    let options: Options
    let logger: Logger

    /// Tails the journal at `dsn` from the event after seq `after` (0 = from the start). Opens its own
    /// connection (a LISTEN session must not be shared).
    public init(dsn: String, after: UInt64 = 0, options: Options = Options(), logger: Logger) {
        self.dsn = dsn
        self.after = after
        self.options = options
        self.logger = logger
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(tail: self)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let tail: JournalTail
        var connection: PostgresConnection?
        var verifier: ChainVerifier?
        var chain = HashChain()
        var buffer: [JournalRow] = []
        var index = 0
        var knownHead: UInt64 = 0
        var backoff: Duration
        /// Reconnections so far (for tests and metrics).
        public private(set) var reconnects = 0

        init(tail: JournalTail) {
            self.tail = tail
            self.backoff = tail.options.initialBackoff
        }

        public var lastDeliveredSeq: UInt64 { verifier?.head.seq ?? tail.after }

        public mutating func next() async throws -> TailedEvent? {
            while !Task.isCancelled {
                if index < buffer.count, var verifier {
                    let row = buffer[index]
                    index += 1
                    let event = try ReplayFolder.check(row, verifier: &verifier, chain: &chain)
                    self.verifier = verifier
                    let lag = TailLag(
                        seqs: knownHead > row.seq ? knownHead - row.seq : 0,
                        milliseconds: (wallClockNanos() - row.timestampNanos) / 1_000_000)
                    return TailedEvent(seq: row.seq, epoch: row.epoch, event: event, lag: lag, hash: row.hash)
                }
                do {
                    let conn = try await connected()
                    let after = lastDeliveredSeq
                    let batchSize = tail.options.batchSize
                    let (rows, head) = try await conn.withConnection { c in
                        let rows = try JournalReader.rows(c, after: after, limit: batchSize)
                        let head = try FencedAppend.readHead(c).seq
                        return (rows, head)
                    }
                    knownHead = head
                    backoff = tail.options.initialBackoff
                    if !rows.isEmpty {
                        buffer = rows
                        index = 0
                        continue
                    }
                    _ = try await conn.waitForNotification(timeout: tail.options.pollInterval)
                } catch {
                    guard Self.isConnectionLoss(error) else { throw error }
                    tail.logger.warning("journal tail lost its connection; reconnecting", metadata: [
                        "journal.seq": "\(lastDeliveredSeq)", "journal.backoff_ms": "\(backoff.components.seconds * 1000 + backoff.components.attoseconds / 1_000_000_000_000_000)",
                        "journal.error": "\(error)",
                    ])
                    await connection?.close()
                    connection = nil
                    do { try await Task.sleep(for: backoff) } catch { return nil }
                    backoff = Swift.min(backoff * 2, tail.options.maxBackoff)
                    reconnects += 1
                }
            }
            await connection?.close()
            connection = nil
            return nil
        }

        /// Connects, LISTENs (before reading, so no commit after the read goes unnoticed) and, the first
        /// time, loads the chain hash of the starting seq.
        private mutating func connected() async throws -> PostgresConnection {
            if let connection { return connection }
            let conn = try await PostgresConnection.connect(tail.dsn, logger: tail.logger)
            do {
                try await conn.listen(JournalSchema.notifyChannel)
                if verifier == nil {
                    let after = tail.after
                    let start: JournalRow? = try await conn.withConnection { c in try JournalReader.row(c, seq: after) }
                    if after > 0 {
                        guard let start else {
                            throw JournalError(.notFound, "cannot tail after seq \(after): it is not in the journal yet", seq: after)
                        }
                        verifier = ChainVerifier(after: ChainHead(seq: after, hash: start.hash), lastEpoch: start.epoch)
                    } else {
                        verifier = ChainVerifier()
                    }
                }
            } catch {
                await conn.close()
                throw error
            }
            connection = conn
            return conn
        }

        static func isConnectionLoss(_ error: any Error) -> Bool {
            if let pg = error as? PostgresError { return pg.isConnectionLoss }
            if let j = error as? JournalError, let pg = j.cause as? PostgresError { return pg.isConnectionLoss }
            return false
        }
    }
}

func wallClockNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
