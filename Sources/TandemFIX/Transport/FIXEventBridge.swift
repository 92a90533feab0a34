import NIOCore

/// Something that happened on a FIX connection, for consumers outside the event loop.
public struct FIXEvent: Sendable {
    public enum Kind: Sendable {
        case connected
        /// An application message, delivered in MsgSeqNum order, once.
        case message(FIXInbound)
        case session(SessionEvent)
        case disconnected
    }

    /// The session as the acceptor sees it (initiator CompID, acceptor CompID); nil before the Logon names it.
    public var session: FIXAcceptorRegistry.SessionKey?
    public var kind: Kind
}

/// The last handler in a FIX pipeline: forwards what reaches it into an `AsyncStream`. Application
/// handlers in front of it that consume a message (do not `fireChannelRead`) keep it from the stream.
final class FIXEventBridge: ChannelInboundHandler {
    typealias InboundIn = FIXInbound

    private let continuation: AsyncStream<FIXEvent>.Continuation
    private var key: FIXAcceptorRegistry.SessionKey?

    init(continuation: AsyncStream<FIXEvent>.Continuation, key: FIXAcceptorRegistry.SessionKey?) {
        self.continuation = continuation
        self.key = key
    }

    func channelActive(context: ChannelHandlerContext) {
        continuation.yield(FIXEvent(session: key, kind: .connected))
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(FIXEvent(session: key, kind: .message(unwrapInboundIn(data))))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let notice = event as? FIXSessionNotice {
            if let s = notice.session { key = s }
            continuation.yield(FIXEvent(session: key, kind: .session(notice.event)))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.yield(FIXEvent(session: key, kind: .disconnected))
        context.fireChannelInactive()
    }
}
