import TandemPostgres

/// The lease row: who may append, with which epoch, until when (by the database's clock), and
/// whether trading is halted. The election logic (renewal, expiry, takeover) comes with the HA work;
/// this provides the row and the minimal operations tests and tools need.
public struct LeaseState: Sendable, Hashable {
    public var holder: String?
    public var epoch: UInt64
    public var halted: Bool
    /// Milliseconds until expiry by the database's clock (negative once expired); nil when never set.
    public var millisecondsToExpiry: Int64?
    /// Why it is halted (the watchdog's rule or the operator's reason); nil when not halted.
    public var haltReason: String?

    public init(holder: String?, epoch: UInt64, halted: Bool, millisecondsToExpiry: Int64?, haltReason: String? = nil) {
        self.holder = holder
        self.epoch = epoch
        self.halted = halted
        self.millisecondsToExpiry = millisecondsToExpiry
        self.haltReason = haltReason
    }
}

public enum Lease {
    /// Takes the lease for `holder` with a new epoch (`epoch + 1`), expiring `duration` from now by
    /// `clock_timestamp()`, and clears `halted`. It is an UPDATE of the lease row, so it waits for any
    /// append holding `FOR SHARE` on it, and every append that checks after it commits is fenced.
    @discardableResult
    public static func acquire(_ conn: PGConnection, holder: String, duration: Duration = .seconds(1)) throws(JournalError) -> UInt64 {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        do {
            let r = try conn.query("""
                UPDATE tandem.lease SET epoch = epoch + 1, holder = $1, halted = false, halt_reason = NULL,
                    expires_at = clock_timestamp() + $2 * interval '1 millisecond', updated_at = clock_timestamp()
                WHERE id = 1 RETURNING epoch
                """, [holder, ms])
            guard !r.isEmpty else { throw JournalError(.schema, "tandem.lease has no row; run `tandem db migrate`") }
            return UInt64(try r[0].decode(Int64.self, at: 0))
        } catch let error as PostgresError {
            throw JournalError.database(error, "acquiring the lease")
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.database, "acquiring the lease failed: \(error)")
        }
    }

    /// Halts: a new epoch with `halted` set, so the current writer's next append is fenced and no one
    /// may append until `acquire` clears it.
    @discardableResult
    public static func halt(_ conn: PGConnection, by holder: String) throws(JournalError) -> UInt64 {
        do {
            let r = try conn.query("""
                UPDATE tandem.lease SET epoch = epoch + 1, holder = $1, halted = true, updated_at = clock_timestamp()
                WHERE id = 1 RETURNING epoch
                """, [holder])
            return UInt64(try r[0].decode(Int64.self, at: 0))
        } catch {
            throw JournalError.database(error, "halting the lease")
        }
    }

    public static func read(_ conn: PGConnection) throws(JournalError) -> LeaseState {
        try currentState(conn, "reading the lease")
    }

    /// The watchdog's HALT (`tandem.watchdog_halt`): a new epoch, halted, held by `holder`, with `reason`.
    /// Idempotent: an already-halted lease keeps its epoch, which is returned, so a restarted watchdog
    /// journals at the epoch it halted with.
    public static func halt(_ conn: PGConnection, by holder: String, reason: String) throws(JournalError) -> UInt64 {
        do {
            let r = try conn.query("SELECT tandem.watchdog_halt($1, $2)", [holder, reason])
            return UInt64(try r[0].decode(Int64.self, at: 0))
        } catch {
            throw JournalError.database(error, "halting the lease (\(reason))")
        }
    }

    /// Lifts a halt (`tandem.watchdog_resume`): no holder, expired, not halted, so a node takes it with
    /// `epoch + 1`. False when it was not halted.
    @discardableResult
    public static func resume(_ conn: PGConnection, by holder: String) throws(JournalError) -> Bool {
        do {
            return try conn.query("SELECT tandem.watchdog_resume($1)", [holder])[0].decode(Bool.self, at: 0)
        } catch {
            throw JournalError.database(error, "resuming the lease")
        }
    }
}

/// The outcome of `Lease.tryAcquire`.
public enum LeaseAcquisition: Sendable, Hashable {
    /// The lease was free (no holder, or expired by the database's clock) and not halted; it is now the
    /// caller's with this new epoch.
    case acquired(epoch: UInt64)
    /// Someone else holds it (not yet expired) or it is halted. The row as read right after the refusal.
    case refused(LeaseState)
}

/// The outcome of `Lease.renew`.
public enum LeaseRenewal: Sendable, Hashable {
    /// Holder and epoch still matched and the lease is not halted: the expiry was moved forward.
    case renewed
    /// The lease is no longer the caller's (another holder or epoch took it, it was released, or it is
    /// halted). The row as read right after. A caller that gets this must stop acting as leader.
    case lost(LeaseState)
}

extension Lease {
    /// Takes the lease for `holder` with `epoch + 1`, expiring `duration` from now by `clock_timestamp()`,
    /// but only if it is free (no holder, or expired by the database's clock) and not halted.
    ///
    /// It is one conditional `UPDATE … WHERE … RETURNING`: of two nodes racing, the second waits for the
    /// first's row lock and then re-checks the condition on the row the first committed, so only one can
    /// win. Like `acquire`, it serializes against fenced appends (which hold `FOR SHARE` on the row).
    /// A halted lease is never taken; only an operator's `acquire` clears `halted`.
    public static func tryAcquire(
        _ conn: PGConnection, holder: String, duration: Duration
    ) throws(JournalError) -> LeaseAcquisition {
        try take(conn, holder: holder, duration: duration,
                 when: "(holder IS NULL OR expires_at IS NULL OR expires_at < clock_timestamp())", [], doing: "trying to acquire the lease")
    }

    /// `epoch + 1` for `holder` until `duration` from now, if the lease is not halted and `condition`
    /// (SQL over the lease row; `extra` are its parameters from `$3`) holds, and the new epoch's crash
    /// lock — in the same statement, before the commit makes the epoch visible, so no standby can see
    /// epoch E while its lock is not yet held.
    private static func take(
        _ conn: PGConnection, holder: String, duration: Duration, when condition: String,
        _ extra: [any PostgresEncodable], doing: String
    ) throws(JournalError) -> LeaseAcquisition {
        let taken: QueryResult
        do {
            taken = try conn.query("""
                WITH taken AS (
                    UPDATE tandem.lease SET epoch = epoch + 1, holder = $1,
                        expires_at = clock_timestamp() + $2 * interval '1 microsecond', updated_at = clock_timestamp()
                    WHERE id = 1 AND NOT halted AND \(condition)
                    RETURNING epoch)
                SELECT epoch, pg_advisory_lock(\(crashLockKey), (epoch % 2147483647)::int)::text FROM taken
                """, [holder, microseconds(duration)] + extra)
            if !taken.isEmpty { return .acquired(epoch: UInt64(try taken[0].decode(Int64.self, at: 0))) }
        } catch {
            throw JournalError.database(error, doing)
        }
        return .refused(try currentState(conn, doing))
    }

    /// The first key of the leader's crash lock, `pg_advisory_lock(crashLockKey, epoch mod 2³¹−1)`: the
    /// holder of epoch E takes it on its lease session when it takes the lease (``tryAcquire(_:holder:duration:)``,
    /// ``takeOver(_:holder:fromEpoch:duration:)``) and keeps it until it releases the lease or its session
    /// ends. A standby polling it learns within milliseconds that the leader's session ended (a
    /// killed process's socket closes at once), without waiting for the lease to expire.
    public static let crashLockKey: Int32 = 0x7461_6E64  // "tand"

    /// Whether the crash lock of `epoch` is free (its holder's session ended, or it released the lease):
    /// tried without waiting, and let go at once if taken. A standby polls it on a session of its own
    /// (a blocking wait could not be cancelled on shutdown).
    public static func crashLockIsFree(_ conn: PGConnection, epoch: UInt64) throws(JournalError) -> Bool {
        do {
            let r = try conn.query("SELECT pg_try_advisory_lock(\(crashLockKey), ($1 % 2147483647)::int)", [Int64(epoch)])
            guard try r[0].decode(Bool.self, at: 0) else { return false }
            _ = try conn.query("SELECT pg_advisory_unlock(\(crashLockKey), ($1 % 2147483647)::int)", [Int64(epoch)])
            return true
        } catch {
            throw JournalError.database(error, "trying the crash lock of epoch \(epoch)")
        }
    }

    /// Takes the lease from a leader whose session ended (its crash lock came free): `epoch + 1`, only if
    /// the epoch is still `fromEpoch` and the lease is not halted, however long it has left, and takes the
    /// new epoch's crash lock. The epoch fence keeps the journal safe if that leader is in fact alive:
    /// its next append or renew fails, and a send needs a durable append first.
    public static func takeOver(
        _ conn: PGConnection, holder: String, fromEpoch: UInt64, duration: Duration
    ) throws(JournalError) -> LeaseAcquisition {
        try take(conn, holder: holder, duration: duration, when: "epoch = $3", [Int64(fromEpoch)],
                 doing: "taking the lease over from epoch \(fromEpoch)")
    }

    /// Moves the expiry to `duration` from now (database clock), only while `holder` and `epoch` still
    /// match and the lease is not halted. `.lost` is an answer, not an error: the lease is someone
    /// else's now (or halted) and the caller must stop leading.
    public static func renew(
        _ conn: PGConnection, holder: String, epoch: UInt64, duration: Duration
    ) throws(JournalError) -> LeaseRenewal {
        let renewed: QueryResult
        do {
            renewed = try conn.query("""
                UPDATE tandem.lease SET expires_at = clock_timestamp() + $3 * interval '1 microsecond',
                    updated_at = clock_timestamp()
                WHERE id = 1 AND holder = $1 AND epoch = $2 AND NOT halted
                RETURNING epoch
                """, [holder, Int64(epoch), microseconds(duration)])
        } catch {
            throw JournalError.database(error, "renewing the lease at epoch \(epoch)")
        }
        if !renewed.isEmpty { return .renewed }
        return .lost(try currentState(conn, "renewing the lease"))
    }

    /// Gives the lease up on a clean shutdown: holder cleared and `expires_at` set to now, so a standby's
    /// next `tryAcquire` succeeds at once instead of waiting out the lease. Only while `holder` and
    /// `epoch` still match (and not halted); the epoch is kept, so the next holder still moves it on.
    /// Returns false when there was nothing of ours to release.
    @discardableResult
    public static func release(_ conn: PGConnection, holder: String, epoch: UInt64) throws(JournalError) -> Bool {
        do {
            let released = try conn.query("""
                UPDATE tandem.lease SET holder = NULL, expires_at = clock_timestamp(), updated_at = clock_timestamp()
                WHERE id = 1 AND holder = $1 AND epoch = $2 AND NOT halted
                RETURNING epoch
                """, [holder, Int64(epoch)])
            _ = try conn.query("SELECT pg_advisory_unlock_all()")
            return !released.isEmpty
        } catch {
            throw JournalError.database(error, "releasing the lease at epoch \(epoch)")
        }
    }

    private static func currentState(_ conn: PGConnection, _ doing: String) throws(JournalError) -> LeaseState {
        do {
            let r = try conn.query("""
                SELECT holder, epoch, halted,
                       (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::bigint, halt_reason
                FROM tandem.lease WHERE id = 1
                """)
            guard !r.isEmpty else { throw JournalError(.schema, "tandem.lease has no row; run `tandem db migrate`") }
            let row = r[0]
            return LeaseState(
                holder: try row.decodeIfPresent(String.self, at: 0),
                epoch: UInt64(try row.decode(Int64.self, at: 1)),
                halted: try row.decode(Bool.self, at: 2),
                millisecondsToExpiry: try row.decodeIfPresent(Int64.self, at: 3),
                haltReason: try row.decodeIfPresent(String.self, at: 4))
        } catch let error as JournalError {
            throw error
        } catch let error as PostgresError {
            throw JournalError.database(error, doing)
        } catch {
            throw JournalError(.database, "\(doing) failed: \(error)")
        }
    }

    private static func microseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }
}
