import Logging
import Synchronization

/// One client connection, plain or TLS, owned by one event loop.
///
/// It reads into the loop's shared buffer, feeds the parser, hands one request at a time to the
/// responder, and writes responses in request order (RFC 9112 §9.3.2 pipelining). While a
/// response is pending it keeps buffering pipelined input up to a bound, then stops reading.
/// A streamed body (`HTTPResponse.stream`) keeps its response pending until the body ends.
final class HTTPConnection: EventHandler, @unchecked Sendable {
    // @unchecked: every mutable field is touched only on `loop`'s thread. The responder's
    // completion may run elsewhere; it reads `dispatching` only after checking `loop.inLoop`,
    // and otherwise hops back with `loop.execute`. A stream's pieces are produced in a task
    // and posted back with `loop.execute` too.

    private enum Phase {
        case handshaking
        case open
        /// Our final bytes are sent and our write side is shut: read and discard until the peer
        /// closes, so the kernel does not reset the connection before it reads our answer.
        case lingering
        case closed
    }

    private enum Deadline {
        case none, handshake, header, body, idle, write, linger
    }

    private struct InFlight {
        var keepAlive: Bool
        var version: HTTPVersion
        var isHead: Bool
    }

    /// A streamed body being sent. Its request stays `inFlight` until the body ends, so no
    /// pipelined request is answered and no header or idle deadline runs meanwhile.
    private struct Streaming {
        let body: HTTPBodyStream
        /// HTTP/1.1: chunked (RFC 9112 §7.1). HTTP/1.0: raw, delimited by the close.
        let chunked: Bool
        /// The task awaiting `body.next()`, while there is one: never more than one.
        var pull: Task<Void, Never>?
    }

    private var socket: FileDescriptor
    private var fd: Int32 { socket.rawValue }
    private let loop: EventLoop
    private let shared: ServerShared
    private var generation: UInt32 = 0
    private var tls: TLSStream?
    private var parser: HTTPParser
    private var phase: Phase
    private var outbound: [UInt8] = []
    private var outboundOffset = 0
    private var inFlight: InFlight?
    private var streaming: Streaming?
    private var closeAfterFlush = false
    private var peerClosed = false
    private var deadlineKind: Deadline = .none
    private var deadline: UInt64 = 0
    private var interest: EpollEvents = []
    private var dispatching = false
    /// Set when `processInput` stopped because output is backed up, not because input ran out.
    private var waitingForOutput = false
    private var inlineResponse: HTTPResponse?

    init(fd: Int32, loop: EventLoop, shared: ServerShared, tls: TLSStream?) {
        socket = FileDescriptor(taking: fd)
        self.loop = loop
        self.shared = shared
        self.tls = tls
        parser = HTTPParser(limits: shared.configuration.limits)
        phase = tls == nil ? .open : .handshaking
        let now = MonotonicClock.nanos()
        if tls == nil {
            setDeadline(.header, now: now)
        } else {
            setDeadline(.handshake, now: now)
        }
    }

    /// Registers with the loop; on failure the fd is closed.
    func start() {
        interest = .input
        do {
            generation = try loop.register(fd: fd, events: interest, handler: self)
        } catch {
            shared.logger.warning("could not register connection: \(error)")
            phase = .closed
            socket.close()
            shared.stats.open.subtract(1, ordering: .relaxed)
        }
    }

    // MARK: - Events

    func handle(events: EpollEvents) {
        if events.contains(.writable) {
            flush()
            if phase == .open && waitingForOutput && !outputBackedUp {
                // Requests that waited behind backed-up output can go now.
                pump()
                refreshDeadline(progress: false)
            }
            // A stream that waited for the client to read can go on.
            pullIfDrained()
        }
        if !events.isDisjoint(with: .readReady) {
            readAvailable()
        }
        if phase != .closed { updateInterest() }
    }

    func tick(now: UInt64) {
        guard phase != .closed, deadlineKind != .none, now >= deadline else { return }
        switch deadlineKind {
        case .none:
            return
        case .handshake:
            shared.stats.tlsHandshakeFailures.add(1, ordering: .relaxed)
            close()
        case .header, .body:
            respondWithError(status: 408, code: "RequestTimeout",
                             message: deadlineKind == .header
                                 ? "Request headers were not received in time"
                                 : "Request body was not received in time")
            updateInterestIfOpen()
        case .idle, .write, .linger:
            close()
        }
    }

    private func setDeadline(_ kind: Deadline, now: UInt64) {
        deadlineKind = kind
        let config = shared.configuration
        let interval: Duration = switch kind {
        case .none: .zero
        case .handshake: config.tlsHandshakeTimeout
        case .header: config.headerReadTimeout
        case .body: config.bodyReadTimeout
        case .idle: config.idleTimeout
        case .write: config.writeTimeout
        case .linger: config.lingerTimeout
        }
        deadline = now &+ interval.nanoseconds
    }

    /// Chooses the deadline that applies to the connection's current state.
    /// - Parameter progress: bytes moved in the relevant direction since the last call.
    private func refreshDeadline(progress: Bool) {
        guard phase == .open else { return }
        let now = MonotonicClock.nanos()
        if outboundOffset < outbound.count {
            if progress || deadlineKind != .write { setDeadline(.write, now: now) }
        } else if inFlight != nil {
            deadlineKind = .none
        } else if parser.isIdle {
            if deadlineKind != .idle { setDeadline(.idle, now: now) }
        } else if parser.isReadingBody {
            if progress || deadlineKind != .body { setDeadline(.body, now: now) }
        } else if deadlineKind != .header {
            // The first byte of a new request starts the header clock; more bytes do not extend it.
            setDeadline(.header, now: now)
        }
    }

    // MARK: - Reading

    private func readAvailable() {
        var reads = 0
        var gotBytes = false
        // Bounded reads per wake-up keep one busy client from starving the others on this loop.
        while phase != .closed && reads < shared.configuration.maxReadsPerWakeup {
            if inputPaused { break }
            let result: IOResult<Int>
            do {
                result = try Socket.read(fd, into: loop.readBuffer)
            } catch {
                close()  // ECONNRESET and friends: the peer is gone.
                return
            }
            reads += 1
            guard case .done(let count) = result else { break }
            if count == 0 {
                peerClosed = true
                break
            }
            shared.stats.received.add(count, ordering: .relaxed)
            gotBytes = true
            if phase == .lingering { continue }
            let bytes = UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<count])
            if let tls {
                tls.feed(bytes)
            } else {
                parser.append(bytes)
            }
            if count < loop.readBuffer.count { break }
        }
        switch phase {
        case .closed:
            return
        case .lingering:
            if peerClosed { close() }
            return
        case .handshaking, .open:
            break
        }
        if tls != nil {
            decrypt()
            if phase == .closed { return }
        }
        pump()
        refreshDeadline(progress: gotBytes)
    }

    /// After the peer's FIN: a half-close is not an abort (RFC 9112 §9.6), so requests already
    /// complete in the buffer are still answered, pipelined ones included. Once none is in
    /// flight and none waits behind backed-up output, whatever is left can never become a
    /// request: close as soon as the answers are out.
    private func closeIfPeerFinished() {
        guard peerClosed, inFlight == nil, !waitingForOutput, phase == .open || phase == .handshaking else { return }
        if outboundOffset >= outbound.count {
            close()
        } else {
            closeAfterFlush = true
        }
    }

    /// Runs the TLS handshake, then moves decrypted bytes into the parser.
    private func decrypt() {
        guard let tls else { return }
        if phase == .handshaking {
            do {
                let progress = try tls.handshake()
                tls.drainCiphertext(into: &outbound)
                guard case .complete = progress else { return }
                phase = .open
                setDeadline(.header, now: MonotonicClock.nanos())
            } catch {
                shared.stats.tlsHandshakeFailures.add(1, ordering: .relaxed)
                shared.logger.debug("TLS handshake failed: \(error)")
                tls.drainCiphertext(into: &outbound)  // the alert, if OpenSSL produced one
                closeAfterFlush = true
                flush()
                if phase != .closed { close() }
                return
            }
        }
        while true {
            let result: TLSStream.ReadResult
            do {
                result = try tls.read(into: loop.readBuffer)
            } catch {
                shared.logger.debug("TLS read failed: \(error)")
                close()
                return
            }
            switch result {
            case .bytes(let count):
                parser.append(UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<count]))
            case .incomplete:
                tls.drainCiphertext(into: &outbound)  // e.g. session tickets after the handshake
                return
            case .closed:
                peerClosed = true
                return
            }
        }
    }

    /// Dispatches buffered requests and writes what is ready until neither can progress: output
    /// that drains during the flush may unblock requests that waited behind it.
    private func pump() {
        repeat {
            processInput()
            closeIfPeerFinished()
            flush()
        } while phase == .open && waitingForOutput && !outputBackedUp
    }

    /// Parses and dispatches buffered requests, one at a time.
    private func processInput() {
        waitingForOutput = false
        while phase == .open && inFlight == nil && !closeAfterFlush {
            if outputBackedUp {
                // The client is not reading: answer nothing more until it does; `pump()` or
                // `handle(events:)` (on EPOLLOUT) resumes once the output drains.
                waitingForOutput = true
                return
            }
            let step: HTTPParser.Step
            do {
                step = try parser.next()
            } catch {
                respondWithError(status: error.status, code: error.code, message: error.message)
                return
            }
            switch step {
            case .needMore:
                return
            case .continueExpected:
                queueOutput(ResponseEncoder.continueResponse)
            case .request(let request):
                dispatch(request)
            }
        }
    }

    private func dispatch(_ request: HTTPRequest) {
        var request = request
        request.isSecure = tls != nil
        inFlight = InFlight(
            keepAlive: request.keepAlive, version: request.version, isHead: request.method == "HEAD")
        deadlineKind = .none
        dispatching = true
        shared.responder.respond(to: request) { [self] response in
            if loop.inLoop && dispatching {
                inlineResponse = response
            } else {
                loop.execute { [self] in complete(response) }
            }
        }
        dispatching = false
        if let response = inlineResponse {
            inlineResponse = nil
            writeResponse(response)
        }
    }

    /// A response produced asynchronously, now back on the loop thread.
    private func complete(_ response: HTTPResponse) {
        guard phase == .open, inFlight != nil, streaming == nil else { return }
        writeResponse(response)
        pump()
        refreshDeadline(progress: false)
        updateInterestIfOpen()
    }

    // MARK: - Writing

    /// Response bytes not yet taken by the socket.
    private var pendingOutputBytes: Int { outbound.count - outboundOffset }

    /// True while the client reads slower than it asks: no further request is dispatched until
    /// the output drains, so a client that pipelines without reading cannot make the server
    /// buffer responses without bound.
    private var outputBackedUp: Bool {
        pendingOutputBytes >= shared.configuration.maxPipelineBufferBytes
    }

    /// True when reading must pause: a response is pending (being produced, or waiting for the
    /// client to read it) and `maxPipelineBufferBytes` of pipelined input is already buffered.
    private var inputPaused: Bool {
        (inFlight != nil || outputBackedUp)
            && parser.bufferedByteCount >= shared.configuration.maxPipelineBufferBytes
    }

    private func writeResponse(_ response: HTTPResponse) {
        guard let request = inFlight else { return }
        // After a half-close the connection lives on only while pipelined bytes may still hold
        // a complete request; the last answer says `Connection: close`.
        let keepAlive = request.keepAlive && !shared.isShuttingDown
            && !(peerClosed && parser.bufferedByteCount == 0)
        if let body = response.stream {
            startStream(response, body: body, request: request, keepAlive: keepAlive)
            return
        }
        inFlight = nil
        if !keepAlive { closeAfterFlush = true }
        if tls == nil {
            ResponseEncoder.encode(
                response, keepAlive: keepAlive, version: request.version, omitBody: request.isHead,
                date: loop.dateHeader, serverName: shared.configuration.serverName, into: &outbound)
        } else {
            var plain: [UInt8] = []
            ResponseEncoder.encode(
                response, keepAlive: keepAlive, version: request.version, omitBody: request.isHead,
                date: loop.dateHeader, serverName: shared.configuration.serverName, into: &plain)
            queueOutput(plain)
        }
    }

    /// Answers a framing error or timeout itself and closes after sending (RFC 9112 §9.6).
    private func respondWithError(status: Int, code: String, message: String) {
        var headers: HTTPHeaders = [:]
        if status == 503 { headers.add("Retry-After", String(shared.configuration.retryAfterSeconds)) }
        // The request never reached the application, so it gets its id here: every answer
        // carries one, and the log line below names the same id.
        let requestID = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        headers.add("X-Request-Id", requestID)
        let response = HTTPResponse.jsonError(status: status, error: code, message: message, headers: headers)
        inFlight = InFlight(keepAlive: false, version: .http1_1, isHead: false)
        writeResponse(response)
        shared.observer?.transportAnswered(status: status, reason: "\(message) request_id=\(requestID)")
        flush()
    }

    private func queueOutput(_ bytes: [UInt8]) {
        guard let tls else {
            outbound.append(contentsOf: bytes)
            return
        }
        do {
            try bytes.withUnsafeBytes { raw in try tls.write(raw) }
            tls.drainCiphertext(into: &outbound)
        } catch {
            shared.logger.debug("TLS write failed: \(error)")
            close()
        }
    }

    private func flush() {
        guard phase != .closed else { return }
        var progress = false
        while outboundOffset < outbound.count {
            let result: IOResult<Int>
            do {
                result = try outbound.withUnsafeBytes { raw in
                    try Socket.write(fd, UnsafeRawBufferPointer(rebasing: raw[outboundOffset...]))
                }
            } catch {
                close()  // EPIPE / ECONNRESET: the peer is gone.
                return
            }
            guard case .done(let count) = result else { break }
            outboundOffset += count
            progress = true
            shared.stats.sent.add(count, ordering: .relaxed)
        }
        if outboundOffset >= outbound.count {
            // Keep a small buffer for the next response; give large ones back, except while a
            // stream will fill it again at once.
            outbound.removeAll(
                keepingCapacity: outbound.capacity <= shared.configuration.retainedOutputBufferBytes || streaming != nil)
            outboundOffset = 0
            if closeAfterFlush && inFlight == nil {
                finishAndClose()
                return
            }
        }
        if progress && phase == .open { refreshDeadline(progress: true) }
    }

    // MARK: - Streamed bodies

    /// Sends the head of a streamed response and starts pulling its body. The request stays in
    /// flight until the body ends.
    private func startStream(_ response: HTTPResponse, body: HTTPBodyStream, request: InFlight, keepAlive: Bool) {
        let noContent = ResponseEncoder.hasNoContent(response.status)
        let sendsBody = !request.isHead && !noContent
        // HTTP/1.0 has no chunked coding, so the close delimits the body (RFC 9112 §6.3 rule 8).
        // A HEAD answer announces the framing a GET would get (RFC 9110 §9.3.2); 1xx and 204
        // must not carry Transfer-Encoding and 304 need not (RFC 9112 §6.1).
        let chunked = request.version == .http1_1 && !noContent
        let keepAlive = keepAlive && (chunked || !sendsBody)
        if !keepAlive { closeAfterFlush = true }
        if tls == nil {
            ResponseEncoder.encodeStreamHead(
                response, chunked: chunked, keepAlive: keepAlive, version: request.version,
                date: loop.dateHeader, serverName: shared.configuration.serverName, into: &outbound)
        } else {
            var plain: [UInt8] = []
            ResponseEncoder.encodeStreamHead(
                response, chunked: chunked, keepAlive: keepAlive, version: request.version,
                date: loop.dateHeader, serverName: shared.configuration.serverName, into: &plain)
            queueOutput(plain)
        }
        guard sendsBody else {
            inFlight = nil  // the head is the whole answer; `next` is never called
            return
        }
        streaming = Streaming(body: body, chunked: chunked)
        pullIfDrained()
    }

    /// Asks the producer for the next piece, unless one is already coming or the client has not
    /// yet read enough: past `streamHighWaterBytes` unsent, EPOLLOUT calls this again.
    private func pullIfDrained() {
        guard phase == .open, let current = streaming, current.pull == nil,
              pendingOutputBytes < shared.configuration.streamHighWaterBytes else { return }
        let next = current.body.next
        // The task's result can only come back through `loop.execute`, after this returns, so
        // `pull` is set by the time `received` runs.
        streaming?.pull = Task(executorPreference: StreamExecutor.shared) { [self] in
            // Cancelled before it began: the connection closed, and `next` is not called again.
            if Task.isCancelled { return }
            let piece: Result<[UInt8]?, any Error>
            do {
                piece = .success(try await next())
            } catch {
                piece = .failure(error)
            }
            loop.execute { [self] in received(piece) }
        }
    }

    /// A piece of the streamed body, back on the loop thread.
    private func received(_ piece: Result<[UInt8]?, any Error>) {
        // Closed meanwhile (peer gone, write timeout, forced shutdown): the piece is dropped.
        guard phase == .open, let current = streaming, current.pull != nil else { return }
        streaming?.pull = nil
        switch piece {
        case .success(let bytes?):
            if !bytes.isEmpty { writePiece(bytes, chunked: current.chunked) }
            flush()
            pullIfDrained()
        case .success(nil):
            if current.chunked { queueOutput(ResponseEncoder.lastChunk) }
            streaming = nil
            inFlight = nil
            // On as after any response: the next pipelined request, or the close.
            pump()
        case .failure(let error):
            // The status line is sent, so the failure can only show as a broken body: no last
            // chunk (RFC 9112 §7.1), which clients report as truncated. A close-delimited body
            // would look complete after a FIN, so that one ends with RST instead.
            shared.logger.warning("streamed response body failed; closing the connection: \(error)")
            if !current.chunked { Socket.resetOnClose(fd) }
            close()
            return
        }
        refreshDeadline(progress: false)
        updateInterestIfOpen()
    }

    private func writePiece(_ bytes: [UInt8], chunked: Bool) {
        guard chunked else {
            queueOutput(bytes)
            return
        }
        if tls == nil {
            ResponseEncoder.appendChunk(bytes, to: &outbound)
        } else {
            // One plaintext buffer, so that framing and data share TLS records.
            var framed: [UInt8] = []
            ResponseEncoder.appendChunk(bytes, to: &framed)
            queueOutput(framed)
        }
    }

    // MARK: - Closing

    /// Sends close_notify on TLS, shuts down our write side and lingers for the peer's FIN.
    private func finishAndClose() {
        guard phase == .open || phase == .handshaking else { return }
        if let tls {
            tls.shutdown()
            var alert: [UInt8] = []
            tls.drainCiphertext(into: &alert)
            if !alert.isEmpty {
                _ = try? alert.withUnsafeBytes { raw in try Socket.write(fd, raw) }
            }
        }
        if peerClosed {
            close()
            return
        }
        Socket.shutdownWrite(fd)
        phase = .lingering
        setDeadline(.linger, now: MonotonicClock.nanos())
        updateInterest()
    }

    /// Called by the server at shutdown: idle connections close now; a connection with a request
    /// in flight sends its response with `Connection: close`, then closes. A streamed body in
    /// progress is sent to its end first (its head is already out).
    func beginShutdown() {
        switch phase {
        case .closed, .lingering:
            return
        case .handshaking:
            close()
        case .open:
            if inFlight == nil && outboundOffset >= outbound.count {
                close()
            } else {
                closeAfterFlush = true
            }
        }
    }

    /// Closes now, without waiting for anything.
    func close() {
        guard phase != .closed else { return }
        phase = .closed
        // The producer is not called again; a pull in progress may stop early if it checks
        // cancellation, and its piece is dropped in `received`.
        streaming?.pull?.cancel()
        streaming = nil
        // Release the connection slot before the fd: once the peer can see the close, it may
        // reconnect at once and must not be refused with 503 for a slot that is already free.
        shared.stats.open.subtract(1, ordering: .relaxed)
        loop.unregister(fd: fd)
        socket.close()
        tls = nil
        outbound = []
    }

    private func updateInterestIfOpen() {
        if phase != .closed { updateInterest() }
    }

    private func updateInterest() {
        var wanted: EpollEvents = []
        if phase == .lingering || (!closeAfterFlush && !inputPaused && !peerClosed) {
            wanted.formUnion(.input)
        }
        if outboundOffset < outbound.count {
            wanted.insert(.writable)
        }
        if wanted != interest {
            interest = wanted
            loop.modify(fd: fd, generation: generation, events: wanted)
        }
    }
}
