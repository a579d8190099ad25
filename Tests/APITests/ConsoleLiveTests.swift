import API
import Foundation
import Model
import Storage
import Testing
import TestSupport
import Transport

/// The console's event stream (`GET /api/console/events`): what it sends after a commit, whom
/// it follows, and its bounds. Pieces are pulled the way the transport pulls them; no test
/// waits on a clock: where nothing must arrive, a short heartbeat's keep-alive comes first.
@Suite struct ConsoleLiveTests {
    /// A fast configuration: heartbeats every 50 ms, no coalescing wait.
    static func fast() -> LiveStreams.Configuration {
        var configuration = LiveStreams.Configuration()
        configuration.heartbeat = .milliseconds(50)
        configuration.coalesceMillis = 0
        return configuration
    }

    /// Opens a stream; the response and the text of its first piece.
    static func open(_ console: ConsoleTests.Console, token: String, query: String = "") async throws -> (HTTPResponse, String) {
        let response = await console.get("/api/console/events\(query)", cookie: token)
        try #require(response.status == 200, "\(response.status) \(response.text)")
        let stream = try #require(response.stream)
        let first = try await stream.next().map { String(decoding: $0, as: UTF8.self) } ?? "<end>"
        return (response, first)
    }

    /// The next piece that is not a keep-alive, skipping at most `limit` of those.
    static func nextEvent(_ response: HTTPResponse, limit: Int = 400) async throws -> String? {
        for _ in 0..<limit {
            guard let piece = try await response.stream?.next() else { return nil }
            let text = String(decoding: piece, as: UTF8.self)
            if !text.hasPrefix(":") { return text }
        }
        return "<only keep-alives>"
    }

    @Test func streamsAChangeEventAfterACommitInTheProject() async throws {
        try await APIHarness.with { harness in
            let console = ConsoleTests.Console(harness, live: Self.fast())
            let token = try await console.signIn()
            #expect(await console.get("/api/console/events", cookie: nil).status == 401)
            let (response, first) = try await Self.open(console, token: token)
            #expect(response.headers["Content-Type"] == "text/event-stream")
            #expect(response.headers["Content-Security-Policy"] != nil)
            #expect(first.hasPrefix("retry: ") && first.contains("event: ready"))
            try await harness.ingest(Build.turn("live-1", session: "watched", number: 1, at: 0))
            let event = try #require(try await Self.nextEvent(response))
            #expect(event.hasPrefix("event: change\ndata: "))
            let data = try JSONParser.parse(Array(event.dropFirst("event: change\ndata: ".count).utf8))
            #expect(data["sessionIds"] == .array([.string("watched")]))
            #expect(data["more"] == .bool(false))
            #expect((data["commit"]?.intValue ?? 0) >= 1)
        }
    }

    @Test func aStreamForOneSessionIgnoresTheOthers() async throws {
        try await APIHarness.with { harness in
            let console = ConsoleTests.Console(harness, live: Self.fast())
            let token = try await console.signIn()
            let (response, _) = try await Self.open(console, token: token, query: "?sessionId=mine")
            try await harness.ingest(Build.turn("other-1", session: "other", number: 1, at: 0))
            // Only keep-alives may follow a change to another session.
            let piece = try await response.stream?.next().map { String(decoding: $0, as: UTF8.self) }
            #expect(piece == ": keep-alive\n\n")
            try await harness.ingest(Build.turn("mine-1", session: "mine", number: 1, at: 0))
            let event = try #require(try await Self.nextEvent(response))
            #expect(event.contains("\"sessionIds\":[\"mine\"]"))
            #expect(try expectBadRequestStatus(await console.get("/api/console/events?sessionId=\(String(repeating: "x", count: 900))", cookie: token)))
        }
    }

    func expectBadRequestStatus(_ response: HTTPResponse) throws -> Bool { response.status == 400 }

    @Test func aReaderThatDoesNotReadNeverHoldsTheWriterBack() async throws {
        try await APIHarness.with { harness in
            let console = ConsoleTests.Console(harness, live: Self.fast())
            let token = try await console.signIn()
            let (response, _) = try await Self.open(console, token: token)
            // Nobody pulls while 150 commits change 150 sessions: every write is acknowledged.
            for index in 0..<150 {
                try await harness.ingest([Build.trace("slow-\(index)", session: "slow-\(index)")])
            }
            let event = try #require(try await Self.nextEvent(response))
            #expect(event.contains("\"more\":true"), "past 100 session ids the event says more: \(event.prefix(120))")
        }
    }

    @Test func streamsPerProjectAreBoundedAndTheOldestGoes() async throws {
        try await APIHarness.with { harness in
            var configuration = Self.fast()
            configuration.maxStreamsPerProject = 2
            configuration.maxStreams = 3
            let console = ConsoleTests.Console(harness, live: configuration)
            let token = try await console.signIn()
            let (first, _) = try await Self.open(console, token: token)
            let (second, _) = try await Self.open(console, token: token)
            let (third, _) = try await Self.open(console, token: token)
            #expect(try await first.stream?.next() == nil, "the oldest stream of the project ended")
            #expect(console.application.live?.count == 2)
            // Another project fills the server-wide bound; past it, 503.
            _ = try await KeyService.create(projectName: "other", publicKey: "pk-lf-third", secretKey: "sk-lf-third", database: harness.database)
            let other = try await console.signIn(publicKey: "pk-lf-third", secretKey: "sk-lf-third")
            _ = try await Self.open(console, token: other)
            let refused = await console.get("/api/console/events", cookie: other)
            #expect(refused.status == 503 && refused.headers["Retry-After"] != nil)
            _ = second
            _ = third
        }
    }

    @Test func idleStreamsEndAndShutdownEndsEveryStream() async throws {
        try await APIHarness.with { harness in
            var idle = Self.fast()
            idle.idle = .zero
            let quiet = ConsoleTests.Console(harness, live: idle)
            let token = try await quiet.signIn()
            let (response, _) = try await Self.open(quiet, token: token)
            #expect(try await response.stream?.next() == nil, "no change for `idle`: the stream ends")
            #expect(quiet.application.live?.count == 0)

            var slow = LiveStreams.Configuration()
            slow.heartbeat = .seconds(3600)
            let console = ConsoleTests.Console(harness, live: slow)
            let other = try await console.signIn()
            let (open, _) = try await Self.open(console, token: other)
            async let ended = open.stream?.next()
            console.application.transportShuttingDown()
            #expect(try await ended == nil)
            #expect(await console.get("/api/console/events", cookie: other).status == 503)
        }
    }

    @Test func aSignOutEndsTheStreamAtTheNextHeartbeat() async throws {
        try await APIHarness.with { harness in
            let console = ConsoleTests.Console(harness, live: Self.fast())
            let token = try await console.signIn()
            let (response, _) = try await Self.open(console, token: token)
            _ = await console.respond("DELETE", "/api/console/session", headers: ["Cookie": "\(ConsoleSessions.cookieName)=\(token)"])
            #expect(try await Self.nextEvent(response) == nil)
        }
    }
}
