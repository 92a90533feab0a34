import Yams

/// A YAML document reduced to what configuration needs: text scalars, mappings with text keys kept in
/// order, and sequences, each node remembering the line it came from or the environment variable that
/// set it, so every validation issue can say where it is.
///
/// Scalars stay text: a value such as `tickSize: 0.01` is read from the characters written, never
/// through a floating-point YAML resolution, so decimals convert exactly.
struct ConfigNode: Sendable, Hashable {
    enum Value: Sendable, Hashable {
        /// `plain` is false for quoted and block scalars: only a plain scalar can be YAML's null.
        case scalar(String, plain: Bool)
        case mapping([Entry])
        case sequence([ConfigNode])
    }

    struct Entry: Sendable, Hashable {
        var key: String
        /// The key's own line (a nested mapping's value starts on the next one).
        var keyLine: Int? = nil
        var value: ConfigNode
    }

    var value: Value
    /// 1-based line in the file; nil for nodes made by an override.
    var line: Int?
    /// The environment variable that made or replaced this node.
    var variable: String?

    init(_ value: Value, line: Int? = nil, variable: String? = nil) {
        self.value = value
        self.line = line
        self.variable = variable
    }

    /// YAML's null: an empty plain scalar, `~` or `null`. A key written with no value reads as absent.
    var isNull: Bool {
        if case .scalar(let text, true) = value { return ["", "~", "null", "Null", "NULL"].contains(text) }
        return false
    }

    /// What the node is, for "expected …, got …" messages.
    var summary: String {
        switch value {
        case .scalar(let text, _): isNull ? "null" : quoted(text)
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    subscript(key: String) -> ConfigNode? {
        guard case .mapping(let entries) = value else { return nil }
        return entries.first { $0.key == key }?.value
    }
}

/// `"text"` with quotes and escapes, shortened when long, for messages.
func quoted(_ text: String) -> String {
    let shown = text.count > 64 ? String(text.prefix(64)) + "…" : text
    var out = "\""
    for scalar in shown.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// Key paths as issues show them: `venues[0].sessions[1].port`.
enum ConfigPath {
    static func key(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }
    static func index(_ parent: String, _ index: Int) -> String { "\(parent)[\(index)]" }
}

// MARK: - From YAML

extension ConfigNode {
    /// Composes `yaml` (aliases resolved by Yams) into a tree; nil for an empty document.
    /// Syntax errors become issues with the line Yams reports.
    static func compose(yaml: String, issues: inout [ConfigurationError.Issue]) -> ConfigNode? {
        let node: Yams.Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            issues.append(issue(for: error))
            return nil
        } catch {
            issues.append(.init(path: "", message: "not valid YAML: \(error)"))
            return nil
        }
        guard let node else { return nil }
        return convert(node, path: "", issues: &issues)
    }

    private static func issue(for error: YamlError) -> ConfigurationError.Issue {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let while_ = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return .init(path: "", line: mark.line, message: "not valid YAML: \(problem)\(while_)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map(quoted).joined(separator: ", ")
            return .init(path: "", line: context.mark.line, message: "duplicate key \(keys) in one mapping")
        default:
            return .init(path: "", message: "not valid YAML: \(error)")
        }
    }

    private static func convert(_ node: Yams.Node, path: String, issues: inout [ConfigurationError.Issue]) -> ConfigNode {
        switch node {
        case .scalar(let scalar):
            return ConfigNode(.scalar(scalar.string, plain: scalar.style == .plain), line: scalar.mark?.line)
        case .mapping(let mapping):
            var entries: [Entry] = []
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    issues.append(.init(path: path, line: key.mark?.line, message: "a mapping key must be text, not a mapping or list"))
                    continue
                }
                let childPath = ConfigPath.key(path, keyScalar.string)
                entries.append(Entry(key: keyScalar.string, keyLine: keyScalar.mark?.line, value: convert(value, path: childPath, issues: &issues)))
            }
            return ConfigNode(.mapping(entries), line: mapping.mark?.line)
        case .sequence(let sequence):
            var elements: [ConfigNode] = []
            for (i, element) in sequence.enumerated() {
                elements.append(convert(element, path: ConfigPath.index(path, i), issues: &issues))
            }
            return ConfigNode(.sequence(elements), line: sequence.mark?.line)
        case .alias(let alias):
            // Yams resolves aliases while composing; one left over is an anchor it could not find.
            issues.append(.init(path: path, line: alias.mark?.line, message: "unresolved alias *\(alias.anchor.rawValue)"))
            return ConfigNode(.scalar("", plain: true), line: alias.mark?.line)
        }
    }
}

// MARK: - Environment overrides

/// One environment override: a key path and the text to put there.
struct ConfigOverride: Sendable, Hashable {
    var variable: String
    var components: [String]
    var value: String

    static let prefix = "TANDEM__"
    /// Shorthands operators expect from other tools: one variable for the two values that differ per
    /// node or per environment.
    static let shorthands: [(variable: String, components: [String])] = [
        ("TANDEM_DSN", ["database", "dsn"]),
        ("TANDEM_NODE_ID", ["node", "id"]),
    ]

    /// The overrides in `environment`, in the order they apply: shorthands, then `TANDEM__…` by path
    /// (indexes compared as numbers, so `venues__2` applies before `venues__10` and may append).
    /// A shorthand and its long form set to different values is an issue; the long form wins.
    static func collect(from environment: [String: String], issues: inout [ConfigurationError.Issue]) -> [ConfigOverride] {
        var long: [ConfigOverride] = []
        for (name, value) in environment where name.hasPrefix(prefix) {
            let components = name.dropFirst(prefix.count).split(separator: "__", omittingEmptySubsequences: false).map(String.init)
            if components.contains(where: \.isEmpty) {
                issues.append(.init(path: "", message: "empty key in the override's path (components are joined by exactly two underscores, e.g. TANDEM__node__id)", variable: name))
                continue
            }
            long.append(ConfigOverride(variable: name, components: components, value: value))
        }
        long.sort { a, b in lexicographicallyPrecedes(a.components, b.components) }
        var out: [ConfigOverride] = []
        for (variable, components) in shorthands {
            guard let value = environment[variable] else { continue }
            if let other = long.first(where: { $0.components == components }) {
                if other.value != value {
                    issues.append(.init(path: components.joined(separator: "."),
                                        message: "set by both \(variable) and \(other.variable) with different values; unset one",
                                        variable: variable))
                }
                continue
            }
            out.append(ConfigOverride(variable: variable, components: components, value: value))
        }
        return out + long
    }

    private static func lexicographicallyPrecedes(_ a: [String], _ b: [String]) -> Bool {
        for (x, y) in zip(a, b) where x != y {
            if let i = Int(x), let j = Int(y) { return i < j }
            return x < y
        }
        return a.count < b.count
    }
}

extension ConfigNode {
    /// Applies `override` onto this tree (the document root), making missing mappings and lists on
    /// the way: a numeric component indexes a list and may name the next index to append. Keys are
    /// not checked here; validation reports an unknown key together with the variable that made it.
    mutating func apply(_ override: ConfigOverride, issues: inout [ConfigurationError.Issue]) {
        let leaf = ConfigNode(.scalar(override.value, plain: true), variable: override.variable)
        if let updated = Self.setting(self, override.components[...], path: "", to: leaf, variable: override.variable, issues: &issues) {
            self = updated
        }
    }

    /// Removes the top-level-relative `key` of the mapping at `components` if it came from the file.
    mutating func removeFileKey(_ key: String, under components: [String]) {
        guard let first = components.first else {
            if case .mapping(var entries) = value {
                entries.removeAll { $0.key == key && $0.value.variable == nil }
                value = .mapping(entries)
            }
            return
        }
        guard case .mapping(var entries) = value, let i = entries.firstIndex(where: { $0.key == first }) else { return }
        entries[i].value.removeFileKey(key, under: Array(components.dropFirst()))
        value = .mapping(entries)
    }

    private static func setting(_ node: ConfigNode?, _ components: ArraySlice<String>, path: String, to leaf: ConfigNode,
                                variable: String, issues: inout [ConfigurationError.Issue]) -> ConfigNode? {
        guard let head = components.first else { return leaf }
        let rest = components.dropFirst()
        var node = node ?? ConfigNode(.scalar("", plain: true), variable: variable)
        if node.isNull {
            node = ConfigNode(Int(head) != nil ? .sequence([]) : .mapping([]), line: node.line, variable: variable)
        }
        switch node.value {
        case .mapping(var entries):
            let childPath = ConfigPath.key(path, head)
            let i = entries.firstIndex { $0.key == head }
            guard let child = setting(i.map { entries[$0].value }, rest, path: childPath, to: leaf, variable: variable, issues: &issues)
            else { return nil }
            if let i { entries[i].value = child } else { entries.append(Entry(key: head, value: child)) }
            node.value = .mapping(entries)
            return node
        case .sequence(var elements):
            guard let index = Int(head), index >= 0 else {
                issues.append(.init(path: path, line: node.line, message: "is a list, so the override needs an index here, not \(quoted(head))", variable: variable))
                return nil
            }
            let childPath = ConfigPath.index(path, index)
            guard index <= elements.count else {
                issues.append(.init(path: childPath, line: node.line,
                                    message: "index \(index) is past the end of a list of \(elements.count); an override may add only the next index, \(elements.count)",
                                    variable: variable))
                return nil
            }
            guard let child = setting(index < elements.count ? elements[index] : nil, rest, path: childPath, to: leaf,
                                      variable: variable, issues: &issues)
            else { return nil }
            if index < elements.count { elements[index] = child } else { elements.append(child) }
            node.value = .sequence(elements)
            return node
        case .scalar:
            issues.append(.init(path: path, line: node.line, message: "is \(node.summary), not a mapping, so the override cannot set \(quoted(head)) inside it",
                                variable: variable))
            return nil
        }
    }
}
