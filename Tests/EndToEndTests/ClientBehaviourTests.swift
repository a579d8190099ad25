import Dispatch
import Synchronization
import Testing
import TestSupport
import Transport

/// Clients that crowd, vanish or half-close.
@Suite("Connection limit and misbehaving clients")
struct ClientBehaviourTests {
    @Test func clientOverTheConnectionLimitGets503AndLaterClientsAreServed() throws {
        var configuration = ServerConfiguration.testing
        configuration.maxConnections = 2
        configuration.retryAfterSeconds = 3
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            // A full round trip on each proves the server has accepted and counted both.
            let first = try server.connect()
            let second = try server.connect()
            #expect(try first.request(request(target: "/first")).text == "/first")
            #expect(try second.request(request(target: "/second")).text == "/second")

            let third = try server.connect()
            let rejected = try third.readResponse()
            expectJSONError(rejected, status: 503, error: "ServiceUnavailable")
            #expect(rejected.header("Retry-After") == "3")
            #expect(try third.readUntilClose() == [])
            #expect(server.stats.rejectedConnections == 1)

            // The first two still work while the limit is reached.
            #expect(try first.request(request(target: "/first-again")).text == "/first-again")

            // Half-close both and wait for the server's close: once a client has seen it, the
            // server has released that connection's slot.
            for client in [first, second] {
                try client.shutdownWrite()
                #expect(try client.readUntilClose() == [])
                client.close()
            }
            let fourth = try server.connect()
            #expect(try fourth.request(request(target: "/fourth")).text == "/fourth")
            let fifth = try server.connect()
            #expect(try fifth.request(request(target: "/fifth")).text == "/fifth")
            #expect(server.stats.rejectedConnections == 1)
        }
    }

    @Test func clientVanishingMidBodyNeverReachesTheResponder() throws {
        let reached = Mutex<[String]>([])
        let responder = ClosureResponder.sync { request in
            reached.withLock { $0.append(request.target) }
            return HTTPResponse(status: 200, body: Array(request.target.utf8))
        }
        try withTestServer(responder: responder) { server in
            for _ in 0..<5 {
                let client = try server.connect()
                try client.send(request("POST", "/upload", headers: ["Content-Length: 1000"]) + String(repeating: "x", count: 300))
                client.abort()  // RST: the client is gone without a goodbye
            }
            try expectServesNewConnection(server)
            #expect(reached.withLock { $0 } == ["/still-serving"])
        }
    }

    @Test func halfCloseMidBodyClosesTheConnectionWithoutAnAnswer() throws {
        let reached = Mutex(0)
        let responder = ClosureResponder.sync { _ in
            reached.withLock { $0 += 1 }
            return HTTPResponse(status: 200)
        }
        try withTestServer(responder: responder) { server in
            let client = try server.connect()
            try client.send(request("POST", "/upload", headers: ["Content-Length: 1000"]) + "partial")
            try client.shutdownWrite()
            // The request can never complete, so the server closes without answering.
            #expect(try client.readUntilClose() == [])
            #expect(reached.withLock { $0 } == 0)
            try expectServesNewConnection(server)
        }
    }

    @Test(arguments: [false, true])
    func halfClosedClientStillGetsTheResponseToAFullRequest(asynchronous: Bool) throws {
        let responder = ClosureResponder { request, completion in
            let response = HTTPResponse(status: 200, body: Array("answer to \(request.target)".utf8))
            if asynchronous {
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { completion(response) }
            } else {
                completion(response)
            }
        }
        try withTestServer(responder: responder) { server in
            let client = try server.connect()
            try client.send(request(target: "/half"))
            try client.shutdownWrite()  // RFC 9112 §9.6: a half-close is not an abort
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "answer to /half")
            #expect(try client.readUntilClose() == [])
        }
    }

    @Test func pipelinedRequestsBeforeAHalfCloseAreAllAnswered() throws {
        // Answers come later from another thread, so the server sees the FIN while requests are
        // still waiting in its buffer; those must still be answered, in order.
        let responder = ClosureResponder { request, completion in
            let response = HTTPResponse(status: 200, body: Array(request.target.utf8))
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(5)) { completion(response) }
        }
        try withTestServer(responder: responder) { server in
            let client = try server.connect()
            try client.send((0..<10).map { request(target: "/pipelined/\($0)") }.joined())
            try client.shutdownWrite()
            for index in 0..<10 {
                let response = try client.readResponse()
                #expect(response.text == "/pipelined/\(index)")
            }
            #expect(try client.readUntilClose() == [])
        }
    }

    @Test func halfCloseAfterPipelinedRequestsAndAPartialOneAnswersTheCompleteOnes() throws {
        let responder = ClosureResponder { request, completion in
            let response = HTTPResponse(status: 200, body: Array(request.target.utf8))
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(5)) { completion(response) }
        }
        try withTestServer(responder: responder) { server in
            let client = try server.connect()
            try client.send(request(target: "/a") + request(target: "/b") + "GET /never-fini")
            try client.shutdownWrite()
            #expect(try client.readResponse().text == "/a")
            #expect(try client.readResponse().text == "/b")
            #expect(try client.readUntilClose() == [])
        }
    }
}
