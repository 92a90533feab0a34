import Foundation

/// A child process of `tandem demo` or `tandem drill` (`/proc/self/exe` with `arguments`), its output
/// appended to `<logDirectory>/<name>.log`, so a restarted node keeps its earlier lives' logs.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let logPath: String

    init(name: String, arguments: [String], logDirectory: String) throws {
        logPath = "\(logDirectory)/\(name).log"
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try handle.seekToEnd()
        handle.write(Data("---- tandem \(arguments.joined(separator: " ")) started at \(Date()) ----\n".utf8))
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }
    func signal(_ s: Int32) { if process.isRunning { kill(process.processIdentifier, s) } }

    /// SIGCONT (it may be stopped), SIGTERM, then SIGKILL after 5 s; waits for the exit.
    func stop() async {
        signal(SIGCONT)
        signal(SIGTERM)
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { signal(SIGKILL) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(5)) }
    }
}
