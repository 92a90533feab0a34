import NIOCore
import NIOHTTP1
import NIOPosix

/// One plain HTTP/1.1 request over NIO (no TLS, `Connection: close`): how Tandem talks to Alertmanager,
/// Prometheus and the processes' ops ports beside it.
public enum PlainHTTP {
    public struct Response: Sendable {
        public var status: UInt
        public var body: String
    }

    public static func request(host: String, port: Int, method: HTTPMethod, path: String, body: [UInt8]? = nil,
                               contentType: String? = nil) async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "\(host):\(port)")
            headers.add(name: "Connection", value: "close")
            if let contentType { headers.add(name: "Content-Type", value: contentType) }
            if let body { headers.add(name: "Content-Length", value: "\(body.count)") }
            try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)))
            if let body { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))
            var status: UInt = 0
            var received = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let head): status = head.status.code
                case .body(var chunk): received.writeBuffer(&chunk)
                case .end: return Response(status: status, body: String(buffer: received))
                }
            }
            return Response(status: status, body: String(buffer: received))
        }
    }
}
