import TandemCore

/// A bad strategy configuration: which parameter (nil when the error is not about one, e.g. an
/// unknown strategy name) and what is wrong with it, with the offending value.
public struct StrategyConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var parameter: String?
    public var message: String

    public init(parameter: String?, message: String) {
        self.parameter = parameter
        self.message = message
    }

    public var description: String {
        if let parameter { "parameter \"\(parameter)\": \(message)" } else { message }
    }
}

/// One configuration parameter of a catalog strategy.
public struct StrategyParameter: Sendable, Hashable {
    public var name: String
    /// The text used when the parameter is absent; nil makes it required.
    public var defaultValue: String?
    /// One line, for `--help`-style docs.
    public var description: String

    public init(_ name: String, default defaultValue: String?, _ description: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.description = description
    }
}

/// A strategy that can be built from text parameters, so the catalog (and through it the node's
/// config file) can name it. See docs/strategy.md, "Writing a strategy".
public protocol CatalogStrategy: Strategy {
    /// The name configs use, e.g. `"market-maker"`.
    static var catalogName: String { get }
    static var parameterSpecs: [StrategyParameter] { get }
    /// Builds the strategy; every bad parameter is an error naming it.
    init(parameters: StrategyParameters) throws(StrategyConfigError)
}

/// The strategies a config can name.
public enum StrategyCatalog {
    /// Every catalog strategy. To register a new one, conform it to ``CatalogStrategy`` and add it here.
    public static var registered: [any CatalogStrategy.Type] {
        [MarketMaker.self, MovingAverageCrossover.self]
    }

    public static var names: [String] { registered.map { $0.catalogName } }

    /// Builds a strategy from its config; every bad or unknown parameter is an error naming it (e.g.
    /// parameter "quoteQuantity": "must be a positive multiple of the lot size 1, got -3").
    public static func make(
        name: String, parameters: [String: String], instruments: [InstrumentID: Instrument]
    ) throws(StrategyConfigError) -> any Strategy {
        guard let type = registered.first(where: { $0.catalogName == name }) else {
            throw StrategyConfigError(
                parameter: nil, message: "unknown strategy \"\(name)\"; known: \(names.joined(separator: ", "))")
        }
        let reader = try StrategyParameters(
            strategy: name, values: parameters, specs: type.parameterSpecs, instruments: instruments)
        return try type.init(parameters: reader)
    }

    /// Parameter names, defaults and one-line descriptions, for `--help`-style docs and config checks.
    public static func parameters(of name: String) -> [(name: String, default: String?, description: String)]? {
        guard let type = registered.first(where: { $0.catalogName == name }) else { return nil }
        return type.parameterSpecs.map { ($0.name, $0.defaultValue, $0.description) }
    }
}

/// A strategy's text parameters, checked against its specs, with typed readers whose errors name
/// the parameter and quote the value.
public struct StrategyParameters: Sendable {
    public let strategy: String
    public let values: [String: String]
    public let specs: [StrategyParameter]
    public let instruments: [InstrumentID: Instrument]

    /// Refuses names that are not in `specs` (sorted, so the first reported is deterministic).
    public init(
        strategy: String, values: [String: String], specs: [StrategyParameter], instruments: [InstrumentID: Instrument]
    ) throws(StrategyConfigError) {
        let known = specs.map(\.name)
        if let unknown = values.keys.filter({ !known.contains($0) }).sorted().first {
            throw StrategyConfigError(
                parameter: unknown,
                message: "unknown parameter for \(strategy); known: \(known.joined(separator: ", "))")
        }
        self.strategy = strategy
        self.values = values
        self.specs = specs
        self.instruments = instruments
    }

    /// The given text, or the spec's default; an error when the parameter is required and absent.
    public func text(_ name: String) throws(StrategyConfigError) -> String {
        if let v = values[name] { return v }
        guard let spec = specs.first(where: { $0.name == name }) else {
            throw StrategyConfigError(parameter: name, message: "not a parameter of \(strategy)")
        }
        guard let d = spec.defaultValue else {
            throw StrategyConfigError(parameter: name, message: "required (\(spec.description))")
        }
        return d
    }

    /// An instrument by numeric id, or by a symbol that names exactly one of `instruments`.
    public func instrument(_ name: String) throws(StrategyConfigError) -> Instrument {
        let t = try text(name)
        if let raw = UInt32(t) {
            guard let i = instruments[InstrumentID(raw)] else {
                throw StrategyConfigError(parameter: name, message: "no instrument with id \(raw) is defined")
            }
            return i
        }
        let matches = instruments.values.filter { $0.symbol == t }.sorted { $0.id < $1.id }
        guard let first = matches.first else {
            throw StrategyConfigError(parameter: name, message: "no instrument with id or symbol \"\(t)\" is defined")
        }
        guard matches.count == 1 else {
            throw StrategyConfigError(
                parameter: name,
                message: "symbol \"\(t)\" is ambiguous (ids \(matches.map { "\($0.id.rawValue)" }.joined(separator: ", "))); use the id")
        }
        return first
    }

    /// A whole number in `range`.
    public func integer(_ name: String, in range: ClosedRange<Int64>) throws(StrategyConfigError) -> Int64 {
        let t = try text(name)
        guard let v = Int64(t), range.contains(v) else {
            throw StrategyConfigError(
                parameter: name, message: "must be a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(t)\"")
        }
        return v
    }

    /// Exact decimal text (no rounding); range and lot checks are the strategy's.
    public func quantity(_ name: String) throws(StrategyConfigError) -> Quantity {
        let t = try text(name)
        do { return try Quantity(t) } catch {
            throw StrategyConfigError(parameter: name, message: "must be a decimal quantity, got \"\(t)\" (\(error.message))")
        }
    }

    /// `true` or `false`.
    public func bool(_ name: String) throws(StrategyConfigError) -> Bool {
        switch try text(name) {
        case "true": return true
        case "false": return false
        case let t: throw StrategyConfigError(parameter: name, message: "must be true or false, got \"\(t)\"")
        }
    }

    /// One of `choices`, exactly.
    public func choice(_ name: String, among choices: [String]) throws(StrategyConfigError) -> String {
        let t = try text(name)
        guard choices.contains(t) else {
            throw StrategyConfigError(parameter: name, message: "must be one of \(choices.joined(separator: ", ")), got \"\(t)\"")
        }
        return t
    }
}

/// Shared checks with the message shape the catalog promises.
enum Check {
    /// A positive multiple of the instrument's lot size.
    static func lots(_ q: Quantity, _ parameter: String, of instrument: Instrument) throws(StrategyConfigError) {
        guard q.units > 0, q.isMultiple(of: instrument.lotSize) else {
            throw StrategyConfigError(
                parameter: parameter, message: "must be a positive multiple of the lot size \(instrument.lotSize), got \(q)")
        }
    }

    /// An instrument a strategy can price: positive tick and lot sizes.
    static func tradable(_ instrument: Instrument, _ parameter: String) throws(StrategyConfigError) {
        guard instrument.tickSize.units > 0, instrument.lotSize.units > 0 else {
            throw StrategyConfigError(
                parameter: parameter,
                message: "instrument \(instrument.id.rawValue) (\(instrument.symbol)) needs a positive tick and lot size, has \(instrument.tickSize) and \(instrument.lotSize)")
        }
    }

    static func range(_ v: Int64, _ parameter: String, _ range: ClosedRange<Int64>) throws(StrategyConfigError) {
        guard range.contains(v) else {
            throw StrategyConfigError(
                parameter: parameter, message: "must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(v)")
        }
    }
}
