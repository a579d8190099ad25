import Logging
import Synchronization

/// One client connection, plain or TLS, owned by one event loop: the I/O shell around
/// `HTTPConnectionStateMachine`.
///
/// The machine decides (phase, deadlines, pipelining, back-pressure, streaming); this class
/// owns the socket, the TLS filter, the output bytes and the loop plumbing, and carries out what
/// the machine answers. It reads into the loop's shared buffer, hands one request at a time to
/// the responder, and writes responses in request order (RFC 9112 §9.3.2 pipelining).
final class HTTPConnection: EventHandler, @unchecked Sendable {
    // @unchecked: every mutable field is touched only on `loop`'s thread. The responder's
    // completion may run elsewhere; it reads `dispatching` only after checking `loop.inLoop`,
    // and otherwise hops back with `loop.execute`. A stream's pieces are produced in a task
    // and posted back with `loop.execute` too.

    private typealias StateMachine = HTTPConnectionStateMachine<SystemDeadlineClock>

    private var socket: FileDescriptor
    private var fd: Int32 { socket.rawValue }
    private let loop: EventLoop
    private let shared: ServerShared
    private var generation: UInt32 = 0
    private var tls: TLSStream?
    private var machine: StateMachine
    /// Output the socket has not yet taken, from `outboundOffset` on; the machine counts it.
    private var outbound: [UInt8] = []
    private var outboundOffset = 0
    private var interest: EpollEvents = []
    private var dispatching = false
    private var inlineResponse: HTTPResponse?
    /// The streamed body being sent, while there is one.
    private var stream: HTTPBodyStream?
    /// The task awaiting a streamed body's `next()`, while there is one: never more than one.
    private var pull: Task<Void, Never>?

    init(fd: Int32, loop: EventLoop, shared: ServerShared, tls: TLSStream?) {
        socket = FileDescriptor(taking: fd)
        self.loop = loop
        self.shared = shared
        self.tls = tls
        machine = StateMachine(configuration: shared.configuration, isTLS: tls != nil, clock: SystemDeadlineClock())
    }

    /// Registers with the loop; on failure the fd is closed.
    func start() {
        interest = .input
        do {
            generation = try loop.register(fd: fd, events: interest, handler: self)
        } catch {
            shared.logger.warning("could not register connection: \(error)")
            machine.closed()
            socket.close()
            shared.stats.open.subtract(1, ordering: .relaxed)
        }
    }

    // MARK: - Events

    func handle(events: EpollEvents) {
        if events.contains(.writable) {
            flush()
            if machine.canResumeInput {
                // Requests that waited behind backed-up output can go now.
                pump()
                machine.refreshDeadline(progress: false)
            }
            // A stream that waited for the client to read can go on.
            pullIfDrained()
        }
        if !events.isDisjoint(with: .readReady) {
            readAvailable()
        }
        updateInterestIfOpen()
    }

    func tick(now: UInt64) {
        switch machine.deadlineCheck(now: now) {
        case .none:
            return
        case .close(let handshakeTimedOut):
            if handshakeTimedOut { shared.stats.tlsHandshakeFailures.add(1, ordering: .relaxed) }
            close()
        case .reject(let rejection):
            respond(to: rejection)
            updateInterestIfOpen()
        }
    }

    // MARK: - Reading

    private func readAvailable() {
        var reads = 0
        var gotBytes = false
        // Bounded reads per wake-up keep one busy client from starving the others on this loop.
        while machine.phase != .closed && reads < shared.configuration.maxReadsPerWakeup {
            if machine.readingPaused { break }
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
                machine.peerClosedInput()
                break
            }
            shared.stats.received.add(count, ordering: .relaxed)
            gotBytes = true
            if machine.discardsInput { continue }
            let bytes = UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<count])
            if let tls {
                tls.feed(bytes)
            } else {
                machine.received(bytes)
            }
            if count < loop.readBuffer.count { break }
        }
        switch machine.phase {
        case .closed:
            return
        case .lingering:
            if machine.lingerFinished { close() }
            return
        case .handshaking, .open:
            break
        }
        if tls != nil {
            decrypt()
            if machine.phase == .closed { return }
        }
        pump()
        machine.refreshDeadline(progress: gotBytes)
    }

    /// Runs the TLS handshake, then moves decrypted bytes into the parser.
    private func decrypt() {
        guard let tls else { return }
        if machine.phase == .handshaking {
            do {
                let progress = try tls.handshake()
                queue { tls.drainCiphertext(into: &$0) }
                guard case .complete = progress else { return }
                machine.handshakeCompleted()
            } catch {
                shared.stats.tlsHandshakeFailures.add(1, ordering: .relaxed)
                shared.logger.debug("TLS handshake failed: \(error)")
                queue { tls.drainCiphertext(into: &$0) }  // the alert, if OpenSSL produced one
                machine.handshakeFailed()
                flush()
                if machine.phase != .closed { close() }
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
                machine.received(UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<count]))
            case .incomplete:
                queue { tls.drainCiphertext(into: &$0) }  // e.g. session tickets after the handshake
                return
            case .closed:
                machine.peerClosedInput()
                return
            }
        }
    }

    /// Dispatches buffered requests and writes what is ready until neither can progress: output
    /// that drains during the flush may unblock requests that waited behind it.
    private func pump() {
        repeat {
            processInput()
            if machine.closeIfPeerFinished() { close() }
            flush()
        } while machine.canResumeInput
    }

    /// Carries out the machine's answers about buffered input, one request at a time.
    private func processInput() {
        while true {
            switch machine.nextInput() {
            case .wait:
                return
            case .sendContinue:
                queueOutput(ResponseEncoder.continueResponse)
            case .dispatch(let request):
                dispatch(request)
            case .reject(let rejection):
                respond(to: rejection)
                return
            }
        }
    }

    private func dispatch(_ request: HTTPRequest) {
        var request = request
        request.isSecure = tls != nil
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
        guard machine.awaitsResponse else { return }
        writeResponse(response)
        pump()
        machine.refreshDeadline(progress: false)
        updateInterestIfOpen()
    }

    // MARK: - Writing

    private func writeResponse(_ response: HTTPResponse) {
        guard let framing = machine.responseReady(
            status: response.status, streamed: response.stream != nil, shuttingDown: shared.isShuttingDown)
        else { return }
        let serverName = shared.configuration.serverName
        if let body = response.stream {
            encode { output in
                ResponseEncoder.encodeStreamHead(
                    response, chunked: framing.chunked, keepAlive: framing.keepAlive, version: framing.version,
                    date: loop.dateHeader, serverName: serverName, into: &output)
            }
            if framing.streamsBody { pullIfDrained(body) }
            return
        }
        encode { output in
            ResponseEncoder.encode(
                response, keepAlive: framing.keepAlive, version: framing.version, omitBody: framing.omitBody,
                date: loop.dateHeader, serverName: serverName, into: &output)
        }
    }

    /// Answers a framing error or timeout itself and closes after sending (RFC 9112 §9.6).
    private func respond(to rejection: StateMachine.Rejection) {
        var headers: HTTPHeaders = [:]
        if rejection.status == 503 { headers.add("Retry-After", String(shared.configuration.retryAfterSeconds)) }
        // The request never reached the application, so it gets its id here: every answer
        // carries one, and the log line below names the same id.
        let requestID = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        headers.add("X-Request-Id", requestID)
        let response = HTTPResponse.jsonError(
            status: rejection.status, error: rejection.code, message: rejection.message, headers: headers)
        writeResponse(response)
        shared.observer?.transportAnswered(
            status: rejection.status, reason: "\(rejection.message) request_id=\(requestID)")
        flush()
    }

    /// Runs `body` on the output buffer and tells the machine how many bytes it appended.
    private func queue(_ body: (inout [UInt8]) -> Void) {
        let before = outbound.count
        body(&outbound)
        machine.outputQueued(outbound.count - before)
    }

    /// Encodes plaintext with `body`: straight into the output, or through TLS as one buffer so
    /// that framing and data share records.
    private func encode(_ body: (inout [UInt8]) -> Void) {
        guard tls != nil else {
            queue(body)
            return
        }
        var plain: [UInt8] = []
        body(&plain)
        queueOutput(plain)
    }

    private func queueOutput(_ bytes: [UInt8]) {
        guard let tls else {
            queue { $0.append(contentsOf: bytes) }
            return
        }
        do {
            try bytes.withUnsafeBytes { raw in try tls.write(raw) }
            queue { tls.drainCiphertext(into: &$0) }
        } catch {
            shared.logger.debug("TLS write failed: \(error)")
            close()
        }
    }

    private func flush() {
        guard machine.phase != .closed else { return }
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
            machine.outputWritten(count)
            progress = true
            shared.stats.sent.add(count, ordering: .relaxed)
        }
        assert(machine.pendingOutputBytes == outbound.count - outboundOffset, "output miscounted")
        if outboundOffset >= outbound.count {
            // Keep a small buffer for the next response; give large ones back, except while a
            // stream will fill it again at once.
            outbound.removeAll(
                keepingCapacity: outbound.capacity <= shared.configuration.retainedOutputBufferBytes
                    || machine.isStreaming)
            outboundOffset = 0
            if machine.closesWhenDrained {
                finishAndClose()
                return
            }
        }
        if progress { machine.refreshDeadline(progress: true) }
    }

    // MARK: - Streamed bodies

    /// Asks the producer for the next piece when the machine says so: none is coming and the
    /// client has read enough (past `streamHighWaterBytes` unsent, EPOLLOUT calls this again).
    private func pullIfDrained(_ body: HTTPBodyStream? = nil) {
        if let body { stream = body }
        guard machine.shouldPull, let next = stream?.next else { return }
        machine.pullStarted()
        // The task's result can only come back through `loop.execute`, after this returns, so
        // `pull` is set by the time `received` runs.
        pull = Task(executorPreference: StreamExecutor.shared) { [self] in
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
        guard let chunked = machine.pieceArrived() else { return }
        pull = nil
        switch piece {
        case .success(let bytes?):
            if !bytes.isEmpty { writePiece(bytes, chunked: chunked) }
            flush()
            pullIfDrained()
        case .success(nil):
            if chunked { queueOutput(ResponseEncoder.lastChunk) }
            stream = nil
            machine.streamEnded()
            // On as after any response: the next pipelined request, or the close.
            pump()
        case .failure(let error):
            // The status line is sent, so the failure can only show as a broken body: no last
            // chunk (RFC 9112 §7.1), which clients report as truncated. A close-delimited body
            // would look complete after a FIN, so that one ends with RST instead.
            shared.logger.warning("streamed response body failed; closing the connection: \(error)")
            if !chunked { Socket.resetOnClose(fd) }
            close()
            return
        }
        machine.refreshDeadline(progress: false)
        updateInterestIfOpen()
    }

    private func writePiece(_ bytes: [UInt8], chunked: Bool) {
        guard chunked else {
            queueOutput(bytes)
            return
        }
        encode { ResponseEncoder.appendChunk(bytes, to: &$0) }
    }

    // MARK: - Closing

    /// Sends close_notify on TLS, then closes or shuts down our write side and lingers for the
    /// peer's FIN, as the machine says.
    private func finishAndClose() {
        let action = machine.finish()
        if action == .none { return }
        if let tls {
            tls.shutdown()
            var alert: [UInt8] = []
            tls.drainCiphertext(into: &alert)
            if !alert.isEmpty {
                _ = try? alert.withUnsafeBytes { raw in try Socket.write(fd, raw) }
            }
        }
        switch action {
        case .none:
            return
        case .close:
            close()
        case .linger:
            Socket.shutdownWrite(fd)
            updateInterest()
        }
    }

    /// Called by the server at shutdown: idle connections close now; a connection with a request
    /// in flight sends its response with `Connection: close`, then closes. A streamed body in
    /// progress is sent to its end first (its head is already out).
    func beginShutdown() {
        if machine.shutdownRequested() { close() }
    }

    /// Closes now, without waiting for anything.
    func close() {
        guard machine.phase != .closed else { return }
        machine.closed()
        // The producer is not called again; a pull in progress may stop early if it checks
        // cancellation, and its piece is dropped in `received`.
        pull?.cancel()
        pull = nil
        stream = nil
        // Release the connection slot before the fd: once the peer can see the close, it may
        // reconnect at once and must not be refused with 503 for a slot that is already free.
        shared.stats.open.subtract(1, ordering: .relaxed)
        loop.unregister(fd: fd)
        socket.close()
        tls = nil
        outbound = []
        outboundOffset = 0
    }

    private func updateInterestIfOpen() {
        if machine.phase != .closed { updateInterest() }
    }

    private func updateInterest() {
        var wanted: EpollEvents = []
        if machine.wantsInput { wanted.formUnion(.input) }
        if machine.wantsOutput { wanted.insert(.writable) }
        if wanted != interest {
            interest = wanted
            loop.modify(fd: fd, generation: generation, events: wanted)
        }
    }
}
