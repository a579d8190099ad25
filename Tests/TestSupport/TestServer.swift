import API
import Foundation
import Logging
import Storage
import Transport

/// A running `HTTPServer` on 127.0.0.1 with its real, ephemeral ports.
package struct TestServer: Sendable {
    package let server: HTTPServer
    /// The plain HTTP port the kernel picked.
    package let port: Int
    /// The HTTPS port the kernel picked, when the configuration has TLS.
    package let tlsPort: Int?

    /// The server's transport counters.
    package var stats: TransportStats { server.stats }

    /// Binds 127.0.0.1 port 0 (and TLS port 0 when `configuration.tls` is set) and starts.
    /// On success the caller owns the running server and must shut it down.
    fileprivate static func start(
        configuration: ServerConfiguration, responder: any HTTPResponder,
        observer: (any TransportObserver)?, stats: TransportStats
    ) throws -> TestServer {
        var configuration = configuration
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.tlsPort = configuration.tls == nil ? nil : 0
        let server = try HTTPServer(
            configuration: configuration, responder: responder, observer: observer, stats: stats, logger: .test)
        let addresses = try server.start()
        guard let plain = addresses.first(where: { $0.scheme == "http" }) else {
            server.shutdown()
            throw TestClientError.malformedResponse("server bound no plain listener: \(addresses)")
        }
        let tls = addresses.first { $0.scheme == "https" }
        return TestServer(server: server, port: plain.port, tlsPort: tls?.port)
    }

    /// A new raw client connected to the plain port.
    package func connect(timeout: Duration = .seconds(10)) throws -> RawClient {
        try RawClient(port: port, timeout: timeout)
    }

    /// A new TLS client connected to the HTTPS port, trusting `certificates`' CA.
    package func connectTLS(
        trusting certificates: TestCertificates, serverName: String = "localhost", offer: TLSClient.Offer = TLSClient.Offer(),
        timeout: Duration = .seconds(10)
    ) throws -> TLSClient {
        guard let tlsPort else {
            throw TestClientError.malformedResponse("this test server has no TLS listener")
        }
        return try TLSClient(
            port: tlsPort, serverName: serverName, trusting: certificates.caCertificatePath, offer: offer, timeout: timeout)
    }
}

extension ServerConfiguration {
    /// Defaults for tests: loopback, ephemeral ports, a 50 ms timer tick so sub-second timeouts
    /// fire promptly, and a short shutdown grace period so a failed test does not wait 10 s.
    package static var testing: ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.timerResolution = .milliseconds(50)
        configuration.shutdownGracePeriod = .seconds(2)
        return configuration
    }
}

extension Logger {
    /// Silent unless `PARLEY_TEST_LOG` names a level (`debug`, `info`, ...), in which case the
    /// server logs to stderr: the switch to flip when a live test fails.
    package static var test: Logger {
        if let name = ProcessInfo.processInfo.environment["PARLEY_TEST_LOG"], let level = Logger.Level(rawValue: name) {
            var logger = Logger(label: "parley-test") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = level
            return logger
        }
        return Logger(label: "parley-test") { _ in SwiftLogNoOpLogHandler() }
    }
}

/// Starts an `HTTPServer` for `configuration` on 127.0.0.1, port 0 (and TLS port 0 when
/// `configuration.tls` is set), runs `body` with its real ports, and shuts it down afterwards,
/// also when `body` throws. `start()` returns only once every listener is registered, so the
/// ports accept connections as soon as `body` runs: no sleep, no retry.
package func withTestServer<Result>(
    configuration: ServerConfiguration = .testing, responder: any HTTPResponder,
    observer: (any TransportObserver)? = nil, stats: TransportStats = TransportStats(),
    _ body: (TestServer) throws -> Result
) throws -> Result {
    let server = try TestServer.start(configuration: configuration, responder: responder, observer: observer, stats: stats)
    defer { server.server.shutdown() }
    return try body(server)
}

/// `withTestServer` running Parley's real application (`Routes.application`) over a fresh
/// SQLite file in a temp directory, closed and removed afterwards.
package func withApplicationServer<Result>(
    configuration: ServerConfiguration = .testing, _ body: (TestServer) throws -> Result
) throws -> Result {
    let directory = try TempDirectory(prefix: "parley-db")
    let database = try Database(path: directory.file("parley.sqlite"), configuration: TestDatabase.testing)
    defer { database.close() }
    let stats = TransportStats()
    let application = Routes.application(
        database: database, transportStats: stats, logger: .test, maxRequestWait: .seconds(600))
    return try withTestServer(
        configuration: configuration, responder: application, observer: application, stats: stats, body)
}

/// `withTestServer` for async test bodies: while the body awaits (typically `onOwnThread`),
/// its cooperative-pool thread is free for the server's async handlers.
package func withTestServer<Result>(
    configuration: ServerConfiguration = .testing, responder: any HTTPResponder,
    observer: (any TransportObserver)? = nil, stats: TransportStats = TransportStats(),
    _ body: (TestServer) async throws -> Result
) async throws -> Result {
    let server = try TestServer.start(configuration: configuration, responder: responder, observer: observer, stats: stats)
    defer { server.server.shutdown() }
    return try await body(server)
}

/// `withApplicationServer` for async test bodies; see the async `withTestServer`. With
/// `publicKey` and `secretKey`, that key pair exists (in project `test`) before the server starts.
package func withApplicationServer<Result>(
    configuration: ServerConfiguration = .testing, publicKey: String? = nil, secretKey: String? = nil,
    _ body: (TestServer) async throws -> Result
) async throws -> Result {
    // Opened and closed off the cooperative pool, as `TestDatabase.with` does.
    try await TestDatabase.with { test async throws in
        let database = test.database
        if let publicKey, let secretKey {
            _ = try await KeyService.create(projectName: "test", publicKey: publicKey, secretKey: secretKey, database: database)
        }
        let stats = TransportStats()
        let application = Routes.application(
            database: database, transportStats: stats, logger: .test, maxRequestWait: .seconds(600))
        return try await withTestServer(
            configuration: configuration, responder: application, observer: application, stats: stats, body)
    }
}

/// Runs blocking client code on a thread of its own and awaits the result.
///
/// Swift Testing runs test bodies on the cooperative pool, which has one thread per core. A
/// test that blocks in a socket read while the server's answer itself needs the pool (the
/// application's async handlers run in a `Task`) could otherwise wait on itself; awaiting this
/// instead leaves the pool free. Make every `#expect` after the `await`, in the test's own task.
package func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = "parley-test-client"
        thread.start()
    }
}

/// An `HTTPResponder` made from a closure, for tests that need to control when and from which
/// thread a response completes.
package struct ClosureResponder: HTTPResponder {
    private let handler: @Sendable (HTTPRequest, @escaping @Sendable (HTTPResponse) -> Void) -> Void

    /// Answers through `completion`, now or later, from any thread.
    package init(_ handler: @escaping @Sendable (HTTPRequest, @escaping @Sendable (HTTPResponse) -> Void) -> Void) {
        self.handler = handler
    }

    /// Answers synchronously with `respond(request)`.
    package static func sync(_ respond: @escaping @Sendable (HTTPRequest) -> HTTPResponse) -> ClosureResponder {
        ClosureResponder { request, completion in completion(respond(request)) }
    }

    /// 200 with the request's target as a text body: the answer to "which request was this?".
    package static let echoTarget = ClosureResponder.sync { request in
        HTTPResponse(status: 200, headers: ["Content-Type": "text/plain"], body: Array(request.target.utf8))
    }

    package func respond(to request: HTTPRequest, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        handler(request, completion)
    }
}
