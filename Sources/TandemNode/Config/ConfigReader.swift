/// Reads typed values out of a ``ConfigNode`` tree and collects an issue for everything wrong,
/// instead of stopping at the first: the parse functions keep going with nil for a bad value, and
/// the caller throws once at the end if anything was reported.
struct ConfigReader {
    var issues: [ConfigurationError.Issue] = []

    /// The entries of one mapping, with the path and node they came from.
    struct Fields {
        var path: String
        /// The mapping itself; nil when the whole section is absent (then every key reads as absent).
        var node: ConfigNode?
        var entries: [ConfigNode.Entry]

        /// The value at `key`, or nil when absent or written as null.
        subscript(key: String) -> ConfigNode? {
            guard let node = entries.first(where: { $0.key == key })?.value, !node.isNull else { return nil }
            return node
        }

        func path(_ key: String) -> String { ConfigPath.key(path, key) }
    }

    /// Why a conversion failed: a detail for the message, or nil for the plain "expected …, got …".
    struct Rejection: Error { var detail: String? }

    mutating func report(_ path: String, _ node: ConfigNode?, _ message: String) {
        issues.append(.init(path: path, line: node?.line, message: message, variable: node?.variable))
    }

    /// The entries of the mapping at `path`, checking every key against `allowed` (nil: any key).
    /// An absent or null section reads as an empty mapping so its required keys are reported by
    /// their full paths; a non-mapping is reported and gives nil, and the caller skips its keys.
    mutating func fields(_ node: ConfigNode?, at path: String, allowed: [String]?) -> Fields? {
        guard let node, !node.isNull else { return Fields(path: path, node: node, entries: []) }
        guard case .mapping(let entries) = node.value else {
            let keys = allowed.map { ": " + $0.joined(separator: ", ") } ?? ""
            report(path, node, "expected a mapping\(keys.isEmpty ? "" : " with keys\(keys)"), got \(node.summary)")
            return nil
        }
        if let allowed {
            for entry in entries where !allowed.contains(entry.key) {
                var message = "unknown key; allowed here: \(allowed.joined(separator: ", "))"
                if let suggestion = Self.closest(to: entry.key, in: allowed) {
                    message = "unknown key; did you mean \(suggestion)? (allowed here: \(allowed.joined(separator: ", ")))"
                }
                issues.append(.init(path: ConfigPath.key(path, entry.key), line: entry.keyLine ?? entry.value.line, message: message,
                                    variable: entry.value.variable))
            }
        }
        return Fields(path: path, node: node, entries: entries)
    }

    /// The fields of a sub-mapping at `key` (absent reads as empty).
    mutating func fields(_ parent: Fields, _ key: String, allowed: [String]?) -> Fields? {
        fields(parent[key], at: parent.path(key), allowed: allowed)
    }

    /// The elements of the list at `key`; nil (with an issue) when required and absent, when not a
    /// list, or when it has fewer than `minimum` elements.
    mutating func list(_ parent: Fields, _ key: String, expected: String, minimum: Int) -> [(path: String, node: ConfigNode)]? {
        let path = parent.path(key)
        guard let node = parent[key] else {
            if minimum > 0 { report(path, parent.node, "missing required key (\(expected))") }
            return minimum > 0 ? nil : []
        }
        guard case .sequence(let elements) = node.value else {
            report(path, node, "expected \(expected), got \(node.summary)")
            return nil
        }
        guard elements.count >= minimum else {
            report(path, node, "expected \(expected), got an empty list")
            return nil
        }
        return elements.enumerated().map { (ConfigPath.index(path, $0.offset), $0.element) }
    }

    /// The scalar at `key` converted by `convert`. Absent: `defaultValue`, else an issue when
    /// `required`, else nil. Quoted and plain scalars read alike (`port: "9878"` is a port), since
    /// environment overrides are text and should mean what the same text means in the file.
    mutating func value<T>(_ parent: Fields, _ key: String, expected: String, default defaultValue: T? = nil, required: Bool = true,
                           _ convert: (String) throws(Rejection) -> T) -> T? {
        let path = parent.path(key)
        guard let node = parent[key] else {
            if let defaultValue { return defaultValue }
            if required { report(path, parent.node, "missing required key (\(expected))") }
            return nil
        }
        guard case .scalar(let text, _) = node.value else {
            report(path, node, "expected \(expected), got \(node.summary)")
            return nil
        }
        do {
            return try convert(text)
        } catch {
            report(path, node, "expected \(expected), got \(quoted(text))" + (error.detail.map { ": \($0)" } ?? ""))
            return nil
        }
    }

    // MARK: Conversions

    static func integer(_ range: ClosedRange<Int>) -> (String) throws(Rejection) -> Int {
        { (text: String) throws(Rejection) -> Int in
            guard let value = Int(text), range.contains(value) else { throw Rejection(detail: nil) }
            return value
        }
    }

    /// "an integer 1–65535"; "an integer ≥ 1" when the top is `Int.max`.
    static func describe(_ range: ClosedRange<Int>) -> String {
        range.upperBound == .max ? "an integer ≥ \(range.lowerBound)" : "an integer \(range.lowerBound)–\(range.upperBound)"
    }

    static func boolean(_ text: String) throws(Rejection) -> Bool {
        switch text.lowercased() {
        case "true": true
        case "false": false
        default: throw Rejection(detail: nil)
        }
    }

    static func nonEmpty(_ text: String) throws(Rejection) -> String {
        guard !text.isEmpty else { throw Rejection(detail: nil) }
        return text
    }

    /// Identifiers that end up in the journal, logs, FIX and file names: cluster, node, venue, CompIDs.
    static let identifierRule = "1–64 characters from A–Z, a–z, 0–9, '.', '_', '-'"

    static func identifier(_ text: String) throws(Rejection) -> String {
        let ok = (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x2D
        }
        guard ok else { throw Rejection(detail: nil) }
        return text
    }

    /// The nearest allowed key when it is a plausible typo: same letters in another case, or within
    /// an edit distance of about a third of the key's length.
    static func closest(to key: String, in allowed: [String]) -> String? {
        let lowered = key.lowercased()
        var best: (key: String, distance: Int)?
        for candidate in allowed {
            let d = editDistance(Array(lowered), Array(candidate.lowercased()))
            if best == nil || d < best!.distance { best = (candidate, d) }
        }
        guard let best else { return nil }
        let limit = max(2, min(key.count, best.key.count) / 3)
        return best.distance <= limit ? best.key : nil
    }

    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
