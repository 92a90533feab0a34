import Foundation
import Testing

/// The README's first command: `tandem demo` starts the cluster as processes, the leader is killed,
/// the standby takes over, and everything stops by itself.
@Suite("tandem demo", .timeLimit(.minutes(2)))
struct DemoTests {
    @Test("the demo cluster runs, a killed leader is replaced by the standby, and the demo stops cleanly")
    func demoFailsOver() async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-demo-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: logs) }
        let demo = try Child("demo", arguments: ["demo", "--plain", "--failover-after", "6", "--duration", "14", "--log-directory", logs])
        let deadline = ContinuousClock.now + .seconds(60)
        while demo.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        let output = demo.output
        #expect(!demo.isRunning, "the demo did not stop by itself:\n\(output.suffix(3000))")
        await demo.stop()
        #expect(demo.process.terminationStatus == 0, "\(output.suffix(3000))")
        #expect(output.contains("leader=node-a epoch=1") || output.contains("leader=node-b epoch=1"), "\(output.suffix(3000))")
        #expect(output.contains("lease taken by"), "no takeover seen:\n\(output.suffix(3000))")
        #expect(output.contains("tandem demo: stopped"))
    }
}
