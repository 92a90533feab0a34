import Logging
import NIOCore
import NIOPosix
import TandemCore
import TandemMarketData
import Testing

let quiet = Logger(label: "feed-test", factory: { _ in SwiftLogNoOpLogHandler() })

/// The feed over real sockets: UDP lines A and B and the TCP recovery service, on loopback.
@Suite("Feed over UDP and TCP", .timeLimit(.minutes(1)))
struct FeedTransportTests {
    @Test("A-only loss is masked; loss on both lines is retransmitted; the client's book equals the venue's")
    func lossAndRetransmission() async throws {
        try await withFeed { server, client in
            var flow = BookFlow(seed: 21)
            // Line A loses three packets: line B's copies fill in, no gap.
            for i in 0..<100 {
                if i == 50 { server.updateFaults { $0.dropNext[.a] = 3 } }
                server.publish(flow.batch(5), at: t0)
                if i % 20 == 0 { try await Task.sleep(for: .milliseconds(2)) }
            }
            try await eventually { try await caughtUp(client, server.nextSeq) }
            #expect(try await client.counters().gaps == 0)
            // Both lines lose the same two packets: one gap, recovered by retransmission.
            for i in 0..<100 {
                if i == 20 { server.updateFaults { $0.dropNext = [.a: 2, .b: 2] } }
                server.publish(flow.batch(5), at: t0)
                if i % 20 == 0 { try await Task.sleep(for: .milliseconds(2)) }
            }
            try await eventually { try await caughtUp(client, server.nextSeq) }
            let c = try await client.counters()
            #expect(c.gaps >= 1)
            #expect(c.retransmitRecoveries == c.gaps)
            #expect(c.snapshotRecoveries == 0)
            #expect(try await client.book() == server.book)
        }
    }

    @Test("a late joiner and a gap older than the retransmission window both recover by snapshot")
    func snapshot() async throws {
        let server = FeedServer(configuration: .init(retransmitCapacity: 20), logger: quiet)
        var flow = BookFlow(seed: 5)
        server.publish(flow.batch(100), at: t0)  // before anyone subscribes
        try await withFeed(server: server) { server, client in
            server.publish(flow.batch(5), at: t0)
            try await eventually { try await caughtUp(client, server.nextSeq) }
            #expect(try await client.counters().snapshotRecoveries == 1)
            server.updateFaults { $0.dropNext = [.a: 10, .b: 10] }
            for _ in 0..<12 { server.publish(flow.batch(30), at: t0) }
            try await eventually { try await caughtUp(client, server.nextSeq) }
            #expect(try await client.counters().snapshotRecoveries == 2)
            #expect(try await client.book() == server.book)
        }
    }

    @Test("a paused feed makes both lines stale; resuming restores them")
    func staleness() async throws {
        try await withFeed(staleAfter: .milliseconds(200)) { server, client in
            server.publish([.add(instrument, order: 1, .buy, price: Price(units: 1), quantity: Quantity(units: 1), at: t0)], at: t0)
            try await eventually { try await caughtUp(client, 2) }
            server.updateFaults { $0.paused = true }
            var stale: Set<FeedLine> = []
            try await eventually {
                let s = try await staleLines(client)
                stale = s
                return s == [.a, .b]
            }
            #expect(stale == [.a, .b])
            server.updateFaults { $0.paused = false }
            try await eventually { try await staleLines(client).isEmpty }
        }
    }
}

func caughtUp(_ client: FeedClient, _ next: UInt64) async throws -> Bool {
    let consistent = try await client.isConsistent()
    let seq = try await client.nextSeq()
    return consistent && seq == next
}

func staleLines(_ client: FeedClient) async throws -> Set<FeedLine> {
    // Stale state is in the notices; derive it from the handler via counters-free accessors.
    try await client.staleLines()
}

func withFeed(server: FeedServer = FeedServer(logger: quiet), staleAfter: Duration = .seconds(1),
              _ body: (FeedServer, FeedClient) async throws -> Void) async throws {
    let serverTask = Task { try await server.run() }
    defer { serverTask.cancel() }
    let port = try await server.recoveryPort()
    let client = FeedClient(configuration: .init(recoveryPort: port, handler: .init(staleAfter: staleAfter)), logger: quiet)
    let clientTask = Task { try await client.run() }
    defer { clientTask.cancel() }
    try await eventually { server.subscriberCount == 1 }
    try await body(server, client)
}

func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut() }
        try await Task.sleep(for: .milliseconds(5))
    }
}

struct TimedOut: Error {}
