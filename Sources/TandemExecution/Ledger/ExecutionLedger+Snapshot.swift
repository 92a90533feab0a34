import TandemCore

/// What a snapshot of the ledger keeps beside the core state's own snapshot bytes: the FIX resend log
/// and the booked ExecIDs, so a node can start its fold from a snapshot and still answer a
/// ResendRequest, or refuse a PossDup report, for anything before it.
///
/// Layout, in the core's canonical primitives (``ByteSink``: big-endian, strings and byte runs
/// u32-length-prefixed): u8 version `1`; u32 session count, then per session (sorted by id) its id, a
/// u32 message count and per message (sorted by MsgSeqNum) a u64 MsgSeqNum and the raw message; then a
/// u32 ExecID count and the ExecIDs (sorted). Sorted, so equal ledgers give equal bytes.
extension ExecutionLedger {
    public struct SnapshotError: Error, Sendable, CustomStringConvertible {
        public var offset: Int
        public var message: String
        public var description: String { "ledger snapshot at byte \(offset): \(message)" }
    }

    /// The resend log and booked ExecIDs as bytes (see the type's layout).
    public func extrasSnapshotBytes() -> [UInt8] {
        var out: [UInt8] = [1]
        out.put(UInt32(outbound.count))
        for (session, messages) in outbound.sorted(by: { $0.key < $1.key }) {
            out.put(session)
            out.put(UInt32(messages.count))
            for (seq, raw) in messages.sorted(by: { $0.key < $1.key }) {
                out.put(UInt64(seq))
                out.put(bytes: raw)
            }
        }
        out.put(UInt32(bookedExecIDs.count))
        for id in bookedExecIDs.sorted() { out.put(id) }
        return out
    }

    /// The ledger whose core state is `state` (restored from its own snapshot), with the resend log and
    /// booked ExecIDs of `extras` (``extrasSnapshotBytes()``), having folded through `lastSeq`.
    public init(state: TradingState, extras: [UInt8], lastSeq: UInt64) throws(SnapshotError) {
        let decoded: (outbound: [String: [Int: [UInt8]]], execIDs: Set<String>)
        do {
            decoded = try ByteReader.reading(extras) { r throws(CodecError) in
                let version = try r.u8("version")
                guard version == 1 else { throw CodecError(.unsupportedVersion, offset: 0, "unknown version \(version)") }
                var outbound: [String: [Int: [UInt8]]] = [:]
                for _ in 0..<(try r.count("sessions", minimumItemSize: 8)) {
                    let session = try r.string("session")
                    var messages: [Int: [UInt8]] = [:]
                    for _ in 0..<(try r.count("messages", minimumItemSize: 12)) {
                        let start = r.offset
                        let seq = try r.u64("msgSeqNum")
                        guard seq <= UInt64(Int.max) else { throw CodecError(.invalidValue, offset: start, "MsgSeqNum \(seq) out of range") }
                        messages[Int(seq)] = try r.bytes("message")
                    }
                    outbound[session] = messages
                }
                var execIDs: Set<String> = []
                for _ in 0..<(try r.count("execIDs", minimumItemSize: 4)) { execIDs.insert(try r.string("execID")) }
                guard r.remaining == 0 else { throw CodecError(.lengthMismatch, offset: r.offset, "\(r.remaining) bytes left over") }
                return (outbound, execIDs)
            }
        } catch {
            throw SnapshotError(offset: error.offset, message: error.code == .truncated ? "truncated: \(error.message)" : error.message)
        }
        self.init()
        self.state = state
        self.outbound = decoded.outbound
        self.bookedExecIDs = decoded.execIDs
        self.lastSeq = lastSeq
    }
}
