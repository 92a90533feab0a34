import TandemCore

/// FIX ExecType(150), FIX 4.4 values.
public enum ExecType: UInt8, Sendable, Hashable, CaseIterable {
    case new = 0x30             // '0'
    case doneForDay = 0x33      // '3'
    case canceled = 0x34        // '4'
    case replaced = 0x35        // '5'
    case pendingCancel = 0x36   // '6'
    case stopped = 0x37         // '7'
    case rejected = 0x38        // '8'
    case suspended = 0x39       // '9'
    case pendingNew = 0x41      // 'A'
    case calculated = 0x42      // 'B'
    case expired = 0x43         // 'C'
    case restated = 0x44        // 'D'
    case pendingReplace = 0x45  // 'E'
    case trade = 0x46           // 'F'
    case tradeCorrect = 0x47    // 'G'
    case tradeCancel = 0x48     // 'H'
    case orderStatus = 0x49     // 'I'
}

/// Conversions between FIX enumeration characters and the core's order vocabulary.
extension FIXMessage {
    func side(_ f: FIXField) throws(FIXError) -> Side {
        let c = try char(f)
        guard c >= 48, let s = Side(rawValue: c - 48) else { throw bad(f, "is not a Side this engine trades (1, 2, 5)") }
        return s
    }

    func ordStatus(_ f: FIXField) throws(FIXError) -> OrderStatus {
        guard let s = OrderStatus(rawValue: try char(f)) else { throw bad(f, "is not an OrdStatus the core models") }
        return s
    }

    func execType(_ f: FIXField) throws(FIXError) -> ExecType {
        guard let s = ExecType(rawValue: try char(f)) else { throw bad(f, "is not a FIX 4.4 ExecType") }
        return s
    }

    /// OrdType(40) with Price(44)/StopPx(99) as the core's `OrderType`.
    func orderType(_ f: FIXField, price: Price?, stopPx: Price?) throws(FIXError) -> OrderType {
        switch try char(f) {
        case UInt8(ascii: "1"): return .market
        case UInt8(ascii: "2"):
            guard let price else { throw missing(44) }
            return .limit(price)
        case UInt8(ascii: "3"):
            guard let stopPx else { throw missing(99) }
            return .stop(stopPx)
        case UInt8(ascii: "4"):
            guard let price else { throw missing(44) }
            guard let stopPx else { throw missing(99) }
            return .stopLimit(stop: stopPx, limit: price)
        default: throw bad(f, "is not an OrdType the core models (1, 2, 3, 4)")
        }
    }

    /// TimeInForce(59), absent meaning Day, with ExpireTime(126) for GTD.
    func timeInForce(_ f: FIXField?, expireTime: Timestamp?) throws(FIXError) -> TimeInForce {
        guard let f else { return .day }
        switch try char(f) {
        case UInt8(ascii: "0"): return .day
        case UInt8(ascii: "1"): return .goodTillCancel
        case UInt8(ascii: "3"): return .immediateOrCancel
        case UInt8(ascii: "4"): return .fillOrKill
        case UInt8(ascii: "6"):
            guard let expireTime else { throw missing(126) }
            return .goodTillDate(expireTime)
        default: throw bad(f, "is not a TimeInForce the core models (0, 1, 3, 4, 6)")
        }
    }
}

extension FIXWriter {
    mutating func append(_ tag: Int, _ side: Side) { append(tag, char: 48 &+ side.rawValue) }

    mutating func append(_ tag: Int, _ status: OrderStatus) { append(tag, char: status.rawValue) }

    mutating func append(_ tag: Int, _ type: ExecType) { append(tag, char: type.rawValue) }

    /// OrdType(40), Price(44), StopPx(99).
    mutating func append(_ type: OrderType) {
        switch type {
        case .market: append(40, char: UInt8(ascii: "1"))
        case .limit(let p): append(40, char: UInt8(ascii: "2")); append(44, p)
        case .stop(let s): append(40, char: UInt8(ascii: "3")); append(99, s)
        case .stopLimit(let s, let p): append(40, char: UInt8(ascii: "4")); append(44, p); append(99, s)
        }
    }

    /// TimeInForce(59), ExpireTime(126).
    mutating func append(_ tif: TimeInForce) {
        switch tif {
        case .day: append(59, char: UInt8(ascii: "0"))
        case .goodTillCancel: append(59, char: UInt8(ascii: "1"))
        case .immediateOrCancel: append(59, char: UInt8(ascii: "3"))
        case .fillOrKill: append(59, char: UInt8(ascii: "4"))
        case .goodTillDate(let t): append(59, char: UInt8(ascii: "6")); append(126, t)
        }
    }
}
