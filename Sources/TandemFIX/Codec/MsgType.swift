/// FIX MsgType(35). Types this engine reads and writes have cases; any other value passes through as `.other`.
public enum MsgType: Sendable, Hashable, CustomStringConvertible {
    case heartbeat, testRequest, resendRequest, reject, sequenceReset, logout, logon
    case executionReport, orderCancelReject, newOrderSingle, orderCancelRequest
    case orderCancelReplaceRequest, orderStatusRequest, businessMessageReject, orderMassStatusRequest
    case other(String)

    public init(wireValue: String) {
        self = MsgType.known[wireValue] ?? .other(wireValue)
    }

    init(_ b: borrowing [UInt8], _ r: Range<Int>) {
        if r.count == 1 {
            switch b[r.lowerBound] {
            case UInt8(ascii: "0"): self = .heartbeat
            case UInt8(ascii: "1"): self = .testRequest
            case UInt8(ascii: "2"): self = .resendRequest
            case UInt8(ascii: "3"): self = .reject
            case UInt8(ascii: "4"): self = .sequenceReset
            case UInt8(ascii: "5"): self = .logout
            case UInt8(ascii: "A"): self = .logon
            case UInt8(ascii: "8"): self = .executionReport
            case UInt8(ascii: "9"): self = .orderCancelReject
            case UInt8(ascii: "D"): self = .newOrderSingle
            case UInt8(ascii: "F"): self = .orderCancelRequest
            case UInt8(ascii: "G"): self = .orderCancelReplaceRequest
            case UInt8(ascii: "H"): self = .orderStatusRequest
            case UInt8(ascii: "j"): self = .businessMessageReject
            default: self = .other(String(decoding: b[r], as: UTF8.self))
            }
        } else if r.count == 2, b[r.lowerBound] == UInt8(ascii: "A"), b[r.lowerBound + 1] == UInt8(ascii: "F") {
            self = .orderMassStatusRequest
        } else {
            self = .other(String(decoding: b[r], as: UTF8.self))
        }
    }

    public var wireValue: String {
        switch self {
        case .heartbeat: "0"
        case .testRequest: "1"
        case .resendRequest: "2"
        case .reject: "3"
        case .sequenceReset: "4"
        case .logout: "5"
        case .logon: "A"
        case .executionReport: "8"
        case .orderCancelReject: "9"
        case .newOrderSingle: "D"
        case .orderCancelRequest: "F"
        case .orderCancelReplaceRequest: "G"
        case .orderStatusRequest: "H"
        case .businessMessageReject: "j"
        case .orderMassStatusRequest: "AF"
        case .other(let s): s
        }
    }

    /// Session-level (admin) messages: never resent, gap-filled instead.
    public var isAdmin: Bool {
        switch self {
        case .heartbeat, .testRequest, .resendRequest, .reject, .sequenceReset, .logout, .logon: true
        default: false
        }
    }

    public var description: String { wireValue }

    private static let known: [String: MsgType] = {
        let all: [MsgType] = [.heartbeat, .testRequest, .resendRequest, .reject, .sequenceReset, .logout, .logon,
                              .executionReport, .orderCancelReject, .newOrderSingle, .orderCancelRequest,
                              .orderCancelReplaceRequest, .orderStatusRequest, .businessMessageReject, .orderMassStatusRequest]
        return Dictionary(uniqueKeysWithValues: all.map { ($0.wireValue, $0) })
    }()
}

extension FIXWriter {
    /// MsgType(35) from its one or two known characters, without building the `wireValue` String.
    mutating func append(_ tag: Int, _ type: MsgType) {
        let c: UInt8
        switch type {
        case .heartbeat: c = UInt8(ascii: "0")
        case .testRequest: c = UInt8(ascii: "1")
        case .resendRequest: c = UInt8(ascii: "2")
        case .reject: c = UInt8(ascii: "3")
        case .sequenceReset: c = UInt8(ascii: "4")
        case .logout: c = UInt8(ascii: "5")
        case .logon: c = UInt8(ascii: "A")
        case .executionReport: c = UInt8(ascii: "8")
        case .orderCancelReject: c = UInt8(ascii: "9")
        case .newOrderSingle: c = UInt8(ascii: "D")
        case .orderCancelRequest: c = UInt8(ascii: "F")
        case .orderCancelReplaceRequest: c = UInt8(ascii: "G")
        case .orderStatusRequest: c = UInt8(ascii: "H")
        case .businessMessageReject: c = UInt8(ascii: "j")
        case .orderMassStatusRequest:
            field(tag, maxValueLength: 2) { out in out.append(UInt8(ascii: "A")); out.append(UInt8(ascii: "F")) }
            return
        case .other(let s):
            append(tag, s)
            return
        }
        append(tag, char: c)
    }
}
