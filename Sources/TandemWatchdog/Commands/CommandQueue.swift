import TandemPostgres

/// Operator commands travel through PostgreSQL: `tandem risk`, the demo and tools queue a
/// ``SignedCommand`` in `tandem.watchdog_commands`; the watchdog verifies it, carries it out and writes
/// its answer in the same row. One place for that round trip, so every sender queues and waits alike.
public enum CommandQueue {
    public struct Answer: Sendable, Hashable {
        /// `done` or `refused`.
        public var status: String
        /// What the watchdog did, or why it refused.
        public var result: String
        public var isDone: Bool { status == "done" }
    }

    /// Queues `command` and polls for the answer for up to `timeout`; nil when none came (the watchdog
    /// is down: the command stays queued and runs when it starts, if still fresh).
    public static func submit(_ command: SignedCommand, dsn: String, timeout: Duration) async throws -> Answer? {
        let conn = try await PostgresConnection.connect(dsn)
        do {
            let answer = try await submit(command, on: conn, timeout: timeout)
            await conn.close()
            return answer
        } catch {
            await conn.close()
            throw error
        }
    }

    public static func submit(_ command: SignedCommand, on conn: PostgresConnection, timeout: Duration) async throws -> Answer? {
        let id = try await conn.withConnection { c in
            try c.query("""
                INSERT INTO tandem.watchdog_commands (action, reason, issued_by, issued_ns, nonce, signature)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
                """, [command.action.rawValue, command.reason, command.issuedBy, command.issuedNanos, command.nonce, command.signature])[0]
                .decode(Int64.self, at: 0)
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let r = try await conn.withConnection { c in
                try c.query("SELECT status, coalesce(result, '') FROM tandem.watchdog_commands WHERE id = $1", [id])
            }
            let status = try r[0].decode(String.self, at: 0)
            if status != "pending" { return Answer(status: status, result: try r[0].decode(String.self, at: 1)) }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}
