import Testing
import TandemCore

/// Pins the wire format. If one of these fails, the encoding changed: that needs a new format
/// version and a migration, not an edit to this table.
@Suite struct GoldenBytesTests {
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }

    @Test func cancelRequestedLayoutByHand() {
        // version 01 · kind 0006 · length 0000000e · ts 1700000000123456789 · "C1" as u32 length + UTF-8
        let bytes = EventCodec.encode(.cancelRequested(clOrdID: ClOrdID("C1"), at: Fixtures.t0))
        #expect(Self.hex(bytes) == "01" + "0006" + "0000000e" + "17979cfe3d85cd15" + "00000002" + "4331")
    }

    @Test func riskModeChangedLayoutByHand() {
        // version 01 · kind 0017 (23) · length 00000024 (36) · ts · from u8 (0 active) · to u8 (2 halted)
        // · rule "max_daily_loss" and reason "loss" as u32 length + UTF-8
        let bytes = EventCodec.encode(.riskModeChanged(RiskModeChange(from: .active, to: .halted, rule: "max_daily_loss", reason: "loss", at: Fixtures.t0)))
        #expect(Self.hex(bytes) == "01" + "0017" + "00000024" + "17979cfe3d85cd15" + "00" + "02"
                + "0000000e" + "6d61785f6461696c795f6c6f7373" + "00000004" + "6c6f7373")
    }

    @Test func everyKindMatchesItsGoldenBytes() {
        let samples = Fixtures.sampleEvents()
        #expect(samples.count == Self.golden.count)
        for (event, expected) in zip(samples, Self.golden) {
            #expect(Self.hex(EventCodec.encode(event)) == expected, "\(event.kind.name)")
        }
    }

    /// `Fixtures.sampleEvents()` in order, one per kind 1…23.
    static let golden: [String] = [
        "0100010000004c17979cfe3d85cd1500000007000000044141504c00000004584e415300000000000f42400000000005f5e10000000000000000010000000000000001555344000000000000000004584e5953",
        "0100020000002e17979cfe3d85cd150000000243310000000441434331000000070101000000025b7f3d4000000000003b9aca0000",
        "0100030000001417979cfe3d85cd15000000024331000000025631",
        "0100040000003417979cfe3d85cd150000000243310000000245310000000011e1a300000000025b7f3d4000000000001005905553440000000000",
        "0100050000003417979cfe3d85cd150000000243310000000245310000000011e1a300000000025b7f3d4000000000001005905553440000000000",
        "0100060000000e17979cfe3d85cd15000000024331",
        "0100070000000e17979cfe3d85cd15000000024331",
        "0100080000001617979cfe3d85cd15000000024331000000046c617465",
        "0100090000002e17979cfe3d85cd150000000243310000000243320000000077359400010300000002540be400000000024e160300",
        "01000a0000000e17979cfe3d85cd15000000024331",
        "01000b0000001417979cfe3d85cd15000000024331000000026e6f",
        "01000c0000001617979cfe3d85cd150000000243310000000462616e64",
        "01000d0000000e17979cfe3d85cd15000000024331",
        "01000e0000000e17979cfe3d85cd15000000024331",
        "01000f0000000e17979cfe3d85cd15000000024331",
        "0100100000001d17979cfe3d85cd15000000015300000000000000050000000000000009",
        "0100110000001c17979cfe3d85cd150000000153000000000000000a00000003383d01",
        "0100120000001a17979cfe3d85cd150000000000000003000000066e6f64652d61",
        "0100130000001f17979cfe3d85cd1501010000000441434331000000036f707300000002dead",
        "0100140000002c17979cfe3d85cd15000000044143433100000007ffffffffe2329b0000000002540be4000000000473746d74",
        "0100150000001017979cfe3d85cd1500000000000003e8",
        "0100160000001d17979cfe3d85cd15000000070100000000000000040000000000000001",
        "0100170000002417979cfe3d85cd1500020000000e6d61785f6461696c795f6c6f7373000000046c6f7373",
    ]
}
