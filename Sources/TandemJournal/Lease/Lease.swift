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
                UPDATE tandem.lease SET epoch = epoch + 1, holder = $1, halted = false,
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
        do {
            let r = try conn.query("""
                SELECT holder, epoch, halted,
                       (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::bigint
                FROM tandem.lease WHERE id = 1
                """)
            let row = r[0]
            return LeaseState(
                holder: try row.decodeIfPresent(String.self, at: 0),
                epoch: UInt64(try row.decode(Int64.self, at: 1)),
                halted: try row.decode(Bool.self, at: 2),
                millisecondsToExpiry: try row.decodeIfPresent(Int64.self, at: 3))
        } catch {
            throw JournalError.database(error, "reading the lease")
        }
    }
}
