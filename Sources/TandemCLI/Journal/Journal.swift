import ArgumentParser
import Foundation
import TandemCore
import TandemJournal
import TandemPostgres

/// `tandem journal …`: read the journal.
struct Journal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the event journal: replay it to any point; snapshot it.",
        subcommands: [JournalReplay.self, JournalSnapshot.self, JournalAppendSynthetic.self])
}

struct JournalSnapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Store the state at the journal's head, so the next cold start replays only what follows.",
        discussion: """
            Folds the journal from the latest verified snapshot (or from seq 1 with --full), verifying \
            the hash chain on every row it reads, and stores the state at the head in tandem.snapshots. \
            `tandem journal replay --from-snapshot` and `tandem status` start from the newest snapshot. \
            Safe to run at any time and as often as you like (e.g. from a systemd timer or cron); \
            it reads the journal and never appends to it.
              tandem journal snapshot --dsn 'host=/tmp/pg dbname=tandem'
              tandem journal snapshot --dsn 'host=/tmp/pg dbname=tandem' --keep 5
            """)

    @OptionGroup var cluster: ClusterOptions

    @Flag(help: "Fold from seq 1 instead of the latest snapshot (when that snapshot fails its check).")
    var full = false

    @Option(help: ArgumentHelp(
        "After storing, delete all but the newest N snapshots (N ≥ 1; default: keep all).",
        discussion: "A running standby already keeps only journal.snapshotsKept; use this where snapshots come from this command alone."))
    var keep: Int?

    func validate() throws {
        if let keep, keep < 1 { throw ValidationError("--keep must be at least 1 (got \(keep)): the newest snapshot is always kept") }
    }

    func run() async throws {
        let connection = try await cluster.connect()
        let result: ReplayResult?
        do {
            result = try await SnapshotStore.writeAtHead(connection, fromSeq1: full, logger: cluster.logger)
        } catch let error as JournalError where error.code == .snapshot {
            FileHandle.standardError.write(Data("""
                Error: \(error.description)
                Run again with --full to fold from seq 1 and store a sound snapshot at the head.

                """.utf8))
            throw ExitCode(1)
        }
        var pruned: Int?
        if result != nil, let keep {
            pruned = try await connection.withConnection { c in try SnapshotStore.prune(c, keep: keep) }
        }
        await connection.close()
        guard let result else { return print("the journal is empty: no snapshot written") }
        let from = result.startedFromSnapshot.map { "the snapshot at seq \($0)" } ?? "seq 1"
        print("snapshot at seq \(result.head.seq) (epoch \(result.lastEpoch)): folded \(result.eventsReplayed) events from \(from), chain verified")
        if let pruned, let keep { print("deleted \(pruned) older snapshot(s); the newest \(keep) kept") }
    }
}

struct JournalReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Print orders, positions and P&L as of a seq or a time.",
        discussion: """
            Folds the journal from seq 1 (or from the latest snapshot with --from-snapshot), verifying the \
            hash chain as it reads, up to --to-seq N or to the last event at or before --at TIME. \
            TIME is UTC: '2026-01-02 14:30:00', '2026-01-02T14:30:00.123Z', or nanoseconds since the epoch.
              tandem journal replay --to-seq 1000
              tandem journal replay --at '2026-01-02 14:30:00'
            """)

    @OptionGroup var cluster: ClusterOptions

    @Option(help: "Replay through this seq.")
    var toSeq: UInt64?

    @Option(help: "Replay the events up to this UTC time.")
    var at: String?

    @Flag(help: "Start from the latest verified snapshot instead of seq 1.")
    var fromSnapshot = false

    @Option(help: "List at most this many orders (open orders first).")
    var maxOrders = 50

    func validate() throws {
        if toSeq != nil && at != nil { throw ValidationError("give --to-seq or --at, not both") }
        if let at, Self.parseTime(at) == nil {
            throw ValidationError("--at '\(at)' is not a UTC time like '2026-01-02 14:30:00' or an integer of nanoseconds")
        }
    }

    static func parseTime(_ text: String) -> Int64? {
        if let ns = Int64(text) { return ns }
        return PostgresTimestamp(text: text)?.nanosecondsSinceEpoch
    }

    func run() async throws {
        let connection = try await cluster.connect()
        let logger = cluster.logger
        let (toSeq, at, fromSnapshot) = (self.toSeq, self.at.flatMap(Self.parseTime), self.fromSnapshot)
        let result = try await connection.withConnection { c in
            let through = try at.map { ns throws(JournalError) in try JournalReader.lastSeq(c, atOrBefore: ns) } ?? toSeq
            return try Replayer.replay(c, options: .init(throughSeq: through, useSnapshot: fromSnapshot), logger: logger)
        }
        await connection.close()
        print(Self.render(result, maxOrders: maxOrders))
    }

    static func render(_ result: ReplayResult, maxOrders: Int) -> String {
        let state = result.state
        var out = "as of seq \(result.head.seq) (epoch \(result.lastEpoch))"
        if let snap = result.startedFromSnapshot { out += ", from snapshot at seq \(snap)" }
        out += "; chain verified\n"
        let orders = state.allOrders.sorted { ($0.status.isFinal ? 1 : 0, $0.clOrdID) < ($1.status.isFinal ? 1 : 0, $1.clOrdID) }
        out += "\nORDERS (\(state.orderCount), \(state.openOrders.count) open)\n"
        out += "cl_ord_id\taccount\tinstrument\tside\tstatus\tquantity\tfilled\tavg_price\n"
        for o in orders.prefix(maxOrders) {
            let r = o.request
            out += "\(r.clOrdID)\t\(r.account)\t\(r.instrument.rawValue)\t\(r.side)\t\(o.status)\t\(r.quantity)\t\(o.filledQuantity)\t\(o.averagePrice.map { "\($0)" } ?? "-")\n"
        }
        if orders.count > maxOrders { out += "… \(orders.count - maxOrders) more (--max-orders)\n" }
        out += "\nPOSITIONS\naccount\tinstrument\tnet\tavg_price\trealized\tfees\n"
        for (key, p) in state.positions.sorted(by: { $0.key < $1.key }) where !p.isFlat || !p.realizedPnL.isZero {
            out += "\(key.account)\t\(key.instrument.rawValue)\t\(p.netQuantity)\t\(p.averagePrice.map { "\($0)" } ?? "-")\t\(p.realizedPnL)\t\(p.fees)\n"
        }
        out += "\nP&L BY ACCOUNT (realized, fees)\n"
        let accounts = Set(state.positions.keys.map(\.account)).sorted()
        for account in accounts {
            let realized = state.realizedPnL(account: account).values.map { "\($0)" }.sorted().joined(separator: ", ")
            let fees = state.fees(account: account).values.map { "\($0)" }.sorted().joined(separator: ", ")
            out += "\(account)\trealized \(realized)\tfees \(fees)\n"
        }
        return out
    }
}
