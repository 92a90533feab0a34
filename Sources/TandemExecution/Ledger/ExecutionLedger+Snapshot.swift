import TandemCore

/// What a snapshot of the ledger keeps beside the core state's own snapshot bytes: the FIX resend log
/// and the booked ExecIDs, so a node can start its fold from a snapshot and still answer a
/// ResendRequest, or refuse a PossDup report, for anything before it.
///
/// Layout (little-endian): version `1`; u32 session count, then per session (sorted by id) a u32-length
/// UTF-8 id, a u32 message count and per message (sorted by MsgSeqNum) a u64 MsgSeqNum and a
/// u32-length raw message; then a u32 ExecID count and per ExecID (sorted) a u32-length UTF-8 string.
/// Sorted, so equal ledgers give equal bytes.
extension ExecutionLedger {
    public struct SnapshotError: Error, Sendable, CustomStringConvertible {
        public var offset: Int
        public var message: String
        public var description: String { "ledger snapshot at byte \(offset): \(message)" }
    }

    /// The resend log and booked ExecIDs as bytes (see the type's layout).
    public func extrasSnapshotBytes() -> [UInt8] {
        var out: [UInt8] = [1]
        func put<T: FixedWidthInteger>(_ v: T) {
            for i in 0..<(T.bitWidth / 8) { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
        }
        func putString(_ s: String) {
            put(UInt32(s.utf8.count))
            out.append(contentsOf: s.utf8)
        }
        put(UInt32(outbound.count))
        for session in outbound.keys.sorted() {
            let messages = outbound[session]!
            putString(session)
            put(UInt32(messages.count))
            for seq in messages.keys.sorted() {
                let raw = messages[seq]!
                put(UInt64(seq))
                put(UInt32(raw.count))
                out.append(contentsOf: raw)
            }
        }
        put(UInt32(bookedExecIDs.count))
        for id in bookedExecIDs.sorted() { putString(id) }
        return out
    }

    /// The ledger whose core state is `state` (restored from its own snapshot), with the resend log and
    /// booked ExecIDs of `extras` (``extrasSnapshotBytes()``), having folded through `lastSeq`.
    public init(state: TradingState, extras: [UInt8], lastSeq: UInt64) throws(SnapshotError) {
        var reader = Reader(bytes: extras)
        guard try reader.byte() == 1 else { throw SnapshotError(offset: 0, message: "unknown version \(extras[0])") }
        var outbound: [String: [Int: [UInt8]]] = [:]
        for _ in 0..<(try reader.u32()) {
            let session = try reader.string()
            var messages: [Int: [UInt8]] = [:]
            for _ in 0..<(try reader.u32()) {
                let seq = try reader.u64()
                guard seq <= UInt64(Int.max) else { throw SnapshotError(offset: reader.offset - 8, message: "MsgSeqNum \(seq) out of range") }
                messages[Int(seq)] = try reader.bytes(Int(try reader.u32()))
            }
            outbound[session] = messages
        }
        var execIDs: Set<String> = []
        for _ in 0..<(try reader.u32()) { execIDs.insert(try reader.string()) }
        guard reader.offset == extras.count else {
            throw SnapshotError(offset: reader.offset, message: "\(extras.count - reader.offset) bytes left over")
        }
        self.init()
        self.state = state
        self.outbound = outbound
        self.bookedExecIDs = execIDs
        self.lastSeq = lastSeq
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func bytes(_ count: Int) throws(SnapshotError) -> [UInt8] {
            guard count >= 0, count <= bytes.count - offset else {
                throw SnapshotError(offset: offset, message: "truncated: \(count) bytes wanted, \(bytes.count - offset) remain")
            }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        mutating func byte() throws(SnapshotError) -> UInt8 { try bytes(1)[0] }

        mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(SnapshotError) -> T {
            let raw = try bytes(T.bitWidth / 8)
            return raw.reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }

        mutating func u32() throws(SnapshotError) -> UInt32 { try integer(UInt32.self) }
        mutating func u64() throws(SnapshotError) -> UInt64 { try integer(UInt64.self) }

        mutating func string() throws(SnapshotError) -> String {
            let start = offset
            let raw = try bytes(Int(try u32()))
            guard let s = String(validating: raw, as: UTF8.self) else { throw SnapshotError(offset: start, message: "a string is not UTF-8") }
            return s
        }
    }
}
