/// A Swift value that can be read from a column in PostgreSQL's text result format.
///
/// `type` is the column's type OID, so a decoder can refuse a column of the wrong type rather than
/// misread it.
public protocol PostgresDecodable: Sendable {
    init(postgresText text: String, type: PostgresTypeOID) throws(PostgresDecodingError)
}

/// Why a value could not be decoded; `QueryResult.Row` wraps it in a `PostgresError` naming the column.
public struct PostgresDecodingError: Error, Sendable, Hashable {
    public var expected: String
    public var found: String
    public init(expected: String, found: String) {
        self.expected = expected
        self.found = found
    }
}

/// A PostgreSQL type OID (from `pg_type`); the few Tandem reads are named.
public struct PostgresTypeOID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let bool = Self(rawValue: 16)
    public static let bytea = Self(rawValue: 17)
    public static let int8 = Self(rawValue: 20)
    public static let int2 = Self(rawValue: 21)
    public static let int4 = Self(rawValue: 23)
    public static let text = Self(rawValue: 25)
    public static let oid = Self(rawValue: 26)
    public static let varchar = Self(rawValue: 1043)
    public static let timestamp = Self(rawValue: 1114)
    public static let timestamptz = Self(rawValue: 1184)
    public static let numeric = Self(rawValue: 1700)

    public var description: String {
        switch self {
        case .bool: "bool"
        case .bytea: "bytea"
        case .int8: "bigint"
        case .int2: "smallint"
        case .int4: "integer"
        case .text: "text"
        case .oid: "oid"
        case .varchar: "varchar"
        case .timestamp: "timestamp"
        case .timestamptz: "timestamptz"
        case .numeric: "numeric"
        default: "oid \(rawValue)"
        }
    }
}

/// Any column decodes as its text; `numeric` in particular is read as a string, never a float.
extension String: PostgresDecodable {
    public init(postgresText text: String, type: PostgresTypeOID) throws(PostgresDecodingError) {
        self = text
    }
}

private func decodeInteger<T: FixedWidthInteger>(
    _ text: String, type: PostgresTypeOID, as name: String
) throws(PostgresDecodingError) -> T {
    guard type == .int2 || type == .int4 || type == .int8 || type == .oid || type == .numeric || type == .text else {
        throw PostgresDecodingError(expected: name, found: "a \(type) column")
    }
    guard let value = T(text) else {
        throw PostgresDecodingError(expected: name, found: "\"\(text.prefix(40))\"")
    }
    return value
}

extension Int: PostgresDecodable {
    public init(postgresText text: String, type: PostgresTypeOID) throws(PostgresDecodingError) {
        self = try decodeInteger(text, type: type, as: "Int")
    }
}

extension Int64: PostgresDecodable {
    public init(postgresText text: String, type: PostgresTypeOID) throws(PostgresDecodingError) {
        self = try decodeInteger(text, type: type, as: "Int64")
    }
}

extension Int32: PostgresDecodable {
    public init(postgresText text: String, type: PostgresTypeOID) throws(PostgresDecodingError) {
        self = try decodeInteger(text, type: type, as: "Int32")
    }
}

extension Int16: PostgresDecodable {
    public init(postgresText text: String, type: PostgresTypeOID) throws(PostgresDecodingError) {
        self = try decodeInteger(text, type: type, as: "Int16")
    }
}

extension Bool: PostgresDecodable {
    public init(postgresText text: String, type: PostgresTypeOID) throws(PostgresDecodingError) {
        switch text {
        case "t": self = true
        case "f": self = false
        default: throw PostgresDecodingError(expected: "Bool (t or f)", found: "\"\(text.prefix(40))\" in a \(type) column")
        }
    }
}

/// `bytea` arrives in the server's hex format (`\x0a1b…`, the default since PostgreSQL 9.0).
extension Array: PostgresDecodable where Element == UInt8 {
    public init(postgresText text: String, type: PostgresTypeOID) throws(PostgresDecodingError) {
        guard type == .bytea else {
            throw PostgresDecodingError(expected: "bytea", found: "a \(type) column")
        }
        var utf8 = text.utf8.makeIterator()
        guard utf8.next() == UInt8(ascii: "\\"), utf8.next() == UInt8(ascii: "x") else {
            throw PostgresDecodingError(expected: "bytea in hex format (\\x…)", found: "\"\(text.prefix(12))…\"")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((text.utf8.count - 2) / 2)
        while let high = utf8.next() {
            guard let low = utf8.next(), let h = hexValue(high), let l = hexValue(low) else {
                throw PostgresDecodingError(expected: "an even number of hex digits", found: "a malformed bytea value")
            }
            bytes.append(h << 4 | l)
        }
        self = bytes
    }
}

@inline(__always)
private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}
