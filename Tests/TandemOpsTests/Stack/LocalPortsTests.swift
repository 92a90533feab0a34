import Testing

@testable import TandemOps

@Suite("Local ports")
struct LocalPortsTests {
    @Test("free ports are picked below the ephemeral range, never twice in a process, and a listener can bind them")
    func freeBelowEphemeral() throws {
        let ports = try (0..<20).map { _ in try LocalPorts.free() }
        #expect(Set(ports).count == ports.count)
        #expect(ports.allSatisfy { $0 >= 10_000 && $0 < LocalPorts.ephemeralLow })
        #expect(ports.allSatisfy { LocalPorts.isFree($0) })
    }
}
