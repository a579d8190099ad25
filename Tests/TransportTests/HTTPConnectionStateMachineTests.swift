import Testing
@testable import Transport

/// A clock the test moves by hand, so deadlines are checked without waiting: each test runs in
/// microseconds.
final class ManualClock: DeadlineClock {
    private(set) var nanos: UInt64 = 1_000_000_000_000

    func now() -> UInt64 { nanos }

    func advance(by interval: Duration) {
        nanos += interval.nanoseconds
    }
}

private typealias Machine = HTTPConnectionStateMachine<ManualClock>

/// The connection's decisions without a socket: deadlines, pipelining, back-pressure, streaming
/// and closing, driven event by event on a manual clock (the socket tests in EndToEndTests run
/// the same behaviour through `HTTPConnection`).
@Suite("Connection state machine")
struct HTTPConnectionStateMachineTests {
    private static let get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

    private func machine(
        _ clock: ManualClock = ManualClock(), tls: Bool = false,
        _ adjust: (inout ServerConfiguration) -> Void = { _ in }
    ) -> Machine {
        var configuration = ServerConfiguration()
        adjust(&configuration)
        return Machine(configuration: configuration, isTLS: tls, clock: clock)
    }

    private func feed(_ machine: inout Machine, _ text: String) {
        raw(text).withUnsafeBytes { machine.received($0) }
    }

    /// The target of the request `nextInput` dispatches, or nil if it does something else.
    private func dispatched(_ machine: inout Machine) -> String? {
        if case .dispatch(let request) = machine.nextInput() { return request.target }
        return nil
    }

    /// Answers the request in flight with a plain response of `bytes` bytes, all still unsent.
    @discardableResult
    private func answer(_ machine: inout Machine, bytes: Int = 100) -> Machine.ResponseFraming? {
        let framing = machine.responseReady(status: 200, streamed: false, shuttingDown: false)
        machine.outputQueued(bytes)
        return framing
    }

    // MARK: Deadlines

    @Test func headerDeadlineRunsFromAcceptAndAnswers408() {
        let clock = ManualClock()
        var m = machine(clock)
        #expect(m.deadlineKind == .header)
        clock.advance(by: .milliseconds(9_999))
        #expect(m.deadlineCheck(now: clock.now()) == .none)
        clock.advance(by: .milliseconds(1))
        guard case .reject(let rejection) = m.deadlineCheck(now: clock.now()) else {
            Issue.record("expected a 408")
            return
        }
        #expect(rejection.status == 408)
        #expect(rejection.message == "Request headers were not received in time")
        // The 408 is framed like any answer, and closes.
        #expect(answer(&m)?.keepAlive == false)
        #expect(m.closesWhenDrained)
    }

    @Test func laterBytesOfAHeadDoNotExtendItsDeadline() {
        let clock = ManualClock()
        var m = machine(clock)
        feed(&m, Self.get)
        #expect(dispatched(&m) == "/")
        answer(&m)
        m.outputWritten(100)
        m.refreshDeadline(progress: true)
        #expect(m.deadlineKind == .idle)
        clock.advance(by: .seconds(30))
        feed(&m, "GET /next HT")
        m.refreshDeadline(progress: true)
        #expect(m.deadlineKind == .header)
        let armed = m.deadline
        #expect(armed == clock.now() + 10_000_000_000)
        clock.advance(by: .seconds(5))
        feed(&m, "TP/1.1\r\nHo")
        m.refreshDeadline(progress: true)
        #expect(m.deadline == armed)
    }

    @Test func bodyDeadlineRestartsWithEachRead() {
        let clock = ManualClock()
        var m = machine(clock)
        feed(&m, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12")
        #expect(m.nextInput().isWait)
        m.refreshDeadline(progress: true)
        #expect(m.deadlineKind == .body)
        clock.advance(by: .seconds(20))
        feed(&m, "345")
        #expect(m.nextInput().isWait)
        m.refreshDeadline(progress: true)
        #expect(m.deadline == clock.now() + 30_000_000_000)
        clock.advance(by: .seconds(30))
        guard case .reject(let rejection) = m.deadlineCheck(now: clock.now()) else {
            Issue.record("expected a 408")
            return
        }
        #expect(rejection.message == "Request body was not received in time")
    }

    @Test func noDeadlineRunsWhileTheResponderWorks() {
        let clock = ManualClock()
        var m = machine(clock)
        feed(&m, Self.get)
        #expect(dispatched(&m) == "/")
        m.refreshDeadline(progress: true)
        #expect(m.deadlineKind == .none)
        clock.advance(by: .seconds(3600))
        #expect(m.deadlineCheck(now: clock.now()) == .none)
        #expect(m.awaitsResponse)
    }

    @Test func idleConnectionClosesAfterIdleTimeout() {
        let clock = ManualClock()
        var m = machine(clock) { $0.idleTimeout = .seconds(5) }
        feed(&m, Self.get)
        _ = dispatched(&m)
        answer(&m)
        m.outputWritten(100)
        m.refreshDeadline(progress: true)
        #expect(m.deadlineKind == .idle)
        clock.advance(by: .seconds(5))
        #expect(m.deadlineCheck(now: clock.now()) == .close(handshakeTimedOut: false))
    }

    @Test func writeDeadlineRestartsWhenTheClientReads() {
        let clock = ManualClock()
        var m = machine(clock) { $0.writeTimeout = .seconds(4) }
        feed(&m, Self.get)
        _ = dispatched(&m)
        answer(&m, bytes: 1000)
        m.refreshDeadline(progress: false)
        #expect(m.deadlineKind == .write)
        clock.advance(by: .seconds(3))
        m.outputWritten(10)
        m.refreshDeadline(progress: true)
        clock.advance(by: .seconds(3))
        #expect(m.deadlineCheck(now: clock.now()) == .none)
        clock.advance(by: .seconds(1))
        #expect(m.deadlineCheck(now: clock.now()) == .close(handshakeTimedOut: false))
    }

    @Test func tlsHandshakeHasItsOwnDeadlineThenTheHeaderOne() {
        let clock = ManualClock()
        var m = machine(clock, tls: true)
        #expect(m.phase == .handshaking)
        #expect(m.deadlineKind == .handshake)
        clock.advance(by: .seconds(1))
        m.handshakeCompleted()
        #expect(m.phase == .open)
        #expect(m.deadlineKind == .header)
        #expect(m.deadline == clock.now() + 10_000_000_000)

        let slowClock = ManualClock()
        var slow = machine(slowClock, tls: true)
        slowClock.advance(by: .seconds(10))
        #expect(slow.deadlineCheck(now: slowClock.now()) == .close(handshakeTimedOut: true))
    }

    @Test func lingeringCloseEndsAtTheLingerTimeoutOrThePeersClose() {
        let clock = ManualClock()
        var m = machine(clock) { $0.lingerTimeout = .milliseconds(1500) }
        feed(&m, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _ = dispatched(&m)
        #expect(answer(&m)?.keepAlive == false)
        m.outputWritten(100)
        #expect(m.closesWhenDrained)
        #expect(m.finish() == .linger)
        #expect(m.phase == .lingering)
        #expect(m.discardsInput)
        #expect(m.wantsInput)
        #expect(m.deadline == clock.now() + 1_500_000_000)
        clock.advance(by: .milliseconds(1500))
        #expect(m.deadlineCheck(now: clock.now()) == .close(handshakeTimedOut: false))
        m.peerClosedInput()
        #expect(m.lingerFinished)
    }

    @Test func finishClosesAtOnceWhenThePeerHasClosed() {
        var m = machine()
        m.peerClosedInput()
        #expect(m.finish() == .close)
    }

    // MARK: Pipelining and back-pressure

    @Test func pipelinedRequestsAreDispatchedOneAtATimeInOrder() {
        var m = machine()
        feed(&m, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(dispatched(&m) == "/a")
        #expect(m.nextInput().isWait)
        #expect(answer(&m)?.keepAlive == true)
        #expect(dispatched(&m) == "/b")
        #expect(m.nextInput().isWait)
    }

    @Test func unreadOutputHoldsBackTheNextPipelinedRequest() {
        var m = machine { $0.maxPipelineBufferBytes = 100 }
        feed(&m, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = dispatched(&m)
        answer(&m, bytes: 150)
        #expect(m.outputBackedUp)
        #expect(m.nextInput().isWait)
        #expect(!m.canResumeInput)
        m.outputWritten(40)
        #expect(m.canResumeInput == false)
        m.outputWritten(20)
        #expect(m.canResumeInput)
        #expect(dispatched(&m) == "/b")
    }

    @Test func readingPausesWhenPipelinedInputFillsTheBufferWhileAResponseIsPending() {
        var m = machine { $0.maxPipelineBufferBytes = 64 }
        feed(&m, Self.get)
        _ = dispatched(&m)
        #expect(!m.readingPaused)
        feed(&m, String(repeating: Self.get, count: 3))
        #expect(m.readingPaused)
        #expect(!m.wantsInput)
        answer(&m, bytes: 10)
        #expect(!m.readingPaused)
        #expect(m.wantsInput)
        #expect(m.wantsOutput)
    }

    @Test func afterAHalfCloseBufferedRequestsAreStillAnsweredAndTheLastOneCloses() {
        var m = machine()
        feed(&m, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        m.peerClosedInput()
        #expect(!m.wantsInput)
        #expect(dispatched(&m) == "/a")
        #expect(m.closeIfPeerFinished() == false)
        // Bytes of /b are still buffered, so /a's answer keeps the connection.
        #expect(answer(&m)?.keepAlive == true)
        #expect(dispatched(&m) == "/b")
        #expect(answer(&m)?.keepAlive == false)
        #expect(m.nextInput().isWait)
        #expect(m.closeIfPeerFinished() == false)
        m.outputWritten(200)
        #expect(m.closesWhenDrained)
        #expect(m.finish() == .close)
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() {
        var m = machine()
        feed(&m, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        guard case .sendContinue = m.nextInput() else {
            Issue.record("expected 100 Continue")
            return
        }
        #expect(m.nextInput().isWait)
        feed(&m, "hi")
        #expect(dispatched(&m) == "/")
    }

    @Test func aFramingErrorIsAnsweredAndCloses() {
        var m = machine()
        feed(&m, "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        guard case .reject(let rejection) = m.nextInput() else {
            Issue.record("expected a rejection")
            return
        }
        #expect(rejection.status == 400)
        #expect(answer(&m)?.keepAlive == false)
        #expect(m.nextInput().isWait)
        #expect(!m.wantsInput)
    }

    // MARK: Streamed bodies

    @Test func aStreamIsPulledOnlyBelowTheHighWaterMarkAndHoldsTheNextRequest() {
        var m = machine { $0.streamHighWaterBytes = 1000 }
        feed(&m, "GET /s HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = dispatched(&m)
        let framing = m.responseReady(status: 200, streamed: true, shuttingDown: false)
        #expect(framing == .init(keepAlive: true, version: .http1_1, omitBody: false, chunked: true, streamsBody: true))
        #expect(m.isStreaming)
        #expect(m.shouldPull)
        m.pullStarted()
        #expect(!m.shouldPull)
        #expect(m.pieceArrived() == true)
        m.outputQueued(1000)
        #expect(!m.shouldPull)
        #expect(m.nextInput().isWait)
        m.outputWritten(1)
        #expect(m.shouldPull)
        m.streamEnded()
        #expect(dispatched(&m) == "/b")
    }

    @Test func anHTTP10StreamIsDelimitedByTheCloseAndAHeadStreamSendsNoBody() {
        var m = machine()
        feed(&m, "GET / HTTP/1.0\r\n\r\n")
        _ = dispatched(&m)
        let framing = m.responseReady(status: 200, streamed: true, shuttingDown: false)
        #expect(framing == .init(keepAlive: false, version: .http1_0, omitBody: false, chunked: false, streamsBody: true))

        var head = machine()
        feed(&head, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = dispatched(&head)
        let headFraming = head.responseReady(status: 200, streamed: true, shuttingDown: false)
        #expect(headFraming?.streamsBody == false)
        #expect(headFraming?.keepAlive == true)
        #expect(!head.isStreaming)
        #expect(!head.shouldPull)
    }

    @Test func aPieceArrivingAfterTheCloseIsDropped() {
        var m = machine()
        feed(&m, Self.get)
        _ = dispatched(&m)
        _ = m.responseReady(status: 200, streamed: true, shuttingDown: false)
        m.pullStarted()
        m.closed()
        #expect(m.pieceArrived() == nil)
        #expect(m.deadlineCheck(now: .max) == .none)
    }

    // MARK: Shutdown

    @Test func shutdownClosesIdleConnectionsAndLetsTheRequestInFlightFinish() {
        var idle = machine()
        #expect(idle.shutdownRequested() == true)

        var busy = machine()
        feed(&busy, Self.get)
        _ = dispatched(&busy)
        #expect(busy.shutdownRequested() == false)
        let framing = busy.responseReady(status: 200, streamed: false, shuttingDown: true)
        #expect(framing?.keepAlive == false)
        #expect(busy.closesWhenDrained)
    }
}

extension HTTPConnectionStateMachine.InputAction {
    fileprivate var isWait: Bool {
        if case .wait = self { return true }
        return false
    }
}
