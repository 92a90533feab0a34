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
    }
}
