import Metrics
import Synchronization
import TandemCore
import TandemFIX

/// `tandem_fix_order_roundtrip_seconds{session}`: from the journal gate's release of a NewOrderSingle
/// (durable, handed to the socket) to the venue's first ExecutionReport for its ClOrdID — the
/// venue round trip as this node sees it, without the journal append in front of it.
///
/// One new order in `every` is sampled, so the order path pays a counter per order, and a scan for
/// the ClOrdID, a table entry and a callback only for the sampled ones; an inbound report costs
/// one atomic load while nothing is awaited. An order answered never (rejected by the session,
/// disconnected) is dropped when the table passes `capacity`.
final class OrderRoundTrips: Sendable {
    let every: Int
    let capacity: Int
    private let timer: Timer
    private let counter = Atomic<Int>(0)
    private let awaited = Atomic<Int>(0)
    private let sent = Mutex<[ClOrdID: ContinuousClock.Instant]>([:])

    init(session: String, every: Int = 8, capacity: Int = 256) {
        precondition(every > 0 && capacity > 0)
        self.every = every
        self.capacity = capacity
        timer = Timer(label: "tandem_fix_order_roundtrip_seconds", dimensions: [("session", session)])
    }

    /// The ClOrdID to time if this outbound message is a sampled new order (nil: not timed).
    func sample(_ message: FIXPersistedMessage) -> ClOrdID? {
        guard message.msgType == .newOrderSingle,
              counter.wrappingAdd(1, ordering: .relaxed).oldValue % every == 0 else { return nil }
        return Self.clOrdID(in: message.bytes)
    }

    /// ClOrdID (11) read straight from an encoded message's bytes: the first `SOH 11=` up to the next
    /// SOH (no full parse on the order path; the message was just encoded by our own session).
    static func clOrdID(in bytes: [UInt8]) -> ClOrdID? {
        let soh: UInt8 = 0x01, one = UInt8(ascii: "1"), equals = UInt8(ascii: "=")
        var i = 0
        while i + 4 <= bytes.count {
            if bytes[i] == soh, bytes[i + 1] == one, bytes[i + 2] == one, bytes[i + 3] == equals {
                let start = i + 4
                var end = start
                while end < bytes.count, bytes[end] != soh { end += 1 }
                return end > start ? ClOrdID(String(decoding: bytes[start..<end], as: UTF8.self)) : nil
            }
            i += 1
        }
        return nil
    }

    /// The sampled order left for the venue now.
    func released(_ id: ClOrdID, at now: ContinuousClock.Instant = .now) {
        sent.withLock { table in
            if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            table[id] = now
            awaited.store(table.count, ordering: .relaxed)
        }
    }

    /// An inbound message; an ExecutionReport for an awaited ClOrdID is observed.
    func received(_ typed: FIXTypedMessage, at now: ContinuousClock.Instant = .now) {
        guard awaitedCount > 0, case .executionReport(let report) = typed, let id = report.clOrdID else { return }
        let start = sent.withLock { table in
            let s = table.removeValue(forKey: id)
            awaited.store(table.count, ordering: .relaxed)
            return s
        }
        if let start { timer.recordNanoseconds((now - start).nanoseconds) }
    }

    /// Sampled orders still waiting for their first report (one atomic load: callers check it before
    /// unwrapping an inbound message for ``received(_:at:)``).
    var awaitedCount: Int { awaited.load(ordering: .relaxed) }
}
