import ArgumentParser

struct BenchPG: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pg", abstract: "PostgreSQL benchmark.")
    @Flag(help: "Print one JSON object.")
    var json = false
    func run() async throws {}
}
