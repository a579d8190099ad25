import Synchronization
import Testing
import TestSupport
import Transport

/// Slow and idle clients are bounded by the transport's timeouts. Timeouts are short and the
/// tests only check what the client sees (the answer and the close), never how long it took.
@Suite("Timeouts")
struct TimeoutTests {
    static var configuration: ServerConfiguration {
        var configuration = ServerConfiguration.testing
        configuration.headerReadTimeout = .milliseconds(300)
        configuration.bodyReadTimeout = .milliseconds(300)
        configuration.idleTimeout = .milliseconds(300)
        configuration.timerResolution = .milliseconds(50)
        return configuration
    }

    @Test func partialHeadGets408ThenClose() throws {
        let reachedResponder = Mutex(0)
        let responder = ClosureResponder.sync { request in
            reachedResponder.withLock { $0 += 1 }
            return HTTPResponse(status: 200, body: Array(request.target.utf8))
        }
        try withTestServer(configuration: Self.configuration, responder: responder) { server in
            let client = try server.connect()
            try client.send("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
            let response = try client.readResponse()
            expectJSONError(response, status: 408, error: "RequestTimeout")
            #expect(try client.readUntilClose() == [])
            #expect(reachedResponder.withLock { $0 } == 0)
            try expectServesNewConnection(server)
        }
    }

    @Test func stalledBodyGets408ThenClose() throws {
        let reachedResponder = Mutex(0)
        let responder = ClosureResponder.sync { _ in
            reachedResponder.withLock { $0 += 1 }
            return HTTPResponse(status: 200)
        }
        try withTestServer(configuration: Self.configuration, responder: responder) { server in
            let client = try server.connect()
            try client.send(request("POST", "/upload", headers: ["Content-Length: 100"]) + "only part")
            let response = try client.readResponse()
            expectJSONError(response, status: 408, error: "RequestTimeout")
            #expect(try client.readUntilClose() == [])
            #expect(reachedResponder.withLock { $0 } == 0)
        }
    }

    @Test func idleKeepAliveConnectionIsClosed() throws {
        try withTestServer(configuration: Self.configuration, responder: ClosureResponder.echoTarget) { server in
            let client = try server.connect()
            let response = try client.request(request(target: "/once"))
            #expect(response.status == 200)
            #expect(!response.announcesClose)
            // Nothing more is sent: the idle timeout must close the connection, silently.
            #expect(try client.readUntilClose() == [])
        }
    }

    @Test func connectionThatNeverSendsGets408() throws {
        // The header clock starts at accept: a client that connects and says nothing is also slow.
        try withTestServer(configuration: Self.configuration, responder: ClosureResponder.echoTarget) { server in
            let client = try server.connect()
            expectJSONError(try client.readResponse(), status: 408, error: "RequestTimeout")
            #expect(try client.readUntilClose() == [])
        }
    }
}
