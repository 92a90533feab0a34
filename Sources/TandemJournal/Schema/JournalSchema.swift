import Logging
import TandemPostgres

/// The journal's tables, as versioned migrations applied by `migrate`.
///
/// Everything lives in the `tandem` schema; one database holds one cluster's stream. Each migration
/// runs once, recorded in `tandem.schema_version`; all pending ones run in one transaction under a
/// transaction-scoped advisory lock, so two nodes migrating at once is safe (the second waits, then
/// finds nothing to do). Migrations are append-only: a released one is never edited.
public enum JournalSchema {
    public struct Migration: Sendable {
        public var version: Int
        public var description: String
        public var sql: String
    }

    /// The advisory lock key that serializes migrations ("tandem" in ASCII).
    static let migrationLockKey: Int64 = 0x74_61_6E_64_65_6D

    /// The NOTIFY channel an append signals, with the new head seq as payload.
    public static let notifyChannel = "tandem_journal"

    /// SQLSTATE raised by `tandem.append_events` when the writer is fenced.
    public static let fencedSQLState = "TJ001"
    /// SQLSTATE raised when the head is not where the writer thinks it is.
    public static let headMovedSQLState = "TJ002"
    /// SQLSTATE raised by the append-only trigger on UPDATE, DELETE or TRUNCATE of events.
    public static let appendOnlySQLState = "TJ003"

    public static let migrations: [Migration] = [
        Migration(version: 1, description: "journal: lease, head, events, snapshots, fenced append", sql: #"""
            CREATE TABLE tandem.lease (
                id          smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
                holder      text,
                epoch       bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
                expires_at  timestamptz,
                halted      boolean NOT NULL DEFAULT false,
                updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
            );
            INSERT INTO tandem.lease (id) VALUES (1);

            CREATE TABLE tandem.journal_head (
                id    smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
                seq   bigint NOT NULL CHECK (seq >= 0),
                hash  bytea NOT NULL CHECK (length(hash) = 32)
            );
            INSERT INTO tandem.journal_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

            CREATE TABLE tandem.events (
                seq        bigint PRIMARY KEY CHECK (seq >= 1),
                epoch      bigint NOT NULL CHECK (epoch >= 0),
                kind       smallint NOT NULL,
                ts_ns      bigint NOT NULL,
                payload    bytea NOT NULL,
                prev_hash  bytea NOT NULL CHECK (length(prev_hash) = 32),
                hash       bytea NOT NULL CHECK (length(hash) = 32)
            );

            CREATE FUNCTION tandem.forbid_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'tandem.events is append-only: % is not allowed', TG_OP USING ERRCODE = 'TJ003';
            END $$;
            CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON tandem.events
                FOR EACH ROW EXECUTE FUNCTION tandem.forbid_rewrite();
            CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON tandem.events
                FOR EACH STATEMENT EXECUTE FUNCTION tandem.forbid_rewrite();

            CREATE TABLE tandem.snapshots (
                seq           bigint PRIMARY KEY CHECK (seq >= 1),
                chain_hash    bytea NOT NULL CHECK (length(chain_hash) = 32),
                state         bytea NOT NULL,
                state_sha256  bytea NOT NULL CHECK (length(state_sha256) = 32),
                created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
            );

            -- One batch, one call: lock the head (serializes appenders), check it is where the writer
            -- thinks, insert, move the head, then check the epoch under a share lock on the lease row
            -- held to commit (an epoch bump either committed before this check, so we are fenced, or
            -- waits for our commit), then wake tailers. Hashes are computed by the writer.
            CREATE FUNCTION tandem.append_events(
                p_epoch bigint, p_head_seq bigint, p_head_hash bytea,
                p_kinds smallint[], p_ts bigint[], p_offsets integer[], p_lengths integer[],
                p_payloads bytea, p_hashes bytea
            ) RETURNS bigint LANGUAGE plpgsql AS $$
            DECLARE
                h_seq bigint; h_hash bytea; l_epoch bigint; l_halted boolean;
                n integer := cardinality(p_kinds);
            BEGIN
                IF n IS NULL OR n = 0 OR length(p_hashes) <> n * 32 THEN
                    RAISE EXCEPTION 'append_events: % events but % hash bytes', n, length(p_hashes) USING ERRCODE = '22023';
                END IF;
                SELECT seq, hash INTO h_seq, h_hash FROM tandem.journal_head WHERE id = 1 FOR UPDATE;
                IF h_seq <> p_head_seq OR h_hash <> p_head_hash THEN
                    SELECT epoch, halted INTO l_epoch, l_halted FROM tandem.lease WHERE id = 1 FOR SHARE;
                    IF l_epoch <> p_epoch OR l_halted THEN
                        RAISE EXCEPTION 'writer epoch % is fenced: lease epoch %, halted %', p_epoch, l_epoch, l_halted
                            USING ERRCODE = 'TJ001', DETAIL = l_epoch::text || CASE WHEN l_halted THEN ' halted' ELSE '' END;
                    END IF;
                    RAISE EXCEPTION 'the journal head is at seq %, the writer expected %', h_seq, p_head_seq
                        USING ERRCODE = 'TJ002';
                END IF;
                INSERT INTO tandem.events (seq, epoch, kind, ts_ns, payload, prev_hash, hash)
                SELECT p_head_seq + u.i, p_epoch, u.k, u.t, substring(p_payloads FROM u.o + 1 FOR u.l),
                       CASE WHEN u.i = 1 THEN p_head_hash ELSE substring(p_hashes FROM (u.i::integer - 2) * 32 + 1 FOR 32) END,
                       substring(p_hashes FROM (u.i::integer - 1) * 32 + 1 FOR 32)
                FROM unnest(p_kinds, p_ts, p_offsets, p_lengths) WITH ORDINALITY AS u(k, t, o, l, i);
                UPDATE tandem.journal_head SET seq = p_head_seq + n, hash = substring(p_hashes FROM (n - 1) * 32 + 1 FOR 32)
                WHERE id = 1;
                SELECT epoch, halted INTO l_epoch, l_halted FROM tandem.lease WHERE id = 1 FOR SHARE;
                IF l_epoch <> p_epoch OR l_halted THEN
                    RAISE EXCEPTION 'writer epoch % is fenced: lease epoch %, halted %', p_epoch, l_epoch, l_halted
                        USING ERRCODE = 'TJ001', DETAIL = l_epoch::text || CASE WHEN l_halted THEN ' halted' ELSE '' END;
                END IF;
                PERFORM pg_notify('tandem_journal', (p_head_seq + n)::text);
                RETURN p_head_seq + n;
            END $$;
            """#),
        Migration(version: 2, description: "node status: each node's role, journal position and lag", sql: #"""
            CREATE TABLE tandem.node_status (
                node_id      text PRIMARY KEY,
                role         text NOT NULL,
                epoch        bigint,
                applied_seq  bigint NOT NULL,
                lag_seqs     bigint NOT NULL,
                lag_ms       bigint NOT NULL,
                open_orders  integer NOT NULL,
                -- SHA-256 of TradingState.snapshotBytes() at applied_seq; NULL while a leader has
                -- applied events that are not yet durable
                state_sha256 bytea,
                updated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
            );
            """#),
        Migration(version: 3, description: "watchdog: its role, state, signed commands and session seqs; halts record a reason", sql: #"""
            ALTER TABLE tandem.lease ADD COLUMN halt_reason text;

            -- The watchdog's mode and its latest view (drop-copy positions, P&L), so a restarted
            -- watchdog finishes what it started and operators can read what it sees.
            CREATE TABLE tandem.watchdog_state (
                id          integer PRIMARY KEY CHECK (id = 1),
                mode        text NOT NULL DEFAULT 'normal' CHECK (mode IN ('normal', 'halted', 'flattening')),
                blocked     boolean NOT NULL DEFAULT false,
                reason      text,
                since       timestamptz,
                view        text,
                updated_by  text,
                updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
            );
            INSERT INTO tandem.watchdog_state (id) VALUES (1);

            -- Signed operator commands (HALT, RESUME, FLATTEN, BLOCK, UNBLOCK): queued here by
            -- `tandem risk`, verified and answered by the watchdog. The nonce is not unique on
            -- purpose: a replayed command is stored, refused and reported, not lost to a constraint.
            CREATE TABLE tandem.watchdog_commands (
                id          bigserial PRIMARY KEY,
                action      text NOT NULL,
                reason      text NOT NULL,
                issued_by   text NOT NULL,
                issued_ns   bigint NOT NULL,
                nonce       text NOT NULL,
                signature   text NOT NULL,
                status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'refused')),
                result      text,
                created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
                answered_at timestamptz
            );
            CREATE INDEX watchdog_commands_nonce ON tandem.watchdog_commands (nonce) WHERE status = 'done';

            -- The next outbound MsgSeqNum of each of the watchdog's FIX sessions.
            CREATE TABLE tandem.watchdog_sessions (
                session          text PRIMARY KEY,
                next_sender_seq  integer NOT NULL CHECK (next_sender_seq >= 1),
                updated_at       timestamptz NOT NULL DEFAULT clock_timestamp()
            );

            -- The fence compares epochs only. A halted epoch is the halter's (the watchdog's): no node
            -- can take a halted lease, every older writer is fenced by the bump, and the halter may
            -- journal its HALT and RESUME at that epoch.
            CREATE OR REPLACE FUNCTION tandem.append_events(
                p_epoch bigint, p_head_seq bigint, p_head_hash bytea,
                p_kinds smallint[], p_ts bigint[], p_offsets integer[], p_lengths integer[],
                p_payloads bytea, p_hashes bytea
            ) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
            DECLARE
                h_seq bigint; h_hash bytea; l_epoch bigint; l_halted boolean;
                n integer := cardinality(p_kinds);
            BEGIN
                IF n IS NULL OR n = 0 OR length(p_hashes) <> n * 32 THEN
                    RAISE EXCEPTION 'append_events: % events but % hash bytes', n, length(p_hashes) USING ERRCODE = '22023';
                END IF;
                SELECT seq, hash INTO h_seq, h_hash FROM tandem.journal_head WHERE id = 1 FOR UPDATE;
                IF h_seq <> p_head_seq OR h_hash <> p_head_hash THEN
                    SELECT epoch, halted INTO l_epoch, l_halted FROM tandem.lease WHERE id = 1 FOR SHARE;
                    IF l_epoch <> p_epoch THEN
                        RAISE EXCEPTION 'writer epoch % is fenced: lease epoch %, halted %', p_epoch, l_epoch, l_halted
                            USING ERRCODE = 'TJ001', DETAIL = l_epoch::text || CASE WHEN l_halted THEN ' halted' ELSE '' END;
                    END IF;
                    RAISE EXCEPTION 'the journal head is at seq %, the writer expected %', h_seq, p_head_seq
                        USING ERRCODE = 'TJ002';
                END IF;
                INSERT INTO tandem.events (seq, epoch, kind, ts_ns, payload, prev_hash, hash)
                SELECT p_head_seq + u.i, p_epoch, u.k, u.t, substring(p_payloads FROM u.o + 1 FOR u.l),
                       CASE WHEN u.i = 1 THEN p_head_hash ELSE substring(p_hashes FROM (u.i::integer - 2) * 32 + 1 FOR 32) END,
                       substring(p_hashes FROM (u.i::integer - 1) * 32 + 1 FOR 32)
                FROM unnest(p_kinds, p_ts, p_offsets, p_lengths) WITH ORDINALITY AS u(k, t, o, l, i);
                UPDATE tandem.journal_head SET seq = p_head_seq + n, hash = substring(p_hashes FROM (n - 1) * 32 + 1 FOR 32)
                WHERE id = 1;
                SELECT epoch, halted INTO l_epoch, l_halted FROM tandem.lease WHERE id = 1 FOR SHARE;
                IF l_epoch <> p_epoch THEN
                    RAISE EXCEPTION 'writer epoch % is fenced: lease epoch %, halted %', p_epoch, l_epoch, l_halted
                        USING ERRCODE = 'TJ001', DETAIL = l_epoch::text || CASE WHEN l_halted THEN ' halted' ELSE '' END;
                END IF;
                PERFORM pg_notify('tandem_journal', (p_head_seq + n)::text);
                RETURN p_head_seq + n;
            END $$;

            -- HALT: a new epoch, halted, held by the watchdog, with the reason. Idempotent: an
            -- already-halted lease keeps its epoch (returned), so a watchdog restarted mid-halt
            -- journals at the same epoch.
            CREATE FUNCTION tandem.watchdog_halt(p_by text, p_reason text) RETURNS bigint
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
            DECLARE e bigint;
            BEGIN
                UPDATE tandem.lease SET epoch = epoch + 1, holder = p_by, halted = true, halt_reason = p_reason,
                    expires_at = NULL, updated_at = clock_timestamp()
                WHERE id = 1 AND NOT halted RETURNING epoch INTO e;
                IF e IS NULL THEN SELECT epoch INTO e FROM tandem.lease WHERE id = 1; END IF;
                RETURN e;
            END $$;

            -- RESUME: the lease is free again (no holder, expired), so a node takes it with epoch + 1.
            CREATE FUNCTION tandem.watchdog_resume(p_by text) RETURNS boolean
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
            BEGIN
                UPDATE tandem.lease SET holder = NULL, halted = false, halt_reason = NULL,
                    expires_at = clock_timestamp(), updated_at = clock_timestamp()
                WHERE id = 1 AND halted;
                RETURN FOUND;
            END $$;

            -- The watchdog's own role: reads everything, writes only its three tables, changes the
            -- lease only through the two functions, and appends only at an epoch it holds. A migrator
            -- without CREATEROLE leaves the role to the DBA (the grants below then name it once it exists).
            DO $$
            BEGIN
                BEGIN
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tandem_watchdog') THEN
                        CREATE ROLE tandem_watchdog LOGIN;
                    END IF;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN
                    NULL;  -- created meanwhile by a migration of another database on this server
                END;
                EXECUTE 'GRANT USAGE ON SCHEMA tandem TO tandem_watchdog';
                EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA tandem TO tandem_watchdog';
                EXECUTE 'GRANT UPDATE ON tandem.watchdog_state, tandem.watchdog_commands TO tandem_watchdog';
                EXECUTE 'GRANT INSERT, UPDATE ON tandem.watchdog_sessions TO tandem_watchdog';
                EXECUTE 'REVOKE ALL ON FUNCTION tandem.append_events(bigint, bigint, bytea, smallint[], bigint[], integer[], integer[], bytea, bytea), tandem.watchdog_halt(text, text), tandem.watchdog_resume(text) FROM PUBLIC';
                EXECUTE 'GRANT EXECUTE ON FUNCTION tandem.append_events(bigint, bigint, bytea, smallint[], bigint[], integer[], integer[], bytea, bytea), tandem.watchdog_halt(text, text), tandem.watchdog_resume(text) TO tandem_watchdog';
            EXCEPTION WHEN insufficient_privilege OR undefined_object THEN
                RAISE WARNING 'tandem_watchdog role not created or granted (%): create it as a DBA; see docs/watchdog.md', SQLERRM;
            END $$;
            """#),
        Migration(version: 4, description: "snapshots: the node's ledger (FIX resend log, booked ExecIDs) beside the core state", sql: #"""
            -- A standby's snapshot also carries what its fold keeps beyond TradingState, so a node can
            -- start its own fold there; NULL for snapshots of the core state alone (tandem journal snapshot).
            -- Stored uncompressed: a 21.6 MB state (1,000,000 synthetic events) took 1.8 s to store with
            -- pglz and 0.4 s without, at 3 times the space (docs/journal.md).
            ALTER TABLE tandem.snapshots
                ADD COLUMN ledger bytea,
                ADD COLUMN ledger_sha256 bytea CHECK (length(ledger_sha256) = 32),
                ADD CONSTRAINT snapshots_ledger_with_sum CHECK ((ledger IS NULL) = (ledger_sha256 IS NULL)),
                ALTER COLUMN state SET STORAGE EXTERNAL,
                ALTER COLUMN ledger SET STORAGE EXTERNAL;
            """#),
    ]

    /// The newest schema version this binary knows.
    public static var currentVersion: Int { migrations.last?.version ?? 0 }

    /// What `migrate` did.
    public struct MigrationReport: Sendable, Equatable {
        public var fromVersion: Int
        public var toVersion: Int
        public var applied: [Int]
    }

    /// Applies every pending migration in one transaction. Idempotent: running it again applies
    /// nothing. Refuses a database whose schema is newer than this binary.
    public static func migrate(_ conn: PGConnection, logger: Logger) throws(JournalError) -> MigrationReport {
        do {
            return try conn.transaction { c in
                try c.execute("SET LOCAL client_min_messages = warning")
                try c.query("SELECT pg_advisory_xact_lock($1)", [migrationLockKey])
                try c.execute("""
                    CREATE SCHEMA IF NOT EXISTS tandem;
                    CREATE TABLE IF NOT EXISTS tandem.schema_version (
                        version integer PRIMARY KEY,
                        description text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
                    );
                    """)
                let current = try c.query("SELECT coalesce(max(version), 0) FROM tandem.schema_version")[0]
                    .decode(Int.self, at: 0)
                guard current <= currentVersion else {
                    throw JournalError(
                        .schema,
                        "the database's journal schema is version \(current), newer than this binary's "
                            + "\(currentVersion); upgrade tandem before using this database")
                }
                var applied: [Int] = []
                for migration in migrations where migration.version > current {
                    try c.execute(migration.sql)
                    try c.query(
                        "INSERT INTO tandem.schema_version (version, description) VALUES ($1, $2)",
                        [migration.version, migration.description])
                    applied.append(migration.version)
                    logger.info("applied journal migration", metadata: [
                        "journal.schema_version": "\(migration.version)",
                        "journal.migration": "\(migration.description)",
                    ])
                }
                return MigrationReport(fromVersion: current, toVersion: max(current, applied.last ?? current), applied: applied)
            }
        } catch let error as JournalError {
            throw error
        } catch let error as PostgresError {
            throw JournalError(.schema, "migrating the journal schema failed: \(error.message)", cause: error)
        } catch {
            throw JournalError(.schema, "migrating the journal schema failed: \(error)")
        }
    }

    /// The schema version of the database (0 when never migrated).
    public static func version(_ conn: PGConnection) throws(JournalError) -> Int {
        do {
            let exists = try conn.query("SELECT to_regclass('tandem.schema_version') IS NOT NULL")[0].decode(Bool.self, at: 0)
            guard exists else { return 0 }
            return try conn.query("SELECT coalesce(max(version), 0) FROM tandem.schema_version")[0].decode(Int.self, at: 0)
        } catch {
            throw JournalError.database(error, "reading the schema version")
        }
    }

    /// Async convenience on a `PostgresConnection` (one hop to its thread).
    public static func migrate(_ connection: PostgresConnection, logger: Logger) async throws(JournalError) -> MigrationReport {
        do {
            return try await connection.withConnection { c in try migrate(c, logger: logger) }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.schema, "migrating the journal schema failed: \(error)")
        }
    }
}
