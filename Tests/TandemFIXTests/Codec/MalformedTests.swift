import Testing
import TandemCore
@testable import TandemFIX

@Suite struct MalformedTests {
    func error(_ bytes: [UInt8]) -> FIXError? {
        do { _ = try FIXParser.parse(bytes); return nil } catch { return error }
    }

    @Test func badChecksum() {
        var b = frame(Heartbeat())
        b[b.count - 2] = b[b.count - 2] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        let e = error(b)
        #expect(e?.code == .badChecksum)
        #expect(e?.tag == 10)
        #expect(e?.offset == b.count - 4)
    }

    @Test func wrongBodyLength() {
        var b = frame(Heartbeat())
        #expect(bars(Array(b[10..<15])) == "9=54|")
        b[13] = UInt8(ascii: "0")
        let e = error(b)
        #expect(e?.code == .badBodyLength)
        #expect(e?.tag == 9)
    }

    @Test func missingRequiredTag() throws {
        let m = try FIXParser.parse(rawFrame("35=2|49=VENUE|56=TANDEM|34=3|52=20231114-22:13:20|7=1|"))
        #expect(throws: FIXError.self) { try ResendRequest(parsing: m) }
        do { _ = try ResendRequest(parsing: m) } catch { #expect(error.code == .missingRequiredTag && error.tag == 16) }
    }

    @Test func tagWithoutEquals() {
        let e = error(rawFrame("35=0|49=VENUE|56=TANDEM|34=3|52=20231114-22:13:20|112|"))
        #expect(e?.code == .malformedField)
        #expect(e?.tag == 112)
        #expect(e?.offset == 65)
    }

    @Test func nonNumericTag() {
        let e = error(rawFrame("35=0|49=VENUE|5x=TANDEM|34=3|"))
        #expect(e?.code == .nonNumericTag)
        #expect(e?.offset == 30)
    }

    @Test func truncatedFrame() {
        let b = frame(Heartbeat())
        for cut in [1, 5, 20, b.count - 1] {
            let e = error(Array(b.prefix(cut)))
            #expect(e != nil)
            #expect(e?.isGarbled == true)
        }
        #expect(error(Array(b.prefix(b.count - 10)))?.code == .truncated)
    }

    @Test func badValueNamesTagAndOffset() throws {
        let m = try FIXParser.parse(rawFrame("35=D|49=V|56=T|34=1|52=20231114-22:13:20|11=C|55=X|54=1|60=20231114-22:13:20|38=1.5e3|40=1|"))
        do { _ = try NewOrderSingle(parsing: m); Issue.record("expected an error") } catch {
            #expect(error.code == .badValue)
            #expect(error.tag == 38)
            #expect(error.offset.map { m.bytes[$0] } == UInt8(ascii: "1"))
        }
    }

    @Test func splitterSkipsGarbageBetweenFrames() {
        let a = frame(Heartbeat(testReqID: "A")), b = frame(Heartbeat(testReqID: "B"))
        var s = FIXFrameSplitter()
        s.append(Array("xx\u{1}8=FI".utf8) + a + Array("junk9=".utf8) + b.prefix(10))
        var frames: [[UInt8]] = [], skipped: [FIXError] = []
        func drain() {
            while let o = s.next() {
                switch o {
                case .frame(let f): frames.append(f)
                case .skipped(let e): skipped.append(e)
                }
            }
        }
        drain()
        #expect(frames == [a])
        s.append(b.dropFirst(10))
        drain()
        #expect(frames == [a, b])
        #expect(skipped.count == 2)
        #expect(skipped.allSatisfy { $0.code == .garbage })
        #expect(skipped.first?.offset == 0)
    }

    @Test func splitterDeliversByteAtATime() throws {
        let all = (1...20).flatMap { frame(Heartbeat(testReqID: "T\($0)"), seq: $0) }
        var s = FIXFrameSplitter()
        var seqs: [Int] = []
        for byte in all {
            s.append([byte])
            while let o = s.next() { if case .frame(let f) = o { seqs.append(try FIXParser.parse(f).msgSeqNum ?? -1) } }
        }
        #expect(seqs == Array(1...20))
    }
}
