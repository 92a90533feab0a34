import Foundation
import TandemCore
import TandemCrypto
import TandemExecution
import TandemFIX
import TandemJournal
import TandemNode
import TandemPostgres
import TandemPostgresTestKit
import TandemVenue
import TandemWatchdog
import Testing

/// `tandem watchdog` as a real process against a `tandem venue` process, engine nodes and a private
/// PostgreSQL: limit breaches, signed commands, FLATTEN with both nodes dead, a restart mid-FLATTEN.
@Suite("Risk watchdog as a process", .embeddedPostgres, .serialized, .timeLimit(.minutes(3)))
struct WatchdogProcessTests {
    static let key = [UInt8](repeating: 0x5A, count: 32)

    @Test("daily loss breached → HALT within a cycle: lease halted with a new epoch, HALT journaled, leader fenced, engine orders cancelled")
    func dailyLossHalts() async throws {
        let dsn = try await freshClusterDatabase()
        // A market that jumps 10 % every 2 s: a market maker one tick around the mid is run over at every jump.
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("whipsaw-\(getpid())-\(UInt32.random(in: 0..<UInt32.max)).csv")
        try """
            time,instrument,price
            0,ACME,100.00
            1999000000,ACME,100.00
            2000000000,ACME,90.00
            3999000000,ACME,90.00
            """.write(to: csv, atomically: true, encoding: .utf8)
        let venue = try await VenueProcess.start { c in
            c.market.replay = .init(csv: csv.path, speed: "1", loop: true)
            c.sessions.append(VenueSession(compID: "TEST-DC", role: .dropCopy))
        }
        defer { Task { await venue.child.stop() } }
        let dropCopy = TestSession(compID: "TEST-DC", port: venue.fixPort)
        let sessions = Task { await dropCopy.run() }
        defer { sessions.cancel() }
        let node = try startNode(id: "node-a", dsn: dsn, venue: venue)
        defer { Task { await node.stop() } }
        try await eventually("node-a to lead", context: { node.output }) {
            try await nodeRows(dsn).contains { $0.nodeID == "node-a" && $0.role == "leader" }
        }
        let watchdog = try startWatchdog(dsn: dsn, venue: venue, limits: "maxDailyLoss: \"50\"")
        defer { Task { await watchdog.stop() } }

        try await eventually("the watchdog to halt the lease", seconds: 30, context: { watchdog.output + node.output }) {
            try await lease(dsn).halted
        }
        let halted = try await lease(dsn)
        #expect(halted.holder == "watchdog:wd-test")
        #expect(halted.haltReason?.hasPrefix("daily_loss") == true, "\(halted)")
        #expect(watchdog.output.contains("HALT"))
        // The HALT is in the journal at the halted epoch (journaled right after the lease is halted); the
        // node's appends stopped before it.
        var events: [(seq: UInt64, epoch: UInt64, event: JournalEvent)] = []
        try await eventually("the HALT journaled", context: { watchdog.output }) {
            events = try await replay(dsn).1
            return events.contains { if case .riskCommand(let c) = $0.event { c.action == .halt } else { false } }
        }
        let halt = try #require(events.last { if case .riskCommand(let c) = $0.event { c.action == .halt } else { false } }, "no HALT journaled")
        #expect(halt.epoch == halted.epoch)
        #expect(events.allSatisfy { $0.epoch <= halted.epoch })
        // The node lost the lease and stopped leading.
        try await eventually("node-a to stop leading", context: { node.output }) {
            try await !nodeRows(dsn).contains { $0.nodeID == "node-a" && $0.role == "leader" }
        }
        // The engine's orders at the venue are cancelled (the test's own drop copy: every engine order ends).
        try await eventually("every engine order at the venue ended", context: { watchdog.output }) {
            var open: [String: Bool] = [:]
            for r in dropCopy.executionReports {
                guard let id = r.clOrdID?.rawValue, !id.hasPrefix("WD-") else { continue }
                open[r.orderID] = !(r.ordStatus.isFinal || r.execType == .rejected)
            }
            return !open.isEmpty && !open.values.contains(true)
        }
        let state = try await watchdogState(dsn)
        #expect(state.mode == "halted")
        // `tandem status --json` tells it from the database alone: the halt, why, the engine's mode, the watchdog's.
        let status = try Child("status", arguments: ["status", "--dsn", dsn, "--json"])
        status.process.waitUntilExit()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any], "\(status.output)")
        #expect(json["halted"] as? Bool == true)
        #expect((json["haltReason"] as? String)?.hasPrefix("daily_loss") == true)
        #expect(json["riskMode"] as? String == "halted")
        #expect((json["watchdog"] as? [String: Any])?["mode"] as? String == "halted")
        // Still halted a moment later: no node took the lease back.
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await lease(dsn).halted)
        try? FileManager.default.removeItem(at: csv)
    }

    @Test("forged and replayed commands are refused and reported; a signed HALT halts; RESUME lets the node lead again")
    func signedCommands() async throws {
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        defer { Task { await venue.child.stop() } }
        let node = try startNode(id: "node-a", dsn: dsn, venue: venue)
        defer { Task { await node.stop() } }
        try await eventually("node-a to lead", context: { node.output }) {
            try await nodeRows(dsn).contains { $0.nodeID == "node-a" && $0.role == "leader" }
        }
        let watchdog = try startWatchdog(dsn: dsn, venue: venue)
        defer { Task { await watchdog.stop() } }

        // Wrong key: refused, nothing halted.
        let forged = SignedCommand.sign(action: .halt, reason: "forged", issuedBy: "mallory", issuedNanos: nowNanos(), nonce: "nonce-forged-1",
                                        key: [UInt8](repeating: 0x11, count: 32))
        let forgedAnswer = try await submit(forged, dsn: dsn)
        #expect(forgedAnswer.status == "refused" && forgedAnswer.result.contains("signature"), "\(forgedAnswer)")
        #expect(try await !lease(dsn).halted)

        // A good HALT.
        let good = SignedCommand.sign(action: .halt, reason: "drill", issuedBy: "alice", issuedNanos: nowNanos(), nonce: "nonce-good-1", key: Self.key)
        let goodAnswer = try await submit(good, dsn: dsn)
        #expect(goodAnswer.status == "done", "\(goodAnswer)\n\(watchdog.output)")
        #expect(try await lease(dsn).halted)

        // The same bytes again (a replay), and a stale one: refused.
        let replayed = try await submit(good, dsn: dsn)
        #expect(replayed.status == "refused" && replayed.result.contains("replay"), "\(replayed)")
        let stale = SignedCommand.sign(action: .resume, reason: "old", issuedBy: "alice", issuedNanos: nowNanos() - 600_000_000_000,
                                       nonce: "nonce-stale-1", key: Self.key)
        let staleAnswer = try await submit(stale, dsn: dsn)
        #expect(staleAnswer.status == "refused" && staleAnswer.result.contains("freshness"), "\(staleAnswer)")
        #expect(watchdog.output.contains("refused an operator command"))
        #expect(try await lease(dsn).halted)

        // RESUME: the lease comes free and node-a leads again with a newer epoch.
        let haltEpoch = try await lease(dsn).epoch
        let resume = SignedCommand.sign(action: .resume, reason: "drill over", issuedBy: "alice", issuedNanos: nowNanos(), nonce: "nonce-resume-1",
                                        key: Self.key)
        #expect(try await submit(resume, dsn: dsn).status == "done")
        try await eventually("node-a to lead again", context: { node.output }) {
            let l = try await lease(dsn)
            return !l.halted && l.holder == "node-a" && l.epoch > haltEpoch
        }
        let (_, events) = try await replay(dsn)
        let actions = events.compactMap { if case .riskCommand(let c) = $0.event { c.action } else { nil } }
        #expect(actions == [.halt, .resume])
        #expect(try await watchdogState(dsn).mode == "normal")
    }

    @Test("both nodes SIGKILLed with open positions → FLATTEN brings the venue's position to zero, even with the watchdog SIGKILLed mid-flatten")
    func flattenWithBothNodesDead() async throws {
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start { c in
            c.sessions.append(VenueSession(compID: "TEST-DC", role: .dropCopy))
            c.sessions.append(VenueSession(compID: "TEST-RISK", role: .risk))
        }
        defer { Task { await venue.child.stop() } }
        let dropCopy = TestSession(compID: "TEST-DC", port: venue.fixPort)
        let taker = TestSession(compID: "TAKER", port: venue.fixPort)
        let testRisk = TestSession(compID: "TEST-RISK", port: venue.fixPort)
        let sessions = Task {
            await withTaskGroup(of: Void.self) { g in
                g.addTask { await dropCopy.run() }; g.addTask { await taker.run() }; g.addTask { await testRisk.run() }
            }
        }
        defer { sessions.cancel() }
        let (a, b) = try await startPair(dsn: dsn, venue: venue)
        defer { Task { await a.stop(); await b.stop() } }
        try await eventually("the node's quotes acknowledged", seconds: 30, context: { a.output }) {
            let (ledger, _) = try await replay(dsn)
            return ledger.state.openOrders.filter { $0.status == .new }.count >= 2
        }
        // The taker hits the node's bid: the engine is long at the venue. (Again if the bid was being
        // re-quoted at that instant and only the synthetic market's bids were hit.)
        try await eventually("the taker and the test's drop copy logged on") { taker.isLoggedOn && dropCopy.isLoggedOn }
        var sweeps = 0
        try await eventually("the engine holds a position at the venue", seconds: 45, context: { String(a.output.suffix(3000)) + String(b.output.suffix(2000)) }) {
            if venueNet(dropCopy, account: "ACC1") > 0 { return true }
            sweeps += 1
            try await taker.initiator.send(NewOrderSingle(clOrdID: ClOrdID("T\(sweeps)"), account: nil, symbol: "ACME", side: .sell,
                                                          transactTime: FIXClock.now().utc, orderQty: try Quantity("2000"),
                                                          orderType: .limit(try Price("0.01")), timeInForce: .immediateOrCancel))
            try await Task.sleep(for: .milliseconds(500))
            return venueNet(dropCopy, account: "ACC1") > 0
        }

        // Both nodes die. The watchdog starts with its order session blocked at the venue, so its FLATTEN
        // cannot finish, and is killed in the middle of it.
        a.signal(SIGKILL)
        b.signal(SIGKILL)
        a.process.waitUntilExit()
        b.process.waitUntilExit()
        try await eventually("the test's risk session logged on") { testRisk.isLoggedOn }
        // Wait for the venue's answer: the block must be in force before the watchdog's first order.
        #expect(try await testRisk.killSwitch(.block, target: "TANDEM-WD", id: "TB1") == "OK")
        let first = try startWatchdog(dsn: dsn, venue: venue)
        let flatten = SignedCommand.sign(action: .flatten, reason: "both nodes dead", issuedBy: "alice", issuedNanos: nowNanos(),
                                         nonce: "nonce-flatten-1", key: Self.key)
        #expect(try await submit(flatten, dsn: dsn).status == "done", "\(first.output)")
        try await eventually("the watchdog to try flattening", seconds: 30, context: { first.output }) {
            first.output.contains("FLATTEN: offsetting order sent")
        }
        #expect(try await watchdogState(dsn).mode == "flattening")
        #expect(venueNet(dropCopy, account: "ACC1") > 0, "blocked, nothing can have been closed yet")
        first.signal(SIGKILL)
        first.process.waitUntilExit()

        // Unblocked, a new watchdog process reads FLATTENING from PostgreSQL and finishes the job.
        #expect(try await testRisk.killSwitch(.unblock, target: "TANDEM-WD", id: "TB2") == "OK")
        let second = try startWatchdog(dsn: dsn, venue: venue)
        defer { Task { await second.stop() } }
        try await eventually("the venue's position to be flat", seconds: 30, context: { second.output }) {
            venueNet(dropCopy, account: "ACC1") == 0
        }
        try await eventually("the watchdog to report the flatten complete", context: { second.output }) {
            try await watchdogState(dsn).mode == "halted"
        }
        #expect(second.output.contains("flatten complete"))
        #expect(try await lease(dsn).halted, "no node may lead after a FLATTEN until an operator resumes")
    }

    // MARK: Helpers

    private func startWatchdog(dsn: String, venue: VenueProcess, limits: String = "") throws -> Child {
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("wd-key-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))")
        try Self.key.hexString.write(to: keyFile, atomically: true, encoding: .utf8)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("wd-\(getpid())-\(UInt32.random(in: 0..<UInt32.max)).yaml")
        try LocalClusterConfig.watchdogYAML(
            id: "wd-test", dsn: dsn, fixPort: venue.fixPort, feedPort: venue.feedPort, keyFile: keyFile.path,
            limits: ["staleLeaderMillis: 60000", "disagreementGraceMillis: 60000"] + (limits.isEmpty ? [] : [limits]),
            extra: "cycleMillis: 50").write(to: file, atomically: true, encoding: .utf8)
        return try Child("watchdog", arguments: ["watchdog", "--config", file.path])
    }

    private func lease(_ dsn: String) async throws -> LeaseState {
        let conn = try await PostgresConnection.connect(dsn)
        let l = try await conn.withConnection { c in try Lease.read(c) }
        await conn.close()
        return l
    }

    private func watchdogState(_ dsn: String) async throws -> (mode: String, blocked: Bool) {
        let conn = try await PostgresConnection.connect(dsn)
        let r = try await conn.withConnection { c in try c.query("SELECT mode, blocked FROM tandem.watchdog_state WHERE id = 1") }
        await conn.close()
        return (try r[0].decode(String.self, at: 0), try r[0].decode(Bool.self, at: 1))
    }

    private func submit(_ command: SignedCommand, dsn: String) async throws -> CommandQueue.Answer {
        try #require(try await CommandQueue.submit(command, dsn: dsn, timeout: .seconds(20)), "the watchdog did not answer \(command.action)")
    }

    private func nowNanos() -> Int64 { FIXClock.now().utc.nanosecondsSinceEpoch }

    /// The account's net quantity of ACME by the test's own drop copy (each ExecID once).
    private func venueNet(_ dropCopy: TestSession, account: String) -> Int64 {
        var seen: Set<String> = []
        var net: Int64 = 0
        for r in dropCopy.executionReports where r.execType == .trade && r.account?.rawValue == account {
            guard seen.insert(r.execID).inserted, let q = r.lastQty else { continue }
            net += r.side == .buy ? q.units : -q.units
        }
        return net
    }
}
