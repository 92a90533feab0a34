import TandemCore

/// A historical price path for the synthetic market: rows of `time,instrument,price[,quantity]`
/// from a CSV file (docs/venue.md, "Replay"), played back at a speed. Sans-I/O apart from
/// ``load(path:symbols:speed:loop:)``: the shell asks which rows are due after some elapsed time.
///
/// - `time`: UTC ISO-8601 (`2024-03-01T14:30:00Z`, `2024-03-01 14:30:00.250Z`, up to nanoseconds,
///   `Z` or `+00:00`) or an integer count of nanoseconds since the Unix epoch. Rows must not go
///   back in time.
/// - `instrument`: a configured symbol.
/// - `price`: a positive decimal, parsed exactly (at most 8 decimals, no floating point).
/// - `quantity` (optional): a positive decimal; the market prints a trade of about that size.
///
/// A first row whose first field is `time` is a header; empty lines and lines starting with `#`
/// are skipped.
public struct MarketReplay: Sendable, Hashable {
    public struct Row: Sendable, Hashable {
        public var time: Timestamp
        public var instrument: InstrumentID
        public var price: Price
        public var quantity: Quantity?
        /// 1-based line in the file.
        public var line: Int
    }

    public let rows: [Row]
    /// Replay speed in units of 10⁻⁸: 1 (10⁸ units) is real time, 10 ten times faster.
    public let speedUnits: Int64
    /// Start again from the first row after the last.
    public let loop: Bool
    private var next = 0
    /// Elapsed nanoseconds at which the current pass started.
    private var passStart: Int64 = 0

    public init(rows: [Row], speed: Price = Price(units: 100_000_000), loop: Bool = false) {
        self.rows = rows
        self.speedUnits = max(1, speed.units)
        self.loop = loop
    }

    /// Wall-clock nanoseconds after the start of a pass at which `row` is due.
    func offset(_ row: Row) -> Int64 {
        let ns = Int128(row.time.nanosecondsSinceEpoch - rows[0].time.nanosecondsSinceEpoch)
        return Int64(clamping: ns * 100_000_000 / Int128(speedUnits))
    }

    /// The rows due once `elapsed` has passed since the replay started (each row once, in order).
    public mutating func due(after elapsed: Duration) -> [Row] {
        guard !rows.isEmpty else { return [] }
        let (s, a) = elapsed.components
        let now = s * 1_000_000_000 + a / 1_000_000_000
        var out: [Row] = []
        while true {
            while next < rows.count, passStart + offset(rows[next]) <= now {
                out.append(rows[next])
                next += 1
            }
            guard next == rows.count, loop else { return out }
            // The next pass starts one millisecond (scaled) after the last row, so a pass is never empty time.
            let restart = passStart + offset(rows[rows.count - 1]) + max(1, 1_000_000 * 100_000_000 / speedUnits)
            guard restart <= now, out.count <= rows.count else { return out }
            passStart = restart
            next = 0
        }
    }

    public var isFinished: Bool { !loop && next == rows.count }

    /// Reads and parses a replay file; `speed` is decimal text (`1` real time, `10` ten times faster).
    public static func load(path: String, symbols: [String: InstrumentID], speed: String = "1", loop: Bool = false) throws(MarketReplayError) -> MarketReplay {
        let speedValue: Price
        do { speedValue = try Price(speed) } catch {
            throw MarketReplayError(file: path, line: nil, column: nil, columnName: nil, message: "speed '\(speed)' is not a decimal: \(error)")
        }
        guard speedValue.units > 0 else {
            throw MarketReplayError(file: path, line: nil, column: nil, columnName: nil, message: "speed must be positive, got \(speed)")
        }
        let bytes: [UInt8]
        switch readWholeFile(path) {
        case .success(let b): bytes = b
        case .failure(let e): throw MarketReplayError(file: path, line: nil, column: nil, columnName: nil, message: "cannot read: \(e)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw MarketReplayError(file: path, line: nil, column: nil, columnName: nil, message: "not UTF-8 text")
        }
        return MarketReplay(rows: try parse(text, file: path, symbols: symbols), speed: speedValue, loop: loop)
    }

    /// Parses CSV text. `symbols` maps the configured symbols to their instruments.
    public static func parse(_ text: String, file: String, symbols: [String: InstrumentID]) throws(MarketReplayError) -> [Row] {
        var rows: [Row] = []
        let names = ["time", "instrument", "price", "quantity"]
        for (i, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = i + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
            func fail(_ column: Int?, _ message: String) -> MarketReplayError {
                MarketReplayError(file: file, line: lineNumber, column: column.map { $0 + 1 }, columnName: column.map { names[$0] }, message: message)
            }
            if rows.isEmpty, fields.first?.lowercased() == "time" { continue }
            guard fields.count == 3 || fields.count == 4 else {
                throw fail(nil, "expected 3 or 4 columns (time,instrument,price[,quantity]), got \(fields.count)")
            }
            let timeText = fields[0]
            let time: Timestamp
            if !timeText.isEmpty, timeText.allSatisfy({ $0.isASCII && $0.isNumber }) {
                guard let ns = Int64(timeText) else { throw fail(0, "'\(timeText)' is too large for nanoseconds since the epoch") }
                time = Timestamp(nanosecondsSinceEpoch: ns)
            } else if let t = UTCTime.parse(timeText) {
                time = t
            } else {
                throw fail(0, "'\(timeText)' is neither UTC ISO-8601 (2024-03-01T14:30:00.5Z) nor nanoseconds since the epoch")
            }
            guard let instrument = symbols[String(fields[1])] else {
                throw fail(1, "unknown instrument '\(fields[1])' (configured: \(symbols.keys.sorted().joined(separator: ", ")))")
            }
            let price: Price
            do { price = try Price(String(fields[2])) } catch { throw fail(2, "'\(fields[2])' is not an exact decimal price: \(error)") }
            guard price.units > 0 else { throw fail(2, "price must be positive, got \(fields[2])") }
            var quantity: Quantity?
            if fields.count == 4, !fields[3].isEmpty {
                let q: Quantity
                do { q = try Quantity(String(fields[3])) } catch { throw fail(3, "'\(fields[3])' is not an exact decimal quantity: \(error)") }
                guard q.units > 0 else { throw fail(3, "quantity must be positive, got \(fields[3])") }
                quantity = q
            }
            if let last = rows.last, time < last.time {
                throw fail(0, "time goes backwards (line \(last.line) is later)")
            }
            rows.append(Row(time: time, instrument: instrument, price: price, quantity: quantity, line: lineNumber))
        }
        guard !rows.isEmpty else { throw MarketReplayError(file: file, line: nil, column: nil, columnName: nil, message: "no rows") }
        return rows
    }
}

/// A replay file that cannot be used: names the file, and the line and column when it is one row.
public struct MarketReplayError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    /// 1-based.
    public var column: Int?
    public var columnName: String?
    public var message: String

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let column, let columnName { s += ": column \(column) (\(columnName))" }
        return s + ": " + message
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
