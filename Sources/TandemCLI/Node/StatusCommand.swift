import ArgumentParser
import Foundation
import TandemCore
import TandemJournal
import TandemNode
import TandemPostgres

/// `tandem status`: the cluster at a glance, from the database alone (works with both nodes dead).
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the leader, epoch, heartbeat age, journal head, each node's lag, open orders, positions and P&L.",
        discussion: """
            Everything comes from the cluster's database: the lease row (leader, epoch, last renewal by \
            the database clock), the journal head, the rows each node writes every 250 ms \
            (tandem.node_status), and a replay of the journal for orders, positions and P&L. \
            --json prints one JSON object.
            """
    )

    @OptionGroup var cluster: ClusterOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Report: Codable {
        struct PositionRow: Codable { var account, instrument, net, averagePrice, realizedPnL, fees: String }
        struct OrderRow: Codable { var clOrdID, account, instrument, side, quantity, filled, status: String }
        var leader: String?
        var epoch: UInt64
        var halted: Bool
        var heartbeatAgeMs: Int64?
        var leaseRemainingMs: Int64?
        var journalHeadSeq: UInt64
        var nodes: [NodeStatusTable.Row]
        var openOrders: [OrderRow]
        var positions: [PositionRow]
    }

    func run() async throws {
        let conn = try await cluster.connect()
        let report: Report
        do {
            report = try await conn.withConnection { c in
                let lease = try Lease.read(c)
                let age = try c.query("SELECT (extract(epoch FROM clock_timestamp() - updated_at) * 1000)::bigint FROM tandem.lease WHERE id = 1")
                let head = try FencedAppend.readHead(c)
                let nodes = (try? NodeStatusTable.read(c)) ?? []
                let state = try Replayer.replay(c, options: .init(), logger: cluster.logger).state
                let open = state.openOrders.map {
                    Report.OrderRow(clOrdID: $0.clOrdID.rawValue, account: $0.request.account.rawValue,
                                    instrument: state.instruments[$0.request.instrument]?.symbol ?? "\($0.request.instrument.rawValue)",
                                    side: "\($0.request.side)", quantity: "\($0.request.quantity)", filled: "\($0.filledQuantity)",
                                    status: "\($0.status)")
                }
                let positions = state.positions.sorted { $0.key < $1.key }.map { key, p in
                    Report.PositionRow(account: key.account.rawValue, instrument: state.instruments[key.instrument]?.symbol ?? "\(key.instrument.rawValue)",
                                       net: "\(p.netQuantity)", averagePrice: p.averagePrice.map { "\($0)" } ?? "-",
                                       realizedPnL: "\(p.realizedPnL)", fees: "\(p.fees)")
                }
                return Report(leader: lease.holder, epoch: lease.epoch, halted: lease.halted,
                              heartbeatAgeMs: try age.rows.first?.decodeIfPresent(Int64.self, at: 0),
                              leaseRemainingMs: lease.millisecondsToExpiry, journalHeadSeq: head.seq,
                              nodes: nodes, openOrders: open, positions: positions)
            }
        } catch {
            await conn.close()
            throw error
        }
        await conn.close()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(Self.render(report))
    }

    static func render(_ r: Report) -> String {
        var out = "CLUSTER\n"
        out += "leader\t\(r.leader ?? "-")\nepoch\t\(r.epoch)\(r.halted ? " (HALTED)" : "")\n"
        out += "heartbeat age\t\(r.heartbeatAgeMs.map { "\($0) ms" } ?? "-")\n"
        out += "lease remaining\t\(r.leaseRemainingMs.map { "\($0) ms" } ?? "-")\n"
        out += "journal head\t\(r.journalHeadSeq)\n"
        out += "\nNODES\nnode\trole\tepoch\tapplied_seq\tlag_seqs\tlag_ms\topen_orders\tupdated_ms_ago\n"
        for n in r.nodes {
            out += "\(n.nodeID)\t\(n.role)\t\(n.epoch.map(String.init) ?? "-")\t\(n.appliedSeq)\t\(n.lagSeqs)\t\(n.lagMilliseconds)\t\(n.openOrders)\t\(n.ageMilliseconds)\n"
        }
        out += "\nOPEN ORDERS\nclOrdID\taccount\tinstrument\tside\tquantity\tfilled\tstatus\n"
        for o in r.openOrders { out += "\(o.clOrdID)\t\(o.account)\t\(o.instrument)\t\(o.side)\t\(o.quantity)\t\(o.filled)\t\(o.status)\n" }
        out += "\nPOSITIONS\naccount\tinstrument\tnet\tavg_price\trealized\tfees\n"
        for p in r.positions { out += "\(p.account)\t\(p.instrument)\t\(p.net)\t\(p.averagePrice)\t\(p.realizedPnL)\t\(p.fees)\n" }
        return out
    }
}
