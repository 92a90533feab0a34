import Testing
@testable import TandemFIX

@Suite struct StoreTests {
    @Test func inMemoryStoreKeepsMessagesBySeqAndResets() {
        var s = InMemoryFIXStore()
        for seq in [2, 5, 3] { s.store(seq: seq, bytes: [UInt8(seq)]) }
        #expect(s.messages(in: 1...4).map(\.seq) == [2, 3])
        #expect(s.messages(in: 1...1_000_000).map(\.bytes) == [[2], [3], [5]])
        s.nextSenderSeq = 9
        s.reset()
        #expect(s.nextSenderSeq == 1 && s.nextTargetSeq == 1 && s.storedCount == 0)
        #expect(s.messages(in: 1...10).isEmpty)
    }

    /// The slab layout keeps every message, whatever the order, sizes and count: a seq below the
    /// first one stored, a replaced seq, a message longer than a slab, and enough messages for
    /// several slabs and slot-array growths.
    @Test func inMemoryStoreKeepsEveryMessageAcrossSlabs() {
        func message(_ seq: Int) -> [UInt8] {
            let n = seq == 7 ? InMemoryFIXStore.slabBytes + 10 : 100 + seq % 200
            return (0..<n).map { UInt8(truncatingIfNeeded: $0 &+ seq) }
        }
        var s = InMemoryFIXStore()
        let seqs = Array(stride(from: 500, through: 6_000, by: 1)) + Array(2...499).reversed() + [7]
        for seq in seqs { s.store(seq: seq, bytes: seq == 300 ? [1] : message(seq)) }
        s.store(seq: 300, bytes: message(300))  // replaces [1]
        #expect(s.storedCount == 5_999)
        let all = s.messages(in: 1...10_000)
        #expect(all.map(\.seq) == Array(2...6_000))
        #expect(all.allSatisfy { $0.bytes == message($0.seq) })
        #expect(s.messages(in: 6_000...6_000).map(\.seq) == [6_000])
        #expect(s.messages(in: 6_001...7_000).isEmpty)
    }

    @Test func inMemoryStoreIsAValueEqualByContent() {
        var a = InMemoryFIXStore()
        var b = InMemoryFIXStore()
        for seq in [3, 1, 2] { a.store(seq: seq, bytes: [UInt8(seq), 9]) }
        for seq in [1, 2, 3] { b.store(seq: seq, bytes: [UInt8(seq), 9]) }
        #expect(a == b && a.hashValue == b.hashValue)
        let copy = a
        a.store(seq: 4, bytes: [4])
        #expect(copy.storedCount == 3 && copy.messages(in: 1...9).count == 3 && copy == b)
        #expect(a != b)
        b.store(seq: 4, bytes: [5])
        #expect(a != b)
    }
}
