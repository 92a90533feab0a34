import COpenSSL

/// SHA-256 through OpenSSL's libcrypto (EVP API). The one Swift face on COpenSSL: all pointer
/// handling for libcrypto lives in this target.
///
/// The digest algorithm is fetched once per process (`EVP_MD_fetch`), because OpenSSL 3's implicit
/// fetch in `EVP_sha256()` costs a lookup on every call, which a replay of millions of events feels.
public enum SHA256 {
    /// Digest length in bytes.
    public static let byteCount = 32

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The SHA-256 digest of `bytes` (any contiguous byte collection).
    public static func hash(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// The process-wide fetched SHA-256 implementation. Immutable after creation and thread-safe per
/// OpenSSL's documentation, hence the unchecked conformance.
final class FetchedDigest: @unchecked Sendable {
    let md: OpaquePointer?
    static let sha256 = FetchedDigest(name: "SHA256")

    private init(name: String) {
        md = EVP_MD_fetch(nil, name, nil)
    }
}

/// Owns one `EVP_MD_CTX`; freed when the last hasher sharing it goes away. `SHA256Hasher` copies it
/// before any mutation unless uniquely referenced (copy-on-write, like `Array`), so a shared context is
/// only ever read: hence the unchecked Sendable.
final class DigestContext: @unchecked Sendable {
    let ctx: OpaquePointer?
    init() { ctx = EVP_MD_CTX_new() }
    init(copying other: DigestContext) {
        ctx = EVP_MD_CTX_new()
        _ = EVP_MD_CTX_copy_ex(ctx, other.ctx)
    }
    deinit { EVP_MD_CTX_free(ctx) }
}

/// An incremental SHA-256: `update` any number of times, then `finalize`. After `finalize` the hasher
/// starts over (it can be reused without allocating a new context, which the hash-chain verifier does
/// once per event). A value type with copy-on-write of the underlying context.
public struct SHA256Hasher: Sendable {
    private var context: DigestContext

    public init() {
        context = DigestContext()
        reset()
    }

    /// Starts a new digest, discarding anything fed so far.
    public mutating func reset() {
        unique()
        _ = EVP_DigestInit_ex(context.ctx, FetchedDigest.sha256.md, nil)
    }

    private mutating func unique() {
        if !isKnownUniquelyReferenced(&context) { context = DigestContext(copying: context) }
    }

    public mutating func update(_ bytes: [UInt8]) {
        unique()
        bytes.withUnsafeBytes { raw in
            _ = EVP_DigestUpdate(context.ctx, raw.baseAddress, raw.count)
        }
    }

    public mutating func update(_ bytes: ArraySlice<UInt8>) {
        unique()
        bytes.withUnsafeBytes { raw in
            _ = EVP_DigestUpdate(context.ctx, raw.baseAddress, raw.count)
        }
    }

    /// Feeds `value` as 8 big-endian bytes.
    public mutating func update(bigEndian value: UInt64) {
        unique()
        withUnsafeBytes(of: value.bigEndian) { raw in
            _ = EVP_DigestUpdate(context.ctx, raw.baseAddress, raw.count)
        }
    }

    /// Writes the digest of everything fed since the last reset into `digest` (which becomes exactly
    /// 32 bytes, reusing its storage when it is uniquely referenced), and resets. The allocation-free
    /// form of `finalize()`, for the hash-chain verifier's once-per-event use.
    public mutating func finalize(into digest: inout [UInt8]) {
        unique()
        if digest.count != SHA256.byteCount {
            digest.removeAll(keepingCapacity: true)
            digest.append(contentsOf: repeatElement(0, count: SHA256.byteCount))
        }
        var length: UInt32 = 0
        digest.withUnsafeMutableBufferPointer { buffer in
            _ = EVP_DigestFinal_ex(context.ctx, buffer.baseAddress, &length)
        }
        reset()
    }

    /// Returns the digest of everything fed since the last reset, and resets.
    public mutating func finalize() -> [UInt8] {
        unique()
        var out = [UInt8](repeating: 0, count: SHA256.byteCount)
        var length: UInt32 = 0
        out.withUnsafeMutableBufferPointer { buffer in
            _ = EVP_DigestFinal_ex(context.ctx, buffer.baseAddress, &length)
        }
        reset()
        return out
    }
}
