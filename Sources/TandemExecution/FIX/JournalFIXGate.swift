import NIOCore
import TandemCore
import TandemFIX

/// The journal-backed half of a FIX session's store: every outbound message that takes a new
/// MsgSeqNum (admin ones too) is journaled as ``FixOutboundMessage`` and durable before its bytes
/// are written, so a standby that folds the journal knows the last seq used and every message it may
/// have to resend. A message sent with a ``JournalPipeline/Hold`` as its gate context releases that
/// hold (the order intent it carries) in the same commit.
///
/// The other half is ``JournalFIXStore``: the in-memory store a session starts from, seeded from the
/// ledger. Inbound MsgSeqNums are journaled by the order manager with the events each report causes.
public final class JournalFIXGate: FIXOutboundGate {
    private let pipeline: JournalPipeline
    private let leadership: @Sendable () -> Bool

    /// `leadership`: asked right before each write; false once this node may no longer act (its lease
    /// deadline by its own monotonic clock has passed).
    public init(pipeline: JournalPipeline, leadership: @escaping @Sendable () -> Bool) {
        self.pipeline = pipeline
        self.leadership = leadership
    }

    public func persist(_ message: FIXPersistedMessage, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let sessionID = FIXSessionID.make(sender: message.senderCompID, target: message.targetCompID)
        let seq = UInt64(message.msgSeqNum)
        let now = FIXClock.now().utc
        let submitted = pipeline.submit(releasing: message.context as? JournalPipeline.Hold, completion: { result in
            promise.completeWith(result.map { _ in () })
        }) { ledger in
            var events: [JournalEvent] = []
            let seqs = ledger.sequences(of: sessionID)
            if seq != seqs.lastOutbound &+ 1 {
                // A reset (seq 1) or a jump: restate the sequence so the fold's gapless check holds.
                events.append(.fixSessionState(FixSessionState(
                    sessionID: sessionID, lastInboundSequence: seq == 1 ? 0 : seqs.lastInbound, lastOutboundSequence: seq - 1, at: now)))
            }
            events.append(.fixOutboundMessage(FixOutboundMessage(sessionID: sessionID, sequence: seq, raw: message.bytes, at: now)))
            return events
        }
        if !submitted.refused.isEmpty {
            promise.fail(ExecutionError(.journal, "outbound MsgSeqNum \(seq) of \(sessionID) was refused by the fold: \(submitted.refused[0].error)"))
        }
        return promise.futureResult
    }

    public func mayWrite() -> Bool { leadership() }
}

/// Session ids as the journal records them.
public enum FIXSessionID {
    public static func make(sender: String, target: String) -> String { "\(sender)->\(target)" }
}

/// The store a FIX session starts from on a (new) leader: both sequence numbers and every message sent,
/// as the journal has them.
public enum JournalFIXStore {
    public static func seeded(sessionID: String, from ledger: borrowing ExecutionLedger) -> InMemoryFIXStore {
        let seqs = ledger.sequences(of: sessionID)
        var store = InMemoryFIXStore(nextSenderSeq: Int(seqs.lastOutbound) + 1, nextTargetSeq: Int(seqs.lastInbound) + 1)
        for (seq, bytes) in ledger.outbound[sessionID] ?? [:] { store.store(seq: seq, bytes: bytes) }
        return store
    }
}
