import ArgumentParser
import Foundation
import TandemCrypto
import TandemPostgres
import TandemWatchdog

/// `tandem risk …`: an operator's signed commands to the watchdog, through PostgreSQL.
struct Risk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Operate the risk watchdog: status, and signed HALT / RESUME / FLATTEN / BLOCK / UNBLOCK.",
        discussion: """
            Commands are queued in the cluster's database (tandem.watchdog_commands), signed with \
            HMAC-SHA-256 under the key the watchdog shares (--key-file, or TANDEM_RISK_KEY as hex), over \
            the action, issuer, time, a fresh nonce and the reason. The watchdog refuses (and reports) a bad \
            signature, a command older than its window, and a replayed nonce. Each command says what it \
            will do and asks for confirmation unless --yes is given, then waits for the watchdog's answer.
            """,
        subcommands: [RiskKeygen.self, RiskStatus.self, RiskAct.Halt.self, RiskAct.Resume.self, RiskAct.Flatten.self,
                      RiskAct.Block.self, RiskAct.Unblock.self]
    )
}

struct RiskKeygen: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keygen", abstract: "Print a new random 32-byte key as hex (for --key-file and the watchdog's keyFile).")

    func run() throws {
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        print(bytes.hexString)
    }
}

struct RiskStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the watchdog's mode, the lease and the watchdog's view of positions.")

    @OptionGroup var cluster: ClusterOptions

    @Flag(help: "Print the watchdog's view as JSON.")
    var json = false

    func run() async throws {
        let conn = try await cluster.connect()
        let row = try await conn.withConnection { c in
            try c.query("""
                SELECT w.mode, w.blocked, coalesce(w.reason, ''), coalesce(w.view, '{}'), coalesce(w.updated_by, '-'),
                       coalesce(l.holder, '-'), l.epoch, l.halted, coalesce(l.halt_reason, '')
                FROM tandem.watchdog_state w, tandem.lease l WHERE w.id = 1 AND l.id = 1
                """)[0].decodeRow()
        }
        await conn.close()
        if json { print(row.view); return }
        print("watchdog: mode \(row.mode)\(row.blocked ? ", engine sessions BLOCKED" : "")\(row.reason.isEmpty ? "" : " — \(row.reason)")")
        print("lease:    holder \(row.holder), epoch \(row.epoch)\(row.halted ? ", HALTED (\(row.haltReason))" : "")")
        if let data = row.view.data(using: .utf8), let view = try? JSONDecoder().decode(WatchdogStatus.self, from: data) {
            print("view:     drop copy \(view.dropCopySynced ? "caught up" : "NOT caught up") (\(view.dropCopyReports) reports), journal seq \(view.journalSeq), "
                  + "P&L \(view.pnl ?? "?"), drawdown \(view.drawdown ?? "?"), gross \(view.grossExposure ?? "?")")
            for p in view.positions {
                print("          \(p.account) #\(p.instrument): venue \(p.venueNet), journal \(p.journalNet)\(p.mark.map { ", mark \($0)" } ?? "")")
            }
            if !view.breaching.isEmpty { print("breaching: \(view.breaching.joined(separator: ", "))") }
        }
    }
}

private extension QueryResult.Row {
    func decodeRow() throws -> (mode: String, blocked: Bool, reason: String, view: String, by: String, holder: String, epoch: Int64, halted: Bool, haltReason: String) {
        (try decode(String.self, at: 0), try decode(Bool.self, at: 1), try decode(String.self, at: 2), try decode(String.self, at: 3),
         try decode(String.self, at: 4), try decode(String.self, at: 5), try decode(Int64.self, at: 6), try decode(Bool.self, at: 7),
         try decode(String.self, at: 8))
    }
}

/// The options every signed command shares.
struct SignedCommandOptions: ParsableArguments {
    @OptionGroup var cluster: ClusterOptions

    @Option(help: ArgumentHelp("File with the shared HMAC key as hex (default: TANDEM_RISK_KEY).", valueName: "file"))
    var keyFile: String?

    @Option(help: "Why: recorded with the command, in the journal and in the log.")
    var reason: String

    @Option(help: "Who is issuing it (default: $USER).")
    var issuedBy: String?

    @Flag(help: "Do not ask for confirmation.")
    var yes = false

    @Option(help: ArgumentHelp("How long to wait for the watchdog's answer, in seconds.", valueName: "seconds"))
    var timeout = 10

    func key() throws -> [UInt8] {
        do {
            if let keyFile {
                let text = try String(contentsOfFile: keyFile, encoding: .utf8)
                return try WatchdogConfiguration.key(hex: text, source: "--key-file \(keyFile)")
            }
            if let env = ProcessInfo.processInfo.environment["TANDEM_RISK_KEY"] {
                return try WatchdogConfiguration.key(hex: env, source: "TANDEM_RISK_KEY")
            }
        } catch let error as WatchdogError {
            throw ValidationError(error.message)
        }
        throw ValidationError("give --key-file FILE or set TANDEM_RISK_KEY (hex): the key the watchdog shares")
    }

    /// Signs, confirms, queues and waits for the answer; exit status 1 when refused or unanswered.
    func send(_ action: SignedCommand.Action, explain: String) async throws {
        let key = try key()
        print("\(action.rawValue.uppercased()): \(explain)")
        print("reason: \(reason)")
        if !yes {
            print("Proceed? Type yes: ", terminator: "")
            guard readLine()?.lowercased() == "yes" else { print("not sent"); throw ExitCode(1) }
        }
        let issuer = issuedBy ?? ProcessInfo.processInfo.environment["USER"] ?? "operator"
        let command = SignedCommand.sign(action: action, reason: reason, issuedBy: issuer, key: key)
        let answer = try await CommandQueue.submit(command, dsn: cluster.resolvedDSN(), timeout: .seconds(timeout))
        guard let answer else {
            print("no answer from the watchdog within \(timeout) s: it may be down; the command stays queued and runs when it starts")
            throw ExitCode(1)
        }
        print("watchdog: \(answer.status): \(answer.result)")
        if answer.status != "done" { throw ExitCode(1) }
    }
}

enum RiskAct {
    struct Halt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "halt", abstract: "HALT: fence the leader, let no node lead, cancel the engine's open orders.")
        @OptionGroup var options: SignedCommandOptions
        func run() async throws {
            try await options.send(.halt, explain: "the lease is taken into a halted state with a new epoch: the leader's next journal append is fenced, "
                                   + "no node may lead until RESUME, and the engine's open orders at the venue are cancelled. Positions stay as they are.")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "resume", abstract: "RESUME: lift a halt and a block; a node takes the lease and trades again.")
        @OptionGroup var options: SignedCommandOptions
        func run() async throws {
            try await options.send(.resume, explain: "the halt is lifted (the lease is free, a standby takes it with a new epoch and trades) and the "
                                   + "engine's venue sessions are unblocked. A limit still breached halts again at once.")
        }
    }

    struct Flatten: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "flatten", abstract: "FLATTEN: halt, block, cancel all and close every position at the venue.")
        @OptionGroup var options: SignedCommandOptions
        func run() async throws {
            try await options.send(.flatten, explain: "HALT, then the venue BLOCKs the engine's sessions and cancels their orders, then the watchdog "
                                   + "sends offsetting IOC orders through its own session until the drop copy shows every position flat.")
        }
    }

    struct Block: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "block", abstract: "BLOCK: the venue refuses the engine's sessions' new orders and cancels their resting ones.")
        @OptionGroup var options: SignedCommandOptions
        func run() async throws {
            try await options.send(.block, explain: "the venue's kill switch refuses every new order from the engine's sessions and cancels their resting orders.")
        }
    }

    struct Unblock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unblock", abstract: "UNBLOCK: the venue accepts the engine's sessions again.")
        @OptionGroup var options: SignedCommandOptions
        func run() async throws {
            try await options.send(.unblock, explain: "the venue accepts new orders from the engine's sessions again (a halt, if any, stays).")
        }
    }
}
