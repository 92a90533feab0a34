import TandemWatchdog
import Testing

@Suite("Signed operator commands")
struct SignedCommandTests {
    let key = [UInt8](repeating: 7, count: 32)
    let now: Int64 = 1_790_000_000_000_000_000

    func signed(_ action: SignedCommand.Action = .halt, at: Int64? = nil, nonce: String = "0123456789abcdef") -> SignedCommand {
        SignedCommand.sign(action: action, reason: "drill", issuedBy: "alice", issuedNanos: at ?? now, nonce: nonce, key: key)
    }

    @Test("a fresh, correctly signed command with an unused nonce verifies")
    func verifies() {
        #expect(signed().verify(key: key, nowNanos: now + 1_000_000_000, window: .seconds(30), nonceUsed: false) == nil)
    }

    @Test("the wrong key, or any field changed after signing, is a bad signature")
    func tampered() {
        #expect(signed().verify(key: [UInt8](repeating: 8, count: 32), nowNanos: now, window: .seconds(30), nonceUsed: false) == .badSignature)
        var c = signed()
        c.action = .flatten
        #expect(c.verify(key: key, nowNanos: now, window: .seconds(30), nonceUsed: false) == .badSignature)
        c = signed()
        c.reason = "something else"
        #expect(c.verify(key: key, nowNanos: now, window: .seconds(30), nonceUsed: false) == .badSignature)
        c = signed()
        c.issuedNanos += 1
        #expect(c.verify(key: key, nowNanos: now, window: .seconds(30), nonceUsed: false) == .badSignature)
        c = signed()
        c.signature = "zz"
        #expect(c.verify(key: key, nowNanos: now, window: .seconds(30), nonceUsed: false) == .malformed("the signature is not 64 hex digits"))
    }

    @Test("outside the freshness window, either side, is stale; a used nonce is a replay")
    func staleAndReplayed() {
        #expect(signed(at: now - 31_000_000_000).verify(key: key, nowNanos: now, window: .seconds(30), nonceUsed: false) == .stale(ageMillis: 31_000))
        #expect(signed(at: now + 31_000_000_000).verify(key: key, nowNanos: now, window: .seconds(30), nonceUsed: false) == .stale(ageMillis: -31_000))
        #expect(signed(at: now - 29_000_000_000).verify(key: key, nowNanos: now, window: .seconds(30), nonceUsed: false) == nil)
        #expect(signed().verify(key: key, nowNanos: now, window: .seconds(30), nonceUsed: true) == .replayed)
        #expect(signed(nonce: "short").verify(key: key, nowNanos: now, window: .seconds(30), nonceUsed: false)
                == .malformed("the nonce has fewer than 8 characters"))
    }
}
