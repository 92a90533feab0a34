import Foundation

/// Runs the PostgreSQL command-line tools (initdb, pg_ctl) and captures what they print.
///
/// The server refuses to run as root, so when Tandem runs as root every server-side command runs as
/// the `postgres` user through `runuser`.
struct ProcessRunner: Sendable {
    struct Output: Sendable {
        var status: Int32
        var text: String
    }

    /// The OS user that server commands run as: nil means "as ourselves".
    let serverUser: String?

    static func forCurrentUser() -> ProcessRunner {
        ProcessRunner(serverUser: getuid() == 0 ? "postgres" : nil)
    }

    /// Runs `executable` as the server user and waits for it.
    ///
    /// `detachesDaemon` is for commands that leave a daemon behind (`pg_ctl start`). Foundation's
    /// `Process` on Linux learns that a child exited when a socket the child inherited closes; a daemon
    /// the child forks would inherit that socket too and keep `waitUntilExit` blocked for the daemon's
    /// whole life. So such commands run through bash (dash cannot name descriptors above 9), which first
    /// closes every descriptor above 2; Foundation then reaps the child as soon as it exits.
    func runAsServer(
        _ executable: String, _ arguments: [String], detachesDaemon: Bool = false, operation: String
    ) throws(PostgresError) -> Output {
        var command = [executable] + arguments
        if detachesDaemon {
            let closeInherited = #"for fd in $(ls /proc/$$/fd); do if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi; done; exec "$@""#
            command = ["/bin/bash", "-c", closeInherited, "bash"] + command
        }
        if let serverUser {
            return try run(Self.runuser, ["-u", serverUser, "--"] + command, operation: operation)
        }
        return try run(command[0], Array(command.dropFirst()), operation: operation)
    }

    /// Runs `executable` as ourselves and waits for it.
    func run(_ executable: String, _ arguments: [String], operation: String) throws(PostgresError) -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"  // the server's messages are matched in English
        environment["LANG"] = "C"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let outputURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("tandem-proc-\(UUID().uuidString).out")
        guard FileManager.default.createFile(atPath: outputURL.path, contents: nil),
              let handle = try? FileHandle(forWritingTo: outputURL)
        else {
            throw PostgresError(.process, "could not create a temporary file in \(outputURL.deletingLastPathComponent().path)", operation: operation)
        }
        defer {
            try? handle.close()
            try? FileManager.default.removeItem(at: outputURL)
        }
        process.standardOutput = handle
        process.standardError = handle
        do {
            try process.run()
        } catch {
            throw PostgresError(
                .process, "could not run \(executable): \(error.localizedDescription)", operation: operation,
                cause: PostgresProcessError(description: "\(error)"))
        }
        process.waitUntilExit()
        let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
        return Output(status: process.terminationStatus, text: text)
    }

    /// Starts `command` under `/bin/sh` and does not wait for it. Unlike `runAsServer(detachesDaemon:)`
    /// it must keep its descriptors: closing the exit-watch socket would make Foundation reap it at once,
    /// blocking Foundation's monitor thread (and so every other `waitUntilExit`) until it really exits.
    func spawnDetached(shellCommand: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", shellCommand]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
    }

    static let runuser: String = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "runuser"
}

/// A wrapped Foundation error, kept as text so it is `Sendable`.
struct PostgresProcessError: Error, Sendable, CustomStringConvertible {
    var description: String
}
