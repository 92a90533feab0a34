import TandemPostgres

/// `tandem.node_status`: each node's role, journal position and standby lag, written by the node
/// every 250 ms and read by `tandem status` (journal migration 2).
public enum NodeStatusTable {
    public struct Row: Sendable, Hashable, Codable {
        public var nodeID: String
        public var role: String
        public var epoch: UInt64?
        public var appliedSeq: UInt64
        public var lagSeqs: UInt64
        public var lagMilliseconds: Int64
        public var openOrders: Int
        /// SHA-256 (hex) of the node's encoded state at `appliedSeq`: equal on two nodes ⇔ equal states.
        public var stateSHA256: String?
        /// Age of the row by the database's clock.
        public var ageMilliseconds: Int64
    }

    public static func publish(_ conn: PostgresConnection, node: String, role: String, epoch: UInt64?, appliedSeq: UInt64,
                               lagSeqs: UInt64, lagMs: Int64, openOrders: Int, stateSHA256: String?) async throws {
        _ = try await conn.query("""
            INSERT INTO tandem.node_status (node_id, role, epoch, applied_seq, lag_seqs, lag_ms, open_orders, state_sha256, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, decode($8, 'hex'), clock_timestamp())
            ON CONFLICT (node_id) DO UPDATE SET role = EXCLUDED.role, epoch = EXCLUDED.epoch, applied_seq = EXCLUDED.applied_seq,
                lag_seqs = EXCLUDED.lag_seqs, lag_ms = EXCLUDED.lag_ms, open_orders = EXCLUDED.open_orders,
                state_sha256 = EXCLUDED.state_sha256, updated_at = EXCLUDED.updated_at
            """, [node, role, epoch.map { Int64($0) }, Int64(appliedSeq), Int64(lagSeqs), lagMs, openOrders, stateSHA256])
    }

    public static func read(_ conn: PGConnection) throws -> [Row] {
        let r = try conn.query("""
            SELECT node_id, role, epoch, applied_seq, lag_seqs, lag_ms, open_orders, encode(state_sha256, 'hex'),
                   (extract(epoch FROM clock_timestamp() - updated_at) * 1000)::bigint
            FROM tandem.node_status ORDER BY node_id
            """)
        var rows: [Row] = []
        for row in r.rows {
            let node: String = try row.decode(String.self, at: 0)
            let role: String = try row.decode(String.self, at: 1)
            let epoch: Int64? = try row.decodeIfPresent(Int64.self, at: 2)
            let applied: Int64 = try row.decode(Int64.self, at: 3)
            let lagSeqs: Int64 = try row.decode(Int64.self, at: 4)
            let lagMs: Int64 = try row.decode(Int64.self, at: 5)
            let open: Int = try row.decode(Int.self, at: 6)
            let hash: String? = try row.decodeIfPresent(String.self, at: 7)
            let age: Int64 = try row.decode(Int64.self, at: 8)
            rows.append(Row(nodeID: node, role: role, epoch: epoch.map { UInt64($0) }, appliedSeq: UInt64(applied),
                            lagSeqs: UInt64(lagSeqs), lagMilliseconds: lagMs, openOrders: open, stateSHA256: hash,
                            ageMilliseconds: age))
        }
        return rows
    }
}
