import Foundation

/// One run's figures and checks (the `per_run` objects of `--json`).
struct DrillRunResult: Codable, Sendable {
    var run: Int
    var scenario: String
    var leaderBefore: String
    var epochBefore: UInt64
    var leaderAfter: String?
    var epochAfter: UInt64?
    /// Fault → the first order acknowledged by the venue from the (new) leader; nil when none came within the timeout.
    var rtoMs: Int64?
    /// Fault → the lease row showing a new epoch with a holder (nil when the epoch did not move).
    var takeoverMs: Int64?
    /// The first acknowledged order's ClOrdID.
    var firstOrder: String?
    var lostFills: Int
    var duplicateOrders: Int
    /// Of `duplicateOrders`: orders the venue acknowledged that the journal does not know.
    var unknownOrders: Int
    var positionsMatch: Bool
    var journalNet: String
    var dropCopyNet: String
    var auditOK: Bool
    var journalHead: UInt64
    var notes: [String]

    var passed: Bool { rtoMs != nil && lostFills == 0 && duplicateOrders == 0 && positionsMatch && auditOK }

    enum CodingKeys: String, CodingKey {
        case run, scenario, notes
        case leaderBefore = "leader_before", epochBefore = "epoch_before", leaderAfter = "leader_after", epochAfter = "epoch_after"
        case rtoMs = "rto_ms", takeoverMs = "takeover_ms", firstOrder = "first_order"
        case lostFills = "lost_fills", duplicateOrders = "duplicate_orders", unknownOrders = "unknown_orders"
        case positionsMatch = "positions_match", journalNet = "journal_net", dropCopyNet = "drop_copy_net"
        case auditOK = "audit_ok", journalHead = "journal_head"
    }

    var line: String {
        let rto = rtoMs.map { "\($0) ms" } ?? "NOT MEASURED"
        let takeover = takeoverMs.map { "\($0) ms" } ?? "-"
        return "run \(run) \(scenario): \(leaderBefore)@\(epochBefore) → \(leaderAfter ?? "?")@\(epochAfter.map(String.init) ?? "?")"
            + "  RTO \(rto) (first order \(firstOrder ?? "-"))  takeover \(takeover)"
            + "  lost_fills \(lostFills)  duplicate_orders \(duplicateOrders)  positions_match \(positionsMatch) (journal \(journalNet), drop copy \(dropCopyNet))"
            + "  audit_ok \(auditOK)  head \(journalHead)" + (notes.isEmpty ? "" : "  [" + notes.joined(separator: "; ") + "]")
            + (passed ? "" : "  FAILED")
    }
}

/// The whole drill (`--json` prints this object).
struct DrillSummary: Codable, Sendable {
    var scenario: String
    var runs: Int
    var seed: UInt64?
    var rtoMsP50: Int64?
    var rtoMsMax: Int64?
    var takeoverMsP50: Int64?
    var takeoverMsMax: Int64?
    var lostFills: Int
    var duplicateOrders: Int
    var positionsMatch: Bool
    var auditOK: Bool
    var passed: Bool
    var logDirectory: String
    var perRun: [DrillRunResult]

    enum CodingKeys: String, CodingKey {
        case scenario, runs, seed, passed
        case rtoMsP50 = "rto_ms_p50", rtoMsMax = "rto_ms_max", takeoverMsP50 = "takeover_ms_p50", takeoverMsMax = "takeover_ms_max"
        case lostFills = "lost_fills", duplicateOrders = "duplicate_orders", positionsMatch = "positions_match", auditOK = "audit_ok"
        case logDirectory = "log_directory", perRun = "per_run"
    }

    init(scenario: String, requestedRuns: Int, seed: UInt64?, results: [DrillRunResult], lostFills: Int, duplicateOrders: Int, logDirectory: String) {
        self.scenario = scenario
        runs = requestedRuns
        self.seed = seed
        let rtos = results.compactMap(\.rtoMs).sorted()
        let takeovers = results.compactMap(\.takeoverMs).sorted()
        rtoMsP50 = Self.median(rtos)
        rtoMsMax = rtos.last
        takeoverMsP50 = Self.median(takeovers)
        takeoverMsMax = takeovers.last
        self.lostFills = lostFills
        self.duplicateOrders = duplicateOrders
        positionsMatch = !results.isEmpty && results.allSatisfy(\.positionsMatch)
        auditOK = !results.isEmpty && results.allSatisfy(\.auditOK)
        passed = results.count == requestedRuns && results.allSatisfy(\.passed) && lostFills == 0 && duplicateOrders == 0
        self.logDirectory = logDirectory
        perRun = results
    }

    /// The median (mean of the two middle values for an even count), in whole ms.
    static func median(_ sorted: [Int64]) -> Int64? {
        guard !sorted.isEmpty else { return nil }
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    var text: String {
        func ms(_ v: Int64?) -> String { v.map { "\($0) ms" } ?? "-" }
        return """
            \(scenario): \(perRun.count)/\(runs) runs\(seed.map { " (seed \($0))" } ?? "")  RTO p50 \(ms(rtoMsP50)) max \(ms(rtoMsMax))  takeover p50 \(ms(takeoverMsP50)) max \(ms(takeoverMsMax))
              lost_fills \(lostFills)  duplicate_orders \(duplicateOrders)  positions_match \(positionsMatch)  audit_ok \(auditOK)  → \(passed ? "PASSED" : "FAILED")
              logs: \(logDirectory)
            """
    }
}

extension Duration {
    var drillMilliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
