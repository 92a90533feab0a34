import Foundation
import Testing

/// Interop with the reference engine: QuickFIX 1.15 (C++) against our initiator and our acceptor,
/// both inside a private network namespace, through interop/quickfix/run-interop.sh (which builds
/// the QuickFIX peers and checks logon, orders, fills, a forced gap each way and its resend, and
/// logout; see its README). Needs root (for `ip netns`), g++ and libquickfix-dev, which `.ci/run`
/// installs; without them this test fails and says which is missing.
@Suite("QuickFIX interop")
struct QuickFIXInteropTests {
    @Test("our initiator ↔ QuickFIX executor, QuickFIX initiator ↔ our acceptor", .timeLimit(.minutes(3)))
    func interop() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("interop/quickfix/run-interop.sh")
        // The `tandem` binary sits next to the test bundle in the build directory.
        let buildDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let tandem = [buildDir, buildDir.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("tandem") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        let binary = try #require(tandem, "no `tandem` executable next to \(buildDir.path); run `swift build` first")
        #expect(FileManager.default.fileExists(atPath: "/usr/include/quickfix/Session.h"),
                "libquickfix-dev is not installed (apt-get install libquickfix-dev; .ci/run does this)")

        let log = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-interop-\(getpid()).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, binary.path]
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let checks = output.split(separator: "\n").filter { $0.hasPrefix("PASS") || $0.hasPrefix("FAIL") }
        #expect(process.terminationStatus == 0, "run-interop.sh exited \(process.terminationStatus):\n\(output.suffix(6000))")
        #expect(checks.count >= 20, "expected the scenario checks, got:\n\(checks.joined(separator: "\n"))")
        #expect(!checks.contains { $0.hasPrefix("FAIL") }, "\(checks.filter { $0.hasPrefix("FAIL") }.joined(separator: "\n"))")
    }
}
