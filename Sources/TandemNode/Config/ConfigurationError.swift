/// Everything wrong with a node's configuration, found in one pass.
///
/// Validation does not stop at the first problem: an operator fixing a config file should see
/// every bad key at once, each with its path (`venues[0].sessions[1].port`), the line it is on
/// when it came from the file, or the environment variable that set it.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Issue: Sendable, Hashable, CustomStringConvertible {
        /// The key path, e.g. `venues[0].sessions[1].port`; empty for the document as a whole.
        public var path: String
        /// 1-based line in the file, when the problem is at a node read from the file.
        public var line: Int?
        /// What is wrong and what is expected, without the path.
        public var message: String
        /// The environment variable (`TANDEM__…`, `TANDEM_DSN`, `TANDEM_NODE_ID`) that set the value,
        /// when the problem is in an override rather than in the file.
        public var variable: String?

        public init(path: String, line: Int? = nil, message: String, variable: String? = nil) {
            self.path = path
            self.line = line
            self.message = message
            self.variable = variable
        }

        /// `path: message`, as the operator reads it (the location is added by the error).
        public var description: String {
            path.isEmpty ? message : "\(path): \(message)"
        }
    }

    /// The file path the configuration came from, or `<env>` when every issue is in an override.
    public var source: String
    /// Every problem found, ordered by line; those without one (overrides, keys missing from absent
    /// sections) last.
    public var issues: [Issue]

    public init(source: String, issues: [Issue]) {
        self.source = source
        self.issues = issues
    }

    /// One line per issue, located like a compiler diagnostic: `node.yaml:12: timing.heartbeatMS: unknown key; …`
    /// or `TANDEM__venues__0__sessions__0__port: venues[0].sessions[0].port: expected …`.
    public var description: String {
        let count = issues.count == 1 ? "1 problem" : "\(issues.count) problems"
        var out = "invalid node configuration \(source) (\(count)):"
        for issue in issues {
            let location: String
            if let variable = issue.variable {
                location = "environment \(variable)"
            } else if let line = issue.line {
                location = "\(source):\(line)"
            } else {
                location = source
            }
            out += "\n  \(location): \(issue)"
        }
        return out
    }
}
