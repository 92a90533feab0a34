import TandemCore
import TandemPostgres

/// One line of an audit export: an order event or a fill, with where it sits in the journal.
public struct AuditRecord: Sendable, Hashable {
    public enum Kind: String, Sendable { case order, fill }
    public var kind: Kind
    public var seq: UInt64
    public var epoch: UInt64
    public var timestampNanos: Int64
    public var event: String
    public var clOrdID: String
    public var account: String
    public var instrument: String
    public var side: String
    /// Decimal text (exact), never a float.
    public var quantity: String
    public var price: String
    public var fee: String
    public var execID: String
    public var detail: String
}

/// Turns verified journal rows into order and fill records for an auditor (sans-I/O per event; the
/// accounts and instruments of fills come from the orders seen earlier in the same pass).
public struct AuditExporter: Sendable {
    private var orders: [ClOrdID: OrderRequest] = [:]

    public init() {}

    public static let csvHeader = "kind,seq,epoch,ts_ns,event,cl_ord_id,account,instrument,side,quantity,price,fee,exec_id,detail"

    public mutating func records(for event: JournalEvent, seq: UInt64, epoch: UInt64) -> [AuditRecord] {
        func record(_ kind: AuditRecord.Kind, _ id: ClOrdID, quantity: String = "", price: String = "", fee: String = "", execID: String = "", detail: String = "") -> AuditRecord {
            let request = orders[id]
            return AuditRecord(
                kind: kind, seq: seq, epoch: epoch, timestampNanos: event.timestamp.nanosecondsSinceEpoch,
                event: event.kind.name, clOrdID: id.rawValue, account: request?.account.rawValue ?? "",
                instrument: request.map { String($0.instrument.rawValue) } ?? "", side: request.map { "\($0.side)" } ?? "",
                quantity: quantity, price: price, fee: fee, execID: execID, detail: detail)
        }
        switch event {
        case .orderIntent(let intent):
            orders[intent.request.clOrdID] = intent.request
            let decision: String
            switch intent.decision {
            case .accepted: decision = "accepted"
            case .rejected(let rule, let reason): decision = "rejected by \(rule): \(reason)"
            }
            return [record(.order, intent.request.clOrdID, quantity: "\(intent.request.quantity)", price: "\(intent.request.type)", detail: decision)]
        case .partialFill(let e), .fill(let e):
            return [record(.fill, e.clOrdID, quantity: "\(e.quantity)", price: "\(e.price)", fee: "\(e.fee)", execID: e.execID)]
        case .replaceRequested(let id, let replacement, _):
            // The replacement continues the order under a new ClOrdID (FIX): same account and instrument.
            if var request = orders[id] {
                request.clOrdID = replacement.newClOrdID
                request.quantity = replacement.quantity
                if let type = replacement.type { request.type = type }
                orders[replacement.newClOrdID] = request
            }
            return [record(.order, id, quantity: "\(replacement.quantity)",
                           detail: "replace as \(replacement.newClOrdID.rawValue)")]
        case .orderRejected(let id, let reason, _), .cancelRejected(let id, let reason, _), .replaceRejected(let id, let reason, _):
            return [record(.order, id, detail: reason)]
        case .orderAcknowledged(let id, let venueOrderID, _):
            return [record(.order, id, detail: "venue order \(venueOrderID)")]
        default:
            if let id = event.clOrdID { return [record(.order, id)] }
            return []
        }
    }

    public static func csvLine(_ r: AuditRecord) -> String {
        [r.kind.rawValue, String(r.seq), String(r.epoch), String(r.timestampNanos), r.event, r.clOrdID, r.account,
         r.instrument, r.side, r.quantity, r.price, r.fee, r.execID, r.detail].map(csvField).joined(separator: ",")
    }

    public static func jsonLine(_ r: AuditRecord) -> String {
        let fields: [(String, String)] = [
            ("kind", json(r.kind.rawValue)), ("seq", String(r.seq)), ("epoch", String(r.epoch)),
            ("ts_ns", String(r.timestampNanos)), ("event", json(r.event)), ("cl_ord_id", json(r.clOrdID)),
            ("account", json(r.account)), ("instrument", json(r.instrument)), ("side", json(r.side)),
            ("quantity", json(r.quantity)), ("price", json(r.price)), ("fee", json(r.fee)),
            ("exec_id", json(r.execID)), ("detail", json(r.detail)),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacing("\"", with: "\"\"") + "\""
    }

    static func json(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension AuditExporter {
    /// Reads, verifies and exports seqs `from...to`; verification starts at seq 1 so the exported rows
    /// are known to be on an intact chain. Calls `emit` per record, in journal order.
    public static func export(
        _ conn: PGConnection, from: UInt64, to: UInt64?, emit: (AuditRecord) -> Void
    ) throws(JournalError) {
        var verifier = ChainVerifier()
        var chain = HashChain()
        var exporter = AuditExporter()
        // The replay's streamed cursor read: one ordered index scan, not a LIMIT batch per round
        // (which, on a table without statistics, plans an external sort every time).
        try JournalReader.forEachRow(conn, after: 0, through: to ?? UInt64(Int64.max)) { (row) throws(JournalError) in
            let event = try ReplayFolder.check(row, verifier: &verifier, chain: &chain)
            let records = exporter.records(for: event, seq: row.seq, epoch: row.epoch)
            if row.seq >= from { records.forEach(emit) }
        }
    }
}
