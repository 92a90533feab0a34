import Logging
import NIOCore
import NIOPosix
import Synchronization
import TandemCore
import TandemFIX
import TandemJournal
import TandemPostgres

/// The watchdog's PostgreSQL face, on its own role: its mode, the operator commands queue, the lease
/// (read; HALT and RESUME through the migration's functions) and the journal (read; its own HALT and
/// RESUME appended at the epoch it halted with). Every method is one hop to the connection's thread.
struct WatchdogStore: Sendable {
    let connection: PostgresConnection
    let dsn: String
    let logger: Logger

    struct Saved: Sendable {
        var mode: WatchdogMode
        var blocked: Bool
        var reason: String?
    }

    struct LeaseView: Sendable {
        var holder: String?
        var epoch: UInt64
        var halted: Bool
        var millisecondsToExpiry: Int64?
        /// Since the holder last renewed (or anyone last changed the row).
        var millisecondsSinceUpdate: Int64
    }

    func loadState() async throws(WatchdogError) -> Saved {
        try await run("reading tandem.watchdog_state") { c in
            let r = try c.query("SELECT mode, blocked, reason FROM tandem.watchdog_state WHERE id = 1")
            guard !r.isEmpty else { return Saved(mode: .normal, blocked: false, reason: nil) }
            let mode = WatchdogMode(rawValue: try r[0].decode(String.self, at: 0)) ?? .normal
            return Saved(mode: mode, blocked: try r[0].decode(Bool.self, at: 1), reason: try r[0].decodeIfPresent(String.self, at: 2))
        }
    }

    func saveState(_ mode: WatchdogMode, blocked: Bool, reason: String?, by: String) async throws(WatchdogError) {
        try await run("writing tandem.watchdog_state") { c in
            _ = try c.query("""
                UPDATE tandem.watchdog_state SET mode = $1, blocked = $2, reason = $3, updated_by = $4,
                    since = CASE WHEN mode = $1 THEN since ELSE clock_timestamp() END, updated_at = clock_timestamp()
                WHERE id = 1
                """, [mode.rawValue, blocked, reason, by])
        }
    }

    func saveView(_ view: String) async throws(WatchdogError) {
        try await run("writing the watchdog's view") { c in
            _ = try c.query("UPDATE tandem.watchdog_state SET view = $1, updated_at = clock_timestamp() WHERE id = 1", [view])
        }
    }

    func lease() async throws(WatchdogError) -> LeaseView {
        try await run("reading the lease") { c in
            let r = try c.query("""
                SELECT holder, epoch, halted, (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::bigint,
                       (extract(epoch FROM clock_timestamp() - updated_at) * 1000)::bigint
                FROM tandem.lease WHERE id = 1
                """)
            let row = r[0]
            return LeaseView(holder: try row.decodeIfPresent(String.self, at: 0), epoch: UInt64(try row.decode(Int64.self, at: 1)),
                             halted: try row.decode(Bool.self, at: 2), millisecondsToExpiry: try row.decodeIfPresent(Int64.self, at: 3),
                             millisecondsSinceUpdate: try row.decode(Int64.self, at: 4))
        }
    }

    /// Each node's id and milliseconds since its last status row (its heartbeat).
    func nodeAges() async throws(WatchdogError) -> [(id: String, ageMillis: Int64)] {
        try await run("reading tandem.node_status") { c in
            let r = try c.query("SELECT node_id, (extract(epoch FROM clock_timestamp() - updated_at) * 1000)::bigint FROM tandem.node_status ORDER BY node_id")
            return try (0..<r.count).map { (try r[$0].decode(String.self, at: 0), try r[$0].decode(Int64.self, at: 1)) }
        }
    }

    struct PendingCommand: Sendable {
        var id: Int64
        var command: SignedCommand?
        var malformed: String?
    }

    func pendingCommands() async throws(WatchdogError) -> [PendingCommand] {
        try await run("reading tandem.watchdog_commands") { c in
            let r = try c.query("""
                SELECT id, action, reason, issued_by, issued_ns, nonce, signature FROM tandem.watchdog_commands
                WHERE status = 'pending' ORDER BY id LIMIT 16
                """)
            return try (0..<r.count).map { i in
                let row = r[i]
                let id = try row.decode(Int64.self, at: 0)
                let actionText = try row.decode(String.self, at: 1)
                guard let action = SignedCommand.Action(rawValue: actionText) else {
                    return PendingCommand(id: id, command: nil, malformed: "unknown action \"\(actionText)\"")
                }
                return PendingCommand(id: id, command: SignedCommand(
                    action: action, reason: try row.decode(String.self, at: 2), issuedBy: try row.decode(String.self, at: 3),
                    issuedNanos: try row.decode(Int64.self, at: 4), nonce: try row.decode(String.self, at: 5),
                    signature: try row.decode(String.self, at: 6)), malformed: nil)
            }
        }
    }

    func nonceUsed(_ nonce: String) async throws(WatchdogError) -> Bool {
        try await run("checking a command nonce") { c in
            try c.query("SELECT EXISTS (SELECT 1 FROM tandem.watchdog_commands WHERE nonce = $1 AND status = 'done')", [nonce])[0]
                .decode(Bool.self, at: 0)
        }
    }

    func answer(_ id: Int64, done: Bool, result: String) async throws(WatchdogError) {
        try await run("answering command \(id)") { c in
            _ = try c.query("""
                UPDATE tandem.watchdog_commands SET status = $2, result = $3, answered_at = clock_timestamp() WHERE id = $1
                """, [id, done ? "done" : "refused", result])
        }
    }

    /// HALT: the lease's new (or, if already halted, current) epoch.
    func halt(by: String, reason: String) async throws(WatchdogError) -> UInt64 {
        try await run("halting the lease") { c in try Lease.halt(c, by: by, reason: reason) }
    }

    func resume(by: String) async throws(WatchdogError) -> Bool {
        try await run("resuming the lease") { c in try Lease.resume(c, by: by) }
    }

    /// Appends `event` at `epoch` (a halted epoch the watchdog holds) on a connection of its own, as a
    /// journal writer must have.
    func journal(_ event: JournalEvent, epoch: UInt64) async throws(WatchdogError) -> UInt64 {
        let conn: PostgresConnection
        do {
            conn = try await PostgresConnection.connect(dsn, logger: logger)
        } catch {
            throw WatchdogError(.database, "connecting to journal \(event.kind) at epoch \(epoch) failed", cause: error)
        }
        do {
            let seq = try await JournalWriter(connection: conn, epoch: epoch, logger: logger).append(event)
            await conn.close()
            return seq
        } catch {
            await conn.close()
            throw WatchdogError(.database, "journaling \(event.kind) at epoch \(epoch) failed", cause: error)
        }
    }

    /// Where the watchdog's fold starts: the state at the journal's head, folded from the newest
    /// verified snapshot (or seq 1) with the chain checked on every row read, that head's seq and its
    /// event's UTC nanoseconds. Nil on any failure (logged), e.g. an event the fold refuses: the cycle
    /// then folds from seq 1 itself, logging and skipping such events.
    func foldFromNewestSnapshot() async -> (state: TradingState, seq: UInt64, nanos: Int64?)? {
        let logger = self.logger
        do {
            return try await run("folding the journal from the newest snapshot") { c in
                let result = try Replayer.replayFromNewestSnapshot(c, logger: logger)
                let nanos = try JournalReader.row(c, seq: result.head.seq)?.timestampNanos
                logger.info("journal folded", metadata: [
                    "journal.snapshot_seq": "\(result.startedFromSnapshot.map { "\($0)" } ?? "-")", "journal.seq": "\(result.head.seq)"])
                return (result.state, result.head.seq, nanos)
            }
        } catch {
            logger.warning("could not fold the journal at start; folding it event by event from seq 1", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Events after `seq`, decoded, with their UTC nanosecond timestamps, at most `limit`.
    func events(after seq: UInt64, limit: Int = 5_000) async throws(WatchdogError) -> [(seq: UInt64, nanos: Int64, event: JournalEvent)] {
        try await run("reading the journal after seq \(seq)") { c in
            try JournalReader.rows(c, after: seq, limit: limit).map { row in (row.seq, row.timestampNanos, try EventCodec.decode(row.payload)) }
        }
    }

    func sessionSeqs() async throws(WatchdogError) -> [String: Int] {
        try await run("reading tandem.watchdog_sessions") { c in
            let r = try c.query("SELECT session, next_sender_seq FROM tandem.watchdog_sessions")
            var out: [String: Int] = [:]
            for i in 0..<r.count { out[try r[i].decode(String.self, at: 0)] = try r[i].decode(Int.self, at: 1) }
            return out
        }
    }

    private func run<T: Sendable>(_ doing: String, _ body: @escaping @Sendable (PGConnection) throws -> T) async throws(WatchdogError) -> T {
        do {
            return try await connection.withConnection(body)
        } catch let error as WatchdogError {
            throw error
        } catch {
            throw WatchdogError(.database, "\(doing) failed", cause: error)
        }
    }
}

/// Persists each of the watchdog's FIX sessions' next outbound MsgSeqNum before the message is written,
/// so a restarted watchdog logs on where it left off instead of being refused as "MsgSeqNum too low".
/// Inbound seqs are deliberately not kept: it logs on expecting 1, so the venue resends its whole day
/// and the drop-copy view is rebuilt from the venue itself.
///
/// The write is blocking libpq, so it runs on NIO's thread pool, never on the event loop (a database
/// outage must not stall the drop copy or the feed). Writes may finish out of order, so the stored
/// value only moves up (`GREATEST`); the watchdog never resets its sequence numbers. The connection
/// is this gate's alone.
final class SessionSeqGate: FIXOutboundGate, Sendable {
    private let connection: Mutex<PGConnection?>
    private let dsn: String
    private let logger: Logger

    init(dsn: String, logger: Logger) {
        self.dsn = dsn
        self.logger = logger
        self.connection = Mutex(nil)
    }

    func persist(_ message: FIXPersistedMessage, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let session = "\(message.senderCompID)->\(message.targetCompID)"
        let next = message.msgSeqNum + 1
        return NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) {
            do {
                try self.connection.withLock { c in
                    if c == nil || !(c!.isConnected) { c = try PGConnection.connect(self.dsn, logger: self.logger) }
                    _ = try c!.query("""
                        INSERT INTO tandem.watchdog_sessions (session, next_sender_seq) VALUES ($1, $2)
                        ON CONFLICT (session) DO UPDATE
                            SET next_sender_seq = GREATEST(tandem.watchdog_sessions.next_sender_seq, excluded.next_sender_seq),
                                updated_at = clock_timestamp()
                        """, [session, next])
                }
            } catch {
                self.connection.withLock { $0 = nil }
                throw WatchdogError(.database, "persisting \(session)'s next MsgSeqNum \(next) failed", cause: error)
            }
        }
    }

    func mayWrite() -> Bool { true }
}
