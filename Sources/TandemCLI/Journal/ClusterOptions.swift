import ArgumentParser
import Logging
import TandemPostgres

/// Where the cluster's journal lives: `--dsn`, or by default the embedded server `tandem db start`
/// runs in `.tandem/pg`. Shared by every command that talks to the journal.
struct ClusterOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "PostgreSQL connection string of the cluster's database (key=value or postgresql:// URL; multi-host allowed).",
        discussion: "Default: the embedded server started by `tandem db start` in --pg-directory.",
        valueName: "dsn"))
    var dsn: String?

    @Option(help: ArgumentHelp("Directory of the embedded server used when --dsn is not given.", valueName: "dir"))
    var pgDirectory = ".tandem/pg"

    @Flag(help: "Log debug detail to stderr.")
    var verbose = false

    var logger: Logger {
        var logger = Logger(label: "tandem.journal")
        logger.logLevel = verbose ? .debug : .warning
        return logger
    }

    /// The DSN to use: `--dsn`, or the running embedded server's.
    func resolvedDSN() throws -> String {
        if let dsn { return dsn }
        do {
            return try EmbeddedPostgres.attach(directory: pgDirectory).dsn()
        } catch {
            throw ValidationError(
                "no --dsn given and no embedded PostgreSQL runs in \(pgDirectory): start one with `tandem db start`, "
                    + "or pass --dsn. (\(error.message))")
        }
    }

    func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(try resolvedDSN(), logger: logger)
    }
}
