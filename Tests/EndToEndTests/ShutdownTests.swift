import Dispatch
import Foundation
import Synchronization
import Testing
import TestSupport
import Transport

/// Graceful shutdown: listeners and idle connections close at once, an in-flight request still
/// gets its whole response (with `Connection: close`), and `shutdown()` returns.
@Suite("Graceful shutdown")
struct ShutdownTests {
    @Test func inFlightRequestFinishesWithConnectionCloseAndShutdownReturns() throws {
        let received = DispatchSemaphore(value: 0)
        let pending = Mutex<(@Sendable (HTTPResponse) -> Void)?>(nil)
        let responder = ClosureResponder { request, completion in
            if request.target == "/slow" {
                pending.withLock { $0 = completion }
                received.signal()
            } else {
                completion(HTTPResponse(status: 200, body: Array(request.target.utf8)))
            }
        }
        var configuration = ServerConfiguration.testing
        configuration.shutdownGracePeriod = .seconds(10)
        try withTestServer(configuration: configuration, responder: responder) { server in
            let idle = try server.connect()
            #expect(try idle.request(request(target: "/ping")).text == "/ping")

            let busy = try server.connect()
            try busy.send(request(target: "/slow"))
            try #require(received.wait(timeout: .now() + 10) == .success, "the request never reached the responder")

            let finished = DispatchSemaphore(value: 0)
            let stopper = Thread { [server] in
                server.server.shutdown()
                finished.signal()
            }
            stopper.start()

            // The idle connection is closed by the shutdown, which therefore has begun: from
            // here on every response the server writes says Connection: close.
            #expect(try idle.readUntilClose() == [])
            #expect(finished.wait(timeout: .now()) == .timedOut, "shutdown returned with a request in flight")

            let completion = try #require(pending.withLock { $0 })
            completion(HTTPResponse(status: 200, body: Array("finished late".utf8)))

            let response = try busy.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "finished late")
            #expect(response.announcesClose)
            #expect(try busy.readUntilClose() == [])
            busy.close()

            #expect(finished.wait(timeout: .now() + 10) == .success, "shutdown did not return")
            // The listener is gone.
            #expect(throws: TestClientError.self) { _ = try server.connect() }
        }
    }
}
