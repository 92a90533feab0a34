import ArgumentParser

/// `tandem bench core`: encode, decode and fold throughput of the core's journal events.
struct BenchCore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core",
        abstract: "Measure journal-event encode/decode and fold throughput (not implemented yet)."
    )

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        throw ValidationError("`tandem bench core` is not implemented yet.")
    }
}
