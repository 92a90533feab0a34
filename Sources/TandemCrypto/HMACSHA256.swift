import COpenSSL

/// HMAC-SHA-256 (RFC 2104) through libcrypto, for authenticating risk commands with a shared key.
public enum HMACSHA256 {
    public static let byteCount = 32

    /// The 32-byte authentication code of `message` under `key` (any length; long keys are hashed
    /// first, as RFC 2104 says).
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        key.withUnsafeBytes { keyRaw in
            message.withUnsafeBytes { messageRaw in
                out.withUnsafeMutableBufferPointer { outBuffer in
                    // A non-NULL key pointer even for an empty key: HMAC treats NULL as "reuse the last key".
                    var empty: UInt8 = 0
                    withUnsafeMutablePointer(to: &empty) { emptyPointer in
                        let keyPointer = keyRaw.baseAddress ?? UnsafeRawPointer(emptyPointer)
                        _ = HMAC(
                            EVP_sha256(), keyPointer, Int32(keyRaw.count),
                            messageRaw.baseAddress?.assumingMemoryBound(to: UInt8.self), messageRaw.count,
                            outBuffer.baseAddress, &length)
                    }
                }
            }
        }
        return out
    }

    /// Compares two codes in time independent of where they differ (for checking a received code).
    public static func isValid(code: [UInt8], key: [UInt8], message: [UInt8]) -> Bool {
        let expected = authenticationCode(key: key, message: message)
        guard code.count == expected.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<expected.count { difference |= expected[i] ^ code[i] }
        return difference == 0
    }
}

extension Array where Element == UInt8 {
    /// Lowercase hex, e.g. for printing digests.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses lowercase or uppercase hex; nil on odd length or a non-hex character.
    public init?(hexString: String) {
        let utf8 = Array(hexString.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let h = value(utf8[i]), let l = value(utf8[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        self = out
    }
}
