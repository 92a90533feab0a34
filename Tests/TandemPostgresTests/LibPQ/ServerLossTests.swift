import TandemPostgres
import TandemPostgresTestKit
import Testing

/// Each test here starts and stops a server of its own, because it takes that server away.
@Suite("connection loss and reconnect")
struct ServerLossTests {
    @Test("the server stops under an open connection: the next call fails clearly, reconnect works after restart")
    func serverStopsUnderConnection() async throws {
        let server = try await EmbeddedPostgres.start(.temporary, logger: TestPostgres.logger)
        do {
            let db = try await PostgresConnection.connect(server.dsn())
            try await db.execute("CREATE TABLE t (id int)")
            try server.stopServerKeepingData()
            let error = await #expect(throws: PostgresError.self) { try await db.query("SELECT 1") }
            #expect(error?.code == .connectionClosed)
            #expect(error?.isConnectionLoss == true)
            #expect(error?.message.contains("lost") == true || error?.message.contains("terminat") == true)

            // Reconnect fails while the server is down, then works after a restart.
            await #expect(throws: PostgresError.self) { try await db.reconnect() }
            try server.restartBlocking()
            try await db.reconnect()
            #expect(try await db.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 0)
            await db.close()
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }
}
