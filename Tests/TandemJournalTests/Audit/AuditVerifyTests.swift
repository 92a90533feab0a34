import TandemCore
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

@Suite("audit verify and export", .embeddedPostgres)
struct AuditVerifyTests {
    @Test("a payload byte changed by hand in SQL is found at its seq")
    func tamperedPayload() async throws {
        let (dsn, admin) = try await freshJournal()
        let writer = try await makeWriter(dsn: dsn)
        try await appendAll(writer, SyntheticJournalFixture.events(200), chunk: 50)
        #expect(try await admin.withConnection { c in try AuditVerifier.verify(c, logger: testLogger) }.isValid)

        // A superuser bypassing the append-only trigger, as an attacker with DBA rights would.
        try await admin.execute("SET session_replication_role = replica")
        try await admin.query("UPDATE tandem.events SET payload = set_byte(payload, 20, get_byte(payload, 20) # 1) WHERE seq = 123")
        let report = try await admin.withConnection { c in try AuditVerifier.verify(c, logger: testLogger) }
        #expect(!report.isValid)
        #expect(report.failure?.seq == 123)
        #expect(report.failure?.code == .chainBroken)
        #expect(report.verifiedThrough == 122)
        await admin.close()
    }

    @Test("a changed epoch, a deleted middle row and a deleted last row are each found")
    func otherTampering() async throws {
        let (dsn, admin) = try await freshJournal()
        let writer = try await makeWriter(dsn: dsn)
        try await appendAll(writer, SyntheticJournalFixture.events(60), chunk: 20)
        try await admin.execute("SET session_replication_role = replica")
        try await admin.query("DELETE FROM tandem.events WHERE seq = 60")
        var report = try await admin.withConnection { c in try AuditVerifier.verify(c, logger: testLogger) }
        #expect(report.failure?.seq == 60)
        try await admin.query("DELETE FROM tandem.events WHERE seq = 41")
        report = try await admin.withConnection { c in try AuditVerifier.verify(c, logger: testLogger) }
        #expect(report.failure?.seq == 42)
        try await admin.query("UPDATE tandem.events SET epoch = 5 WHERE seq = 7")
        report = try await admin.withConnection { c in try AuditVerifier.verify(c, logger: testLogger) }
        #expect(report.failure?.seq == 7)
        await admin.close()
    }

    @Test("export yields the orders and fills of a seq range, exactly")
    func export() async throws {
        let (dsn, admin) = try await freshJournal()
        let events = SyntheticJournalFixture.events(500)
        let writer = try await makeWriter(dsn: dsn)
        try await appendAll(writer, events)
        let records = try await admin.withConnection { c in
            var out: [AuditRecord] = []
            try AuditExporter.export(c, from: 100, to: 300) { out.append($0) }
            return out
        }
        let fills = events[99..<300].filter { if case .fill = $0 { true } else if case .partialFill = $0 { true } else { false } }
        #expect(records.filter { $0.kind == .fill }.count == fills.count)
        #expect(records.allSatisfy { (100...300).contains($0.seq) })
        #expect(records.filter { $0.kind == .fill }.allSatisfy { !$0.account.isEmpty && !$0.price.isEmpty })
        let line = AuditExporter.csvLine(try #require(records.first))
        #expect(line.split(separator: ",", omittingEmptySubsequences: false).count == 14)
        await admin.close()
    }
}
