/// What a FIX session must keep across reconnects and failover: both sequence numbers and the
/// application messages it sent, by MsgSeqNum, so it can answer a ResendRequest.
///
/// Synchronous and mutating: the session state machine owns its store as a value and calls it
/// inline. A durable implementation (journal-backed) appends through its own buffer and makes
/// writes durable before the shell puts the corresponding `send` bytes on the wire.
public protocol FIXSessionStore: Sendable {
    /// MsgSeqNum of the next message this side sends.
    var nextSenderSeq: Int { get set }
    /// MsgSeqNum expected on the next message from the counterparty.
    var nextTargetSeq: Int { get set }
    /// Keeps an outbound application message for resend. Admin messages are not stored: FIX
    /// never resends them (they are gap-filled), and a missing seq is gap-filled the same way.
    mutating func store(seq: Int, bytes: [UInt8])
    /// Stored messages with seq in `range`, ascending.
    func messages(in range: ClosedRange<Int>) -> [(seq: Int, bytes: [UInt8])]
    /// Both sequence numbers back to 1 and the message log emptied (ResetSeqNumFlag, new day).
    mutating func reset()
}

/// A ``FIXSessionStore`` in memory: for tests, the venue simulator, and as the cache in front of a durable store.
public struct InMemoryFIXStore: FIXSessionStore, Hashable {
    public var nextSenderSeq: Int
    public var nextTargetSeq: Int
    private var sent: [Int: [UInt8]] = [:]

    public init(nextSenderSeq: Int = 1, nextTargetSeq: Int = 1) {
        self.nextSenderSeq = nextSenderSeq
        self.nextTargetSeq = nextTargetSeq
    }

    public var storedCount: Int { sent.count }

    public mutating func store(seq: Int, bytes: [UInt8]) { sent[seq] = bytes }

    public func messages(in range: ClosedRange<Int>) -> [(seq: Int, bytes: [UInt8])] {
        if range.count <= sent.count {
            return range.compactMap { s in sent[s].map { (s, $0) } }
        }
        return sent.filter { range.contains($0.key) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    public mutating func reset() {
        nextSenderSeq = 1
        nextTargetSeq = 1
        sent = [:]
    }
}
