#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import Synchronization
import TandemCore

/// What an application writes into a FIX channel's pipeline (`channel.writeAndFlush(FIXOutbound…)`,
/// or `context.write` from a handler behind the FIX handler). The write's promise succeeds once the
/// message's bytes are handed to the socket and fails with a ``FIXTransportError`` when the session
/// refuses it (not logged on, or an admin message type).
public enum FIXOutbound: Sendable {
    case application(any FIXMessageBody)
    /// An application message whose ``FIXOutboundGate`` record carries `context`, an opaque value of
    /// the gate's own (the engine node uses it to commit the order intent and the stored message in
    /// one durable append).
    case gated(any FIXMessageBody, context: any Sendable)
    case logout(text: String?)
    case testRequest(id: String)
}

/// Fired down the pipeline (`userInboundEventTriggered`) for every session event, after logging it.
public struct FIXSessionNotice: Sendable {
    public var session: FIXAcceptorRegistry.SessionKey?
    public var event: SessionEvent
}

/// Deliberate faults, for drills and the gap tests: a dropped message is stored (if it is an
/// application message) and its MsgSeqNum consumed, but its bytes are never written, exactly as if
/// the network had lost it. A duplicated application message is written twice: the copy is a
/// valid resend (PossDupFlag=Y, OrigSendingTime = the original's SendingTime, same MsgSeqNum), so
/// a correct counterparty ignores it. A delay holds every outbound frame (admin messages too) for
/// that long, keeping their order. Never set in production.
public struct FIXFaultInjection: Sendable, Hashable {
    /// 1-based ordinals of outbound application messages, counted over the connection.
    public var dropApplicationMessages: Set<Int>
    /// Outbound MsgSeqNums to drop, whatever the message (admin messages included).
    public var dropSeqNums: Set<Int>
    /// 1-based ordinals of outbound application messages to send twice.
    public var duplicateApplicationMessages: Set<Int>
    /// Send every n-th outbound application message twice (0: none).
    public var duplicateEvery: Int
    /// Hold every outbound frame this long before writing it (zero: none); frames keep their order.
    public var delay: Duration
    public init(dropApplicationMessages: Set<Int> = [], dropSeqNums: Set<Int> = [], duplicateApplicationMessages: Set<Int> = [],
                duplicateEvery: Int = 0, delay: Duration = .zero) {
        self.dropApplicationMessages = dropApplicationMessages
        self.dropSeqNums = dropSeqNums
        self.duplicateApplicationMessages = duplicateApplicationMessages
        self.duplicateEvery = duplicateEvery
        self.delay = delay
    }
    public static let none = FIXFaultInjection()
    var isEmpty: Bool {
        dropApplicationMessages.isEmpty && dropSeqNums.isEmpty && duplicateApplicationMessages.isEmpty && duplicateEvery <= 0 && delay <= .zero
    }
}

/// A fault for the next few outbound application messages of a live connection
/// (``FIXAcceptor/inject(_:count:on:)``).
public enum FIXOneShotFault: Sendable, Hashable {
    case drop, duplicate
}

/// Sent down a live connection's pipeline (a user outbound event) to change its faults.
enum FIXFaultCommand: Sendable {
    case set(FIXFaultInjection)
    case next(FIXOneShotFault, count: Int)
}

/// Makes outbound messages durable before their bytes reach the socket (DESIGN invariant 3).
///
/// The FIX shell calls ``persist(_:on:)`` on the channel's event loop for every message that takes a
/// new MsgSeqNum (admin ones included, so a successor knows the last seq used), in MsgSeqNum order,
/// and writes the bytes only when the returned future succeeds, keeping wire order. Resends
/// (PossDupFlag=Y) are already stored and are not persisted again. A failed future (e.g. the journal
/// fenced this writer) closes the connection with nothing written. ``mayWrite()`` is asked right
/// before each write; false (the lease is no longer ours by our own clock) also closes it unwritten.
public protocol FIXOutboundGate: Sendable {
    func persist(_ message: FIXPersistedMessage, on eventLoop: any EventLoop) -> EventLoopFuture<Void>
    func mayWrite() -> Bool
}

/// One outbound message as a ``FIXOutboundGate`` sees it.
public struct FIXPersistedMessage: Sendable {
    public var senderCompID: String
    public var targetCompID: String
    public var msgSeqNum: Int
    public var msgType: MsgType
    public var bytes: [UInt8]
    /// What ``FIXOutbound/gated(_:context:)`` attached; nil otherwise.
    public var context: (any Sendable)?
}

/// When a connection last received bytes and the HeartBtInt its session agreed, for an acceptor to
/// judge whether a connection that still holds a session is alive (its peer sends something at least
/// every HeartBtInt) when a second Logon for that session arrives.
final class FIXConnectionLiveness: Sendable {
    let lastReadNanos = Atomic<UInt64>(0)
    let heartBtIntSeconds = Atomic<Int>(0)
}

/// How an acceptor connection finds its session from the first frame (the Logon).
public enum FIXSessionResolution<Store: FIXSessionStore>: Sendable {
    case accept(FIXSessionConfig, Store)
    /// Answered with a Logout carrying `reason` (MsgSeqNum 1, outside any session) and closed.
    case refuse(reason: String)
}

/// How a connection's session ended, handed to its owner so the next connection continues the sequence.
public struct FIXSessionEnd<Store: FIXSessionStore>: Sendable {
    /// Nil when no session was resolved (an acceptor connection refused or closed before its Logon).
    public var config: FIXSessionConfig?
    public var store: Store?
    /// Whether the session reached the logged-on state on this connection.
    public var wasLoggedOn: Bool
    /// The counterparty's text when it refused our Logon on this connection (``FIXSession/logonRefusal``).
    public var logonRefusal: String? = nil
}

/// The per-connection shell around one ``FIXSession``: bytes in, the session's actions out.
///
/// Runs entirely on its channel's event loop, so an application handler placed after it can answer
/// a delivered message inline (`context.write(FIXOutbound…)`) with no thread hop, which is what the
/// round-trip latency depends on. Writes the application makes while the handler is carrying out a
/// batch of actions are queued until that batch is done: MsgSeqNums are assigned in the order
/// messages reach the socket.
///
/// Flushing: everything written while handling one read, one timer, one activation or one outside
/// write (with whatever the application answers inline meanwhile) goes out with one `flush` at the
/// end of it; a `flush` from behind this handler is absorbed, since every write that reaches the
/// socket passes through here and is flushed by the batch that made it. (An outside `write` is
/// therefore sent when handled, with or without a flush after it.)
final class FIXChannelHandler<Store: FIXSessionStore>: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = FIXInbound
    typealias OutboundIn = FIXOutbound
    typealias OutboundOut = ByteBuffer

    /// The session, once known. Kept out of any enum and moved out (`take()`) while it handles an
    /// event, so it and its store are uniquely referenced: a `switch` over an enum holding it keeps
    /// a second reference for the switch's duration, and the store's message log would then be
    /// copied on every send (measured: O(n) per message).
    private var session: FIXSession<Store>?
    /// Acceptor: bytes collected until the first whole frame names the session.
    private var firstBytes: [UInt8]?
    private let resolve: (@Sendable (FIXMessage) -> FIXSessionResolution<Store>)?
    private let ended: @Sendable (FIXSessionEnd<Store>) -> Void
    private var wasLoggedOn = false
    private let gate: (any FIXOutboundGate)?
    /// Writes waiting for their own or an earlier message's persistence, in MsgSeqNum order.
    private var gated: [GatedWrite] = []
    private var faults: FIXFaultInjection
    /// The acceptor's per-session faults, looked up once the Logon names the session.
    private let faultsFor: (@Sendable (FIXAcceptorRegistry.SessionKey) -> FIXFaultInjection?)?
    private let liveness: FIXConnectionLiveness?
    private var dropNext = 0
    private var duplicateNext = 0
    /// Frames held by ``FIXFaultInjection/delay``, oldest first.
    private var delayed: [(at: NIODeadline, bytes: [UInt8], promise: EventLoopPromise<Void>?)] = []
    private var logger: Logger
    private var key: FIXAcceptorRegistry.SessionKey?
    private var timer: Scheduled<Void>?
    private var performing = false
    /// Inside a batch (see the type's doc): writes are left unflushed until the batch ends.
    private var batching = false
    /// Bytes written to the context since the last flush.
    private var unflushed = false
    private var pending: [(FIXOutbound, EventLoopPromise<Void>?)] = []
    private var applicationSent = 0
    private var context: ChannelHandlerContext?

    private struct GatedWrite {
        var bytes: [UInt8]
        var promise: EventLoopPromise<Void>?
        var durable: Bool
        var drop: Bool
        var id: UInt64
    }
    private var nextGatedID: UInt64 = 0
    /// See ``frameBuffer(_:context:)``.
    private var lastFrame: ByteBuffer?
    /// Emptied actions arrays kept for the next events (see ``drive(_:promise:attachment:context:)``).
    private var spareActions: [[FIXSessionAction]] = []

    /// An initiator connection: the session is known before connecting.
    init(session: FIXSession<Store>, faults: FIXFaultInjection, gate: (any FIXOutboundGate)? = nil, logger: Logger,
         ended: @escaping @Sendable (FIXSessionEnd<Store>) -> Void) {
        self.session = session
        self.resolve = nil
        self.ended = ended
        self.faults = faults
        self.gate = gate
        self.faultsFor = nil
        self.liveness = nil
        self.logger = logger
        self.key = FIXAcceptorRegistry.SessionKey(initiatorCompID: session.config.senderCompID,
                                                  acceptorCompID: session.config.targetCompID)
        self.logger[metadataKey: "fix.session"] = "\(session.config.senderCompID)->\(session.config.targetCompID)"
    }

    /// An acceptor connection: `resolve` picks (or refuses) the session from the Logon.
    init(resolve: @escaping @Sendable (FIXMessage) -> FIXSessionResolution<Store>, faults: FIXFaultInjection,
         faultsFor: (@Sendable (FIXAcceptorRegistry.SessionKey) -> FIXFaultInjection?)? = nil, liveness: FIXConnectionLiveness? = nil,
         logger: Logger, ended: @escaping @Sendable (FIXSessionEnd<Store>) -> Void) {
        self.firstBytes = []
        self.resolve = resolve
        self.ended = ended
        self.faults = faults
        self.gate = nil
        self.faultsFor = faultsFor
        self.liveness = liveness
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    @_specialize(where Store == InMemoryFIXStore)
    func channelActive(context: ChannelHandlerContext) {
        if session != nil { batch(context: context) { drive(.connected(FIXClock.now()), context: context) } }
        context.fireChannelActive()
    }

    @_specialize(where Store == InMemoryFIXStore)
    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        for d in delayed { d.promise?.fail(FIXTransportError(.notLoggedOn, "the FIX connection closed")) }
        delayed.removeAll()
        if var session = session.take() {
            let actions = session.handle(.disconnected(FIXClock.now()))
            for case .event(let e) in actions { notice(e, context: context) }
            failPending()
            failGated(FIXTransportError(.notLoggedOn, "the FIX connection closed"))
            ended(FIXSessionEnd(config: session.config, store: session.store, wasLoggedOn: wasLoggedOn, logonRefusal: session.logonRefusal))
        } else if firstBytes.take() != nil {
            ended(FIXSessionEnd(config: nil, store: nil, wasLoggedOn: false))
        }
        context.fireChannelInactive()
    }

    @_specialize(where Store == InMemoryFIXStore)
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        liveness?.lastReadNanos.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
        batch(context: context) {
            if session != nil {
                drive(.received(Array(buffer.readableBytesView), FIXClock.now()), context: context)
            } else if var collected = firstBytes.take() {
                collected.append(contentsOf: buffer.readableBytesView)
                firstFrame(collected, context: context)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.warning("FIX connection error; closing", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let command = event as? FIXFaultCommand else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch command {
        case .set(let f): faults = f
        case .next(.drop, let n): dropNext += max(0, n)
        case .next(.duplicate, let n): duplicateNext += max(0, n)
        }
        logger.warning("fault injection changed", metadata: ["fix.faults": "\(faults)", "fix.dropNext": "\(dropNext)",
                                                             "fix.duplicateNext": "\(duplicateNext)"])
        promise?.succeed()
    }

    @_specialize(where Store == InMemoryFIXStore)
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = unwrapOutboundIn(data)
        if performing {
            pending.append((command, promise))
            return
        }
        batch(context: context) { outbound(command, promise: promise, context: context) }
    }

    /// Absorbed inside a batch (its end flushes) and when nothing is unflushed: an application's
    /// `writeAndFlush` would otherwise cost a second, empty flush after the one its write made.
    func flush(context: ChannelHandlerContext) {
        flushUnlessBatching(context: context)
    }

    // MARK: Batching writes

    /// Runs `body` as one batch: its writes (and those it nests) are flushed once, at its end.
    @inline(__always)
    private func batch(context: ChannelHandlerContext, _ body: () -> Void) {
        guard !batching else { return body() }
        batching = true
        body()
        batching = false
        flushIfNeeded(context: context)
    }

    /// Outside a batch, what is unflushed goes now; inside one, its end flushes.
    @inline(__always)
    private func flushUnlessBatching(context: ChannelHandlerContext) {
        if !batching { flushIfNeeded(context: context) }
    }

    @inline(__always)
    private func flushIfNeeded(context: ChannelHandlerContext) {
        guard unflushed else { return }
        unflushed = false
        context.flush()
    }

    // MARK: Driving the session

    private func outbound(_ command: FIXOutbound, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        guard session != nil else {
            promise?.fail(FIXTransportError(.notLoggedOn, "no FIX session on this connection (it is \(stageName))"))
            return
        }
        let now = FIXClock.now()
        switch command {
        case .application(let body): drive(.sendApplication(body, now), promise: promise, context: context)
        case .gated(let body, let gateContext): drive(.sendApplication(body, now), promise: promise, attachment: gateContext, context: context)
        case .logout(let text): drive(.logoutRequested(text: text, now), context: context); promise?.succeed()
        case .testRequest(let id): drive(.testRequestRequested(id: id, now), promise: promise, context: context)
        }
    }

    private var stageName: String {
        if let state = session?.state { return "\(state)" }
        return firstBytes != nil ? "awaiting Logon" : "closed"
    }

    private func firstFrame(_ collected: [UInt8], context: ChannelHandlerContext) {
        var splitter = FIXFrameSplitter()
        splitter.append(collected)
        var frame: [UInt8]?
        while frame == nil, let next = splitter.next() {
            if case .frame(let f) = next { frame = f }
        }
        guard let frame else {
            if collected.count > 64 << 10 {
                logger.warning("no FIX frame in the first 64 KiB; closing")
                context.close(promise: nil)
            }
            firstBytes = collected
            return
        }
        let logon: FIXMessage
        do { logon = try FIXParser.parse(frame) } catch {
            logger.warning("first frame does not parse; closing", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        guard let resolve else { return }
        switch resolve(logon) {
        case .refuse(let reason):
            logger.warning("Logon refused", metadata: ["fix.sender": "\(logon.senderCompID ?? "?")",
                                                       "fix.target": "\(logon.targetCompID ?? "?")", "reason": "\(reason)"])
            var encoder = FIXEncoder()
            let header = FIXHeader(senderCompID: logon.targetCompID ?? "?", targetCompID: logon.senderCompID ?? "?",
                                   msgSeqNum: 1, sendingTime: FIXClock.now().utc)
            let bytes = encoder.encode(Logout(text: reason), header: header)
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        case .accept(let config, let store):
            let key = FIXAcceptorRegistry.SessionKey(initiatorCompID: config.targetCompID, acceptorCompID: config.senderCompID)
            self.key = key
            if let f = faultsFor?(key) { faults = f }
            logger[metadataKey: "fix.session"] = "\(config.senderCompID)->\(config.targetCompID)"
            session = FIXSession(config: config, store: store)
            let now = FIXClock.now()
            drive(.connected(now), context: context)
            drive(.received(collected, now), context: context)
        }
    }

    @_specialize(where Store == InMemoryFIXStore)
    private func drive(_ event: FIXSessionEvent, promise: EventLoopPromise<Void>? = nil, attachment: (any Sendable)? = nil,
                       context: ChannelHandlerContext) {
        guard var session = session.take() else {
            promise?.fail(FIXTransportError(.notLoggedOn, "the FIX connection is closed"))
            return
        }
        // Actions arrays are reused across messages: one is taken off the stack while in use, so an
        // event driven while these actions are carried out (an application answering inline, queued
        // until this batch is done) takes the next one; the stack is as deep as that nesting.
        var actions = spareActions.popLast() ?? []
        session.handle(event, into: &actions)
        self.session = consume session
        perform(actions, promise: promise, attachment: attachment, context: context)
        actions.removeAll(keepingCapacity: true)
        spareActions.append(actions)
    }

    @_specialize(where Store == InMemoryFIXStore)
    private func perform(_ actions: [FIXSessionAction], promise: EventLoopPromise<Void>?, attachment: (any Sendable)? = nil,
                         context: ChannelHandlerContext) {
        let outer = !performing
        performing = true
        var promise = promise
        var disconnect: String?
        for action in actions {
            switch action {
            case .send(let bytes, let new):
                var copy: [UInt8]?
                var drop = false
                if !faults.isEmpty || dropNext > 0 || duplicateNext > 0 {
                    let verdict = applyFaults(bytes)
                    drop = verdict.drop
                    copy = verdict.duplicate
                }
                if let gate {
                    // Persisted even when the fault drops it: "journaled, then died before the write".
                    // (Delay and duplicate faults are the venue's; a gated initiator does not use them.)
                    gatedWrite(bytes, new: new, promise: promise, attachment: attachment, drop: drop, gate: gate, context: context)
                    promise = nil
                    continue
                }
                if drop {
                    promise?.succeed()
                    promise = nil
                    continue
                }
                if faults.delay > .zero || !delayed.isEmpty {
                    hold(bytes, promise: promise, context: context)
                    if let copy { hold(copy, promise: nil, context: context) }
                } else {
                    context.write(wrapOutboundOut(frameBuffer(bytes, context: context)), promise: promise)
                    if let copy { context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: copy)), promise: nil) }
                    unflushed = true
                }
                promise = nil
            case .deliver(let inbound):
                context.fireChannelRead(wrapInboundOut(inbound))
            case .disconnect(let reason):
                disconnect = reason
            case .scheduleTimer(let at):
                schedule(at: at, context: context)
            case .event(let e):
                if case .sendRefused(let reason) = e {
                    promise?.fail(FIXTransportError(.sendRefused, reason))
                    promise = nil
                }
                notice(e, context: context)
            }
        }
        promise?.succeed()
        if let disconnect {
            // What this batch wrote (a Logout) goes out before the close.
            flushIfNeeded(context: context)
            logger.info("FIX session closing the connection", metadata: ["reason": "\(disconnect)"])
            context.close(promise: nil)
        }
        guard outer else { return }
        while !pending.isEmpty {
            let (command, p) = pending.removeFirst()
            performing = false
            outbound(command, promise: p, context: context)
            performing = true
        }
        performing = false
        flushUnlessBatching(context: context)
    }

    /// Persists a new message through the gate (resends go straight into the queue) and writes the
    /// queue's durable prefix, so the wire order is the MsgSeqNum order.
    private func gatedWrite(_ bytes: [UInt8], new: FIXNewMessage?, promise: EventLoopPromise<Void>?, attachment: (any Sendable)?,
                            drop: Bool, gate: any FIXOutboundGate, context: ChannelHandlerContext) {
        let id = nextGatedID
        nextGatedID += 1
        guard let new, let config = session?.config else {
            gated.append(GatedWrite(bytes: bytes, promise: promise, durable: true, drop: drop, id: id))
            flushGated(context: context)
            return
        }
        let seq = new.msgSeqNum
        gated.append(GatedWrite(bytes: bytes, promise: promise, durable: false, drop: drop, id: id))
        let record = FIXPersistedMessage(senderCompID: config.senderCompID, targetCompID: config.targetCompID,
                                         msgSeqNum: seq, msgType: new.msgType, bytes: bytes, context: attachment)
        gate.persist(record, on: context.eventLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success:
                if let i = gated.firstIndex(where: { $0.id == id }) { gated[i].durable = true }
                if let context = self.context { flushGated(context: context) }
            case .failure(let error):
                logger.error("FIX message not persisted; closing the connection unwritten",
                             metadata: ["fix.msgSeqNum": "\(seq)", "error": "\(error)"])
                failGated(error)
                self.context?.close(promise: nil)
            }
        }
    }

    @_specialize(where Store == InMemoryFIXStore)
    private func flushGated(context: ChannelHandlerContext) {
        guard let first = gated.first, first.durable else { return }
        guard gate?.mayWrite() ?? true else {
            logger.error("FIX write refused: this node may no longer act (lease); closing unwritten")
            failGated(FIXTransportError(.sendRefused, "this node's lease no longer allows sending"))
            context.close(promise: nil)
            return
        }
        while let first = gated.first, first.durable {
            gated.removeFirst()
            if first.drop {
                first.promise?.succeed()
                continue
            }
            context.write(wrapOutboundOut(frameBuffer(first.bytes, context: context)), promise: first.promise)
            unflushed = true
        }
        flushUnlessBatching(context: context)
    }

    /// The frame's bytes in a `ByteBuffer` for the socket. The last frame's buffer is refilled when
    /// NIO has let go of it (written: it is then uniquely ours), so a steady stream of messages makes
    /// no new buffer per frame; while NIO still holds it (a partial write), `clear()` copies on write
    /// and NIO's frame is untouched.
    private func frameBuffer(_ bytes: [UInt8], context: ChannelHandlerContext) -> ByteBuffer {
        guard var buffer = lastFrame.take() else {
            let buffer = context.channel.allocator.buffer(bytes: bytes)
            lastFrame = buffer
            return buffer
        }
        buffer.clear()
        buffer.writeBytes(bytes)
        lastFrame = buffer
        return buffer
    }

    private func failGated(_ error: any Error) {
        let failed = gated
        gated.removeAll()
        for w in failed { w.promise?.fail(error) }
    }

    private func failPending() {
        for (_, p) in pending { p?.fail(FIXTransportError(.notLoggedOn, "the FIX connection closed")) }
        pending.removeAll()
    }

    /// Whether to lose `frame`, and the resend copy to write after it when it is to be duplicated.
    private func applyFaults(_ frame: [UInt8]) -> (drop: Bool, duplicate: [UInt8]?) {
        // Only first transmissions are lost or duplicated; a resend (PossDupFlag=Y) goes through.
        guard let m = try? FIXParser.parse(frame), !m.possDupFlag else { return (false, nil) }
        var drop = false
        var duplicate = false
        if !m.msgType.isAdmin {
            applicationSent += 1
            drop = faults.dropApplicationMessages.contains(applicationSent)
            if !drop, dropNext > 0 {
                dropNext -= 1
                drop = true
            }
            duplicate = faults.duplicateApplicationMessages.contains(applicationSent)
                || (faults.duplicateEvery > 0 && applicationSent % faults.duplicateEvery == 0)
            if !duplicate, !drop, duplicateNext > 0 {
                duplicateNext -= 1
                duplicate = true
            }
        }
        if let seq = m.msgSeqNum, faults.dropSeqNums.contains(seq) { drop = true }
        if drop {
            logger.warning("fault injection: dropping an outbound message",
                           metadata: ["fix.msgSeqNum": "\(m.msgSeqNum ?? 0)", "fix.msgType": "\(m.msgType)"])
            return (true, nil)
        }
        guard duplicate, let seq = m.msgSeqNum, let sender = m.senderCompID, let target = m.targetCompID else { return (false, nil) }
        let sent = ((try? m.timestamp(52)) ?? nil) ?? FIXClock.now().utc
        var encoder = FIXEncoder()
        let copy = encoder.reframe(m, header: FIXHeader(senderCompID: sender, targetCompID: target, msgSeqNum: seq, sendingTime: FIXClock.now().utc,
                                                        possDupFlag: true, origSendingTime: sent))
        logger.warning("fault injection: duplicating an outbound message",
                       metadata: ["fix.msgSeqNum": "\(seq)", "fix.msgType": "\(m.msgType)"])
        return (false, copy)
    }

    /// Queues a frame for ``FIXFaultInjection/delay``; every frame waits the same time, so the
    /// queue is in deadline order and each timer writes whatever is due, oldest first.
    private func hold(_ bytes: [UInt8], promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        let (seconds, attos) = faults.delay.components
        // Never before a frame already held (the delay may have been shortened or turned off).
        let at = max(NIODeadline.now() + .nanoseconds(seconds * 1_000_000_000 + attos / 1_000_000_000), delayed.last?.at ?? .uptimeNanoseconds(0))
        delayed.append((at, bytes, promise))
        context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [self] in writeDue() }
    }

    private func writeDue() {
        guard let context else { return }
        let now = NIODeadline.now()
        var due = 0
        while due < delayed.count, delayed[due].at <= now { due += 1 }
        guard due > 0 else { return }
        for d in delayed[..<due] {
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: d.bytes)), promise: d.promise)
        }
        delayed.removeFirst(due)
        context.flush()
    }

    private func schedule(at: Duration, context: ChannelHandlerContext) {
        timer?.cancel()
        let (seconds, attos) = at.components
        let nanos = max(0, seconds * 1_000_000_000 + attos / 1_000_000_000)
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: .uptimeNanoseconds(UInt64(nanos))) { [self] in
            timer = nil
            guard let context = self.context else { return }
            batch(context: context) { drive(.timerFired(FIXClock.now()), context: context) }
        }
    }

    private func notice(_ event: SessionEvent, context: ChannelHandlerContext) {
        switch event {
        case .loggedOn(let hb, let reset):
            wasLoggedOn = true
            liveness?.heartBtIntSeconds.store(hb, ordering: .relaxed)
            logger.info("FIX logged on", metadata: ["fix.heartBtInt": "\(hb)", "fix.resetSeqNum": "\(reset)"])
        case .loggedOut(let reason):
            logger.info("FIX logged out", metadata: ["reason": "\(reason)"])
        case .gapDetected(let expected, let received):
            logger.warning("FIX inbound gap", metadata: ["fix.expected": "\(expected)", "fix.received": "\(received)"])
        case .resendRequested(let b, let e):
            logger.info("FIX ResendRequest sent", metadata: ["fix.begin": "\(b)", "fix.end": "\(e)"])
        case .resent(let b, let e, let n, let g):
            logger.info("FIX ResendRequest answered", metadata: ["fix.begin": "\(b)", "fix.end": "\(e)", "fix.resent": "\(n)", "fix.gapFills": "\(g)"])
        case .rejectSent(let ref, let reason, let text):
            logger.warning("FIX Reject sent", metadata: ["fix.refSeqNum": "\(ref)", "fix.reason": "\(reason)", "fix.text": "\(text)"])
        case .garbledIgnored(let e):
            logger.warning("FIX garbled frame ignored", metadata: ["error": "\(e)"])
        case .sendRefused(let reason):
            logger.debug("FIX send refused", metadata: ["reason": "\(reason)"])
        case .gapFilled, .sequenceReset, .duplicateIgnored, .testRequestSent:
            logger.debug("FIX session event", metadata: ["fix.event": "\(event)"])
        }
        context.fireUserInboundEventTriggered(FIXSessionNotice(session: key, event: event))
    }
}

/// The shell's clock: UTC for SendingTime, NIO's monotonic uptime for heartbeats and timeouts.
public enum FIXClock {
    public static func now() -> FIXTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let utc = Timestamp(nanosecondsSinceEpoch: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
        return FIXTime(utc: utc, monotonic: .nanoseconds(Int64(NIODeadline.now().uptimeNanoseconds)))
    }
}
