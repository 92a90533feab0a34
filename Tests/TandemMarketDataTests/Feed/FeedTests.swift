import TandemCore
import TandemMarketData
import Testing

let instrument = InstrumentID(7)
let t0 = Timestamp(nanosecondsSinceEpoch: 1_760_000_000_000_000_000)

func at(_ ms: Int) -> FeedTime {
    FeedTime(utc: Timestamp(nanosecondsSinceEpoch: t0.nanosecondsSinceEpoch + Int64(ms) * 1_000_000), monotonic: .milliseconds(ms))
}

/// A seeded stream of valid book changes: adds near 100.00, modifies, deletes and trades.
struct BookFlow {
    var state: UInt64
    var live: [UInt64] = []
    var nextID: UInt64 = 1
    var sides: [UInt64: (Side, Price)] = [:]

    init(seed: UInt64) { state = seed }

    mutating func rand() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> FeedMessage {
        let r = rand() % 10
        if live.isEmpty || r < 5 {
            let side: Side = rand() % 2 == 0 ? .buy : .sell
            let ticks = Int64(rand() % 20) + 1
            let px = Price(units: (side == .buy ? 10_000 - ticks : 10_000 + ticks) * 1_000_000)
            let id = nextID
            nextID += 1
            live.append(id)
            sides[id] = (side, px)
            return .add(instrument, order: id, side, price: px, quantity: Quantity(units: Int64(rand() % 900 + 100) * 100_000_000), at: t0)
        }
        let i = Int(rand() % UInt64(live.count))
        let id = live[i]
        let (side, px) = sides[id]!
        if r < 7 {
            return .modify(instrument, order: id, side, price: px, remaining: Quantity(units: Int64(rand() % 90 + 10) * 100_000_000), at: t0)
        }
        if r < 9 {
            live.remove(at: i)
            sides[id] = nil
            return .delete(instrument, order: id, side, price: px, at: t0)
        }
        return .trade(instrument, aggressor: side, price: px, quantity: Quantity(units: 100_000_000), at: t0)
    }

    mutating func batch(_ n: Int) -> [FeedMessage] { (0..<n).map { _ in next() } }
}

/// Drives a handler the way the shell does, answering recovery requests from the publisher.
struct Harness {
    var publisher: FeedPublisher
    var handler: FeedHandler
    var notices: [FeedHandler.Notice] = []
    var timer: Duration?
    var delivered: [UInt64] = []

    init(retransmitCapacity: Int = 100_000, configuration: FeedHandler.Configuration = .init()) {
        publisher = FeedPublisher(retransmitCapacity: retransmitCapacity)
        handler = FeedHandler(configuration: configuration)
    }

    mutating func feed(_ event: FeedHandler.Event, now: FeedTime) {
        var queue = [event]
        while !queue.isEmpty {
            let actions = handler.handle(queue.removeFirst())
            for a in actions {
                switch a {
                case .deliver(let ms): delivered += ms.map(\.seq)
                case .scheduleTimer(let at): timer = at
                case .notice(let n): notices.append(n)
                case .requestRetransmit(let from, let through):
                    switch publisher.retransmit(from: from, through: through, sendTime: now.utc) {
                    case .success(let packets): queue.append(.retransmission(packets, now))
                    case .failure: queue.append(.retransmitUnavailable(now))
                    }
                case .requestSnapshot:
                    queue.append(.snapshot(publisher.snapshot(at: now.utc), now))
                }
            }
        }
    }

    /// Fires the timer if it is due by `ms`.
    mutating func advance(to ms: Int) {
        if let t = timer, t <= .milliseconds(ms) {
            timer = nil
            feed(.timerFired(at(ms)), now: at(ms))
        }
    }
}

@Suite("Feed wire format")
struct FeedWireTests {
    @Test func roundTrip() throws {
        var flow = BookFlow(seed: 1)
        let messages = flow.batch(30)
        var bytes: [UInt8] = []
        FeedWire.encodePacket(line: .b, firstSeq: 42, sendTime: t0, messages: messages, into: &bytes)
        #expect(bytes.count == FeedWire.headerSize + 30 * FeedWire.messageSize)
        let p = try FeedPacket(decoding: bytes)
        #expect(p.line == .b && p.firstSeq == 42 && p.count == 30 && p.sendTime == t0 && p.endSeq == 72)
        #expect(try p.messages() == messages)
    }

    @Test func malformedPacketsNameWhatAndWhere() {
        var good: [UInt8] = []
        FeedWire.encodePacket(line: .a, firstSeq: 1, sendTime: t0,
                              messages: [.add(instrument, order: 1, .buy, price: Price(units: 1), quantity: Quantity(units: 1), at: t0)], into: &good)
        func code(_ mutate: (inout [UInt8]) -> Void) -> (FeedError.Code, Int)? {
            var b = good
            mutate(&b)
            do {
                let p = try FeedPacket(decoding: b)
                _ = try p.messages()
                return nil
            } catch { return (error.code, error.offset) }
        }
        #expect(code { $0 = Array($0.prefix(10)) }! == (.truncated, 10))
        #expect(code { $0[0] = 0 }! == (.badMagic, 0))
        #expect(code { $0[2] = 9 }! == (.badVersion, 2))
        #expect(code { $0[3] = 0x5A }! == (.badLine, 3))
        #expect(code { $0.removeLast() }! == (.badLength, 4))
        #expect(code { $0[24] = 9 }! == (.badKind, 24))
        #expect(code { $0[25] = 5 }! == (.badSide, 25))
        #expect(code { $0[24 + 31] = 0x80 }! == (.badValue, 48))
        #expect(code { $0[8] = 0 }! == (.badValue, 8))
    }
}

@Suite("Feed handler: arbitration and recovery")
struct FeedHandlerTests {
    /// Publishes `batches` of messages; `send` decides per packet index and line whether it arrives.
    static func run(_ h: inout Harness, batches: Int, seed: UInt64 = 3, send: (Int, FeedLine) -> Bool) {
        var flow = BookFlow(seed: seed)
        var index = 0
        var ms = 0
        for _ in 0..<batches {
            let packets = h.publisher.publish(flow.batch(Int(flow.rand() % 40) + 1), sendTime: at(ms).utc)
            for (_, bytes) in packets {
                for line in [FeedLine.a, .b] where send(index, line) {
                    h.feed(.packet(FeedPublisher.relabel(bytes, as: line), at(ms)), now: at(ms))
                }
                index += 1
            }
            ms += 1
            h.advance(to: ms)
        }
        // A heartbeat reveals anything lost at the tail; then let every timer run out.
        let hb = h.publisher.heartbeat(sendTime: at(ms).utc)
        h.feed(.packet(hb, at(ms)), now: at(ms))
        h.feed(.packet(FeedPublisher.relabel(hb, as: .b), at(ms)), now: at(ms))
        for step in 1...20 { h.advance(to: ms + step * 5) }
    }

    @Test("packets lost on line A only: no gap, the book equals the venue's")
    func lossOnOneLine() {
        var h = Harness()
        Self.run(&h, batches: 300) { i, line in !(line == .a && i % 7 == 3) }
        #expect(h.handler.counters.gaps == 0)
        #expect(h.handler.counters.retransmitRecoveries == 0)
        #expect(h.handler.isConsistent)
        #expect(h.handler.book == h.publisher.book)
        #expect(h.delivered == Array(1..<h.publisher.nextSeq))
    }

    @Test("B before A, and A's copy late: arbitration masks the hole")
    func reordered() {
        var h = Harness()
        Self.run(&h, batches: 100) { i, line in line == .b || i % 3 != 0 }
        #expect(h.handler.counters.gaps == 0)
        #expect(h.handler.book == h.publisher.book)
    }

    @Test("packets lost on both lines: recovered by retransmission, book equal")
    func lossOnBothLines() {
        var h = Harness()
        Self.run(&h, batches: 300) { i, _ in i % 11 != 5 }
        #expect(h.handler.counters.gaps > 0)
        #expect(h.handler.counters.retransmitRecoveries == h.handler.counters.gaps)
        #expect(h.handler.counters.snapshotRecoveries == 0)
        #expect(h.handler.isConsistent)
        #expect(h.handler.book == h.publisher.book)
        #expect(h.delivered == Array(1..<h.publisher.nextSeq), "every seq delivered once, in order")
        #expect(h.notices.contains { if case .gapDetected = $0 { true } else { false } })
    }

    @Test("a gap older than the retransmission window: recovered by snapshot")
    func snapshotRecovery() {
        var h = Harness(retransmitCapacity: 50)
        var flow = BookFlow(seed: 9)
        // Both lines miss everything between the first packet and a much later one.
        let first = h.publisher.publish(flow.batch(10), sendTime: t0)
        h.feed(.packet(first[0].bytes, at(0)), now: at(0))
        _ = h.publisher.publish(flow.batch(500), sendTime: t0)
        let later = h.publisher.publish(flow.batch(10), sendTime: t0)
        h.feed(.packet(later[0].bytes, at(1)), now: at(1))
        h.advance(to: 10)
        #expect(h.handler.counters.gaps == 1)
        #expect(h.handler.counters.snapshotRecoveries == 1)
        #expect(h.handler.isConsistent)
        #expect(h.handler.book == h.publisher.book)
        #expect(h.notices.contains { if case .recovered(.snapshot, _, _) = $0 { true } else { false } })
    }

    @Test("a late joiner starts from a snapshot")
    func lateJoin() {
        var h = Harness()
        var flow = BookFlow(seed: 4)
        _ = h.publisher.publish(flow.batch(200), sendTime: t0)
        let p = h.publisher.publish(flow.batch(5), sendTime: t0)
        h.feed(.packet(p[0].bytes, at(0)), now: at(0))
        #expect(h.handler.counters.snapshotRecoveries == 1)
        #expect(h.handler.isConsistent)
        #expect(h.handler.book == h.publisher.book)
    }

    @Test("a silent line goes stale and is restored by its next packet")
    func staleness() {
        var h = Harness(configuration: .init(staleAfter: .milliseconds(100)))
        let hb = h.publisher.heartbeat(sendTime: t0)
        h.feed(.packet(hb, at(0)), now: at(0))
        h.feed(.packet(FeedPublisher.relabel(hb, as: .b), at(0)), now: at(0))
        for ms in stride(from: 50, through: 150, by: 50) {
            h.feed(.packet(FeedPublisher.relabel(hb, as: .b), at(ms)), now: at(ms))
            h.advance(to: ms)
        }
        #expect(h.handler.staleLines == [.a])
        #expect(h.notices.contains(.lineStale(.a)))
        h.feed(.packet(hb, at(160)), now: at(160))
        #expect(h.handler.staleLines.isEmpty)
        #expect(h.notices.contains(.lineRestored(.a)))
    }

    @Test("malformed packets are counted and reported, never a crash; the book is unaffected")
    func malformed() {
        var h = Harness()
        var flow = BookFlow(seed: 5)
        var rng = BookFlow(seed: 77)
        var ms = 0
        for _ in 0..<1000 {
            let packets = h.publisher.publish(flow.batch(3), sendTime: t0)
            for (_, bytes) in packets {
                var bad = bytes
                switch rng.rand() % 4 {
                case 0: bad[Int(rng.rand() % UInt64(bad.count))] ^= UInt8(truncatingIfNeeded: rng.rand() | 1)
                case 1: bad = Array(bad.prefix(Int(rng.rand() % UInt64(bad.count))))
                case 2: bad += [UInt8(truncatingIfNeeded: rng.rand())]
                default: bad = (0..<Int(rng.rand() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.rand()) }
                }
                h.feed(.packet(bad, at(ms)), now: at(ms))  // a corrupted copy first…
                h.feed(.packet(FeedPublisher.relabel(bytes, as: .b), at(ms)), now: at(ms))  // …then the good one
            }
            ms += 1
            h.advance(to: ms)
        }
        #expect(h.handler.counters.malformed > 500)
        // The format has no checksum of its own (UDP's covers transit): a corrupted copy that still
        // decodes can win arbitration, and a book that then disagrees resynchronises by snapshot.
        #expect(h.handler.book == h.publisher.book || h.handler.counters.snapshotRecoveries > 0)
        #expect(h.notices.contains { if case .malformed = $0 { true } else { false } })
    }
}
