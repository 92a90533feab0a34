import TandemCrypto
import Testing

@Suite("HMAC-SHA-256 (RFC 4231)")
struct HMACSHA256Tests {
    static let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (Array(1...25), [UInt8](repeating: 0xcd, count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ([UInt8](repeating: 0xaa, count: 131),
         Array(("This is a test using a larger than block-size key and a larger than block-size data. "
             + "The key needs to be hashed before being used by the HMAC algorithm.").utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    @Test("RFC 4231 test cases 1-4, 6, 7", arguments: 0..<6)
    func rfc4231(index: Int) {
        let c = Self.cases[index]
        #expect(HMACSHA256.authenticationCode(key: c.key, message: c.data).hexString == c.mac)
    }

    @Test("isValid accepts the right code and rejects a flipped bit or a wrong length")
    func validity() throws {
        let key = Array("k".utf8), message = Array("halt".utf8)
        var code = HMACSHA256.authenticationCode(key: key, message: message)
        #expect(HMACSHA256.isValid(code: code, key: key, message: message))
        code[7] ^= 1
        #expect(!HMACSHA256.isValid(code: code, key: key, message: message))
        #expect(!HMACSHA256.isValid(code: Array(code.prefix(31)), key: key, message: message))
    }

    @Test("an empty key is a valid key, not 'reuse the last one'")
    func emptyKey() {
        let a = HMACSHA256.authenticationCode(key: [], message: [1])
        _ = HMACSHA256.authenticationCode(key: [9, 9], message: [1])
        #expect(HMACSHA256.authenticationCode(key: [], message: [1]) == a)
        #expect(a.hexString != HMACSHA256.authenticationCode(key: [9, 9], message: [1]).hexString)
    }

    @Test("hex round trip")
    func hex() {
        #expect([UInt8](hexString: "00ff10Ab") == [0, 255, 16, 171])
        #expect([UInt8](hexString: "abc") == nil)
        #expect([UInt8](hexString: "zz") == nil)
    }
}
