import TandemCrypto
import Testing

@Suite("SHA-256 (NIST FIPS 180 examples)")
struct SHA256Tests {
    @Test("one-shot digests match the NIST examples", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func vectors(message: String, expected: String) {
        #expect(SHA256.hash(Array(message.utf8)).hexString == expected)
    }

    @Test("one million 'a' fed incrementally in uneven pieces")
    func millionA() {
        var hasher = SHA256Hasher()
        var fed = 0
        var piece = 1
        while fed < 1_000_000 {
            let n = min(piece, 1_000_000 - fed)
            hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: n))
            fed += n
            piece = piece * 3 % 9973 + 1
        }
        #expect(hasher.finalize().hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("finalize resets the hasher, and copies hash independently")
    func resetAndCopy() {
        var a = SHA256Hasher()
        a.update(Array("ab".utf8))
        var b = a
        b.update(Array("c".utf8))
        a.update(Array("x".utf8))
        #expect(b.finalize() == SHA256.hash(Array("abc".utf8)))
        #expect(a.finalize() == SHA256.hash(Array("abx".utf8)))
        a.update(Array("abc".utf8))
        #expect(a.finalize().hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("big-endian integers hash as their 8 bytes")
    func bigEndian() {
        var h = SHA256Hasher()
        h.update(bigEndian: 0x0102_0304_0506_0708)
        #expect(h.finalize() == SHA256.hash([1, 2, 3, 4, 5, 6, 7, 8]))
    }
}

@Suite("SHA-256 without allocation")
struct SHA256IntoTests {
    @Test("finalize(into:) equals finalize(), resets, and never writes through a shared copy")
    func into() {
        var hasher = SHA256Hasher()
        var digest: [UInt8] = [1, 2, 3]
        hasher.update(Array("abc".utf8))
        hasher.finalize(into: &digest)
        #expect(digest == SHA256.hash(Array("abc".utf8)))
        let kept = digest
        hasher.update(Array("abx".utf8))
        hasher.finalize(into: &digest)
        #expect(digest == SHA256.hash(Array("abx".utf8)))
        #expect(kept == SHA256.hash(Array("abc".utf8)))
    }
}
