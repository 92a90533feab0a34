import TandemCore

/// The venue side of the feed, sans-I/O: assigns sequence numbers, packs messages into packets for
/// lines A and B, keeps the recent past for retransmission and its own book for snapshots.
///
/// The shell sends each returned packet on both lines (the bytes differ only in the line byte),
/// answers recovery requests from ``retransmit(from:through:sendTime:)`` and ``snapshot(at:)``, and
/// calls ``heartbeat(at:)`` when a line has been idle, so clients can tell a quiet market from a dead feed.
public struct FeedPublisher: Sendable {
    public struct Snapshot: Sendable, Hashable {
        /// The book reflects every message up to and including this seq.
        public var lastSeq: UInt64
        public var orders: [FeedMessage]
    }

    public enum RetransmitError: Error, Sendable, Hashable {
        /// The range starts before the oldest message kept (or is empty/in the future): use a snapshot.
        case unavailable(oldest: UInt64, next: UInt64)
    }

    /// The next sequence number to be assigned.
    public private(set) var nextSeq: UInt64 = 1
    public private(set) var book = FeedBook()
    /// Messages kept for retransmission: `ring[i]` has seq `ringBase + i`.
    private var ring: [FeedMessage] = []
    private var ringBase: UInt64 = 1
    public let retransmitCapacity: Int

    /// `firstSeq`: where the sequence starts; a restarted venue continues its old one, so subscribers
    /// see a gap (recovered by snapshot) rather than old numbers reused.
    public init(retransmitCapacity: Int = 100_000, firstSeq: UInt64 = 1) {
        precondition(retransmitCapacity > 0 && firstSeq > 0)
        self.retransmitCapacity = retransmitCapacity
        self.nextSeq = firstSeq
        self.ringBase = firstSeq
    }

    /// Sequences `messages` and returns them packed, each packet as `(firstSeq, bytes for line A)`;
    /// use ``FeedPublisher/relabel(_:as:)`` for line B.
    public mutating func publish(_ messages: [FeedMessage], sendTime: Timestamp) -> [(firstSeq: UInt64, bytes: [UInt8])] {
        var packets: [(UInt64, [UInt8])] = []
        var start = 0
        while start < messages.count {
            let end = min(messages.count, start + FeedWire.maxMessagesPerPacket)
            let chunk = messages[start..<end]
            var bytes: [UInt8] = []
            FeedWire.encodePacket(line: .a, firstSeq: nextSeq, sendTime: sendTime, messages: chunk, into: &bytes)
            packets.append((nextSeq, bytes))
            for m in chunk {
                try? book.apply(m)  // the engine's own events are consistent; a bad one is still published
                keep(m)
            }
            nextSeq += UInt64(chunk.count)
            start = end
        }
        return packets
    }

    /// A message-less packet carrying the next seq: liveness, and it reveals a lost tail.
    public func heartbeat(sendTime: Timestamp) -> [UInt8] {
        var bytes: [UInt8] = []
        FeedWire.encodePacket(line: .a, firstSeq: nextSeq, sendTime: sendTime, messages: EmptyCollection(), into: &bytes)
        return bytes
    }

    /// The same packet for another line.
    public static func relabel(_ packet: [UInt8], as line: FeedLine) -> [UInt8] {
        var p = packet
        p[3] = line.rawValue
        return p
    }

    /// Packets (line `R`) holding seqs `from...through`, or `.unavailable` when that range is no longer kept.
    public func retransmit(from: UInt64, through: UInt64, sendTime: Timestamp) -> Result<[[UInt8]], RetransmitError> {
        guard from >= ringBase, from <= through, through < nextSeq else {
            return .failure(.unavailable(oldest: ringBase, next: nextSeq))
        }
        var packets: [[UInt8]] = []
        var seq = from
        while seq <= through {
            let end = min(through, seq + UInt64(FeedWire.maxMessagesPerPacket) - 1)
            let lo = Int(seq - ringBase), hi = Int(end - ringBase)
            var bytes: [UInt8] = []
            FeedWire.encodePacket(line: .retransmission, firstSeq: seq, sendTime: sendTime, messages: ring[lo...hi], into: &bytes)
            packets.append(bytes)
            seq = end + 1
        }
        return .success(packets)
    }

    public var oldestRetained: UInt64 { ringBase }

    /// The whole book as of the last published message.
    public func snapshot(at time: Timestamp) -> Snapshot {
        Snapshot(lastSeq: nextSeq - 1, orders: book.snapshotMessages(at: time))
    }

    private mutating func keep(_ m: FeedMessage) {
        ring.append(m)
        if ring.count > retransmitCapacity * 2 {
            // Trim in halves so the amortised cost per message stays O(1).
            let drop = ring.count - retransmitCapacity
            ring.removeFirst(drop)
            ringBase += UInt64(drop)
        }
    }
}
