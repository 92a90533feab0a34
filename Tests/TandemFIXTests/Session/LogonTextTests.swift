import TandemCore
@testable import TandemFIX
import Testing

@Suite struct LogonTextTests {
    @Test("an acceptor with logonText answers a Logon with Text(58); the initiator logs on as usual")
    func acceptorLogonText() throws {
        var p = Pair()
        p.acceptor = FIXSession(config: FIXSessionConfig(role: .acceptor, senderCompID: "VENUE", targetCompID: "TANDEM",
                                                         logonText: "venue state reset at 2026-11-25T23:48:40Z"),
                                store: InMemoryFIXStore())
        var logons: [Logon] = []
        p.filter = { side, bytes in
            if side == "A", let m = try? FIXParser.parse(bytes), m.msgType == .logon, let l = try? Logon(parsing: m) { logons.append(l) }
            return true
        }
        p.connect()
        #expect(p.initiator.state == .active)
        #expect(logons.map(\.text) == ["venue state reset at 2026-11-25T23:48:40Z"])
    }
}
