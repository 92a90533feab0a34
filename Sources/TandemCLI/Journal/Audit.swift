import ArgumentParser
import Foundation
import TandemJournal

/// `tandem audit …`: check the journal and hand it to an auditor.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify the journal's hash chain and export orders and fills.",
        discussion: """
            Every journal row stores hash = SHA-256(prev_hash ‖ seq ‖ epoch ‖ payload); see docs/journal.md. \
            Start with `tandem audit verify`.
            """,
        subcommands: [AuditVerify.self, AuditExport.self])
}

struct AuditVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the whole journal; name the first bad seq (exit 1 if any).",
        discussion: """
            Reads every event from seq 1 and checks: seqs are gapless; each prev_hash is the previous \
            hash; each hash matches the row's bytes; epochs never decrease; every payload decodes; the \
            head row agrees with the last event. Prints OK and the last seq, or the first bad seq and why.
            """)

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let connection = try await cluster.connect()
        let logger = cluster.logger
        let report = try await connection.withConnection { c in try AuditVerifier.verify(c, logger: logger) }
        await connection.close()
        if let failure = report.failure {
            print("FAILED at seq \(failure.seq.map(String.init) ?? "?"): \(failure.message)")
            print("verified seq 1 through \(report.verifiedThrough); the head row says \(report.headSeq)")
            throw ExitCode(1)
        }
        print("OK: \(report.verifiedThrough) events, hash chain intact, gapless, epochs non-decreasing")
    }
}

struct AuditExport: AsyncParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, json }

    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the orders and fills of a seq range as CSV or JSON lines.",
        discussion: """
            The chain is verified from seq 1 as it is read, so the export stops with an error at a bad \
            seq rather than export tampered data. Amounts are exact decimal text. Example:
              tandem audit export --from 1 --to 5000 --format csv --output audit.csv
            """)

    @OptionGroup var cluster: ClusterOptions

    @Option(help: "First seq to export.")
    var from: UInt64 = 1

    @Option(help: "Last seq to export (default: the head).")
    var to: UInt64?

    @Option(help: "csv (with a header) or json (one object per line).")
    var format: Format = .csv

    @Option(help: "Write to this file instead of standard output.")
    var output: String?

    func validate() throws {
        if let to, to < from { throw ValidationError("--to (\(to)) is before --from (\(from))") }
    }

    func run() async throws {
        let connection = try await cluster.connect()
        let (from, to, format) = (self.from, self.to, self.format)
        let text = try await connection.withConnection { c in
            var lines: [String] = format == .csv ? [AuditExporter.csvHeader] : []
            try AuditExporter.export(c, from: from, to: to) { record in
                lines.append(format == .csv ? AuditExporter.csvLine(record) : AuditExporter.jsonLine(record))
            }
            return lines.joined(separator: "\n") + "\n"
        }
        await connection.close()
        if let output {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            print(text, terminator: "")
        }
    }
}
