import TandemCrypto
import TandemFIX

/// An operator's risk command as `tandem risk` queues it and the watchdog checks it: HMAC-SHA-256 under
/// the shared key over the action, the issuer, the issue time, a nonce and the reason. A command is
/// carried out only when its code verifies, it was issued within the freshness window (either side,
/// for clock skew), and its nonce was never accepted before, so a captured command cannot be replayed.
public struct SignedCommand: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable, CaseIterable, Codable {
        /// Take the lease into a halted state (the leader is fenced), cancel the engine's open orders.
        case halt
        /// Lift a halt (and a block): the lease is free again and a node takes it.
        case resume
        /// Halt, block the engine's sessions, then close every position through the watchdog's session.
        case flatten
        /// The venue refuses the engine's sessions' new orders (the venue's kill switch).
        case block
        /// Undo `block`.
        case unblock
    }

    public var action: Action
    public var reason: String
    public var issuedBy: String
    /// Issue time, UTC nanoseconds since 1970.
    public var issuedNanos: Int64
    public var nonce: String
    /// Lower-case hex of the 32-byte code.
    public var signature: String

    public init(action: Action, reason: String, issuedBy: String, issuedNanos: Int64, nonce: String, signature: String) {
        self.action = action
        self.reason = reason
        self.issuedBy = issuedBy
        self.issuedNanos = issuedNanos
        self.nonce = nonce
        self.signature = signature
    }

    /// The bytes the code covers. Versioned, one field per line; the reason last, so it may hold anything.
    public static func signedBytes(action: Action, reason: String, issuedBy: String, issuedNanos: Int64, nonce: String) -> [UInt8] {
        Array("tandem-risk-command/1\n\(action.rawValue)\n\(issuedBy)\n\(issuedNanos)\n\(nonce)\n\(reason)".utf8)
    }

    /// A command signed with `key`.
    public static func sign(action: Action, reason: String, issuedBy: String, issuedNanos: Int64, nonce: String, key: [UInt8]) -> SignedCommand {
        let code = HMACSHA256.authenticationCode(key: key, message: signedBytes(action: action, reason: reason, issuedBy: issuedBy,
                                                                               issuedNanos: issuedNanos, nonce: nonce))
        return SignedCommand(action: action, reason: reason, issuedBy: issuedBy, issuedNanos: issuedNanos, nonce: nonce, signature: code.hexString)
    }

    /// A command signed with `key`, issued now (UTC) with a fresh random 128-bit nonce.
    public static func sign(action: Action, reason: String, issuedBy: String, key: [UInt8]) -> SignedCommand {
        var nonce = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in nonce.indices { nonce[i] = UInt8.random(in: 0...255, using: &rng) }
        return sign(action: action, reason: reason, issuedBy: issuedBy, issuedNanos: FIXClock.now().utc.nanosecondsSinceEpoch,
                    nonce: nonce.hexString, key: key)
    }

    /// Why a command was refused.
    public enum Refusal: Sendable, Hashable, CustomStringConvertible {
        case badSignature
        case stale(ageMillis: Int64)
        case replayed
        case malformed(String)

        public var description: String {
            switch self {
            case .badSignature: "the signature does not verify under the watchdog's key"
            case .stale(let age): "issued \(age) ms from the watchdog's clock, outside the freshness window"
            case .replayed: "its nonce was already used by an accepted command (a replay)"
            case .malformed(let why): "malformed: \(why)"
            }
        }
    }

    /// Checks the command at `nowNanos`; `nonceUsed` says whether an accepted command already carried
    /// this nonce. The signature is checked first, so an unsigned command learns nothing else.
    public func verify(key: [UInt8], nowNanos: Int64, window: Duration, nonceUsed: Bool) -> Refusal? {
        guard let code = [UInt8](hexString: signature), code.count == HMACSHA256.byteCount else {
            return .malformed("the signature is not 64 hex digits")
        }
        guard HMACSHA256.isValid(code: code, key: key, message: Self.signedBytes(action: action, reason: reason, issuedBy: issuedBy,
                                                                                 issuedNanos: issuedNanos, nonce: nonce)) else {
            return .badSignature
        }
        guard nonce.utf8.count >= 8 else { return .malformed("the nonce has fewer than 8 characters") }
        let age = (nowNanos - issuedNanos) / 1_000_000
        let limit = window.components.seconds * 1000 + window.components.attoseconds / 1_000_000_000_000_000
        if age > limit || age < -limit { return .stale(ageMillis: age) }
        if nonceUsed { return .replayed }
        return nil
    }
}
