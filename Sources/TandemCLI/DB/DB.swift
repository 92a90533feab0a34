import ArgumentParser

struct DB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "db", abstract: "The embedded PostgreSQL.")
}
