import Foundation
import Logging

/// A private PostgreSQL server that Tandem starts by itself from the system's binaries: for tests, the
/// demo, benchmarks and `tandem db`.
///
/// Layout under its root directory: `data/` (the cluster), `sock/` (its Unix socket), `server.log`.
/// It listens on 127.0.0.1 on a free port it picks (or the one given) and on the Unix socket.
/// When Tandem runs as root, the server runs as the `postgres` user, which owns the root directory.
///
/// A temporary server lives in a fresh directory under the system temp dir and removes it on `stop()`;
/// should the owning process die first, a small watcher process stops the server and removes the
/// directory. A persistent server keeps its directory, and `start` reuses it if it is already running.
public struct EmbeddedPostgres: Sendable {
    public enum Durability: String, Sendable {
        /// fsync on: what a benchmark or a deployment should measure.
        case full
        /// fsync and full_page_writes off: for tests, where losing the server on a crash is fine.
        case fast
    }

    public struct Configuration: Sendable {
        /// The root directory; nil for a fresh temporary one.
        public var directory: String?
        /// The TCP port on 127.0.0.1; nil picks a free one.
        public var port: Int?
        public var durability: Durability
        /// Overrides binary discovery (see `PostgresBinaries.locate`).
        public var binDirectory: String?
        public var maxConnections: Int
        /// Extra `-c name=value` server settings.
        public var settings: [String: String]

        public init(
            directory: String? = nil, port: Int? = nil, durability: Durability = .full,
            binDirectory: String? = nil, maxConnections: Int = 200, settings: [String: String] = [:]
        ) {
            self.directory = directory
            self.port = port
            self.durability = durability
            self.binDirectory = binDirectory
            self.maxConnections = maxConnections
            self.settings = settings
        }

        /// A throw-away server for tests: temporary directory, free port, fsync off.
        public static var temporary: Configuration { Configuration(durability: .fast) }

        /// A server whose data stays in `directory` across runs (the demo, `tandem db start`).
        public static func persistent(at directory: String, port: Int? = nil) -> Configuration {
            Configuration(directory: directory, port: port, durability: .full)
        }
    }

    public let rootDirectory: String
    public let port: Int
    public let host = "127.0.0.1"
    public let isTemporary: Bool
    public let binaries: PostgresBinaries
    /// True when `start` found this server already running and reused it.
    public let wasAlreadyRunning: Bool
    /// How the server was started (settings, durability), so `restartBlocking` brings it back alike.
    /// For a server found already running it is the persistent default.
    let configuration: Configuration
    /// The bootstrap superuser of the cluster.
    public let user = "postgres"

    public var dataDirectory: String { rootDirectory + "/data" }
    public var socketDirectory: String { rootDirectory + "/sock" }
    public var logFile: String { rootDirectory + "/server.log" }

    /// A libpq key=value DSN for a database on this server, over TCP.
    public func dsn(database: String = "postgres") -> String {
        "host=\(host) port=\(port) user=\(user) dbname=\(database)"
    }

    /// The same over the Unix socket.
    public func socketDSN(database: String = "postgres") -> String {
        "host=\(socketDirectory) port=\(port) user=\(user) dbname=\(database)"
    }

    public func url(database: String = "postgres") -> String {
        "postgresql://\(user)@\(host):\(port)/\(database)"
    }

    // MARK: Start

    /// Starts (or, for a persistent directory, reuses) a server and returns when it accepts connections.
    /// Blocks for the seconds initdb and startup take; from async code use `start(_:logger:) async`.
    public static func startBlocking(
        _ configuration: Configuration = .temporary, logger: Logger = Logger(label: "tandem.embedded-pg")
    ) throws(PostgresError) -> EmbeddedPostgres {
        let binaries = try PostgresBinaries.locate(override: configuration.binDirectory)
        let runner = ProcessRunner.forCurrentUser()
        let fm = FileManager.default

        let root: String
        let temporary: Bool
        if let directory = configuration.directory {
            root = URL(fileURLWithPath: directory).standardizedFileURL.path
            temporary = false
        } else {
            root = fm.temporaryDirectory.appendingPathComponent("tandem-pg-\(UUID().uuidString.prefix(8))").path
            temporary = true
        }
        let data = root + "/data"

        // Reuse a persistent server that is already up.
        if !temporary, let running = runningPort(dataDirectory: data, binaries: binaries, runner: runner) {
            logger.info("reusing running PostgreSQL", metadata: ["pg.data": "\(data)", "pg.port": "\(running)"])
            return EmbeddedPostgres(
                rootDirectory: root, port: running, isTemporary: false, binaries: binaries, wasAlreadyRunning: true,
                configuration: .persistent(at: root, port: running))
        }

        try prepareDirectory(root: root, temporary: temporary, runner: runner)
        if !fm.fileExists(atPath: data + "/PG_VERSION") {
            try initializeCluster(data: data, binaries: binaries, runner: runner, durability: configuration.durability, logger: logger)
        } else if let major = binaries.majorVersion(runner: runner),
                  let existing = try? String(contentsOfFile: data + "/PG_VERSION", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines),
                  existing != major {
            throw PostgresError(
                .dataDirectory,
                "\(data) holds a PostgreSQL \(existing) cluster but the binaries in \(binaries.directory) are version \(major); "
                    + "use a PostgreSQL \(existing) installation (TANDEM_PG_BIN) or another data directory",
                operation: "start")
        }

        // Watch this process before the server exists, so no path leaves an orphan behind.
        if temporary { watchOwner(root: root, binaries: binaries, runner: runner) }

        // Pick a port; if it turns out to be taken, the server says so and we try another (only when we chose it).
        var attempts = 0
        while true {
            attempts += 1
            let port = configuration.port ?? Int.random(in: 15_000..<32_000)
            do {
                try startServer(
                    data: data, root: root, port: port, configuration: configuration, binaries: binaries, runner: runner)
                let server = EmbeddedPostgres(
                    rootDirectory: root, port: port, isTemporary: temporary, binaries: binaries, wasAlreadyRunning: false,
                    configuration: configuration)
                try server.waitUntilAccepting()
                logger.info("PostgreSQL started", metadata: [
                    "pg.data": "\(data)", "pg.port": "\(port)", "pg.temporary": "\(temporary)",
                ])
                return server
            } catch let error where error.code == .portInUse && configuration.port == nil && attempts < 20 {
                continue
            } catch {
                if temporary { try? fm.removeItem(atPath: root) }
                throw error
            }
        }
    }

    /// Starts a server on a thread of its own, so the seconds of initdb and startup do not block the
    /// cooperative pool.
    public static func start(
        _ configuration: Configuration = .temporary, logger: Logger = Logger(label: "tandem.embedded-pg")
    ) async throws -> EmbeddedPostgres {
        try await runOnDedicatedThread(name: "tandem-pg-start") {
            try EmbeddedPostgres.startBlocking(configuration, logger: logger)
        }
    }

    /// Starts a server, runs `body` with it and stops it, whether `body` returns or throws (benchmarks
    /// and tools that need a private server for one run).
    public static func withServer<T: Sendable>(
        _ configuration: Configuration = .temporary, logger: Logger = Logger(label: "tandem.embedded-pg"),
        _ body: (EmbeddedPostgres) async throws -> T
    ) async throws -> T {
        let server = try await start(configuration, logger: logger)
        do {
            let result = try await body(server)
            try await server.stop()
            return result
        } catch {
            try? await server.stop()
            throw error
        }
    }

    private static func prepareDirectory(root: String, temporary: Bool, runner: ProcessRunner) throws(PostgresError) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: root, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw PostgresError(.dataDirectory, "\(root) exists and is not a directory; choose another data directory", operation: "start")
            }
            let expectedOwner = runner.serverUser.flatMap(uid(ofUser:)) ?? getuid()
            if let owner = (try? fm.attributesOfItem(atPath: root))?[.ownerAccountID] as? NSNumber,
               owner.uint32Value != expectedOwner {
                let who = runner.serverUser ?? "the current user"
                throw PostgresError(
                    .dataDirectory,
                    "the data directory \(root) is owned by uid \(owner.uint32Value), but the server runs as \(who) "
                        + "(uid \(expectedOwner)) and must own it; run `chown -R \(runner.serverUser ?? "$(id -un)") \(root)` "
                        + "or choose another data directory",
                    operation: "start")
            }
        } else {
            do {
                // Parents get the default mode (the server user must be able to pass through them);
                // the root itself is private to the server.
                let parent = URL(fileURLWithPath: root).deletingLastPathComponent().path
                try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
                try fm.createDirectory(atPath: root, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            } catch {
                throw PostgresError(
                    .dataDirectory, "could not create \(root): \(error.localizedDescription)", operation: "start",
                    cause: PostgresProcessError(description: "\(error)"))
            }
            if let user = runner.serverUser {
                let chown = try runner.run("/bin/chown", [user, root], operation: "chown")
                guard chown.status == 0 else {
                    throw PostgresError(.dataDirectory, "could not give \(root) to \(user): \(chown.text)", operation: "start")
                }
            }
        }
        // The server user must be able to reach the directory through its parents.
        if runner.serverUser != nil {
            let probe = try runner.runAsServer("/usr/bin/test", ["-w", root, "-a", "-x", root], operation: "access check")
            guard probe.status == 0 else {
                throw PostgresError(
                    .dataDirectory,
                    "the postgres user cannot write to \(root) (a parent directory may not be searchable); "
                        + "choose a data directory under /tmp or /var/lib, or make its parents searchable (chmod o+x)",
                    operation: "start")
            }
        }
        _ = try runner.runAsServer("/bin/mkdir", ["-p", root + "/sock"], operation: "mkdir")
    }

    private static func initializeCluster(
        data: String, binaries: PostgresBinaries, runner: ProcessRunner, durability: Durability, logger: Logger
    ) throws(PostgresError) {
        var arguments = ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]
        if durability == .fast { arguments.append("--no-sync") }
        let output = try runner.runAsServer(binaries.initdb, arguments, operation: "initdb")
        guard output.status == 0 else {
            throw PostgresError(
                .serverStart, "initdb failed for \(data): \(lastLines(output.text, 6))", operation: "initdb")
        }
        logger.debug("initdb done", metadata: ["pg.data": "\(data)"])
    }

    private static func startServer(
        data: String, root: String, port: Int, configuration: Configuration,
        binaries: PostgresBinaries, runner: ProcessRunner
    ) throws(PostgresError) {
        var settings: [String: String] = [
            "listen_addresses": "127.0.0.1",
            "port": String(port),
            "unix_socket_directories": root + "/sock",
            "max_connections": String(configuration.maxConnections),
            "synchronous_commit": "on",
        ]
        if configuration.durability == .fast {
            settings["fsync"] = "off"
            settings["full_page_writes"] = "off"
        }
        settings.merge(configuration.settings) { _, new in new }
        let options = settings.sorted { $0.key < $1.key }.map { "-c \($0.key)=\($0.value)" }.joined(separator: " ")
        let logFile = root + "/server.log"
        let output = try runner.runAsServer(
            binaries.pgCtl, ["start", "-D", data, "-w", "-t", "60", "-l", logFile, "-o", options],
            detachesDaemon: true, operation: "pg_ctl start")
        guard output.status == 0 else {
            let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            if log.contains("Address already in use") {
                // Leave the log clean for the next attempt.
                _ = try? runner.runAsServer("/usr/bin/truncate", ["-s", "0", logFile], operation: "truncate")
                throw PostgresError(
                    .portInUse,
                    "port \(port) on 127.0.0.1 is in use by another process; choose another port (--port) or stop that process",
                    operation: "start")
            }
            throw PostgresError(
                .serverStart,
                "PostgreSQL did not start from \(data): \(lastLines(log.isEmpty ? output.text : log, 8)) (full log: \(logFile))",
                operation: "start")
        }
    }

    /// If a server is running on `dataDirectory`, its port (line 4 of postmaster.pid).
    private static func runningPort(dataDirectory: String, binaries: PostgresBinaries, runner: ProcessRunner) -> Int? {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid"),
              let status = try? runner.runAsServer(binaries.pgCtl, ["status", "-D", dataDirectory], operation: "status"),
              status.status == 0,
              let pidFile = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8)
        else { return nil }
        let lines = pidFile.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.count > 3 ? Int(lines[3].trimmingCharacters(in: .whitespaces)) : nil
    }

    private func waitUntilAccepting() throws(PostgresError) {
        var lastError: PostgresError?
        for _ in 0..<100 {
            do {
                let connection = try PGConnection.connect(dsn(), connectTimeoutSeconds: 2)
                connection.close()
                return
            } catch {
                lastError = error
                usleep(100_000)
            }
        }
        throw PostgresError(
            .serverStart, "PostgreSQL started but does not accept connections on port \(port)", operation: "start",
            cause: lastError)
    }

    /// A watcher that stops the server and removes its directory if this process dies without `stop()`.
    private static func watchOwner(root: String, binaries: PostgresBinaries, runner: ProcessRunner) {
        let stop = ([binaries.pgCtl, "stop", "-D", root + "/data", "-m", "immediate"]).map(shellQuote).joined(separator: " ")
        let asServer = runner.serverUser.map { "\(ProcessRunner.runuser) -u \($0) -- " } ?? ""
        let script = """
            while kill -0 \(getpid()) 2>/dev/null && [ -d \(shellQuote(root)) ]; do sleep 1; done; \
            if [ -d \(shellQuote(root)) ]; then \(asServer)\(stop) >/dev/null 2>&1; rm -rf \(shellQuote(root)); fi
            """
        runner.spawnDetached(shellCommand: script)
    }

    // MARK: Stop and status

    /// Stops the server (fast shutdown: open sessions are ended, committed data is safe). A temporary
    /// server's directory is removed. Calling it twice is harmless.
    public func stopBlocking() throws(PostgresError) {
        let runner = ProcessRunner.forCurrentUser()
        if FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") {
            let output = try runner.runAsServer(
                binaries.pgCtl, ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60"], operation: "pg_ctl stop")
            if output.status != 0, !output.text.contains("Is server running?") {
                throw PostgresError(.process, "pg_ctl stop failed: \(EmbeddedPostgres.lastLines(output.text, 4))", operation: "stop")
            }
        }
        if isTemporary { try? FileManager.default.removeItem(atPath: rootDirectory) }
    }

    public func stop() async throws {
        try await runOnDedicatedThread(name: "tandem-pg-stop") { try stopBlocking() }
    }

    /// Starts a server stopped with `stopServerKeepingData()`, on the same port and directory.
    public func restartBlocking() throws(PostgresError) {
        let runner = ProcessRunner.forCurrentUser()
        try EmbeddedPostgres.startServer(
            data: dataDirectory, root: rootDirectory, port: port,
            configuration: configuration,
            binaries: binaries, runner: runner)
        try waitUntilAccepting()
    }

    /// Stops the server but keeps the directory (to test what clients do when the server goes away).
    public func stopServerKeepingData(mode: String = "fast") throws(PostgresError) {
        let runner = ProcessRunner.forCurrentUser()
        let output = try runner.runAsServer(
            binaries.pgCtl, ["stop", "-D", dataDirectory, "-m", mode, "-w", "-t", "60"], operation: "pg_ctl stop")
        guard output.status == 0 else {
            throw PostgresError(.process, "pg_ctl stop failed: \(EmbeddedPostgres.lastLines(output.text, 4))", operation: "stop")
        }
    }

    /// What `tandem db status` reports for a persistent directory.
    public struct Status: Sendable {
        public var running: Bool
        public var port: Int?
        public var dataDirectory: String
    }

    public static func status(directory: String, binDirectory: String? = nil) throws(PostgresError) -> Status {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        let binaries = try PostgresBinaries.locate(override: binDirectory)
        let port = runningPort(dataDirectory: root + "/data", binaries: binaries, runner: .forCurrentUser())
        return Status(running: port != nil, port: port, dataDirectory: root + "/data")
    }

    /// Attaches to the server running on a persistent directory, or throws if none runs there.
    public static func attach(directory: String, binDirectory: String? = nil) throws(PostgresError) -> EmbeddedPostgres {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        let binaries = try PostgresBinaries.locate(override: binDirectory)
        guard let port = runningPort(dataDirectory: root + "/data", binaries: binaries, runner: .forCurrentUser()) else {
            throw PostgresError(
                .connectionFailed, "no PostgreSQL is running on \(root)/data; start it with `tandem db start`",
                operation: "attach")
        }
        return EmbeddedPostgres(
            rootDirectory: root, port: port, isTemporary: false, binaries: binaries, wasAlreadyRunning: true,
            configuration: .persistent(at: root, port: port))
    }

    static func lastLines(_ text: String, _ count: Int) -> String {
        text.split(separator: "\n").suffix(count).joined(separator: " | ")
    }
}

private func shellQuote(_ s: String) -> String {
    "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

private func uid(ofUser name: String) -> UInt32? {
    guard let output = try? ProcessRunner(serverUser: nil).run("/usr/bin/id", ["-u", name], operation: "id"),
          output.status == 0
    else { return nil }
    return UInt32(output.text.trimmingCharacters(in: .whitespacesAndNewlines))
}
