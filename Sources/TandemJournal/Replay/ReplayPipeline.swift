import Foundation
import TandemPostgres

/// A fixed set of reusable rows: filled by the reading thread, consumed by the folding thread, then
/// handed back to be refilled. A chunk belongs to exactly one thread at a time (see `RowChunkQueue`).
final class RowChunk: @unchecked Sendable {
    // @unchecked: ownership moves between the two threads only through `RowChunkQueue`, whose lock
    // orders every access of one thread before every access of the next.
    var rows: [JournalRow]
    var count = 0

    init(capacity: Int) {
        var row = JournalRow(seq: 0, epoch: 0, kind: 0, timestampNanos: 0, payload: [], prevHash: [], hash: [])
        rows = []
        rows.reserveCapacity(capacity)
        for _ in 0..<capacity {
            // Fresh storage per row (appending the same value would share it and copy on first write).
            row.payload = []
            row.payload.reserveCapacity(256)
            row.prevHash = []
            row.prevHash.reserveCapacity(32)
            row.hash = []
            row.hash.reserveCapacity(32)
            rows.append(row)
        }
    }
}

/// The bounded handoff between the replay's two threads: `chunks` rows-chunks circulate, free ones to
/// the reader, filled ones (FIFO) to the folder. The reader blocks when all chunks are full, the
/// folder when none is, so memory stays at `chunks × rowsPerChunk` rows whatever the journal's length.
///
/// Ending: the reader calls `finish()` (after its last `publish`), the folder drains what is left and
/// calls `folderDone()`. If the folder fails it calls `fail(_:)`: the reader's next `takeFree()` then
/// throws that error, so the read stops at the next chunk boundary with the fold's own error.
final class RowChunkQueue: @unchecked Sendable {
    // @unchecked: every stored property is touched only with `condition` locked.
    private let condition = NSCondition()
    private var free: [RowChunk]
    private var full: [RowChunk] = []
    private var fullHead = 0
    private var finished = false
    private var failure: JournalError?
    private var done = false

    init(chunks: Int, rowsPerChunk: Int) {
        free = (0..<max(2, chunks)).map { _ in RowChunk(capacity: max(1, rowsPerChunk)) }
    }

    // MARK: reader side

    /// An empty chunk to fill; throws the folder's error once it has failed.
    func takeFree() throws(JournalError) -> RowChunk {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty && failure == nil { condition.wait() }
        if let failure { throw failure }
        let chunk = free.removeLast()
        chunk.count = 0
        return chunk
    }

    /// Hands a filled chunk to the folder.
    func publish(_ chunk: RowChunk) {
        signal { full.append(chunk) }
    }

    /// No more chunks will be published.
    func finish() {
        signal { finished = true }
    }

    /// Blocks until the folder has stopped (drained everything, or failed); returns its failure.
    func waitForFolder() -> JournalError? {
        condition.lock()
        defer { condition.unlock() }
        while !done { condition.wait() }
        return failure
    }

    // MARK: folder side

    /// The oldest filled chunk, or nil once the reader has finished and everything was taken.
    func takeFull() -> RowChunk? {
        condition.lock()
        defer { condition.unlock() }
        while fullHead == full.count && !finished { condition.wait() }
        guard fullHead < full.count else { return nil }
        let chunk = full[fullHead]
        fullHead += 1
        if fullHead == full.count {
            full.removeAll(keepingCapacity: true)
            fullHead = 0
        }
        return chunk
    }

    /// Gives a consumed chunk back to the reader.
    func recycle(_ chunk: RowChunk) {
        signal { free.append(chunk) }
    }

    /// The folder stopped on `error`; the reader's next `takeFree()` throws it.
    func fail(_ error: JournalError) {
        signal { failure = error }
    }

    /// The folder has stopped and will touch nothing more.
    func folderDone() {
        signal { done = true }
    }

    /// Changes the shared state under the lock and wakes every waiter (each re-checks its condition).
    private func signal(_ change: () -> Void) {
        condition.lock()
        change()
        condition.broadcast()
        condition.unlock()
    }
}

/// The replay split over two threads: the caller's (the connection's) thread reads rows from
/// PostgreSQL into reused chunks and checks the hash chain, while a second thread decodes and folds
/// earlier chunks (`ReplayFolder.applyVerified`): the same rows in the same order, so the same state,
/// and the same first error — a fold or decode error of an earlier row wins over a chain error the
/// reader found later, exactly as in a one-thread replay. On two cores the stages overlap instead
/// of taking turns. No allocation per row: rows are refilled in place.
enum ReplayPipeline {
    /// Rows per chunk and chunks in flight: a lock round per 128 rows is noise, and eight chunks of
    /// ≈ 40 KB keep what is in flight (≈ 300 KB) near the caches the rows cross between cores.
    static let rowsPerChunk = 128
    static let chunks = 8

    /// What the folding thread works on; it owns it from `run` until the folder is done.
    final class Work: @unchecked Sendable {
        // @unchecked: touched by the caller before the folding thread starts and after it is done
        // (`RowChunkQueue.waitForFolder`), and by the folding thread only in between.
        var folder: ReplayFolder
        var policy: SnapshotPolicy?
        var snapshotDue = false

        init(folder: ReplayFolder, policy: SnapshotPolicy?) {
            self.folder = folder
            self.policy = policy
        }
    }

    /// Reads `after < seq ≤ through` (at most `limit` rows) on `conn` and folds every row into
    /// `work.folder` on a second thread; returns the rows read. Throws the fold's error (naming its
    /// seq) or the read's. When it returns or throws, the folding thread has stopped.
    static func run(
        _ conn: PGConnection, after: UInt64, through: UInt64, limit: Int, work: Work
    ) throws(JournalError) -> Int {
        let queue = RowChunkQueue(chunks: chunks, rowsPerChunk: rowsPerChunk)
        // The chain check runs here, on the reading side, in step with the folder's own verifier
        // (which then only takes each verified row as its head): reading + hashing ≈ decoding +
        // folding per row, so the two threads carry about the same load.
        var verifier = ChainVerifier(after: work.folder.head, lastEpoch: work.folder.verifier.lastEpoch)
        let thread = Thread { fold(queue, work) }
        thread.name = "tandem-replay-fold"
        thread.start()
        let read: Result<Int, JournalError>
        do {
            read = .success(try JournalReader.readChunks(
                conn, after: after, through: through, limit: limit, verifier: &verifier, queue: queue))
        } catch {
            read = .failure(error)
        }
        queue.finish()
        // The fold's error comes first: it names the first row that failed, which precedes anything
        // the reader saw after it (and the reader stops with that same error anyway).
        if let failure = queue.waitForFolder() { throw failure }
        return try read.get()
    }

    /// The folding thread's loop.
    private static func fold(_ queue: RowChunkQueue, _ work: Work) {
        // Moved out of the box for the loop so the state stays uniquely referenced (no copy on write).
        var folder = ReplayFolder()
        swap(&folder, &work.folder)
        var policy = work.policy
        var due = false
        defer {
            swap(&folder, &work.folder)
            work.policy = policy
            if due { work.snapshotDue = true }
            queue.folderDone()
        }
        while let chunk = queue.takeFull() {
            for i in 0..<chunk.count {
                do {
                    try folder.applyVerified(chunk.rows[i])
                } catch {
                    queue.fail(error)
                    return
                }
                if policy?.eventFolded() == true { due = true }
            }
            queue.recycle(chunk)
        }
    }
}
