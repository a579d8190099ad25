/// Every decision of one HTTP/1.1 connection, with no I/O: its phase, its one deadline, the
/// pipelined requests waiting in the parser, back-pressure in both directions and a streamed
/// body's pacing. `HTTPConnection` feeds it events (bytes received, bytes written, a response
/// ready, a deadline passed, the peer's FIN, shutdown) and carries out what it answers (write,
/// dispatch, answer with an error, linger, close), on a socket and a TLS filter it owns.
///
/// Output is counted, not held: the connection reports bytes it queued (`outputQueued`) and bytes
/// the socket took (`outputWritten`), so the machine knows how much the client has yet to read.
/// Deadlines are instants of the injected clock in nanoseconds.
///
/// One request at a time (RFC 9112 §9.3.2): while one is in flight, later pipelined requests
/// stay in the parser's buffer, up to `maxPipelineBufferBytes`, then reading pauses.
struct HTTPConnectionStateMachine<Clock: DeadlineClock> {
    enum Phase: Equatable {
        case handshaking
        case open
        /// Our final bytes are sent and our write side is shut: read and discard until the peer
        /// closes, so the kernel does not reset the connection before it reads our answer.
        case lingering
        case closed
    }

    /// Which timeout the one armed deadline belongs to.
    enum DeadlineKind: Equatable {
        case none, handshake, header, body, idle, write, linger
    }

    /// An error the transport answers itself, then closes (RFC 9112 §9.6).
    struct Rejection: Equatable {
        var status: Int
        var code: String
        var message: String
    }

    /// What to do with buffered input.
    enum InputAction {
        /// Nothing now: more bytes are needed, a response is pending, or the connection closes.
        case wait
        /// Send `100 Continue` (RFC 9110 §10.1.1), then ask again.
        case sendContinue
        /// Hand the request to the responder; it is now in flight.
        case dispatch(HTTPRequest)
        /// Answer with this error (`respond(to:)` frames it), then close.
        case reject(Rejection)
    }

    /// How to frame the response to the request in flight.
    struct ResponseFraming: Equatable {
        var keepAlive: Bool
        var version: HTTPVersion
        /// A HEAD request: the head only (RFC 9110 §9.3.2).
        var omitBody: Bool
        /// For a streamed body: HTTP/1.1 chunked (RFC 9112 §7.1), else delimited by the close.
        var chunked: Bool
        /// For a streamed body: whether its pieces are sent at all (not for HEAD, 1xx, 204, 304).
        var streamsBody: Bool
    }

    /// What a passed deadline calls for.
    enum DeadlineAction: Equatable {
        case none
        /// Close now; `handshakeTimedOut` when it was the TLS handshake's deadline.
        case close(handshakeTimedOut: Bool)
        /// Answer 408 (`respond(to:)` frames it), then close.
        case reject(Rejection)
    }

    /// What finishing the connection (all answers sent) calls for.
    enum FinishAction: Equatable {
        case none
        /// The peer has already closed: close now.
        case close
        /// Shut the write side and keep reading until the peer closes or `lingerTimeout` passes.
        case linger
    }

    /// Timeouts in nanoseconds, from `ServerConfiguration`.
    struct Timeouts {
        var handshake: UInt64
        var header: UInt64
        var body: UInt64
        var idle: UInt64
        var write: UInt64
        var linger: UInt64

        init(_ configuration: ServerConfiguration) {
            handshake = configuration.tlsHandshakeTimeout.nanoseconds
            header = configuration.headerReadTimeout.nanoseconds
            body = configuration.bodyReadTimeout.nanoseconds
            idle = configuration.idleTimeout.nanoseconds
            write = configuration.writeTimeout.nanoseconds
            linger = configuration.lingerTimeout.nanoseconds
        }
    }

    private struct InFlight {
        var keepAlive: Bool
        var version: HTTPVersion
        var isHead: Bool
    }

    /// A streamed body being sent. Its request stays in flight until the body ends, so no
    /// pipelined request is answered and no header or idle deadline runs meanwhile.
    private struct Streaming {
        let chunked: Bool
        /// A piece has been asked for and not yet received: never more than one.
        var pulling = false
    }

    private(set) var phase: Phase
    private(set) var deadlineKind: DeadlineKind = .none
    /// The instant `deadlineKind` passes, on `clock`; meaningless while it is `.none`.
    private(set) var deadline: UInt64 = 0
    /// Response bytes queued and not yet taken by the socket.
    private(set) var pendingOutputBytes = 0
    /// The peer sent its FIN (or TLS close_notify).
    private(set) var peerClosed = false
    /// The last answer is queued: close once it is written.
    private(set) var closeAfterFlush = false
    private var parser: HTTPParser
    private var inFlight: InFlight?
    private var streaming: Streaming?
    /// Set when `nextInput` stopped because output is backed up, not because input ran out.
    private var waitingForOutput = false
    private let timeouts: Timeouts
    private let maxPipelineBufferBytes: Int
    private let streamHighWaterBytes: Int
    let clock: Clock

    /// A connection just accepted: plain connections start with the header deadline, TLS ones
    /// with the handshake's.
    init(configuration: ServerConfiguration, isTLS: Bool, clock: Clock) {
        parser = HTTPParser(limits: configuration.limits)
        timeouts = Timeouts(configuration)
        maxPipelineBufferBytes = configuration.maxPipelineBufferBytes
        streamHighWaterBytes = configuration.streamHighWaterBytes
        self.clock = clock
        phase = isTLS ? .handshaking : .open
        arm(isTLS ? .handshake : .header, now: clock.now())
    }

    // MARK: - Queries

    /// True while the client reads slower than it asks: no further request is dispatched until
    /// the output drains, so a client that pipelines without reading cannot make the server
    /// buffer responses without bound.
    var outputBackedUp: Bool { pendingOutputBytes >= maxPipelineBufferBytes }

    /// True when reading must pause: a response is pending (being produced, or waiting for the
    /// client to read it) and `maxPipelineBufferBytes` of pipelined input is already buffered.
    var readingPaused: Bool {
        (inFlight != nil || outputBackedUp) && parser.bufferedByteCount >= maxPipelineBufferBytes
    }

    /// Whether the socket should be watched for input: always while lingering (to see the FIN),
    /// otherwise until the last answer is queued, the peer closed, or reading pauses.
    var wantsInput: Bool {
        phase == .lingering || (!closeAfterFlush && !readingPaused && !peerClosed)
    }

    /// Whether the socket should be watched for room to write.
    var wantsOutput: Bool { pendingOutputBytes > 0 }

    /// Requests that waited behind backed-up output can go now.
    var canResumeInput: Bool { phase == .open && waitingForOutput && !outputBackedUp }

    /// Waiting for the responder's answer to the request in flight (not for a stream's piece).
    var awaitsResponse: Bool { phase == .open && inFlight != nil && streaming == nil }

    /// Whether to ask the stream's producer for its next piece: none is coming, and less than
    /// `streamHighWaterBytes` is unsent (above it, `outputWritten` makes room first).
    var shouldPull: Bool {
        guard phase == .open, let streaming, !streaming.pulling else { return false }
        return pendingOutputBytes < streamHighWaterBytes
    }

    /// Whether a streamed body is being sent.
    var isStreaming: Bool { streaming != nil }

    /// The connection should close once its output has drained.
    var closesWhenDrained: Bool { closeAfterFlush && inFlight == nil }

    // MARK: - TLS handshake

    /// The handshake finished: HTTP starts, with the header deadline.
    mutating func handshakeCompleted() {
        phase = .open
        arm(.header, now: clock.now())
    }

    /// The handshake failed: send the alert, if any, then close.
    mutating func handshakeFailed() {
        closeAfterFlush = true
    }

    // MARK: - Input

    /// Plaintext bytes from the peer, appended to the parser's buffer.
    mutating func received(_ bytes: UnsafeRawBufferPointer) {
        parser.append(bytes)
    }

    /// True while bytes read are thrown away unparsed.
    var discardsInput: Bool { phase == .lingering }

    /// The peer closed its sending side (RFC 9112 §9.6 half-close).
    mutating func peerClosedInput() {
        peerClosed = true
    }

    /// A lingering connection whose peer has closed is done.
    var lingerFinished: Bool { phase == .lingering && peerClosed }

    /// The next thing to do with buffered input. Call until it answers `.wait`.
    mutating func nextInput() -> InputAction {
        waitingForOutput = false
        guard phase == .open, inFlight == nil, !closeAfterFlush else { return .wait }
        if outputBackedUp {
            // The client is not reading: answer nothing more until it does; `canResumeInput`
            // turns true once the output drains.
            waitingForOutput = true
            return .wait
        }
        let step: HTTPParser.Step
        do {
            step = try parser.next()
        } catch {
            return .reject(beginRejection(status: error.status, code: error.code, message: error.message))
        }
        switch step {
        case .needMore:
            return .wait
        case .continueExpected:
            return .sendContinue
        case .request(let request):
            inFlight = InFlight(keepAlive: request.keepAlive, version: request.version, isHead: request.method == "HEAD")
            deadlineKind = .none
            return .dispatch(request)
        }
    }

    /// After the peer's FIN: a half-close is not an abort (RFC 9112 §9.6), so requests already
    /// complete in the buffer are still answered, pipelined ones included. Once none is in
    /// flight and none waits behind backed-up output, whatever is left can never become a
    /// request: close as soon as the answers are out. Returns true to close now.
    mutating func closeIfPeerFinished() -> Bool {
        guard peerClosed, inFlight == nil, !waitingForOutput, phase == .open || phase == .handshaking else {
            return false
        }
        if pendingOutputBytes == 0 { return true }
        closeAfterFlush = true
        return false
    }

    // MARK: - Responses

    /// The responder answered the request in flight (or an error is being answered): how to
    /// frame it. Nil when no request is in flight. A streamed body keeps its request in flight
    /// until `streamEnded()`.
    mutating func responseReady(status: Int, streamed: Bool, shuttingDown: Bool) -> ResponseFraming? {
        guard let request = inFlight else { return nil }
        // After a half-close the connection lives on only while pipelined bytes may still hold
        // a complete request; the last answer says `Connection: close`.
        var keepAlive = request.keepAlive && !shuttingDown && !(peerClosed && parser.bufferedByteCount == 0)
        guard streamed else {
            inFlight = nil
            if !keepAlive { closeAfterFlush = true }
            return ResponseFraming(
                keepAlive: keepAlive, version: request.version, omitBody: request.isHead,
                chunked: false, streamsBody: false)
        }
        let noContent = ResponseEncoder.hasNoContent(status)
        let sendsBody = !request.isHead && !noContent
        // HTTP/1.0 has no chunked coding, so the close delimits the body (RFC 9112 §6.3 rule 8).
        // A HEAD answer announces the framing a GET would get (RFC 9110 §9.3.2); 1xx and 204
        // must not carry Transfer-Encoding and 304 need not (RFC 9112 §6.1).
        let chunked = request.version == .http1_1 && !noContent
        keepAlive = keepAlive && (chunked || !sendsBody)
        if !keepAlive { closeAfterFlush = true }
        if sendsBody {
            streaming = Streaming(chunked: chunked)
        } else {
            inFlight = nil  // the head is the whole answer; the producer is never called
        }
        return ResponseFraming(
            keepAlive: keepAlive, version: request.version, omitBody: request.isHead,
            chunked: chunked, streamsBody: sendsBody)
    }

    /// The producer has been asked for the next piece.
    mutating func pullStarted() {
        streaming?.pulling = true
    }

    /// A piece (or the end, or a failure) came back from the producer. Returns whether the body
    /// is chunked, or nil when the piece is to be dropped (the connection closed meanwhile).
    mutating func pieceArrived() -> Bool? {
        guard phase == .open, let current = streaming, current.pulling else { return nil }
        streaming?.pulling = false
        return current.chunked
    }

    /// The streamed body ended; its request is answered.
    mutating func streamEnded() {
        streaming = nil
        inFlight = nil
    }

    // MARK: - Output

    /// `count` bytes were appended to the output.
    mutating func outputQueued(_ count: Int) {
        pendingOutputBytes += count
    }

    /// The socket took `count` bytes of the output.
    mutating func outputWritten(_ count: Int) {
        pendingOutputBytes -= count
        assert(pendingOutputBytes >= 0, "more written than queued")
    }

    /// Everything is answered and sent: shut down, with a lingering close unless the peer has
    /// already closed. The connection sends TLS close_notify first, for either action.
    mutating func finish() -> FinishAction {
        guard phase == .open || phase == .handshaking else { return .none }
        if peerClosed { return .close }
        phase = .lingering
        arm(.linger, now: clock.now())
        return .linger
    }

    // MARK: - Deadlines

    /// Arms the deadline that applies to the connection's state, unless it is armed already.
    /// - Parameter progress: bytes moved in the relevant direction since the last call; a body
    ///   or write deadline restarts on progress, a header deadline never does.
    mutating func refreshDeadline(progress: Bool) {
        guard phase == .open else { return }
        if pendingOutputBytes > 0 {
            if progress || deadlineKind != .write { arm(.write, now: clock.now()) }
        } else if inFlight != nil {
            deadlineKind = .none
        } else if parser.isIdle {
            if deadlineKind != .idle { arm(.idle, now: clock.now()) }
        } else if parser.isReadingBody {
            if progress || deadlineKind != .body { arm(.body, now: clock.now()) }
        } else if deadlineKind != .header {
            // The first byte of a new request starts the header clock; more bytes do not extend it.
            arm(.header, now: clock.now())
        }
    }

    /// The loop's timer tick at `now`: what the armed deadline calls for, if it has passed.
    mutating func deadlineCheck(now: UInt64) -> DeadlineAction {
        guard phase != .closed, deadlineKind != .none, now >= deadline else { return .none }
        switch deadlineKind {
        case .none:
            return .none
        case .handshake:
            return .close(handshakeTimedOut: true)
        case .header:
            return .reject(beginRejection(
                status: 408, code: "RequestTimeout", message: "Request headers were not received in time"))
        case .body:
            return .reject(beginRejection(
                status: 408, code: "RequestTimeout", message: "Request body was not received in time"))
        case .idle, .write, .linger:
            return .close(handshakeTimedOut: false)
        }
    }

    private mutating func arm(_ kind: DeadlineKind, now: UInt64) {
        deadlineKind = kind
        let interval: UInt64 = switch kind {
        case .none: 0
        case .handshake: timeouts.handshake
        case .header: timeouts.header
        case .body: timeouts.body
        case .idle: timeouts.idle
        case .write: timeouts.write
        case .linger: timeouts.linger
        }
        deadline = now &+ interval
    }

    /// An error answer takes the place of a request in flight: HTTP/1.1 framing, then close.
    private mutating func beginRejection(status: Int, code: String, message: String) -> Rejection {
        inFlight = InFlight(keepAlive: false, version: .http1_1, isHead: false)
        return Rejection(status: status, code: code, message: message)
    }

    // MARK: - Shutdown and close

    /// The server is shutting down: returns true to close now (idle, or still handshaking);
    /// otherwise the request in flight is answered with `Connection: close`, a streamed body
    /// is sent to its end, and the connection closes after that.
    mutating func shutdownRequested() -> Bool {
        switch phase {
        case .closed, .lingering:
            return false
        case .handshaking:
            return true
        case .open:
            if inFlight == nil && pendingOutputBytes == 0 { return true }
            closeAfterFlush = true
            return false
        }
    }

    /// The connection closed: every later event is ignored.
    mutating func closed() {
        phase = .closed
        streaming = nil
        pendingOutputBytes = 0
    }
}
