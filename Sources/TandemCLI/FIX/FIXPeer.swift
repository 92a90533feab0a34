import ArgumentParser
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TandemCore
import TandemFIX
import TandemFIXTestKit

/// `tandem fix …`: FIX test peers. They exercise a counterparty (QuickFIX in the interop run, a
/// venue, another Tandem) with a fixed script and print a JSON summary; they are not the node.
struct FIXCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fix",
        abstract: "FIX 4.4 test peers: a scripted initiator and a filling acceptor.",
        discussion: """
            `tandem fix initiator` logs on, sends orders, waits for a fill of each and logs out. \
            `tandem fix acceptor` fills every NewOrderSingle at its limit price. Both can lose \
            chosen outbound messages (`--drop-outbound`) to make the counterparty recover a gap. \
            interop/quickfix/run-interop.sh runs them against QuickFIX.
            """,
        subcommands: [FIXInitiatorCommand.self, FIXAcceptorCommand.self]
    )
}

struct FIXPeerOptions: ParsableArguments {
    @Option(name: .customLong("sender-comp-id"), help: "Our SenderCompID(49).")
    var senderCompID: String

    @Option(name: .customLong("target-comp-id"), help: "The counterparty's CompID (TargetCompID(56) on what we send).")
    var targetCompID: String

    @Option(name: .customLong("drop-outbound"),
            help: "Lose our Nth outbound application message (1-based; repeatable): stored and its MsgSeqNum used, never written.")
    var dropOutbound: [Int] = []

    @Option(help: "Give up after this many seconds (exit code 3).")
    var timeout: Int = 30

    @Flag(help: "Log FIX session events to stderr.")
    var verbose = false

    func validate() throws {
        guard !senderCompID.isEmpty, !targetCompID.isEmpty else { throw ValidationError("--sender-comp-id and --target-comp-id must not be empty") }
        guard dropOutbound.allSatisfy({ $0 > 0 }) else { throw ValidationError("--drop-outbound counts from 1") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    var logger: Logger {
        var l = Logger(label: "tandem.fix")
        l.logLevel = verbose ? .debug : .warning
        return l
    }
}

/// Counts of what a peer saw, printed as its last line.
struct PeerSummary {
    var gapsDetected = 0
    var resendRequestsSent = 0
    var resendRequestsAnswered = 0
    var possDupResent = 0
    var gapFillsSent = 0
    var rejectsSent = 0
    var loggedOn = 0
    var loggedOut: [String] = []

    mutating func record(_ e: SessionEvent) {
        switch e {
        case .gapDetected: gapsDetected += 1
        case .resendRequested: resendRequestsSent += 1
        case .resent(_, _, let n, let g):
            resendRequestsAnswered += 1
            possDupResent += n
            gapFillsSent += g
        case .rejectSent: rejectsSent += 1
        case .loggedOn: loggedOn += 1
        case .loggedOut(let r): loggedOut.append(r)
        default: break
        }
    }

    func json(_ extra: [(String, String)]) -> String {
        let fields: [(String, String)] = extra + [
            ("loggedOn", "\(loggedOn)"), ("gapsDetected", "\(gapsDetected)"), ("resendRequestsSent", "\(resendRequestsSent)"),
            ("resendRequestsAnswered", "\(resendRequestsAnswered)"), ("possDupResent", "\(possDupResent)"),
            ("gapFillsSent", "\(gapFillsSent)"), ("rejectsSent", "\(rejectsSent)"),
            ("loggedOut", "[" + loggedOut.map { jsonString($0) }.joined(separator: ",") + "]"),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
        switch ch {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default:
            if ch.value < 0x20 { out += "\\u" + String(ch.value, radix: 16).leftPadded(to: 4) } else { out.unicodeScalars.append(ch) }
        }
    }
    return out + "\""
}

extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}

func describe(_ e: SessionEvent) -> String {
    switch e {
    case .loggedOn(let hb, let reset): "LOGON heartBtInt=\(hb) reset=\(reset)"
    case .loggedOut(let r): "LOGOUT reason=\(r)"
    case .gapDetected(let x, let r): "GAP expected=\(x) received=\(r)"
    case .resendRequested(let b, let e): "RESEND_REQUEST_SENT begin=\(b) end=\(e)"
    case .resent(let b, let e, let n, let g): "RESENT begin=\(b) end=\(e) resent=\(n) gapFills=\(g)"
    case .gapFilled(let n): "GAP_FILLED next=\(n)"
    case .rejectSent(let ref, let reason, let text): "REJECT_SENT refSeqNum=\(ref) reason=\(reason) text=\(text)"
    case .sequenceReset(let n): "SEQUENCE_RESET new=\(n)"
    case .garbledIgnored(let err): "GARBLED \(err)"
    case .duplicateIgnored(let s): "DUPLICATE_IGNORED seq=\(s)"
    case .testRequestSent: "TEST_REQUEST_SENT"
    case .sendRefused(let r): "SEND_REFUSED \(r)"
    }
}

struct FIXInitiatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "initiator",
        abstract: "Log on, send orders, wait for a fill of each, log out; print a JSON summary.",
        discussion: "Exit code 0 when every order was filled, 1 when the session ended first, 3 on timeout."
    )

    @Option(help: "Counterparty host.")
    var host = "127.0.0.1"

    @Option(help: "Counterparty port.")
    var port: Int

    @OptionGroup var peer: FIXPeerOptions

    @Option(help: "HeartBtInt(108) in seconds.")
    var heartbeat = 30

    @Option(help: "How many NewOrderSingle to send (ClOrdID T1, T2, …).")
    var orders = 5

    @Option(name: .customLong("gap-order"), help: "Give this order (1-based) the ClOrdID GAP<n>: a QuickFIX executor then skips two of its seqs.")
    var gapOrder: Int?

    @Option(help: "Symbol(55).")
    var symbol = "TST"

    @Option(help: "Limit price.")
    var price = "10.25"

    @Option(help: "Order quantity.")
    var quantity = "100"

    @Flag(name: .customLong("reset-seq-num"), help: "Send ResetSeqNumFlag=Y on Logon.")
    var resetSeqNum = false

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535, got \(port)") }
        guard orders > 0 else { throw ValidationError("--orders must be positive") }
        do { _ = try Price(price); _ = try Quantity(quantity) } catch { throw ValidationError("--price/--quantity: \(error)") }
    }

    func run() async throws {
        var session = FIXSessionConfig(role: .initiator, senderCompID: peer.senderCompID, targetCompID: peer.targetCompID,
                                       heartBtInt: heartbeat)
        session.resetSeqNumOnLogon = resetSeqNum
        let initiator = FIXInitiator(
            configuration: .init(host: host, port: port, session: session, reconnect: false,
                                 faults: FIXFaultInjection(dropApplicationMessages: Set(peer.dropOutbound))),
            store: InMemoryFIXStore(), logger: peer.logger)
        let px = try Price(price)
        let qty = try Quantity(quantity)
        let ids = (1...orders).map { $0 == gapOrder ? "GAP\($0)" : "T\($0)" }
        // The initiator ends on its own when its session does (no reconnect): a normal end, not a failure;
        // the outcome comes from the events.
        let group = ServiceGroup(configuration: .init(services: [.init(service: initiator, successTerminationBehavior: .gracefullyShutdownGroup)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: peer.logger))
        let outcome = try await withThrowingTaskGroup(of: Outcome?.self) { tasks in
            tasks.addTask { try await group.run(); return nil }
            tasks.addTask {
                var summary = PeerSummary()
                var filled = Set<String>()
                var possDupExecs = 0
                var sent = false
                var result = "session ended"
                for await event in initiator.events {
                    switch event.kind {
                    case .session(let e):
                        print("TANDEM \(describe(e))")
                        summary.record(e)
                        if case .loggedOn = e, !sent {
                            sent = true
                            for id in ids {
                                let now = FIXClock.now().utc
                                let nos = NewOrderSingle(clOrdID: ClOrdID(id), account: nil, symbol: symbol, side: .buy,
                                                         transactTime: now, orderQty: qty, orderType: .limit(px), timeInForce: .day)
                                try await initiator.send(nos)
                            }
                        }
                    case .message(let m):
                        if case .executionReport(let er) = m.typed, let id = er.clOrdID?.rawValue {
                            print("TANDEM EXEC clOrdID=\(id) ordStatus=\(Character(Unicode.Scalar(er.ordStatus.rawValue))) possDup=\(m.message.possDupFlag ? "Y" : "N")")
                            if m.message.possDupFlag { possDupExecs += 1 }
                            if er.ordStatus == .filled { filled.insert(id) }
                            if filled.count == ids.count, result != "ok" {
                                result = "ok"
                                initiator.logout(text: "done")
                            }
                        }
                    case .connected, .disconnected:
                        break
                    }
                }
                return Outcome(ok: result == "ok", line: summary.json([
                    ("result", jsonString(result)), ("orders", "\(ids.count)"), ("filled", "\(filled.count)"),
                    ("possDupExecs", "\(possDupExecs)"),
                ]))
            }
            tasks.addTask {
                try await Task.sleep(for: .seconds(peer.timeout))
                return Outcome(ok: false, line: "{\"result\":\"timeout\"}", timedOut: true)
            }
            var first: Outcome?
            while first == nil, let next = try await tasks.next() { first = next }
            tasks.cancelAll()
            return first
        }
        print(outcome?.line ?? "{\"result\":\"no outcome\"}")
        if outcome?.timedOut == true { throw ExitCode(3) }
        if outcome?.ok != true { throw ExitCode(1) }
    }
}

struct Outcome: Sendable {
    var ok: Bool
    var line: String
    var timedOut = false
}

struct FIXAcceptorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acceptor",
        abstract: "Accept one FIX session and fill every NewOrderSingle at its limit price.",
        discussion: "With --exit-after-logout, exits 0 after the first session that logged on has logged out, printing a JSON summary; 3 on timeout."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port: Int

    @OptionGroup var peer: FIXPeerOptions

    @Flag(name: .customLong("exit-after-logout"), help: "Exit once the session has logged on and then out.")
    var exitAfterLogout = false

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535, got \(port)") }
    }

    func run() async throws {
        let session = FIXSessionConfig(role: .acceptor, senderCompID: peer.senderCompID, targetCompID: peer.targetCompID)
        let acceptor = FIXAcceptor<InMemoryFIXStore>(
            configuration: .init(host: host, port: port, sessions: [session],
                                 faults: FIXFaultInjection(dropApplicationMessages: Set(peer.dropOutbound))),
            makeStore: { _ in InMemoryFIXStore() }, logger: peer.logger, application: { [FillingExecutor()] })
        // The acceptor ends on its own when its session does (no reconnect): a normal end, not a failure;
        // the outcome comes from the events.
        let group = ServiceGroup(configuration: .init(services: [.init(service: acceptor, successTerminationBehavior: .gracefullyShutdownGroup)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: peer.logger))
        let exitAfterLogout = self.exitAfterLogout
        let outcome = try await withThrowingTaskGroup(of: Outcome?.self) { tasks in
            tasks.addTask { try await group.run(); return nil }
            tasks.addTask {
                _ = try await acceptor.listeningPort()
                print("TANDEM LISTENING port=\(port)")
                var summary = PeerSummary()
                for await event in acceptor.events {
                    switch event.kind {
                    case .session(let e):
                        print("TANDEM \(describe(e))")
                        summary.record(e)
                        if case .loggedOut = e, exitAfterLogout, summary.loggedOn > 0 {
                            let stats = FillingExecutor.stats.withLock { $0 }
                            await group.triggerGracefulShutdown()
                            return Outcome(ok: true, line: summary.json([
                                ("result", "\"ok\""), ("orders", "\(stats.orders)"), ("possDupOrders", "\(stats.possDupOrders)"),
                            ]))
                        }
                    case .message(let m):
                        if case .newOrderSingle(let o) = m.typed {
                            print("TANDEM ORDER clOrdID=\(o.clOrdID.rawValue) possDup=\(m.message.possDupFlag ? "Y" : "N")")
                        }
                    case .connected, .disconnected:
                        break
                    }
                }
                return nil
            }
            tasks.addTask {
                try await Task.sleep(for: .seconds(peer.timeout))
                return Outcome(ok: false, line: "{\"result\":\"timeout\"}", timedOut: true)
            }
            var first: Outcome?
            while first == nil, let next = try await tasks.next() { first = next }
            if first != nil { await group.triggerGracefulShutdown() }
            tasks.cancelAll()
            return first
        }
        if let outcome { print(outcome.line) }
        if outcome?.timedOut == true { throw ExitCode(3) }
    }
}
