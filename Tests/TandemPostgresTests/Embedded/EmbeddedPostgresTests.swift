import Foundation
import TandemPostgres
import TandemPostgresTestKit
import Testing

@Suite("embedded PostgreSQL launcher")
struct EmbeddedPostgresTests {
    @Test("a temporary server starts, accepts connections, and stop removes its directory")
    func temporaryLifecycle() async throws {
        let server = try await EmbeddedPostgres.start(.temporary, logger: TestPostgres.logger)
        #expect(FileManager.default.fileExists(atPath: server.dataDirectory + "/PG_VERSION"))
        let db = try await PostgresConnection.connect(server.dsn())
        #expect(try await db.query("SHOW synchronous_commit")[0].decode(String.self, at: 0) == "on")
        await db.close()
        let viaSocket = try await PostgresConnection.connect(server.socketDSN())
        #expect(try await viaSocket.query("SELECT 1")[0].decode(Int.self, at: 0) == 1)
        await viaSocket.close()
        try await server.stop()
        #expect(!FileManager.default.fileExists(atPath: server.rootDirectory))
    }

    @Test("persistent mode keeps the data and reuses a running server")
    func persistentReuse() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-persist-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = try await EmbeddedPostgres.start(.persistent(at: root), logger: TestPostgres.logger)
        do {
            let db = try await PostgresConnection.connect(first.dsn())
            try await db.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (1)")
            await db.close()
            let second = try await EmbeddedPostgres.start(.persistent(at: root), logger: TestPostgres.logger)
            #expect(second.wasAlreadyRunning)
            #expect(second.port == first.port)
            #expect(try EmbeddedPostgres.status(directory: root).running)
            try await first.stop()
            #expect(try EmbeddedPostgres.status(directory: root).running == false)
            // Started again, the data is still there.
            let third = try await EmbeddedPostgres.start(.persistent(at: root), logger: TestPostgres.logger)
            let again = try await PostgresConnection.connect(third.dsn())
            #expect(try await again.query("SELECT count(*) FROM kept")[0].decode(Int.self, at: 0) == 1)
            await again.close()
            try await third.stop()
        } catch {
            try? await first.stop()
            throw error
        }
    }

    @Test("a port in use gets one clear sentence")
    func portInUse() async throws {
        let holder = try await EmbeddedPostgres.start(.temporary, logger: TestPostgres.logger)
        defer { try? holder.stopBlocking() }
        var configuration = EmbeddedPostgres.Configuration.temporary
        configuration.port = holder.port
        let error = await #expect(throws: PostgresError.self) {
            _ = try await EmbeddedPostgres.start(configuration, logger: TestPostgres.logger)
        }
        #expect(error?.code == .portInUse)
        #expect(error?.message.contains("port \(holder.port)") == true)
        #expect(error?.message.contains("in use") == true)
    }

    @Test("missing server binaries say what to install")
    func missingBinaries() async throws {
        var configuration = EmbeddedPostgres.Configuration.temporary
        configuration.binDirectory = "/nonexistent/postgres/bin"
        let error = await #expect(throws: PostgresError.self) {
            _ = try await EmbeddedPostgres.start(configuration, logger: TestPostgres.logger)
        }
        #expect(error?.code == .binaryNotFound)
        #expect(error?.message.contains("TANDEM_PG_BIN") == true)
    }

    @Test("a data directory owned by someone else is refused with the fix")
    func foreignDataDirectory() async throws {
        // Running as root, the server runs as postgres, so a root-owned directory is foreign;
        // otherwise /usr/share (owned by root) is.
        let root: String
        if getuid() == 0 {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-foreign-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } else {
            root = "/usr/share"
        }
        defer { if getuid() == 0 { try? FileManager.default.removeItem(atPath: root) } }
        let error = await #expect(throws: PostgresError.self) {
            _ = try await EmbeddedPostgres.start(.persistent(at: root), logger: TestPostgres.logger)
        }
        #expect(error?.code == .dataDirectory)
        #expect(error?.message.contains("owned by") == true)
        #expect(error?.message.contains("chown") == true)
    }
}
