import Dispatch
import Synchronization
import Testing
import TestSupport
import Transport

/// Connection persistence (RFC 9112 §9.3), pipelining (§9.3.2) and `Expect: 100-continue`
/// (RFC 9110 §10.1.1) over real sockets.
@Suite("Keep-alive, pipelining and 100-continue")
struct PersistenceAndPipeliningTests {
    @Test func keepAliveServesManyRequestsOnOneConnection() throws {
        try withTestServer(responder: ClosureResponder.echoTarget) { server in
            let client = try server.connect()
            for index in 0..<100 {
                let response = try client.request(request(target: "/item/\(index)"))
                #expect(response.status == 200)
                #expect(response.text == "/item/\(index)")
                #expect(!response.announcesClose)
            }
            // All hundred answers came over the one connection the server ever accepted.
            #expect(server.stats.acceptedConnections == 1)
        }
    }

    @Test func http10ClosesByDefault() throws {
        try withTestServer(responder: ClosureResponder.echoTarget) { server in
            let client = try server.connect()
            let response = try client.request(request(target: "/old", version: "HTTP/1.0"))
            #expect(response.status == 200)
            #expect(response.text == "/old")
            #expect(response.announcesClose)
            #expect(try client.readUntilClose() == [])
        }
    }

    @Test func http10KeepsAliveWhenAskedTo() throws {
        try withTestServer(responder: ClosureResponder.echoTarget) { server in
            let client = try server.connect()
            for target in ["/one", "/two", "/three"] {
                let response = try client.request(request(target: target, version: "HTTP/1.0", headers: ["Connection: keep-alive"]))
                #expect(response.text == target)
                // RFC 9112 §9.3: an HTTP/1.0 keep-alive answer must say so explicitly.
                #expect(response.header("Connection")?.lowercased() == "keep-alive")
            }
            #expect(server.stats.acceptedConnections == 1)
        }
    }

    @Test func connectionCloseIsHonoured() throws {
        try withTestServer(responder: ClosureResponder.echoTarget) { server in
            let client = try server.connect()
            let response = try client.request(request(target: "/bye", headers: ["Connection: close"]))
            #expect(response.status == 200)
            #expect(response.announcesClose)
            #expect(try client.readUntilClose() == [])
            #expect(!client.sawReset)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        // Every third request completes later, from another thread, after a random delay: if the
        // server wrote responses as they completed, the order would break.
        let responder = ClosureResponder { request, completion in
            let response = HTTPResponse(status: 200, body: Array(request.target.utf8))
            let index = Int(request.target.split(separator: "/").last ?? "") ?? 0
            if index % 3 == 0 {
                DispatchQueue.global().asyncAfter(deadline: .now() + .microseconds(Int.random(in: 0...5_000))) {
                    completion(response)
                }
            } else {
                completion(response)
            }
        }
        try withTestServer(responder: responder) { server in
            let client = try server.connect()
            let batch = (0..<50).map { request(target: "/pipelined/\($0)") }.joined()
            try client.send(batch)  // one send: every request is on the wire before any answer
            for index in 0..<50 {
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "/pipelined/\(index)", "response \(index) out of order")
            }
        }
    }

    @Test(arguments: [false, true])
    func pipeliningClientThatDoesNotReadGetsNoFurtherAnswersUntilItReads(halfClosed: Bool) throws {
        // 200 requests for 512 KiB each, sent at once, then read slowly. A server that answered
        // everything it had read would hold ~100 MiB for this one client; one that waits for the
        // client to read has at most what the kernel's socket buffers hold in flight (under 10
        // answers with Linux's default 4 MiB send-buffer ceiling and the 64 KiB receive buffer
        // fixed here).
        let count = 200
        let dispatched = Mutex(0)
        let body = [UInt8](repeating: UInt8(ascii: "z"), count: 512 * 1024)
        let responder = ClosureResponder.sync { request in
            dispatched.withLock { $0 += 1 }
            return HTTPResponse(status: 200, body: body)
        }
        try withTestServer(responder: responder) { server in
            let client = try RawClient(port: server.port, receiveBufferSize: 64 * 1024)
            try client.send((0..<count).map { request(target: "/large/\($0)") }.joined())
            // Half-closed or not, every request sent is answered.
            if halfClosed { try client.shutdownWrite() }
            var largestBacklog = 0
            for index in 0..<count {
                largestBacklog = max(largestBacklog, dispatched.withLock { $0 } - index)
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.body.count == body.count)
            }
            #expect(largestBacklog < count / 2, "the server answered \(largestBacklog) requests ahead of the reader")
            if halfClosed { #expect(try client.readUntilClose() == []) }
        }
    }

    @Test func expect100ContinueGetsInterimResponseBeforeTheBodyIsSent() throws {
        let bodiesSeen = Mutex<[String]>([])
        let responder = ClosureResponder.sync { request in
            let body = String(decoding: request.body, as: UTF8.self)
            bodiesSeen.withLock { $0.append(body) }
            return HTTPResponse(status: 201, body: Array("got \(body)".utf8))
        }
        try withTestServer(responder: responder) { server in
            let client = try server.connect()
            try client.send(request("POST", "/upload", headers: ["Content-Length: 11", "Expect: 100-continue"]))
            let interim = try client.readResponse()
            #expect(interim.status == 100)
            #expect(interim.body.isEmpty)
            #expect(bodiesSeen.withLock { $0.isEmpty }, "the responder ran before the body arrived")
            try client.send("hello world")
            let final = try client.readResponse()
            #expect(final.status == 201)
            #expect(final.text == "got hello world")
        }
    }

    @Test func chunkedRequestBodySplitAcrossSendsIsReassembled() throws {
        let responder = ClosureResponder.sync { request in
            HTTPResponse(status: 200, body: request.body)
        }
        try withTestServer(responder: responder) { server in
            let client = try server.connect()
            try client.send(request("POST", "/chunked", headers: ["Transfer-Encoding: chunked"]))
            try client.send("5\r\nhello\r\n")
            try client.send("1;ext=1\r\n \r\n")
            try client.send("5\r\nworld\r\n0\r\n\r\n")
            #expect(try client.readResponse().text == "hello world")
        }
    }

    @Test func largeBodiesCrossTheSocketIntactBothWays() throws {
        // Larger than any socket buffer, so both directions go through partial reads and writes.
        // A pattern with no short period, so a dropped or repeated segment cannot go unnoticed.
        let payload = (0..<(3 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        var configuration = ServerConfiguration.testing
        configuration.limits.maxBodyBytes = 4 * 1024 * 1024
        let responder = ClosureResponder.sync { request in HTTPResponse(status: 200, body: request.body) }
        try withTestServer(configuration: configuration, responder: responder) { server in
            let client = try server.connect()
            try client.send(Array(request("POST", "/echo", headers: ["Content-Length: \(payload.count)"]).utf8) + payload)
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.body.count == payload.count)
            #expect(response.body == payload)
        }
    }

    @Test func manyConcurrentClientsAreAllServed() throws {
        try withTestServer(responder: ClosureResponder.echoTarget) { server in
            // All connected before any request: they are spread over both event loops and all
            // open at once.
            let clients = try (0..<200).map { _ in try server.connect() }
            for (index, client) in clients.enumerated() {
                try client.send(request(target: "/client/\(index)"))
            }
            for (index, client) in clients.enumerated() {
                #expect(try client.readResponse().text == "/client/\(index)")
            }
            #expect(server.stats.acceptedConnections == 200)
        }
    }

    @Test func requestSentOneByteAtATimeIsServed() throws {
        let responder = ClosureResponder.sync { request in
            HTTPResponse(status: 200, body: Array("\(request.method) \(request.target) \(request.body.count)".utf8))
        }
        try withTestServer(responder: responder) { server in
            let client = try server.connect()
            try client.sendByteByByte(request("POST", "/slowly", headers: ["X-Test: 1"], body: "0123456789"))
            let response = try client.readResponse()
            #expect(response.text == "POST /slowly 10")
            // The connection is still in a clean state for the next request.
            #expect(try client.request(request(target: "/after")).text == "GET /after 0")
        }
    }
}
