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
///
/// Sent messages are copied back to back into slabs (``slabBytes`` of capacity each) and found by
/// seq in a contiguous slot array, instead of keeping each frame's own `[UInt8]` in a `Dictionary`.
/// Keeping the frames made every stored message fresh memory from the top of malloc's heap (array
/// header and rounding included, plus the dictionary's entries and rehashes): in `bench fix` 0.17
/// page faults per round trip, 13 % of round trips carrying one at ≈ +14 µs each on this VM. Now
/// the frames' arrays are freed and reused, and only the stored bytes themselves take new pages:
/// ≈ 0.10 faults per round trip, each cheaper (no heap growth around it). (Zero-filling each slab
/// when it is made was tried: it took the faults off the common path but as one ≈ 270 µs stall per
/// 256 KB slab, which put p99.9 up; dropped.) The slots cost 12 bytes per seq between the lowest and
/// the highest stored (a day's seqs are dense).
public struct InMemoryFIXStore: FIXSessionStore, Hashable {
    public var nextSenderSeq: Int
    public var nextTargetSeq: Int
    /// Message bytes, back to back, new ones at the end of the last slab. A message longer than a
    /// slab gets a slab of its own.
    private var slabs: [[UInt8]] = []
    /// Where message `firstSeq + i` is (``Slot/empty`` when none is stored for it).
    private var slots: [Slot] = []
    private var firstSeq = 0
    public private(set) var storedCount = 0

    static let slabBytes = 256 * 1024

    private struct Slot: Hashable {
        var slab: Int32
        var offset: Int32
        var count: Int32
        static let empty = Slot(slab: -1, offset: 0, count: 0)
        var isEmpty: Bool { slab < 0 }
    }

    public init(nextSenderSeq: Int = 1, nextTargetSeq: Int = 1) {
        self.nextSenderSeq = nextSenderSeq
        self.nextTargetSeq = nextTargetSeq
    }

    /// Any order of seqs (a store seeded after a failover); storing a seq again replaces its message
    /// (the old bytes stay in their slab, unreferenced).
    public mutating func store(seq: Int, bytes: [UInt8]) {
        let slot = append(bytes)
        if slots.isEmpty { firstSeq = seq }
        if seq < firstSeq {
            // Seeded out of order (a ledger's messages in dictionary order): move the slots up,
            // by at least their count so that a descending seeding costs amortized O(1) per message.
            let extra = Swift.max(firstSeq - seq, slots.count)
            slots.insert(contentsOf: repeatElement(.empty, count: extra), at: 0)
            firstSeq -= extra
        }
        let i = seq - firstSeq
        if i >= slots.count { grow(to: i + 1) }
        if slots[i].isEmpty { storedCount += 1 }
        slots[i] = slot
    }

    public func messages(in range: ClosedRange<Int>) -> [(seq: Int, bytes: [UInt8])] {
        guard !slots.isEmpty else { return [] }
        let lo = max(range.lowerBound, firstSeq)
        let hi = min(range.upperBound, firstSeq + slots.count - 1)
        guard lo <= hi else { return [] }
        var out: [(seq: Int, bytes: [UInt8])] = []
        for seq in lo...hi {
            let s = slots[seq - firstSeq]
            if !s.isEmpty { out.append((seq, bytes(s))) }
        }
        return out
    }

    public mutating func reset() {
        nextSenderSeq = 1
        nextTargetSeq = 1
        slabs = []
        slots = []
        firstSeq = 0
        storedCount = 0
    }

    private func bytes(_ s: Slot) -> [UInt8] {
        Array(slabs[Int(s.slab)][Int(s.offset)..<Int(s.offset + s.count)])
    }

    private mutating func append(_ bytes: [UInt8]) -> Slot {
        if slabs.isEmpty || slabs[slabs.count - 1].count + bytes.count > slabs[slabs.count - 1].capacity {
            var slab: [UInt8] = []
            slab.reserveCapacity(max(Self.slabBytes, bytes.count))
            slabs.append(slab)
        }
        let last = slabs.count - 1
        let offset = slabs[last].count
        slabs[last].append(contentsOf: bytes)
        return Slot(slab: Int32(last), offset: Int32(offset), count: Int32(bytes.count))
    }

    /// Grows the slot array to at least `count`, doubling (empty slots up to its new capacity).
    private mutating func grow(to count: Int) {
        let target = Swift.max(count, Swift.max(1024, slots.count * 2))
        slots.reserveCapacity(target)
        slots.append(contentsOf: repeatElement(.empty, count: target - slots.count))
    }

    /// Equal when both seqs and the stored messages are, whatever order they were stored in.
    public static func == (a: Self, b: Self) -> Bool {
        guard a.nextSenderSeq == b.nextSenderSeq, a.nextTargetSeq == b.nextTargetSeq, a.storedCount == b.storedCount else { return false }
        guard a.storedCount > 0 else { return true }
        let all = Swift.min(a.firstSeq, b.firstSeq)...Swift.max(a.firstSeq + a.slots.count, b.firstSeq + b.slots.count)
        let x = a.messages(in: all), y = b.messages(in: all)
        return x.count == y.count && zip(x, y).allSatisfy { $0.seq == $1.seq && $0.bytes == $1.bytes }
    }

    public func hash(into h: inout Hasher) {
        h.combine(nextSenderSeq)
        h.combine(nextTargetSeq)
        h.combine(storedCount)
        guard storedCount > 0 else { return }
        for (seq, bytes) in messages(in: firstSeq...(firstSeq + slots.count - 1)) {
            h.combine(seq)
            h.combine(bytes)
        }
    }
}
