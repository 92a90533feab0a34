import Foundation

/// A serial executor that runs every job on one thread of its own.
///
/// libpq blocks its calling thread on the network. Swift's cooperative pool has only as many threads as
/// cores, so blocking it stalls every task in the process. An actor whose `unownedExecutor` is one of
/// these runs all its methods on its own thread instead; that thread may block freely.
///
/// Besides jobs it runs plain closures (`perform`), in the same FIFO order, so a caller that is not a
/// task (a thread, a callback) can hand work to the thread without creating a `Task`; such a closure
/// may enter the isolation of an actor on this executor with `assumeIsolated` (`checkIsolated`
/// vouches for the thread).
public final class DedicatedThreadExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked: `work` and `stopped` are only touched with `condition` locked; `threadID` is set once,
    // in init, before the thread starts.
    private enum Work {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    private let condition = NSCondition()
    private var work: [Work] = []
    private var stopped = false
    private var threadID: ObjectIdentifier?

    public init(name: String) {
        let thread = Thread { [self] in runLoop() }
        thread.name = name
        self.threadID = ObjectIdentifier(thread)
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        push(.job(UnownedJob(job)))
    }

    /// Runs `body` on this executor's thread, after the jobs and closures already queued (FIFO). It
    /// must not block for longer than the executor's actors may wait.
    public func perform(_ body: @escaping @Sendable () -> Void) {
        push(.closure(body))
    }

    private func push(_ item: Work) {
        condition.lock()
        work.append(item)
        condition.signal()
        condition.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Called by the runtime for `assumeIsolated` outside a task (a `perform` closure): we are isolated
    /// exactly when running on this executor's thread.
    public func checkIsolated() {
        precondition(ObjectIdentifier(Thread.current) == threadID, "not on the executor's thread")
    }

    /// Lets the thread finish the work already queued, then exit.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func runLoop() {
        var batch: [Work] = []
        while true {
            condition.lock()
            while work.isEmpty && !stopped { condition.wait() }
            if work.isEmpty && stopped {
                condition.unlock()
                return
            }
            swap(&batch, &work)
            condition.unlock()
            for item in batch {
                switch item {
                case .job(let job): job.runSynchronously(on: asUnownedSerialExecutor())
                case .closure(let body): body()
                }
            }
            batch.removeAll(keepingCapacity: true)
        }
    }
}

/// Runs a blocking closure on a fresh thread and suspends the caller until it returns, so process waits
/// and other blocking system calls stay off the cooperative pool.
public func runOnDedicatedThread<T: Sendable>(
    name: String = "tandem-blocking", _ body: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = name
        thread.start()
    }
}
