import Logging
import TandemJournal
import TandemPostgres

/// The lease service's own database session: performs one lease operation per call, reconnecting with
/// exponential backoff after a lost connection. Never retries within a call; the machine's heartbeat is
/// the retry loop. Operations ignore task cancellation, so a release at shutdown still runs.
actor LeaseStore {
    enum Request: Sendable, Hashable {
        case tryAcquire
        case takeOver(fromEpoch: UInt64)
        case renew(epoch: UInt64)
        case release(epoch: UInt64)
    }

    enum Outcome: Sendable {
        case acquired(epoch: UInt64, sentAt: Duration)
        case refused(LeaseState)
        case renewed(epoch: UInt64, sentAt: Duration)
        case lost(LeaseState)
        case released(epoch: UInt64, releasedAnything: Bool)
        case failed(Request, ClusterError)
    }

    private let dsn: String
    private let holder: String
    private let leaseDuration: Duration
    private let connectTimeoutSeconds: Int
    private let origin: ContinuousClock.Instant
    private let initialBackoff: Duration
    private let maxBackoff: Duration
    private let logger: Logger
    private var connection: PostgresConnection?
    private var connecting = false
    private var backoff: Duration
    private var nextAttempt: ContinuousClock.Instant?

    init(
        dsn: String, holder: String, leaseDuration: Duration, connectTimeoutSeconds: Int,
        origin: ContinuousClock.Instant, initialBackoff: Duration, maxBackoff: Duration, logger: Logger
    ) {
        self.dsn = dsn
        self.holder = holder
        self.leaseDuration = leaseDuration
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.origin = origin
        self.initialBackoff = initialBackoff
        self.maxBackoff = max(initialBackoff, maxBackoff)
        self.logger = logger
        self.backoff = initialBackoff
    }

    func perform(_ request: Request) async -> Outcome {
        let conn: PostgresConnection
        do {
            conn = try await connected()
        } catch {
            return .failed(request, error)
        }
        let holder = self.holder
        let duration = leaseDuration
        // Taken before the request leaves: the database's expiry is computed no earlier than this.
        let sentAt = ContinuousClock.now - origin
        do {
            switch request {
            case .tryAcquire:
                let result = try await conn.withConnection { (c: PGConnection) throws -> LeaseAcquisition in
                    try Lease.tryAcquire(c, holder: holder, duration: duration)
                }
                switch result {
                case .acquired(let epoch): return .acquired(epoch: epoch, sentAt: sentAt)
                case .refused(let state): return .refused(state)
                }
            case .takeOver(let from):
                let result = try await conn.withConnection { (c: PGConnection) throws -> LeaseAcquisition in
                    try Lease.takeOver(c, holder: holder, fromEpoch: from, duration: duration)
                }
                switch result {
                case .acquired(let epoch): return .acquired(epoch: epoch, sentAt: sentAt)
                case .refused(let state): return .refused(state)
                }
            case .renew(let epoch):
                let result = try await conn.withConnection { (c: PGConnection) throws -> LeaseRenewal in
                    try Lease.renew(c, holder: holder, epoch: epoch, duration: duration)
                }
                switch result {
                case .renewed: return .renewed(epoch: epoch, sentAt: sentAt)
                case .lost(let state): return .lost(state)
                }
            case .release(let epoch):
                let released = try await conn.withConnection { (c: PGConnection) throws -> Bool in
                    try Lease.release(c, holder: holder, epoch: epoch)
                }
                return .released(epoch: epoch, releasedAnything: released)
            }
        } catch {
            if !(await conn.isConnected) {
                await conn.close()
                if connection === conn { connection = nil }
            }
            return .failed(request, ClusterError(.database, "\(request) failed", cause: error))
        }
    }

    func close() async {
        await connection?.close()
        connection = nil
    }

    private func connected() async throws(ClusterError) -> PostgresConnection {
        if let connection {
            if await connection.isConnected { return connection }
            await connection.close()
            if self.connection === connection { self.connection = nil }
        }
        if connecting {
            throw ClusterError(.database, "not connected: a connection attempt is in progress")
        }
        let now = ContinuousClock.now
        if let nextAttempt, now < nextAttempt {
            throw ClusterError(.database, "not connected: next connection attempt in \(nextAttempt - now)")
        }
        connecting = true
        defer { connecting = false }
        do {
            let opened = try await PostgresConnection.connect(
                dsn, connectTimeoutSeconds: connectTimeoutSeconds, logger: logger)
            // A lease statement slower than the lease is useless, and a lock wait behind a stuck append
            // must not hold the request slot forever.
            let timeoutMilliseconds = max(1, leaseDuration.components.seconds * 1000
                + leaseDuration.components.attoseconds / 1_000_000_000_000_000)
            do {
                try await opened.execute("SET statement_timeout = \(timeoutMilliseconds)")
            } catch {
                await opened.close()
                throw error
            }
            connection = opened
            backoff = initialBackoff
            nextAttempt = nil
            return opened
        } catch {
            nextAttempt = ContinuousClock.now + backoff
            let waited = backoff
            backoff = min(backoff * 2, maxBackoff)
            throw ClusterError(.database, "connecting failed; next attempt in \(waited)", cause: error)
        }
    }
}
