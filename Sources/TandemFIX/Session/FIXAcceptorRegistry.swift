/// Which acceptor sessions are logged on, so a second Logon for a live session is refused
/// instead of hijacking it (a failed-over initiator whose old connection is not yet dead looks
/// exactly like this). The acceptor shell consults it before handing a connection its session.
public struct FIXAcceptorRegistry: Sendable, Hashable {
    /// The session as seen by the acceptor: the initiator's CompID and ours.
    public struct SessionKey: Sendable, Hashable {
        public var initiatorCompID: String
        public var acceptorCompID: String
        public init(initiatorCompID: String, acceptorCompID: String) {
            self.initiatorCompID = initiatorCompID
            self.acceptorCompID = acceptorCompID
        }
    }

    public enum Admission: Sendable, Hashable {
        case admitted(SessionKey)
        /// Send nothing on the live session; answer this connection with a Logout carrying
        /// `reason` (outside any session's sequence) and disconnect it.
        case refused(reason: String)
    }

    private var live: [SessionKey: UInt64] = [:]

    public init() {}

    public func isLive(_ key: SessionKey) -> Bool { live[key] != nil }

    /// Admits `connection` for the session a Logon names, unless another connection holds it.
    public mutating func admit(logon: FIXMessage, connection: UInt64) -> Admission {
        guard logon.msgType == .logon, let sender = logon.senderCompID, let target = logon.targetCompID else {
            return .refused(reason: "first message is not a Logon with SenderCompID and TargetCompID")
        }
        let key = SessionKey(initiatorCompID: sender, acceptorCompID: target)
        if let holder = live[key], holder != connection {
            return .refused(reason: "session \(sender)→\(target) is already logged on (connection \(holder))")
        }
        live[key] = connection
        return .admitted(key)
    }

    /// Frees every session `connection` held; call when it disconnects.
    public mutating func release(connection: UInt64) {
        live = live.filter { $0.value != connection }
    }
}
