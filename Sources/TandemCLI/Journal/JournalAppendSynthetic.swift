import ArgumentParser
import TandemCore
import TandemJournal
import TandemPostgres

/// `tandem journal append-synthetic`: fills a journal with a seeded, valid event stream, so the audit
/// and replay tools (and drills) have something real to work on before a node has traded.
struct JournalAppendSynthetic: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-synthetic",
        abstract: "Append a seeded synthetic trading stream (orders, acks, fills, cancels) to the journal.",
        discussion: """
            Takes the lease as --holder (epoch + 1, fencing any running writer), migrates the schema if \
            needed, and appends --events events in batches through the fenced, group-committed writer. \
            For demos, drills and trying `tandem audit` / `tandem journal replay`; never on a live cluster.
              tandem db start && tandem journal append-synthetic --events 10000
            """)

    @OptionGroup var cluster: ClusterOptions

    @Option(help: "How many events to append.")
    var events = 10_000

    @Option(help: "Seed of the synthetic stream (same seed, same events).")
    var seed: UInt64 = 42

    @Option(help: "Instruments in the stream.")
    var instruments = 10

    @Option(help: "Events per commit.")
    var batch = 500

    @Option(help: "Lease holder name to append as.")
    var holder = "synthetic"

    func validate() throws {
        guard events > 0, batch > 0, instruments > 0 else {
            throw ValidationError("--events, --batch and --instruments must be positive")
        }
    }

    func run() async throws {
        let logger = cluster.logger
        let connection = try await cluster.connect()
        _ = try await JournalSchema.migrate(connection, logger: logger)
        let holder = self.holder
        let epoch = try await connection.withConnection { (c) throws(JournalError) in
            try Lease.acquire(c, holder: holder, duration: .seconds(60))
        }
        let stream = SyntheticJournal.events(count: events, seed: seed, instrumentCount: instruments)
        let writer = JournalWriter(connection: connection, epoch: epoch, logger: logger)
        var last: ClosedRange<UInt64>?
        var start = 0
        while start < stream.count {
            let end = min(start + batch, stream.count)
            last = try await writer.append(Array(stream[start..<end]))
            start = end
        }
        await connection.close()
        print("appended \(stream.count) events as \(holder) (epoch \(epoch)); journal head is seq \(last?.upperBound ?? 0)")
    }
}
