import ArgumentParser
import TandemJournal

/// `tandem db migrate`: create or upgrade the journal schema. Safe to run any number of times and from
/// several nodes at once.
struct DBMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the journal's tables (idempotent).",
        discussion: """
            Applies every migration the database lacks, in one transaction under an advisory lock, and \
            records it in tandem.schema_version. Running it again does nothing. Example:
              tandem db start && tandem db migrate
              tandem db migrate --dsn 'host=db1,db2 dbname=tandem target_session_attrs=read-write'
            """)

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let connection = try await cluster.connect()
        let report = try await JournalSchema.migrate(connection, logger: cluster.logger)
        await connection.close()
        if report.applied.isEmpty {
            print("journal schema is up to date (version \(report.toVersion))")
        } else {
            print("journal schema migrated from version \(report.fromVersion) to \(report.toVersion) (applied \(report.applied.map(String.init).joined(separator: ", ")))")
        }
    }
}
