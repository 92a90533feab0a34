import ArgumentParser

/// `tandem`: the one executable. Every process and tool of the system is a subcommand.
@main
struct Tandem: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Tandem: an active-passive algorithmic trading system on PostgreSQL.",
        discussion: """
            Start with `tandem db start` to run a private local PostgreSQL, and `tandem bench pg --json` \
            to measure it. See README.md and docs/ for the architecture and operations.
            """,
        subcommands: [DB.self, Bench.self, Journal.self, Audit.self, FIXCommand.self, VenueProcess.self, NodeProcess.self, WatchdogProcess.self, Risk.self, Status.self, Demo.self, Drill.self]
    )
}

/// `tandem bench …`: benchmarks that print their figures (and, where one exists, the anchor measured in the same run).
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Tandem's speed. Build with `-c release` for figures worth recording.",
        subcommands: [BenchPG.self, BenchCore.self, BenchJournal.self, BenchFIX.self, BenchVenue.self, BenchNode.self, BenchOps.self, BenchRisk.self]
    )
}
