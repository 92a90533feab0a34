import Foundation
import Testing
import TandemNode

/// The smallest valid configuration: every optional key left to its default.
let minimalYAML = """
    cluster: c1
    node:
      id: n1
    venues:
      - name: V
        sessions:
          - {host: 127.0.0.1, port: 9878, senderCompID: A, targetCompID: B}
        instruments:
          - {id: 1, symbol: ACME, tickSize: "0.01", lotSize: "1", currency: USD}
    strategy:
      name: s
      account: acc
      venue: V
    """

func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConfigurationError) -> NodeConfiguration {
    try NodeConfiguration.parse(yaml: yaml, source: "test.yaml", environment: environment)
}

/// The error `yaml` must fail with; records a test issue if it parses.
func failure(_ yaml: String, environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError {
    do {
        let config = try parse(yaml, environment: environment)
        Issue.record("expected a configuration error, got \(config)", sourceLocation: sourceLocation)
        return ConfigurationError(source: "", issues: [])
    } catch {
        return error
    }
}

/// The one issue at `path`, recording a test issue unless there is exactly one.
func issue(at path: String, in error: ConfigurationError, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError.Issue? {
    let found = error.issues.filter { $0.path == path }
    #expect(found.count == 1, "issues at \(path): \(found); all: \(error)", sourceLocation: sourceLocation)
    return found.first
}

/// The repository root, from this file's path (Tests/TandemNodeTests/Config/…).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
