import TandemCore

/// The venue's market-data feed on the wire: sequenced, binary, order-level incremental messages.
///
/// A packet is a 24-byte header and `count` fixed-size 40-byte messages, all little-endian:
///
/// | offset | size | header field |
/// |---|---|---|
/// | 0 | 2 | magic `0x54 0x46` ("TF") |
/// | 2 | 1 | version (1) |
/// | 3 | 1 | line: `A`, `B`, or `R` (retransmission over TCP) |
/// | 4 | 2 | message count (0 = heartbeat) |
/// | 6 | 2 | reserved, 0 |
/// | 8 | 8 | sequence number of the first message (for a heartbeat: the next seq to be sent) |
/// | 16 | 8 | send time, UTC nanoseconds |
///
/// | offset | size | message field |
/// |---|---|---|
/// | 0 | 1 | kind: 1 add, 2 modify, 3 delete, 4 trade, 5 clear book |
/// | 1 | 1 | side: 1 buy, 2 sell (trade: the aggressor's side) |
/// | 2 | 2 | reserved, 0 |
/// | 4 | 4 | instrument id |
/// | 8 | 8 | venue order id (0 for trade, clear) |
/// | 16 | 8 | price, 1e-8 units |
/// | 24 | 8 | quantity, 1e-8 units (add: size; modify: the order's new remaining size; trade: size) |
/// | 32 | 8 | event time at the venue, UTC nanoseconds |
///
/// Message `i` of a packet has sequence number `firstSeq + i`. Sequence numbers start at 1, one
/// stream per venue across all instruments, so one gap check covers the whole feed.
public enum FeedWire {
    public static let headerSize = 24
    public static let messageSize = 40
    public static let magic: (UInt8, UInt8) = (0x54, 0x46)
    public static let version: UInt8 = 1
    /// 30 messages keep a packet (1,224 bytes) inside a 1,500-byte Ethernet MTU.
    public static let maxMessagesPerPacket = 30
}

public enum FeedLine: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case a = 0x41
    case b = 0x42
    /// Retransmitted over the TCP recovery service.
    case retransmission = 0x52

    public var description: String {
        switch self {
        case .a: "A"
        case .b: "B"
        case .retransmission: "R"
        }
    }
}

public struct FeedMessage: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, Hashable {
        case addOrder = 1
        case modifyOrder = 2
        case deleteOrder = 3
        case trade = 4
        /// Every order of the instrument is gone (a venue reset, an end of session).
        case clearBook = 5
    }

    public var kind: Kind
    public var side: Side
    public var instrument: InstrumentID
    public var orderID: UInt64
    public var price: Price
    public var quantity: Quantity
    public var time: Timestamp

    public init(kind: Kind, side: Side = .buy, instrument: InstrumentID, orderID: UInt64 = 0, price: Price = .zero,
                quantity: Quantity = .zero, time: Timestamp) {
        self.kind = kind
        self.side = side
        self.instrument = instrument
        self.orderID = orderID
        self.price = price
        self.quantity = quantity
        self.time = time
    }

    public static func add(_ instrument: InstrumentID, order: UInt64, _ side: Side, price: Price, quantity: Quantity, at t: Timestamp) -> Self {
        Self(kind: .addOrder, side: side, instrument: instrument, orderID: order, price: price, quantity: quantity, time: t)
    }
    public static func modify(_ instrument: InstrumentID, order: UInt64, _ side: Side, price: Price, remaining: Quantity, at t: Timestamp) -> Self {
        Self(kind: .modifyOrder, side: side, instrument: instrument, orderID: order, price: price, quantity: remaining, time: t)
    }
    public static func delete(_ instrument: InstrumentID, order: UInt64, _ side: Side, price: Price, at t: Timestamp) -> Self {
        Self(kind: .deleteOrder, side: side, instrument: instrument, orderID: order, price: price, time: t)
    }
    public static func trade(_ instrument: InstrumentID, aggressor: Side, price: Price, quantity: Quantity, at t: Timestamp) -> Self {
        Self(kind: .trade, side: aggressor, instrument: instrument, price: price, quantity: quantity, time: t)
    }
}

/// A feed packet or recovery frame that could not be read: what, where (byte offset), why.
public struct FeedError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        case truncated, badMagic, badVersion, badLine, badLength, badKind, badSide, badValue, badFrame
    }
    public var code: Code
    public var offset: Int
    public var message: String
    public init(_ code: Code, offset: Int, _ message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }
    public var description: String { "feed \(code) at byte \(offset): \(message)" }
}

/// A decoded packet header and a view of its messages (decoded on access).
public struct FeedPacket: Sendable {
    public var line: FeedLine
    public var firstSeq: UInt64
    public var count: Int
    public var sendTime: Timestamp
    public var bytes: [UInt8]

    /// Checks the header and that the length matches the count; messages are checked as they are read.
    public init(decoding bytes: [UInt8]) throws(FeedError) {
        guard bytes.count >= FeedWire.headerSize else {
            throw FeedError(.truncated, offset: bytes.count, "packet of \(bytes.count) bytes is shorter than the \(FeedWire.headerSize)-byte header")
        }
        guard bytes[0] == FeedWire.magic.0, bytes[1] == FeedWire.magic.1 else {
            throw FeedError(.badMagic, offset: 0, "magic is \(bytes[0]), \(bytes[1]); expected 0x54 0x46 ('TF')")
        }
        guard bytes[2] == FeedWire.version else {
            throw FeedError(.badVersion, offset: 2, "version \(bytes[2]) is not \(FeedWire.version)")
        }
        guard let line = FeedLine(rawValue: bytes[3]) else {
            throw FeedError(.badLine, offset: 3, "line byte \(bytes[3]) is not A, B or R")
        }
        let span = bytes.span.bytes
        let count = Int(UInt16(littleEndian: span.unsafeLoadUnaligned(fromByteOffset: 4, as: UInt16.self)))
        let expected = FeedWire.headerSize + count * FeedWire.messageSize
        guard bytes.count == expected else {
            throw FeedError(.badLength, offset: 4, "\(count) messages need \(expected) bytes, the packet has \(bytes.count)")
        }
        self.line = line
        self.count = count
        self.firstSeq = UInt64(littleEndian: span.unsafeLoadUnaligned(fromByteOffset: 8, as: UInt64.self))
        self.sendTime = Timestamp(nanosecondsSinceEpoch: Int64(littleEndian: span.unsafeLoadUnaligned(fromByteOffset: 16, as: Int64.self)))
        self.bytes = bytes
        guard firstSeq > 0 else { throw FeedError(.badValue, offset: 8, "sequence number 0; sequences start at 1") }
    }

    public var isHeartbeat: Bool { count == 0 }
    /// The seq after the last message (for a heartbeat, the next seq the venue will send).
    public var endSeq: UInt64 { firstSeq + UInt64(count) }

    /// Message `index` (0-based); its seq is `firstSeq + index`.
    public func message(_ index: Int) throws(FeedError) -> FeedMessage {
        try FeedWire.decodeMessage(bytes, at: FeedWire.headerSize + index * FeedWire.messageSize)
    }

    public func messages() throws(FeedError) -> [FeedMessage] {
        var out: [FeedMessage] = []
        out.reserveCapacity(count)
        for i in 0..<count { out.append(try message(i)) }
        return out
    }
}

extension FeedWire {
    /// Encodes one packet of at most ``maxMessagesPerPacket`` messages (any count; the caller splits).
    public static func encodePacket(line: FeedLine, firstSeq: UInt64, sendTime: Timestamp,
                                    messages: some Collection<FeedMessage>, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + headerSize + messages.count * messageSize)
        out.append(magic.0)
        out.append(magic.1)
        out.append(version)
        out.append(line.rawValue)
        appendLE(UInt16(messages.count), &out)
        appendLE(UInt16(0), &out)
        appendLE(firstSeq, &out)
        appendLE(sendTime.nanosecondsSinceEpoch, &out)
        for m in messages { encodeMessage(m, into: &out) }
    }

    public static func encodeMessage(_ m: FeedMessage, into out: inout [UInt8]) {
        out.append(m.kind.rawValue)
        out.append(m.side.rawValue)
        appendLE(UInt16(0), &out)
        appendLE(m.instrument.rawValue, &out)
        appendLE(m.orderID, &out)
        appendLE(m.price.units, &out)
        appendLE(m.quantity.units, &out)
        appendLE(m.time.nanosecondsSinceEpoch, &out)
    }

    @inline(__always)
    static func appendLE<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        var x = v.littleEndian
        for _ in 0..<MemoryLayout<T>.size {
            out.append(UInt8(truncatingIfNeeded: x))
            x >>= 8
        }
    }

    /// Decodes the 40-byte message at `offset` of `bytes`.
    @inline(__always)
    public static func decodeMessage(_ bytes: [UInt8], at offset: Int) throws(FeedError) -> FeedMessage {
        guard offset >= 0, offset + messageSize <= bytes.count else {
            throw FeedError(.truncated, offset: offset, "a message needs \(messageSize) bytes, \(bytes.count - offset) remain")
        }
        guard let kind = FeedMessage.Kind(rawValue: bytes[offset]) else {
            throw FeedError(.badKind, offset: offset, "message kind \(bytes[offset]) is not 1-5")
        }
        guard let side = Side(rawValue: bytes[offset + 1]), side != .sellShort else {
            throw FeedError(.badSide, offset: offset + 1, "side \(bytes[offset + 1]) is not 1 (buy) or 2 (sell)")
        }
        let raw = bytes.span.bytes
        let instrument = UInt32(littleEndian: raw.unsafeLoadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        let order = UInt64(littleEndian: raw.unsafeLoadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        let price = Int64(littleEndian: raw.unsafeLoadUnaligned(fromByteOffset: offset + 16, as: Int64.self))
        let qty = Int64(littleEndian: raw.unsafeLoadUnaligned(fromByteOffset: offset + 24, as: Int64.self))
        let time = Int64(littleEndian: raw.unsafeLoadUnaligned(fromByteOffset: offset + 32, as: Int64.self))
        guard qty >= 0 else { throw FeedError(.badValue, offset: offset + 24, "negative quantity \(qty)") }
        return FeedMessage(kind: kind, side: side, instrument: InstrumentID(instrument), orderID: order,
                           price: Price(units: price), quantity: Quantity(units: qty), time: Timestamp(nanosecondsSinceEpoch: time))
    }
}
