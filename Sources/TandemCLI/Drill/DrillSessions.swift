import Foundation
import Logging
import Synchronization
import TandemCore
import TandemFIX
import TandemVenue

/// An execution report the drill's drop copy received, with the time it arrived (the drill's clock).
struct SeenReport: Sendable {
    var report: ExecutionReport
    var at: ContinuousClock.Instant

    /// `"<epoch>-<journal position>"` → (epoch, position); nil for a ClOrdID not of that form.
    var clOrdIDParts: (epoch: UInt64, position: UInt64)? { report.clOrdID.flatMap { DrillClOrdID.parse($0.rawValue) } }
    var isAcknowledgement: Bool { report.execType == .new || report.execType == .replaced }
}

enum DrillClOrdID {
    static func parse(_ id: String) -> (epoch: UInt64, position: UInt64)? {
        let parts = id.split(separator: "-")
        guard parts.count == 2, let e = UInt64(parts[0]), let p = UInt64(parts[1]) else { return nil }
        return (e, p)
    }
}

/// The drill's own FIX sessions at the venue: the drop copy (TANDEM-DC: every execution report of
/// every order-entry session, each stamped with its arrival) and the risk session (TANDEM-RISK: the
/// `UKS` kill-switch/fault message). Both run in-process and reconnect by themselves.
final class DrillFIXSession: Sendable {
    let compID: String
    let initiator: FIXInitiator<InMemoryFIXStore>
    private let reports = Mutex<[SeenReport]>([])
    private let raw = Mutex<[FIXMessage]>([])
    private let loggedOn = Mutex(false)
    private let logonCount = Mutex(0)

    init(compID: String, port: Int, logger: Logger) {
        self.compID = compID
        let session = FIXSessionConfig(role: .initiator, senderCompID: compID, targetCompID: "VENUE", heartBtInt: 5)
        initiator = FIXInitiator(configuration: .init(host: "127.0.0.1", port: port, session: session, reconnectBase: .milliseconds(100)),
                                 store: InMemoryFIXStore(), logger: logger)
    }

    var executionReports: [SeenReport] { reports.withLock { $0 } }
    var reportCount: Int { reports.withLock { $0.count } }
    var isLoggedOn: Bool { loggedOn.withLock { $0 } }
    var rawMessages: [FIXMessage] { raw.withLock { $0 } }

    /// Runs the initiator and collects what it receives until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.initiator.run() }
            group.addTask {
                for await event in self.initiator.events {
                    switch event.kind {
                    case .message(let inbound):
                        switch inbound.typed {
                        case .executionReport(let r):
                            let now = ContinuousClock.now
                            self.reports.withLock { $0.append(SeenReport(report: r, at: now)) }
                        case .unknown(let m): self.raw.withLock { $0.append(m) }
                        default: break
                        }
                    case .session(.loggedOn):
                        self.loggedOn.withLock { $0 = true }
                        self.logonCount.withLock { $0 += 1 }
                    case .disconnected: self.loggedOn.withLock { $0 = false }
                    default: break
                    }
                }
            }
        }
    }

    /// Sends a `UKS` (risk session only) and waits up to `timeout` for its `UKR`; returns the result text (20004).
    func killSwitch(target: String, action: KillSwitch.Action, requestID: String, timeout: Duration = .seconds(5)) async throws -> String {
        try await initiator.send(KillSwitch.message(target: target, action: action, requestID: requestID))
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let answer = rawMessages.first(where: { $0.msgType.wireValue == KillSwitch.response.wireValue && $0.string(20003) == requestID }) {
                return answer.string(20004) ?? "?"
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw DrillError("the venue did not answer the risk session's \(action.rawValue) (request \(requestID)) within \(timeout)")
    }
}

struct DrillError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

