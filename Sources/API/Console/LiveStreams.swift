import Dispatch
import Model
import Storage
import Synchronization
import Transport

/// The console's live updates: Server-Sent Events (https://html.spec.whatwg.org/multipage/server-sent-events.html)
/// telling an open page which sessions of its project changed, right after the commit.
///
/// Bounds: at most `maxStreamsPerProject` streams per project (a new one ends the project's
/// oldest, so a reloaded page never locks itself out) and `maxStreams` in all (past it, 503).
/// A stream with no change for `idle` ends (the browser's EventSource reconnects while
/// the page is open). The writer never waits for a stream: a commit only records the changed
/// session ids in the stream's own bounded set (collapsed to "many" past
/// `maxSessionIDsPerEvent`) and wakes it; a reader that does not read holds back only its own
/// stream, which the transport's write timeout then closes.
package final class LiveStreams: Sendable {
    package struct Configuration: Sendable {
        /// Streams per project; a new one past it ends the project's oldest.
        package var maxStreamsPerProject = 16
        /// Streams in all; past it a new one is refused with 503.
        package var maxStreams = 256
        /// Time between keep-alive comments (each also checks that the sign-in still holds).
        package var heartbeat: Duration = .seconds(15)
        /// Time without a change after which a stream ends.
        package var idle: Duration = .seconds(600)
        /// Milliseconds a stream waits after a change for more, so a burst of commits is one event.
        package var coalesceMillis = 150
        /// Session ids one event lists at most; past it the event says `"more": true`.
        package var maxSessionIDsPerEvent = 100
        /// Time after which a stream nobody has pulled from (its connection gone while the
        /// transport was not asking for a piece) is forgotten.
        package var stale: Duration = .seconds(90)

        package init() {}
    }

    private struct Entry {
        let projectID: Int64
        let openedAt: UInt64
        let stream: LiveStream
    }

    private struct State {
        var streams: [Int: Entry] = [:]
        var nextID = 0
        var closed = false
    }

    package let configuration: Configuration
    private let feed: CommitFeed
    private let state = Mutex(State())

    package init(feed: CommitFeed, configuration: Configuration = Configuration()) {
        self.feed = feed
        self.configuration = configuration
    }

    /// Streams open now.
    package var count: Int { state.withLock { $0.streams.count } }

    /// A new stream for `projectID`, following `sessionID` only when given. `stillAuthorized`
    /// is asked at each heartbeat; when it throws, the stream ends. `commitCount` reads the
    /// writer's count for the events.
    func open(
        projectID: Int64, sessionID: String?, commitCount: @escaping @Sendable () -> Int,
        stillAuthorized: @escaping @Sendable () async -> Bool
    ) throws -> LiveStream {
        let now = MonotonicClock.nanos()
        let staleNanos = configuration.stale.unsignedNanoseconds
        var evicted: [LiveStream] = []
        let (id, stream) = try state.withLock { state throws -> (Int, LiveStream) in
            guard !state.closed else { throw APIError.unavailable("Server is shutting down; retry later") }
            for (id, entry) in state.streams where entry.stream.isStale(now: now, after: staleNanos) {
                evicted.append(entry.stream)
                state.streams.removeValue(forKey: id)
            }
            let ofProject = state.streams.filter { $0.value.projectID == projectID }
            if ofProject.count >= configuration.maxStreamsPerProject,
               let oldest = ofProject.min(by: { $0.value.openedAt < $1.value.openedAt }) {
                evicted.append(oldest.value.stream)
                state.streams.removeValue(forKey: oldest.key)
            }
            guard state.streams.count < configuration.maxStreams else {
                throw APIError.unavailable("Too many live streams are open; retry later", retryAfter: 5)
            }
            let id = state.nextID
            state.nextID += 1
            let stream = LiveStream(
                configuration: configuration, sessionID: sessionID, commitCount: commitCount,
                stillAuthorized: stillAuthorized, openedAt: now)
            state.streams[id] = Entry(projectID: projectID, openedAt: now, stream: stream)
            return (id, stream)
        }
        for old in evicted { old.end() }
        let listener = feed.add(projectID: projectID) { [weak stream] change in stream?.notify(change.sessionIDs) }
        stream.onEnd { [weak self] in
            self?.feed.remove(listener)
            _ = self?.state.withLock { $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every stream and refuses new ones (the server is shutting down).
    package func closeAll() {
        let streams = state.withLock { state -> [LiveStream] in
            state.closed = true
            return state.streams.values.map(\.stream)
        }
        for stream in streams { stream.end() }
    }
}

/// One open event stream: the changes waiting to be sent and the pull waiting for them.
final class LiveStream: Sendable {
    private enum Wake: Sendable { case change, timeout, end }

    private struct State {
        var pending: Set<String> = []
        var overflow = false
        var changed = false
        var ended = false
        var started = false
        var waiter: (id: Int, continuation: CheckedContinuation<Wake, Never>)?
        var nextWaiterID = 0
        var lastChange: UInt64
        /// When a pull last began or ended; while `pulling`, the stream is alive.
        var lastPull: UInt64
        var pulling = false
        var endHandlers: [@Sendable () -> Void] = []
    }

    private let configuration: LiveStreams.Configuration
    private let sessionID: String?
    private let commitCount: @Sendable () -> Int
    private let stillAuthorized: @Sendable () async -> Bool
    private let state: Mutex<State>

    init(configuration: LiveStreams.Configuration, sessionID: String?, commitCount: @escaping @Sendable () -> Int,
         stillAuthorized: @escaping @Sendable () async -> Bool, openedAt: UInt64) {
        self.configuration = configuration
        self.sessionID = sessionID
        self.commitCount = commitCount
        self.stillAuthorized = stillAuthorized
        state = Mutex(State(lastChange: openedAt, lastPull: openedAt))
    }

    /// The response body: this stream's pieces.
    var body: HTTPBodyStream { HTTPBodyStream { [self] in await next() } }

    func onEnd(_ handler: @escaping @Sendable () -> Void) {
        let endedAlready = state.withLock { state -> Bool in
            if !state.ended { state.endHandlers.append(handler) }
            return state.ended
        }
        if endedAlready { handler() }
    }

    /// Called by the writer after a commit changed `sessions`: record and wake, never wait.
    func notify(_ sessions: Set<String>) {
        if let sessionID, !sessions.contains(sessionID) { return }
        let waiter = state.withLock { state -> CheckedContinuation<Wake, Never>? in
            guard !state.ended else { return nil }
            state.changed = true
            if !state.overflow {
                state.pending.formUnion(sessions)
                if state.pending.count > configuration.maxSessionIDsPerEvent {
                    state.overflow = true
                    state.pending = []
                }
            }
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(returning: .change)
    }

    /// Ends the stream: the pull waiting now, or the next one, finishes the body.
    func end() {
        let (waiter, handlers) = state.withLock { state -> (CheckedContinuation<Wake, Never>?, [@Sendable () -> Void]) in
            guard !state.ended else { return (nil, []) }
            state.ended = true
            defer {
                state.waiter = nil
                state.endHandlers = []
            }
            return (state.waiter?.continuation, state.endHandlers)
        }
        waiter?.resume(returning: .end)
        for handler in handlers { handler() }
    }

    /// True when no pull is running and none ran for `after` nanoseconds: the connection is gone.
    func isStale(now: UInt64, after: UInt64) -> Bool {
        state.withLock { !$0.pulling && now &- $0.lastPull > after }
    }

    /// The next piece of the body; nil ends it.
    private func next() async -> [UInt8]? {
        let first = state.withLock { state -> Bool? in
            if state.ended { return nil }
            state.pulling = true
            state.lastPull = MonotonicClock.nanos()
            defer { state.started = true }
            return !state.started
        }
        guard let first else { return nil }
        defer { state.withLock { $0.pulling = false; $0.lastPull = MonotonicClock.nanos() } }
        if first {
            // `retry`: how soon EventSource reconnects after the stream ends (milliseconds).
            return Array("retry: 2000\n\nevent: ready\ndata: {\"commit\":\(commitCount())}\n\n".utf8)
        }
        while true {
            switch await wait(for: configuration.heartbeat) {
            case .end:
                return nil
            case .change:
                // A burst of commits (a large batch, a busy project) becomes one event.
                try? await Task.sleep(for: .milliseconds(configuration.coalesceMillis))
                if let event = takeEvent() { return event }
            case .timeout:
                let now = MonotonicClock.nanos()
                let idle = state.withLock { now &- $0.lastChange } > configuration.idle.unsignedNanoseconds
                let authorized = idle ? false : await stillAuthorized()
                if !authorized {
                    end()
                    return nil
                }
                return Array(": keep-alive\n\n".utf8)
            }
        }
    }

    /// The pending change as one `change` event, and the pending set emptied.
    private func takeEvent() -> [UInt8]? {
        let taken = state.withLock { state -> (Set<String>, Bool)? in
            guard state.changed, !state.ended else { return nil }
            defer {
                state.changed = false
                state.pending = []
                state.overflow = false
                state.lastChange = MonotonicClock.nanos()
            }
            return (state.pending, state.overflow)
        }
        guard let (sessions, more) = taken else { return nil }
        let data = JSONValue.object([
            ("commit", JSONValue(commitCount())),
            ("sessionIds", .array(sessions.sorted().map(JSONValue.string))),
            ("more", .bool(more)),
        ])
        return Array("event: change\ndata: ".utf8) + data.jsonBytes + Array("\n\n".utf8)
    }

    /// Waits for a change, the end, or `interval`; a change recorded before the wait returns at once.
    private func wait(for interval: Duration) async -> Wake {
        let id = state.withLock { state -> Int in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Wake, Never>) in
                let immediate = state.withLock { state -> Wake? in
                    if state.ended || Task.isCancelled { return .end }
                    if state.changed { return .change }
                    state.waiter = (id, continuation)
                    return nil
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                    return
                }
                DispatchQueue.global().asyncAfter(deadline: .now() + interval.seconds) { [self] in
                    let timedOut = state.withLock { state -> CheckedContinuation<Wake, Never>? in
                        guard let waiter = state.waiter, waiter.id == id else { return nil }
                        state.waiter = nil
                        return waiter.continuation
                    }
                    timedOut?.resume(returning: .timeout)
                }
            }
        } onCancel: {
            // The connection closed: the transport will not pull again.
            end()
        }
    }
}
