import Foundation
import Synchronization
import TandemCore
import TandemExecution
import TandemFIX
import TandemJournal
import TandemNode
import TandemPostgres

/// Runs the drill's runs one after the other on one cluster (kept between runs).
final class DrillRunner: Sendable {
    let cluster: DrillCluster
    let options: DrillOptions
    let progress: @Sendable (String) -> Void
    /// ExecIDs already counted as lost and ClOrdIDs already counted as duplicated/unknown, so each is counted once.
    private let counted = Mutex<(lost: Set<String>, duplicated: Set<String>)>(([], []))

    init(cluster: DrillCluster, options: DrillOptions, progress: @escaping @Sendable (String) -> Void) {
        self.cluster = cluster
        self.options = options
        self.progress = progress
    }

    var lease: Duration { .milliseconds(options.leaseMillis) }

    func runAll() async throws -> DrillSummary {
        for id in DrillCluster.nodeIDs {
            progress("starting \(id)")
            try cluster.startNode(id)
            try await Task.sleep(for: .milliseconds(700))
        }
        var rng = SplitMix64(seed: options.seed)
        var results: [DrillRunResult] = []
        for run in 1...options.runs {
            let scenario = options.scenario == .random
                ? DrillScenario.concrete[Int(rng.next() % UInt64(DrillScenario.concrete.count))] : options.scenario
            do {
                let result = try await runOnce(run, scenario)
                progress(result.line)
                results.append(result)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // The cluster did not get ready or recover: the run fails, and the drill stops here
                // (later runs would start from a broken cluster) with what it has — checked all the same.
                let checks = try? await check(faultAt: .now)
                let audit = await cluster.audit()
                let failed = DrillRunResult(run: run, scenario: scenario.rawValue, leaderBefore: "?", epochBefore: 0, leaderAfter: nil,
                                            epochAfter: nil, rtoMs: nil, takeoverMs: nil, firstOrder: nil, lostFills: checks?.newLost ?? 0,
                                            duplicateOrders: checks?.newDuplicated ?? 0, unknownOrders: checks?.unknown ?? 0,
                                            positionsMatch: checks?.positionsMatch ?? false, journalNet: checks?.journalNet ?? "?",
                                            dropCopyNet: checks?.dropCopyNet ?? "?", auditOK: audit?.isValid ?? false,
                                            journalHead: checks?.head ?? 0, notes: ["\(error)"] + (checks?.notes ?? []))
                progress(failed.line)
                results.append(failed)
                break
            }
        }
        let totals = counted.withLock { ($0.lost.count, $0.duplicated.count) }
        return DrillSummary(scenario: options.scenario.rawValue, requestedRuns: options.runs, seed: options.scenario == .random ? options.seed : nil,
                            results: results, lostFills: totals.0, duplicateOrders: totals.1, logDirectory: options.logDirectory)
    }

    // MARK: One run

    struct Ready {
        var leader: String
        var epoch: UInt64
        var standby: String
    }

    func runOnce(_ run: Int, _ scenario: DrillScenario) async throws -> DrillRunResult {
        let ready = try await waitReady(timeout: .seconds(60), what: "run \(run): a leader, a caught-up standby and working orders")
        let head = await cluster.journalHead() ?? 0
        var notes: [String] = []
        progress("run \(run) \(scenario.rawValue): leader \(ready.leader) at epoch \(ready.epoch), standby \(ready.standby), journal head \(head)")

        // The fault's instant part, then (concurrently with the measurement) what happens while it lasts.
        let t0 = ContinuousClock.now
        let sameEpochCounts: Bool
        switch scenario {
        case .killLeader:
            await cluster.killNode(ready.leader)
            sameEpochCounts = false
        case .pauseLeader:
            cluster.node(ready.leader)?.signal(SIGSTOP)
            sameEpochCounts = false
        case .killBothRestart:
            await cluster.killNode(ready.leader)
            await cluster.killNode(ready.standby)
            sameEpochCounts = false
        case .venueDisconnect:
            let answer = try await cluster.risk.killSwitch(target: "TANDEM", action: .disconnect, requestID: "D\(run)")
            if answer != "OK" { notes.append("venue answered DISCONNECT with \(answer)") }
            sameEpochCounts = true
        case .restartPostgres:
            sameEpochCounts = true
        case .cutLeaderFromPostgres:
            guard let proxy = cluster.proxies[ready.leader] else { throw DrillError("no proxy for \(ready.leader): the cluster was not started proxied") }
            proxy.cut()
            sameEpochCounts = false
        case .random:
            throw DrillError("random picks a concrete scenario per run")
        }

        let headAtFault = head
        async let measured = measure(from: t0, epoch: ready.epoch, head: headAtFault, sameEpochCounts: sameEpochCounts,
                                     afterLogon: scenario == .venueDisconnect)
        var during: [String] = []
        do {
            switch scenario {
            case .pauseLeader:
                try await Task.sleep(until: t0 + lease + .milliseconds(500))
                cluster.node(ready.leader)?.signal(SIGCONT)
                during.append("\(ready.leader) stopped for \((ContinuousClock.now - t0).drillMilliseconds) ms")
            case .killBothRestart:
                for id in [ready.leader, ready.standby] { try cluster.startNode(id) }
            case .restartPostgres:
                let pg = cluster.pg
                try await runOnDedicatedThread(name: "drill-pg-restart") {
                    try pg.stopServerKeepingData(mode: "fast")
                    try pg.restartBlocking()
                }
                during.append("PostgreSQL down and back in \((ContinuousClock.now - t0).drillMilliseconds) ms")
            case .cutLeaderFromPostgres:
                try await Task.sleep(until: t0 + lease + .milliseconds(500))
                cluster.proxies[ready.leader]?.heal()
                during.append("\(ready.leader) cut from PostgreSQL for \((ContinuousClock.now - t0).drillMilliseconds) ms")
            default: break
            }
        } catch {
            _ = await measured
            throw error
        }
        let m = await measured
        notes += during

        // Recovery after the measurement: the killed leader comes back as the standby.
        if scenario == .killLeader { try cluster.startNode(ready.leader) }

        let after = try await waitReady(timeout: .seconds(60), what: "run \(run): the cluster to recover (leader and caught-up standby)",
                                        requireOrdersOfEpoch: false)
        if scenario == .venueDisconnect, after.epoch != ready.epoch { notes.append("the leader changed (not expected for a venue disconnect)") }
        if scenario == .pauseLeader || scenario == .cutLeaderFromPostgres, after.leader == ready.leader, after.epoch > ready.epoch {
            notes.append("\(ready.leader) led again at epoch \(after.epoch)")
        }
        try await Task.sleep(for: options.settle)
        let checks = try await check(faultAt: t0)
        let audit = await cluster.audit()
        if let failure = audit?.failure { notes.append("audit: \(failure.message)") }
        if audit == nil { notes.append("audit: could not read the journal") }
        return DrillRunResult(run: run, scenario: scenario.rawValue, leaderBefore: ready.leader, epochBefore: ready.epoch,
                              leaderAfter: after.leader, epochAfter: after.epoch, rtoMs: m.rto?.drillMilliseconds,
                              takeoverMs: m.takeover?.drillMilliseconds, firstOrder: m.firstOrder,
                              lostFills: checks.newLost, duplicateOrders: checks.newDuplicated, unknownOrders: checks.unknown,
                              positionsMatch: checks.positionsMatch, journalNet: checks.journalNet, dropCopyNet: checks.dropCopyNet,
                              auditOK: audit?.isValid ?? false, journalHead: checks.head, notes: notes + checks.notes)
    }

    // MARK: Waiting for a ready cluster

    /// A lease holder leading by its status row, the other node a fresh standby within a few seqs of the
    /// head, and (when asked) an order of the leader's epoch acknowledged by the venue.
    func waitReady(timeout: Duration, what: String, requireOrdersOfEpoch: Bool = true) async throws -> Ready {
        let deadline = ContinuousClock.now + timeout
        var last = "no lease read yet"
        while ContinuousClock.now < deadline {
            if let lease = await cluster.lease(), let rows = await cluster.nodeRows() {
                if let holder = lease.holder, !lease.halted {
                    let leaderRow = rows.first { $0.nodeID == holder && $0.role == "leader" && $0.epoch == lease.epoch && $0.ageMilliseconds < 1000 }
                    let standbyRow = rows.first { $0.nodeID != holder && $0.role == "standby" && $0.ageMilliseconds < 1000 && $0.lagSeqs <= 5 }
                    let working = !requireOrdersOfEpoch || cluster.dropCopy.executionReports.contains {
                        $0.isAcknowledgement && $0.clOrdIDParts?.epoch == lease.epoch
                    }
                    if leaderRow != nil, let standbyRow, working {
                        return Ready(leader: holder, epoch: lease.epoch, standby: standbyRow.nodeID)
                    }
                    last = "lease \(holder)@\(lease.epoch); rows " + rows.map { "\($0.nodeID)=\($0.role)(lag \($0.lagSeqs), age \($0.ageMilliseconds) ms)" }.joined(separator: " ")
                        + (working ? "" : "; no order of epoch \(lease.epoch) acknowledged yet")
                } else {
                    last = "no lease holder (epoch \(lease.epoch)\(lease.halted ? ", halted" : ""))"
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw DrillError("timed out after \(timeout) waiting for \(what): \(last); logs in \(options.logDirectory)")
    }

    // MARK: Measuring

    struct Measurement: Sendable {
        var rto: Duration?
        var takeover: Duration?
        var firstOrder: String?
    }

    /// Polls the lease (takeover: a new epoch with a holder) and the drop copy (RTO: the first New or
    /// Replaced after the fault for an order of a newer epoch — or, where the epoch may stay, of the same
    /// epoch at a journal position past the head at the fault) every 5 ms.
    ///
    /// With `afterLogon` (venue-disconnect) a same-epoch order counts only if it was journaled after
    /// the node's first Logon journaled after the fault: it was sent on the new connection, not one that
    /// crossed the disconnect.
    func measure(from t0: ContinuousClock.Instant, epoch: UInt64, head: UInt64, sameEpochCounts: Bool, afterLogon: Bool = false) async -> Measurement {
        var m = Measurement()
        let deadline = t0 + options.rtoTimeout
        var scanned = 0
        var head = head
        var logonSeen = !afterLogon
        while ContinuousClock.now < deadline {
            if !logonSeen {
                _ = try? await cluster.catchUp()
                if let logon = cluster.logons.withLock({ $0.first { $0 > head } }) {
                    head = logon
                    logonSeen = true
                    scanned = 0
                }
            }
            if m.takeover == nil, let lease = await cluster.lease(), lease.epoch > epoch, lease.holder != nil {
                m.takeover = ContinuousClock.now - t0
            }
            if m.rto == nil, logonSeen {
                let reports = cluster.dropCopy.executionReports
                for r in reports[scanned...] where r.at > t0 && r.isAcknowledgement {
                    guard let (e, p) = r.clOrdIDParts else { continue }
                    if e > epoch || (sameEpochCounts && e == epoch && p > head) {
                        m.rto = r.at - t0
                        m.firstOrder = r.report.clOrdID?.rawValue
                        break
                    }
                }
                scanned = reports.count
            }
            // Done once the order came and the lease moved, or the order came in the same epoch.
            if m.rto != nil, m.takeover != nil || sameEpochCounts { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return m
    }

    // MARK: Checks

    struct Checks {
        var newLost = 0
        var newDuplicated = 0
        var unknown = 0
        var positionsMatch = false
        var journalNet = "?"
        var dropCopyNet = "?"
        var head: UInt64 = 0
        var notes: [String] = []
    }

    /// Compares the drop copy with the journal, retrying (up to 10 s) while they race: the venue's
    /// takers keep filling the quotes, so a snapshot counts only when no report arrived during the read.
    func check(faultAt t0: ContinuousClock.Instant) async throws -> Checks {
        let deadline = ContinuousClock.now + .seconds(10)
        var c = Checks()
        var lost: Set<String> = []
        var duplicated: Set<String> = []
        var detail: [String] = []
        while true {
            let reports = cluster.dropCopy.executionReports
            let ledger: ExecutionLedger
            do { ledger = try await cluster.catchUp() } catch {
                c.notes = ["journal read failed: \(error)"]
                if ContinuousClock.now > deadline { break }
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            let stable = cluster.dropCopy.reportCount == reports.count

            var trades: [String: ExecutionReport] = [:]
            var acks: [String: Set<String>] = [:]
            for seen in reports {
                let r = seen.report
                if r.execType == .trade { trades[r.execID] = r }
                if seen.isAcknowledgement, let id = r.clOrdID?.rawValue { acks[id, default: []].insert(r.execID) }
            }
            var known = Set(ledger.state.allOrders.map(\.clOrdID.rawValue))
            for o in ledger.state.openOrders { if let next = o.pendingReplace?.newClOrdID { known.insert(next.rawValue) } }
            lost = Set(trades.keys.filter { !ledger.bookedExecIDs.contains($0) })
            let twice = Set(acks.filter { $0.value.count > 1 }.keys)
            let unknown = Set(acks.keys.filter { !known.contains($0) })
            duplicated = twice.union(unknown)
            c.unknown = unknown.count
            var dropNet: Int64 = 0
            for r in trades.values { if let q = r.lastQty { dropNet += r.side == .buy ? q.units : -q.units } }
            let journalNet = ledger.state.position(account: AccountID("ACC1"), instrument: InstrumentID(1))?.netQuantity ?? .zero
            c.positionsMatch = journalNet.units == dropNet
            c.journalNet = "\(journalNet)"
            c.dropCopyNet = "\(Quantity(units: dropNet))"
            c.head = ledger.lastSeq
            c.notes = []
            detail = reports.filter { lost.contains($0.report.execID) }.prefix(5).map { seen in
                let r = seen.report
                let order = r.clOrdID.flatMap { ledger.state.order($0) }
                return "\(r.execID) \(r.clOrdID?.rawValue ?? "-") \(r.side) \(r.lastQty.map { "\($0)" } ?? "?") at \((seen.at - t0).drillMilliseconds) ms after the fault"
                    + " (journal: \(order.map { "\($0.status) filled \($0.filledQuantity)" } ?? "order unknown"))"
            }
            if stable, lost.isEmpty, c.positionsMatch, duplicated.isEmpty { break }
            if ContinuousClock.now > deadline {
                if !stable { c.notes.append("the drop copy never stood still during a journal read") }
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let (newLost, newDup) = counted.withLock { counted -> (Int, Int) in
            let l = lost.subtracting(counted.lost)
            let d = duplicated.subtracting(counted.duplicated)
            counted.lost.formUnion(l)
            counted.duplicated.formUnion(d)
            return (l.count, d.count)
        }
        c.newLost = newLost
        c.newDuplicated = newDup
        if !lost.isEmpty { c.notes.append("fills not in the journal: " + detail.joined(separator: ", ")) }
        if !duplicated.isEmpty { c.notes.append("acknowledged twice or unknown to the journal: \(duplicated.sorted().prefix(5).joined(separator: ","))") }
        return c
    }
}

/// A small seeded generator for `random` (the same seed draws the same scenarios).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
