import Logging
import TandemCore
import TandemMarketData

/// The feed figures of `tandem bench venue`.
enum FeedBench {
    /// Packets of 30 order-level messages decoded (header checks and every field), best of `runs`.
    static func decodeRate(messages: Int, runs: Int) throws -> Double {
        let t = Timestamp(nanosecondsSinceEpoch: 1_760_000_000_000_000_000)
        var packets: [[UInt8]] = []
        var seq: UInt64 = 1
        var made = 0
        while made < messages {
            let n = min(FeedWire.maxMessagesPerPacket, messages - made)
            let batch = (0..<n).map { i in
                FeedMessage.add(InstrumentID(1), order: seq + UInt64(i), i % 2 == 0 ? .buy : .sell,
                                price: Price(units: 10_000_000_000 + Int64(i) * 1_000_000), quantity: Quantity(units: 100_000_000), at: t)
            }
            var bytes: [UInt8] = []
            FeedWire.encodePacket(line: .a, firstSeq: seq, sendTime: t, messages: batch, into: &bytes)
            packets.append(bytes)
            seq += UInt64(n)
            made += n
        }
        let clock = ContinuousClock()
        var best = Duration.seconds(1_000_000)
        var check: Int64 = 0
        for _ in 0..<runs {
            let start = clock.now
            for p in packets {
                let packet = try FeedPacket(decoding: p)
                for i in 0..<packet.count { check &+= try packet.message(i).quantity.units }
            }
            best = min(best, clock.now - start)
        }
        precondition(check != 0)
        return Double(messages) / seconds(best)
    }

    struct Recovery {
        var medianMillis: Double
        var maxMillis: Double
        var samples: Int
        var arbitrationWindowMillis: Double
    }

    /// A server and a client over loopback; `samples` times, one packet is lost on both lines and
    /// the next reveals it: the handler's own measure from the gap being declared (after the
    /// arbitration window) to a consistent book, through the TCP retransmission.
    static func gapRecovery(samples: Int) async throws -> Recovery {
        let logger = Logger(label: "tandem.bench.feed", factory: { _ in SwiftLogNoOpLogHandler() })
        let server = FeedServer(logger: logger)
        let serverTask = Task { try await server.run() }
        defer { serverTask.cancel() }
        let port = try await server.recoveryPort()
        let handlerConfig = FeedHandler.Configuration()
        let client = FeedClient(configuration: .init(recoveryPort: port, handler: handlerConfig), logger: logger)
        let clientTask = Task { try await client.run() }
        defer { clientTask.cancel() }
        while server.subscriberCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let t = Timestamp(nanosecondsSinceEpoch: 1_760_000_000_000_000_000)
        var order: UInt64 = 1
        func batch() -> [FeedMessage] {
            defer { order += 10 }
            return (0..<10).map { i in
                .add(InstrumentID(1), order: order + UInt64(i), .buy, price: Price(units: 10_000_000_000), quantity: Quantity(units: 100_000_000), at: t)
            }
        }
        var durations: [Duration] = []
        var events = client.events.makeAsyncIterator()
        server.publish(batch(), at: t)
        for _ in 0..<samples {
            server.updateFaults { $0.dropNext = [.a: 1, .b: 1] }
            server.publish(batch(), at: t)
            server.publish(batch(), at: t)
            while let e = await events.next() {
                if case .notice(.recovered(_, _, let after)) = e {
                    durations.append(after)
                    break
                }
            }
        }
        durations.sort()
        return Recovery(medianMillis: seconds(durations[durations.count / 2]) * 1000, maxMillis: seconds(durations.last!) * 1000,
                        samples: durations.count, arbitrationWindowMillis: seconds(handlerConfig.arbitrationWindow) * 1000)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
