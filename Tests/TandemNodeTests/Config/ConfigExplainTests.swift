import Testing
import TandemNode

@Suite struct ConfigExplainTests {
    @Test func explainSummarisesWithoutSecrets() throws {
        let yaml = minimalYAML.replacingOccurrences(of: "targetCompID: B}", with: "targetCompID: B, username: u1, password: hunter2}")
        var config = try parse(yaml)
        config.database = .dsn("host=db user=tandem password=s3cret dbname=tandem")
        let text = config.explain()
        #expect(text.contains("node n1 in cluster c1"))
        #expect(text.contains("A→B at 127.0.0.1:9878"))
        #expect(text.contains("a leader stops sending 800 ms after its last renewal"))
        #expect(text.contains("instrument 1 ACME: tick 0.01, lot 1, multiplier 1, USD"))
        #expect(text.contains("strategy s on V, account acc"))
        #expect(text.contains("username u1, password set"))
        #expect(!text.contains("hunter2"))
        #expect(!text.contains("s3cret"))
        #expect(text.contains("password=***"))
        #expect(!config.venues[0].sessions[0].description.contains("hunter2"))
    }

    @Test func dsnPasswordsAreMaskedInURIsToo() {
        let uri = DatabaseConfiguration.dsn("postgresql://tandem:s3cret@db1:5432,db2:5432/tandem?target_session_attrs=read-write")
        #expect(uri.description == "dsn postgresql://tandem:***@db1:5432,db2:5432/tandem?target_session_attrs=read-write")
        #expect(DatabaseConfiguration.dsn("postgresql://db1/tandem").description == "dsn postgresql://db1/tandem")
        #expect(DatabaseConfiguration.dsn("postgresql://db1/tandem?password=s3cret&sslmode=require").description
            == "dsn postgresql://db1/tandem?password=***&sslmode=require")
        #expect(DatabaseConfiguration.dsn("host=db password = 'a \\' b' user=t").description == "dsn host=db password=*** user=t")
    }

    @Test func explainOfTheDeployExampleMentionsEveryVenue() throws {
        let text = try parse(NodeConfiguration.example).explain()
        #expect(text.contains("venue VENUE: 1 session, venue-wide limit 100 orders/s, burst 20"))
        #expect(text.contains("feed: recovery at 127.0.0.1:9879"))
        #expect(text.contains("journal: embedded PostgreSQL in .tandem/pg"))
        #expect(text.contains("quoteQuantity = 10"))
    }
}
