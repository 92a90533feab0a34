import Logging
import Synchronization
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

@testable import TandemCluster

let testLogger = TestPostgres.logger

/// A fresh database on the suite's server with the journal schema (and so the lease row) migrated.
func freshLeaseDatabase() async throws -> (dsn: String, admin: PostgresConnection) {
    let dsn = try await TestPostgres.freshDatabase(prefix: "c")
    let admin = try await PostgresConnection.connect(dsn)
    _ = try await JournalSchema.migrate(admin, logger: testLogger)
    return (dsn, admin)
}

func readLease(_ conn: PostgresConnection) async throws -> LeaseState {
    try await conn.withConnection { c in try Lease.read(c) }
}

func makeService(
    _ dsn: String, _ node: String, heartbeat: Duration = .milliseconds(100), lease: Duration = .seconds(1),
    margin: Duration = .milliseconds(300), rejoinAfterFencing: Bool = true
) throws -> LeaseService {
    let configuration = try LeaseMachine.Configuration(
        nodeID: node, heartbeat: heartbeat, leaseDuration: lease, safetyMargin: margin)
    return LeaseService(
        dsn: dsn, configuration: .init(lease: configuration, rejoinAfterFencing: rejoinAfterFencing),
        logger: testLogger)
}

/// A service running in a task of its own, so one node of a pair can be stopped alone.
struct RunningService: Sendable {
    let service: LeaseService
    let task: Task<Void, any Error>

    init(_ service: LeaseService) {
        self.service = service
        self.task = Task { try await service.run() }
    }

    /// Cancels (graceful shutdown) and waits for `run()` to return, the release included.
    func stop() async throws {
        task.cancel()
        try await task.value
    }

    /// Stops and returns every role change the service reported.
    func stopAndCollect() async throws -> [RoleChange] {
        try await stop()
        var all: [RoleChange] = []
        for await change in service.roleChanges { all.append(change) }
        return all
    }
}

/// Polls `condition` every 5 ms until it holds; fails the test after `timeout`.
func waitUntil(
    timeout: Duration = .seconds(5), _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let end = ContinuousClock.now + timeout
    while try await !condition() {
        try #require(ContinuousClock.now < end, "timed out waiting until \(what)", sourceLocation: sourceLocation)
        try await Task.sleep(for: .milliseconds(5))
    }
}
