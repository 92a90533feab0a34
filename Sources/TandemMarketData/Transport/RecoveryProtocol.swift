import NIOCore
import TandemCore

/// The feed's TCP recovery service protocol: length-prefixed frames, `u32 LE length` (of what
/// follows) + `u8 type` + payload. Clients subscribe (naming their UDP ports for lines A and B),
/// ask for a retransmission of a seq range or for a snapshot of the book.
public enum RecoveryFrame: Sendable, Hashable {
    case subscribe(portA: UInt16, portB: UInt16)
    case retransmitRequest(from: UInt64, through: UInt64)
    case snapshotRequest
    case subscribed(nextSeq: UInt64)
    /// Feed packets (line R) holding the requested range.
    case retransmission([[UInt8]])
    case snapshot(FeedPublisher.Snapshot)
    case unavailable(oldest: UInt64, next: UInt64)

    static let maxFrame = 64 << 20

    func encode(into buffer: inout ByteBuffer) {
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0), endianness: .little)
        let start = buffer.writerIndex
        switch self {
        case .subscribe(let a, let b):
            buffer.writeInteger(UInt8(1))
            buffer.writeInteger(a, endianness: .little)
            buffer.writeInteger(b, endianness: .little)
        case .retransmitRequest(let from, let through):
            buffer.writeInteger(UInt8(2))
            buffer.writeInteger(from, endianness: .little)
            buffer.writeInteger(through, endianness: .little)
        case .snapshotRequest:
            buffer.writeInteger(UInt8(3))
        case .subscribed(let next):
            buffer.writeInteger(UInt8(14))
            buffer.writeInteger(next, endianness: .little)
        case .retransmission(let packets):
            buffer.writeInteger(UInt8(11))
            buffer.writeInteger(UInt32(packets.count), endianness: .little)
            for p in packets {
                buffer.writeInteger(UInt32(p.count), endianness: .little)
                buffer.writeBytes(p)
            }
        case .snapshot(let s):
            buffer.writeInteger(UInt8(12))
            buffer.writeInteger(s.lastSeq, endianness: .little)
            buffer.writeInteger(UInt32(s.orders.count), endianness: .little)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(s.orders.count * FeedWire.messageSize)
            for m in s.orders { FeedWire.encodeMessage(m, into: &bytes) }
            buffer.writeBytes(bytes)
        case .unavailable(let oldest, let next):
            buffer.writeInteger(UInt8(13))
            buffer.writeInteger(oldest, endianness: .little)
            buffer.writeInteger(next, endianness: .little)
        }
        buffer.setInteger(UInt32(buffer.writerIndex - start), at: lengthIndex, endianness: .little)
    }

    static func decode(type: UInt8, payload: inout ByteBuffer) throws(FeedError) -> RecoveryFrame {
        func u16() throws(FeedError) -> UInt16 {
            guard let v = payload.readInteger(endianness: .little, as: UInt16.self) else { throw short(type) }
            return v
        }
        func u32() throws(FeedError) -> UInt32 {
            guard let v = payload.readInteger(endianness: .little, as: UInt32.self) else { throw short(type) }
            return v
        }
        func u64() throws(FeedError) -> UInt64 {
            guard let v = payload.readInteger(endianness: .little, as: UInt64.self) else { throw short(type) }
            return v
        }
        func bytes(_ n: Int) throws(FeedError) -> [UInt8] {
            guard let b = payload.readBytes(length: n) else { throw short(type) }
            return b
        }
        switch type {
        case 1: return .subscribe(portA: try u16(), portB: try u16())
        case 2: return .retransmitRequest(from: try u64(), through: try u64())
        case 3: return .snapshotRequest
        case 14: return .subscribed(nextSeq: try u64())
        case 11:
            let n = Int(try u32())
            var packets: [[UInt8]] = []
            for _ in 0..<n { packets.append(try bytes(Int(try u32()))) }
            return .retransmission(packets)
        case 12:
            let last = try u64()
            let n = Int(try u32())
            let raw = try bytes(n * FeedWire.messageSize)
            var orders: [FeedMessage] = []
            orders.reserveCapacity(n)
            for i in 0..<n { orders.append(try FeedWire.decodeMessage(raw, at: i * FeedWire.messageSize)) }
            return .snapshot(.init(lastSeq: last, orders: orders))
        case 13: return .unavailable(oldest: try u64(), next: try u64())
        default: throw FeedError(.badFrame, offset: 4, "recovery frame type \(type) is unknown")
        }
    }

    private static func short(_ type: UInt8) -> FeedError {
        FeedError(.truncated, offset: 5, "recovery frame type \(type) is shorter than its fields")
    }
}

/// Splits the TCP byte stream into ``RecoveryFrame``s; a malformed frame closes the connection.
final class RecoveryFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = RecoveryFrame

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self) else { return .needMoreData }
        guard length >= 1, Int(length) <= RecoveryFrame.maxFrame else {
            throw FeedError(.badFrame, offset: 0, "recovery frame length \(length) is outside 1...\(RecoveryFrame.maxFrame)")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        var payload = buffer.readSlice(length: Int(length))!
        let type = payload.readInteger(as: UInt8.self)!
        context.fireChannelRead(wrapInboundOut(try RecoveryFrame.decode(type: type, payload: &payload)))
        return .continue
    }
}

final class RecoveryFrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = RecoveryFrame
    func encode(data: RecoveryFrame, out: inout ByteBuffer) throws { data.encode(into: &out) }
}
