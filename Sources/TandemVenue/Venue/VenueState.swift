#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import Synchronization
import TandemCore
import TandemFIX

/// A FIX session store the venue can read while the session runs: the session owns it as a value
/// (``FIXSessionStore``), but every copy shares one locked ``InMemoryFIXStore``, so the state file
/// writer sees the live sequence numbers and the messages kept for resend.
///
/// `committedTarget` is the inbound sequence number the state file records: the venue moves it
/// up to the live `nextTargetSeq` only once every message below it has been applied to the core
/// (after each read from the connection), so a state file never claims a message the saved books
/// do not reflect. A message the file does not cover is asked for again after a restart
/// (ResendRequest) and applied then.
public struct VenueFIXStore: FIXSessionStore {
    final class Shared: Sendable {
        struct Inner {
            var store: InMemoryFIXStore
            var committedTarget: Int
        }
        let m: Mutex<Inner>
        init(_ store: InMemoryFIXStore) { m = Mutex(Inner(store: store, committedTarget: store.nextTargetSeq)) }
    }

    let shared: Shared

    public init(_ store: InMemoryFIXStore = InMemoryFIXStore()) { shared = Shared(store) }

    public var nextSenderSeq: Int {
        get { shared.m.withLock { $0.store.nextSenderSeq } }
        nonmutating set { shared.m.withLock { $0.store.nextSenderSeq = newValue } }
    }

    public var nextTargetSeq: Int {
        get { shared.m.withLock { $0.store.nextTargetSeq } }
        nonmutating set { shared.m.withLock { $0.store.nextTargetSeq = newValue } }
    }

    public func store(seq: Int, bytes: [UInt8]) { shared.m.withLock { $0.store.store(seq: seq, bytes: bytes) } }

    public func messages(in range: ClosedRange<Int>) -> [(seq: Int, bytes: [UInt8])] {
        shared.m.withLock { $0.store.messages(in: range) }
    }

    public func reset() {
        shared.m.withLock {
            $0.store.reset()
            $0.committedTarget = 1
        }
    }

    /// Every message below the live `nextTargetSeq` has been applied.
    public func commitTarget() { shared.m.withLock { $0.committedTarget = $0.store.nextTargetSeq } }

    /// What the state file keeps of this session.
    func saved(compID: String) -> VenueStateFile.Session {
        shared.m.withLock { st in
            let last = st.store.nextSenderSeq - 1
            let messages = last >= 1 ? st.store.messages(in: 1...last) : []
            return VenueStateFile.Session(compID: compID, nextSenderSeq: st.store.nextSenderSeq,
                                          nextTargetSeq: min(st.committedTarget, st.store.nextTargetSeq),
                                          messages: messages.map { .init(seq: $0.seq, fix: String(decoding: $0.bytes, as: UTF8.self)) })
        }
    }

    /// A store continuing `saved`; `senderGap` moves the outbound sequence forward (after a crash).
    init(saved: VenueStateFile.Session, senderGap: Int) {
        var s = InMemoryFIXStore(nextSenderSeq: saved.nextSenderSeq + senderGap, nextTargetSeq: saved.nextTargetSeq)
        for m in saved.messages { s.store(seq: m.seq, bytes: Array(m.fix.utf8)) }
        self.init(s)
    }
}

/// The venue's state file (JSON, `format` `tandem-venue-state`, `version` 1): see docs/venue.md.
public struct VenueStateFile: Sendable, Codable {
    public static let formatName = "tandem-venue-state"
    public static let currentVersion = 1

    public struct Message: Sendable, Codable, Hashable {
        public var seq: Int
        /// The whole FIX frame as sent (SOH separators, escaped as \u0001 in JSON).
        public var fix: String
    }

    public struct Session: Sendable, Codable, Hashable {
        public var compID: String
        public var nextSenderSeq: Int
        public var nextTargetSeq: Int
        /// Sent application messages, kept to answer ResendRequests.
        public var messages: [Message]
    }

    public var format: String
    public var version: Int
    /// When it was written, ISO-8601 UTC.
    public var writtenAt: String
    /// Written at a graceful shutdown (nothing was sent after it).
    public var clean: Bool
    public var sessions: [Session]
    public var core: VenueCore.Saved
    public var engine: EngineSnapshot
    public var market: SyntheticMarket.Saved?
    /// The feed's next sequence number when written (the feed itself restarts at 1; see docs).
    public var feedNextSeq: UInt64

    /// Reads and checks a state file; nil when there is none.
    public static func load(path: String) throws(VenueStateError) -> VenueStateFile? {
        let bytes: [UInt8]
        switch readWholeFile(path) {
        case .success(let b): bytes = b
        case .failure(let e) where e.code == ENOENT: return nil
        case .failure(let e): throw VenueStateError(path: path, message: "cannot read: \(e)")
        }
        let file: VenueStateFile
        do { file = try JSONDecoder().decode(VenueStateFile.self, from: Data(bytes)) } catch {
            throw VenueStateError(path: path, message: "not a venue state file: \(error)")
        }
        guard file.format == formatName else { throw VenueStateError(path: path, message: "format is \(file.format), expected \(formatName)") }
        guard file.version == currentVersion else {
            throw VenueStateError(path: path, message: "version \(file.version); this venue reads version \(currentVersion)")
        }
        return file
    }

    /// Writes atomically: a temporary file beside it, fsync, rename over `path`, fsync the directory.
    public func write(path: String) throws(VenueStateError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(self) } catch { throw VenueStateError(path: path, message: "cannot encode: \(error)") }
        let temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VenueStateError(path: temp, message: "cannot create: \(String(cString: strerror(errno)))") }
        var failure: String?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "cannot write: \(String(cString: strerror(errno)))"
                    return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = "cannot fsync: \(String(cString: strerror(errno)))" }
        close(fd)
        if let failure {
            unlink(temp)
            throw VenueStateError(path: temp, message: failure)
        }
        guard rename(temp, path) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(temp)
            throw VenueStateError(path: path, message: "cannot rename \(temp) over it: \(e)")
        }
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }
}

public struct VenueStateError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "venue state file \(path): \(message)" }
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}

/// An errno from reading a file.
struct FileReadError: Error, CustomStringConvertible {
    var code: Int32
    var description: String { String(cString: strerror(code)) }
}

/// A whole file's bytes.
func readWholeFile(_ path: String) -> Result<[UInt8], FileReadError> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { return .failure(FileReadError(code: errno)) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return .failure(FileReadError(code: errno))
        }
        if n == 0 { return .success(bytes) }
        bytes += chunk[0..<n]
    }
}
