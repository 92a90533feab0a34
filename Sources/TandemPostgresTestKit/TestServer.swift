import Logging
import TandemPostgres
import Testing

/// A private PostgreSQL server for the tests of one suite.
///
/// `@Suite(.embeddedPostgres)` starts one temporary server before the suite's first test and stops it
/// (removing its directory) after the last, also when tests fail. Tests read it from
/// `TestPostgres.current` and take a database of their own with `TestPostgres.freshDatabase()`, so they
/// can run in parallel.
public struct EmbeddedPostgresTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { false }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await EmbeddedPostgres.start(.temporary, logger: TestPostgres.logger)
        do {
            try await TestPostgres.$current.withValue(server) { try await function() }
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }
}

extension Trait where Self == EmbeddedPostgresTrait {
    /// Runs the suite against a private PostgreSQL server started for it.
    public static var embeddedPostgres: Self { EmbeddedPostgresTrait() }
}

public enum TestPostgres {
    @TaskLocal public static var current: EmbeddedPostgres?

    public static let logger: Logger = {
        var logger = Logger(label: "tandem.test")
        logger.logLevel = .warning
        return logger
    }()

    /// The suite's server; fails the test clearly when the suite lacks `.embeddedPostgres`.
    public static func server(sourceLocation: SourceLocation = #_sourceLocation) throws -> EmbeddedPostgres {
        try #require(current, "this suite needs the .embeddedPostgres trait", sourceLocation: sourceLocation)
    }

    /// Creates an empty database with a unique name on the suite's server and returns its DSN.
    public static func freshDatabase(prefix: String = "t") async throws -> String {
        let server = try server()
        let name = "\(prefix)_\(UInt64.random(in: 0..<UInt64.max))"
        let admin = try await PostgresConnection.connect(server.dsn())
        do {
            try await admin.execute("CREATE DATABASE \(name)")
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
        return server.dsn(database: name)
    }
}
