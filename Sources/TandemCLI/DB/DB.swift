import ArgumentParser
import Foundation
import Logging
import TandemPostgres

/// `tandem db …`: the private local PostgreSQL that Tandem runs when no DSN is given.
struct DB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Run the embedded local PostgreSQL (start, stop, status, psql).",
        discussion: """
            Tandem keeps a private PostgreSQL cluster in a directory of its own (default: .tandem/pg under \
            the current directory), started from the system's PostgreSQL binaries (/usr/lib/postgresql/*/bin, \
            or TANDEM_PG_BIN). Running as root, the server runs as the `postgres` user. In production, point \
            Tandem at your HA PostgreSQL with a DSN instead.
            """,
        subcommands: [DBStart.self, DBStop.self, DBStatus.self, DBPsql.self, DBMigrate.self]
    )
}

/// Options shared by the `db` subcommands.
struct EmbeddedDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("dir"), help: "The embedded server's directory (holds data/, sock/, server.log).")
    var directory: String = ".tandem/pg"
}

struct DBStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start the embedded PostgreSQL (or reuse it if already running) and print its DSN."
    )

    @OptionGroup var location: EmbeddedDirectoryOptions

    @Option(help: "TCP port on 127.0.0.1 (default: a free one).")
    var port: Int?

    func validate() throws {
        if let port, !(1...65_535).contains(port) {
            throw ValidationError("--port must be between 1 and 65535, got \(port)")
        }
    }

    func run() async throws {
        let server = try await EmbeddedPostgres.start(
            .persistent(at: location.directory, port: port), logger: Logger(label: "tandem.db"))
        print(server.wasAlreadyRunning ? "PostgreSQL is already running." : "PostgreSQL started.")
        print("  data: \(server.dataDirectory)")
        print("  log:  \(server.logFile)")
        print("  dsn:  \(server.dsn())")
        print("  url:  \(server.url())")
    }
}

struct DBStop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop the embedded PostgreSQL (fast shutdown; data is kept)."
    )

    @OptionGroup var location: EmbeddedDirectoryOptions

    func run() async throws {
        let status = try EmbeddedPostgres.status(directory: location.directory)
        guard status.running else {
            print("PostgreSQL is not running on \(status.dataDirectory).")
            return
        }
        let server = try EmbeddedPostgres.attach(directory: location.directory)
        try await server.stop()
        print("PostgreSQL stopped.")
    }
}

struct DBStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Say whether the embedded PostgreSQL runs, and its DSN. Exit 3 if it does not."
    )

    @OptionGroup var location: EmbeddedDirectoryOptions

    func run() async throws {
        let status = try EmbeddedPostgres.status(directory: location.directory)
        guard status.running, status.port != nil else {
            print("stopped  \(status.dataDirectory)")
            throw ExitCode(3)
        }
        let server = try EmbeddedPostgres.attach(directory: location.directory)
        print("running  \(server.dataDirectory)  \(server.dsn())")
    }
}

struct DBPsql: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "psql", abstract: "Open psql on the embedded PostgreSQL. Arguments after -- go to psql."
    )

    @OptionGroup var location: EmbeddedDirectoryOptions

    @Option(help: "Database to connect to.")
    var database = "postgres"

    @Argument(parsing: .postTerminator, help: "Extra arguments for psql, e.g. -- -c 'SELECT 1'.")
    var psqlArguments: [String] = []

    func run() async throws {
        let server = try EmbeddedPostgres.attach(directory: location.directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: server.binaries.psql)
        process.arguments = [server.dsn(database: database)] + psqlArguments
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 { throw ExitCode(process.terminationStatus) }
    }
}
