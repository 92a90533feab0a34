import TandemCore

/// Time for the feed handler: UTC for latency, monotonic for windows and staleness.
public struct FeedTime: Sendable, Hashable {
    public var utc: Timestamp
    public var monotonic: Duration
    public init(utc: Timestamp, monotonic: Duration) {
        self.utc = utc
        self.monotonic = monotonic
    }
}

/// The client side of the feed as a sans-I/O state machine: A/B arbitration (first copy wins),
/// gap detection, recovery by retransmission or snapshot, staleness per line, a book built from
/// the feed, and counters. The shell feeds packets from both lines and recovery answers, fires the
/// timer when asked, and carries out the actions.
///
/// A message missing on one line is not a gap: the handler waits `arbitrationWindow` for the other
/// line's copy. Only when both lines miss it does it count a gap and ask the recovery service for
/// the range; if that range is no longer kept (or the first packet seen is not seq 1: a late
/// join), it asks for a snapshot. Messages above a gap are buffered and applied in order once the
/// gap is filled, so the book is only ever built from a contiguous sequence.
public struct FeedHandler: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// How long a hole may stay open waiting for the other line before it is a gap.
        public var arbitrationWindow: Duration
        /// A line with no packet (not even a heartbeat) for this long is stale.
        public var staleAfter: Duration
        /// A recovery request not answered within this is sent again.
        public var recoveryTimeout: Duration
        /// Buffered messages above a gap beyond this force a snapshot instead of waiting.
        public var maxBuffered: Int

        public init(arbitrationWindow: Duration = .milliseconds(5), staleAfter: Duration = .seconds(1),
                    recoveryTimeout: Duration = .seconds(1), maxBuffered: Int = 100_000) {
            self.arbitrationWindow = arbitrationWindow
            self.staleAfter = staleAfter
            self.recoveryTimeout = recoveryTimeout
            self.maxBuffered = maxBuffered
        }
    }

    public enum Event: Sendable {
        case packet([UInt8], FeedTime)
        /// The recovery service's answer to a retransmit request: packets (line R).
        case retransmission([[UInt8]], FeedTime)
        case retransmitUnavailable(FeedTime)
        case snapshot(FeedPublisher.Snapshot, FeedTime)
        case timerFired(FeedTime)
        /// The recovery connection dropped; an outstanding request is forgotten and re-sent on the next timer.
        case recoveryDisconnected(FeedTime)
    }

    public enum Action: Sendable {
        /// Applied to the book, in sequence order, each with its seq.
        case deliver([(seq: UInt64, message: FeedMessage)])
        case requestRetransmit(from: UInt64, through: UInt64)
        case requestSnapshot
        /// Call back with `timerFired` at this monotonic instant (replaces an earlier one).
        case scheduleTimer(at: Duration)
        case notice(Notice)
    }

    public enum Notice: Sendable, Hashable {
        case gapDetected(from: UInt64, through: UInt64)
        case recovered(method: RecoveryMethod, nextSeq: UInt64, after: Duration)
        case lineStale(FeedLine)
        case lineRestored(FeedLine)
        case malformed(line: FeedLine?, FeedError)
        /// The book disagreed with a message (e.g. a delete for an unknown order): resynchronising by snapshot.
        case bookInconsistent(String)
    }

    public enum RecoveryMethod: String, Sendable, Hashable {
        case retransmission, snapshot
    }

    public struct Counters: Sendable, Hashable {
        public var packets: [FeedLine: Int] = [:]
        public var messagesApplied = 0
        /// Copies that arrived after the other line had already delivered them.
        public var duplicates = 0
        /// Holes filled by the other line within the arbitration window.
        public var maskedByArbitration = 0
        public var gaps = 0
        public var retransmitRecoveries = 0
        public var snapshotRecoveries = 0
        public var malformed = 0
        public var heartbeats = 0
        /// Venue send time → our receive time, last packet and running max (nanoseconds).
        public var lastLatencyNanos: Int64 = 0
        public var maxLatencyNanos: Int64 = 0
    }

    private enum Recovery: Sendable, Hashable {
        case none
        /// A hole is open; it becomes a gap at `deadline` unless the other line fills it.
        case arbitrating(deadline: Duration)
        case retransmitting(from: UInt64, through: UInt64, sentAt: Duration, detectedAt: Duration)
        case snapshotting(sentAt: Duration?, detectedAt: Duration)
    }

    public let configuration: Configuration
    public private(set) var book = FeedBook()
    public private(set) var counters = Counters()
    /// The next seq to apply; nil before the first packet or snapshot.
    public private(set) var nextSeq: UInt64?
    private var buffered: [UInt64: FeedMessage] = [:]
    /// The highest seq known to exist (from data or heartbeats).
    private var highestSeen: UInt64 = 0
    private var recovery: Recovery = .none
    private var lastPacket: [FeedLine: Duration] = [:]
    private var stale: Set<FeedLine> = []
    private var scheduled: Duration?

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// True when the book is built from a contiguous sequence and nothing is outstanding.
    public var isConsistent: Bool {
        guard let nextSeq else { return false }
        return buffered.isEmpty && highestSeen < nextSeq && recovery == .none
    }

    public var staleLines: Set<FeedLine> { stale }

    /// When `line` last delivered a packet (heartbeats included), on the monotonic clock of the
    /// events; nil before its first.
    public func lastPacket(on line: FeedLine) -> Duration? { lastPacket[line] }

    public mutating func handle(_ event: Event) -> [Action] {
        var out: [Action] = []
        let now: FeedTime
        switch event {
        case .packet(let bytes, let t):
            now = t
            packet(bytes, t, &out)
        case .retransmission(let packets, let t):
            now = t
            for p in packets { packet(p, t, &out) }
        case .retransmitUnavailable(let t):
            now = t
            if case .retransmitting(_, _, _, let detected) = recovery {
                recovery = .snapshotting(sentAt: t.monotonic, detectedAt: detected)
                out.append(.requestSnapshot)
            }
        case .snapshot(let s, let t):
            now = t
            applySnapshot(s, t, &out)
        case .timerFired(let t):
            now = t
            timer(t, &out)
        case .recoveryDisconnected(let t):
            now = t
            switch recovery {
            case .retransmitting(let f, let th, _, let d): recovery = .retransmitting(from: f, through: th, sentAt: .zero, detectedAt: d)
            case .snapshotting(_, let d): recovery = .snapshotting(sentAt: nil, detectedAt: d)
            default: break
            }
        }
        schedule(now, &out)
        return out
    }

    // MARK: Packets

    private mutating func packet(_ bytes: [UInt8], _ t: FeedTime, _ out: inout [Action]) {
        let p: FeedPacket
        do { p = try FeedPacket(decoding: bytes) } catch {
            counters.malformed += 1
            out.append(.notice(.malformed(line: bytes.count > 3 ? FeedLine(rawValue: bytes[3]) : nil, error)))
            return
        }
        counters.packets[p.line, default: 0] += 1
        if p.line != .retransmission {
            lastPacket[p.line] = t.monotonic
            if stale.remove(p.line) != nil { out.append(.notice(.lineRestored(p.line))) }
            let latency = t.utc.nanosecondsSinceEpoch - p.sendTime.nanosecondsSinceEpoch
            counters.lastLatencyNanos = latency
            counters.maxLatencyNanos = max(counters.maxLatencyNanos, latency)
        }
        if p.isHeartbeat {
            counters.heartbeats += 1
            if p.firstSeq > 0 { highestSeen = max(highestSeen, p.firstSeq - 1) }
        } else {
            var messages: [FeedMessage] = []
            messages.reserveCapacity(p.count)
            do {
                for i in 0..<p.count { messages.append(try p.message(i)) }
            } catch {
                counters.malformed += 1
                out.append(.notice(.malformed(line: p.line, error)))
                return
            }
            highestSeen = max(highestSeen, p.endSeq - 1)
            if nextSeq == nil {
                guard p.firstSeq == 1 else {
                    // Joined late: the book so far is only in a snapshot.
                    for (i, m) in messages.enumerated() { buffered[p.firstSeq + UInt64(i)] = m }
                    if case .none = recovery { startSnapshot(detectedAt: t.monotonic, &out) }
                    return
                }
                nextSeq = 1
            }
            var applied: [(UInt64, FeedMessage)] = []
            for (i, m) in messages.enumerated() {
                let seq = p.firstSeq + UInt64(i)
                if seq < nextSeq! || buffered[seq] != nil {
                    counters.duplicates += 1
                } else if seq == nextSeq!, buffered.isEmpty {
                    if !apply(seq, m, &applied, t, &out) { return }
                } else {
                    buffered[seq] = m
                }
            }
            drain(&applied, t, &out)
            if !applied.isEmpty { out.append(.deliver(applied)) }
        }
        checkHole(t, &out)
    }

    /// Applies one in-sequence message; false if the book disagreed (a snapshot was requested).
    private mutating func apply(_ seq: UInt64, _ m: FeedMessage, _ applied: inout [(UInt64, FeedMessage)],
                                _ t: FeedTime, _ out: inout [Action]) -> Bool {
        do { try book.apply(m) } catch {
            out.append(.notice(.bookInconsistent("seq \(seq): \(error)")))
            if !applied.isEmpty { out.append(.deliver(applied)) }
            applied = []
            startSnapshot(detectedAt: t.monotonic, &out)
            return false
        }
        nextSeq = seq + 1
        counters.messagesApplied += 1
        applied.append((seq, m))
        return true
    }

    private mutating func drain(_ applied: inout [(UInt64, FeedMessage)], _ t: FeedTime, _ out: inout [Action]) {
        guard let start = nextSeq else { return }
        var seq = start
        while let m = buffered.removeValue(forKey: seq) {
            guard apply(seq, m, &applied, t, &out) else { return }
            seq += 1
        }
    }

    /// After any change: is there a hole, and what is recovery doing about it?
    private mutating func checkHole(_ t: FeedTime, _ out: inout [Action]) {
        guard let next = nextSeq else { return }
        let hole = highestSeen >= next
        switch recovery {
        case .none:
            if hole { recovery = .arbitrating(deadline: t.monotonic + configuration.arbitrationWindow) }
        case .arbitrating:
            if !hole {
                counters.maskedByArbitration += 1
                recovery = .none
            } else if buffered.count > configuration.maxBuffered {
                counters.gaps += 1
                startSnapshot(detectedAt: t.monotonic, &out)
            }
        case .retransmitting(_, let through, _, let detected):
            if !hole {
                counters.retransmitRecoveries += 1
                recovery = .none
                out.append(.notice(.recovered(method: .retransmission, nextSeq: next, after: t.monotonic - detected)))
            } else if next > through {
                // The requested range arrived but more is missing beyond it: ask for that too.
                requestRange(detectedAt: detected, t, &out)
            }
        case .snapshotting:
            break
        }
    }

    private mutating func requestRange(detectedAt: Duration, _ t: FeedTime, _ out: inout [Action]) {
        guard let next = nextSeq else { return }
        let through = (buffered.keys.min().map { $0 - 1 }) ?? highestSeen
        recovery = .retransmitting(from: next, through: through, sentAt: t.monotonic, detectedAt: detectedAt)
        out.append(.requestRetransmit(from: next, through: through))
    }

    private mutating func startSnapshot(detectedAt: Duration, _ out: inout [Action]) {
        recovery = .snapshotting(sentAt: detectedAt, detectedAt: detectedAt)
        out.append(.requestSnapshot)
    }

    private mutating func applySnapshot(_ s: FeedPublisher.Snapshot, _ t: FeedTime, _ out: inout [Action]) {
        let detected: Duration
        if case .snapshotting(_, let d) = recovery { detected = d } else { detected = t.monotonic }
        var fresh = FeedBook()
        for m in s.orders { try? fresh.apply(m) }
        book = fresh
        nextSeq = s.lastSeq + 1
        highestSeen = max(highestSeen, s.lastSeq)
        buffered = buffered.filter { $0.key > s.lastSeq }
        counters.snapshotRecoveries += 1
        recovery = .none
        var applied: [(UInt64, FeedMessage)] = []
        drain(&applied, t, &out)
        out.append(.deliver(applied))
        out.append(.notice(.recovered(method: .snapshot, nextSeq: nextSeq!, after: t.monotonic - detected)))
        checkHole(t, &out)
    }

    // MARK: Timers

    private mutating func timer(_ t: FeedTime, _ out: inout [Action]) {
        scheduled = nil
        for line in [FeedLine.a, .b] {
            if let last = lastPacket[line], t.monotonic - last >= configuration.staleAfter, !stale.contains(line) {
                stale.insert(line)
                out.append(.notice(.lineStale(line)))
            }
        }
        switch recovery {
        case .arbitrating(let deadline) where t.monotonic >= deadline:
            guard let next = nextSeq else { return }
            counters.gaps += 1
            let through = (buffered.keys.min().map { $0 - 1 }) ?? highestSeen
            out.append(.notice(.gapDetected(from: next, through: through)))
            requestRange(detectedAt: t.monotonic, t, &out)
        case .retransmitting(let from, let through, let sentAt, let detected) where t.monotonic >= sentAt + configuration.recoveryTimeout:
            recovery = .retransmitting(from: from, through: through, sentAt: t.monotonic, detectedAt: detected)
            out.append(.requestRetransmit(from: from, through: through))
        case .snapshotting(let sentAt, let detected) where sentAt == nil || t.monotonic >= sentAt! + configuration.recoveryTimeout:
            recovery = .snapshotting(sentAt: t.monotonic, detectedAt: detected)
            out.append(.requestSnapshot)
        default:
            break
        }
    }

    private mutating func schedule(_ t: FeedTime, _ out: inout [Action]) {
        var next: Duration?
        func consider(_ d: Duration) { next = next.map { min($0, d) } ?? d }
        for line in [FeedLine.a, .b] where !stale.contains(line) {
            if let last = lastPacket[line] { consider(last + configuration.staleAfter) }
        }
        switch recovery {
        case .none: break
        case .arbitrating(let deadline): consider(deadline)
        case .retransmitting(_, _, let sentAt, _): consider(sentAt + configuration.recoveryTimeout)
        case .snapshotting(let sentAt, _): consider((sentAt ?? t.monotonic) + configuration.recoveryTimeout)
        }
        // Only move the timer earlier. Every packet moves its line's staleness deadline later, and a
        // new deadline per packet cost the shell a scheduled-task cancel and re-schedule per packet;
        // a timer that fires before anything is due just schedules the next deadline (`timer` checks
        // each one against the time it fires at).
        guard let next else { return }
        if let current = scheduled, current <= next { return }
        scheduled = next
        out.append(.scheduleTimer(at: next))
    }
}
