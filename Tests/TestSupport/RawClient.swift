import Foundation

/// A blocking HTTP/1.x client that sends exactly the bytes it is given: malformed, pipelined,
/// one byte at a time, half-closed, or abandoned mid-body. It reads responses back without
/// interpreting them beyond their framing, so a test sees what the server really wrote.
///
/// Every wait has a deadline (`timeout` per operation), so a server that stops answering fails
/// the test with `TestClientError.timedOut` rather than hanging it. Not thread-safe: one test
/// thread owns a client.
package final class RawClient {
    package let port: Int
    private let socket: ClientSocket
    /// Received bytes not yet returned as part of a response.
    private var pending: [UInt8] = []
    /// True once a read saw the peer's RST instead of a FIN.
    package private(set) var sawReset = false

    /// Connects to `host:port`.
    /// - Parameter timeout: how long any one operation may wait. Long enough for a loaded CI
    ///   machine; only a broken server ever reaches it.
    /// - Parameter receiveBufferSize: a fixed `SO_RCVBUF`, for tests of clients that do not read.
    package init(
        port: Int, host: String = "127.0.0.1", timeout: Duration = .seconds(10), receiveBufferSize: Int? = nil
    ) throws {
        self.port = port
        socket = try ClientSocket(host: host, port: port, timeout: timeout, receiveBufferSize: receiveBufferSize)
    }

    // MARK: Sending

    /// Sends exactly `bytes`.
    package func send(_ bytes: [UInt8]) throws {
        let deadline = ClientSocket.deadline(after: socket.timeout)
        try bytes.withUnsafeBytes { try socket.sendAll($0, deadline: deadline) }
    }

    /// Sends the UTF-8 bytes of `text`; write `\r\n` line ends explicitly.
    package func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// Sends one byte per `send(2)` call (with Nagle off, one byte per segment), the way a slow
    /// or hostile client dribbles a request.
    package func sendByteByByte(_ text: String) throws {
        for byte in text.utf8 { try send([byte]) }
    }

    /// Half-closes: our FIN goes out, and responses can still be read.
    package func shutdownWrite() throws {
        try socket.shutdownWrite()
    }

    // MARK: Receiving

    /// Reads one complete response. A `100 Continue` interim response is returned on its own.
    /// - Parameter method: the method of the request being answered (HEAD responses have no body).
    package func readResponse(method: String = "GET") throws -> RawResponse {
        let deadline = ClientSocket.deadline(after: socket.timeout)
        return try ResponseReader.next(from: &pending, requestMethod: method) {
            try receiveChunk(deadline: deadline, operation: "read a response")
        }
    }

    /// Sends `text` and reads the response to it.
    package func request(_ text: String, method: String? = nil) throws -> RawResponse {
        try send(text)
        return try readResponse(method: method ?? String(text.prefix { $0 != " " }))
    }

    /// Reads until the server closes the connection (FIN or RST) and returns every byte not yet
    /// consumed as a response. Throws `.timedOut` if the server keeps the connection open.
    package func readUntilClose() throws -> [UInt8] {
        let deadline = ClientSocket.deadline(after: socket.timeout)
        while let chunk = try receiveChunk(deadline: deadline, operation: "see the connection closed") {
            pending.append(contentsOf: chunk)
        }
        defer { pending = [] }
        return pending
    }

    /// Reads until at least `count` bytes not yet consumed have arrived and returns all of them,
    /// unparsed: for bodies too long (or endless) to read as one response. Throws
    /// `.closedEarly` if the server closes first.
    package func read(atLeast count: Int) throws -> [UInt8] {
        let deadline = ClientSocket.deadline(after: socket.timeout)
        while pending.count < count {
            guard let chunk = try receiveChunk(deadline: deadline, operation: "read \(count) bytes") else {
                throw TestClientError.closedEarly(received: pending)
            }
            pending.append(contentsOf: chunk)
        }
        defer { pending = [] }
        return pending
    }

    /// The next bytes, or nil when the peer closed (a reset counts as closed, and is recorded).
    private func receiveChunk(deadline: UInt64, operation: String) throws -> [UInt8]? {
        switch try socket.receive(deadline: deadline, operation: operation) {
        case .bytes(let bytes):
            return bytes
        case .endOfStream:
            return nil
        case .reset:
            sawReset = true
            return nil
        }
    }

    // MARK: Closing

    /// Closes normally (FIN).
    package func close() {
        socket.close()
    }

    /// Closes abortively (RST), as a client that crashes or loses its network does.
    package func abort() {
        socket.abort()
    }
}
