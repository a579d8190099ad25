import Foundation
import Testing
import TestSupport

/// Parley's real application (`Routes.application` over a temp SQLite file) behind the real
/// transport, spoken to over TCP on 127.0.0.1.
@Suite("Application over real sockets")
struct ApplicationEndToEndTests {
    @Test func healthAnswersOKWithVersionAsJSON() throws {
        try withApplicationServer { server in
            let client = try server.connect()
            let response = try client.request(request(target: "/api/public/health"))
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.header("Content-Length") == String(response.body.count))
            let json = try response.jsonObject()
            #expect(json["status"] as? String == "OK")
            #expect((json["version"] as? String)?.isEmpty == false)
        }
    }

    @Test func readyAnswersOKWhileTheDatabaseIsOpen() async throws {
        try await withApplicationServer { server in
            // /ready is an async handler: it runs in a Task on the cooperative pool, so the
            // blocking client must not sit on a pool thread while it waits (see `onOwnThread`).
            let response = try await onOwnThread {
                try RawClient(port: server.port, timeout: .seconds(60)).request(request(target: "/api/public/ready"))
            }
            #expect(response.status == 200, "\(response)")
            #expect(try response.jsonObject()["status"] as? String == "OK")
            #expect(response.header("Content-Type") == "application/json")
        }
    }

    @Test func metricsCountEarlierRequestsInPrometheusText() throws {
        try withApplicationServer { server in
            let client = try server.connect()
            #expect(try client.request(request(target: "/api/public/health")).status == 200)
            #expect(try client.request(request(target: "/no/such/route")).status == 404)
            let response = try client.request(request(target: "/metrics"))
            #expect(response.status == 200)
            #expect(response.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let lines = response.text.split(separator: "\n").map(String.init)
            #expect(lines.contains(#"parley_http_requests_total{route="/api/public/health",method="GET",status="200"} 1"#))
            #expect(lines.contains(#"parley_http_requests_total{route="unmatched",method="GET",status="404"} 1"#))
            // This very connection is open while /metrics renders.
            #expect(lines.contains("parley_http_open_connections 1"))
            #expect(lines.contains("parley_http_connections_accepted_total 1"))
        }
    }

    @Test func unknownPathIs404WithJSONErrorBody() throws {
        try withApplicationServer { server in
            let client = try server.connect()
            let response = try client.request(request(target: "/api/public/nothing-here"))
            #expect(response.status == 404)
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.errorBody?.error == "LangfuseNotFoundError", "\(response.text)")
            #expect(response.errorBody?.message.contains("/api/public/nothing-here") == true)
            // A 404 from a route is an ordinary answer: the connection stays usable.
            #expect(!response.announcesClose)
            #expect(try client.request(request(target: "/api/public/health")).status == 200)
        }
    }

    @Test func wrongMethodIs405WithAllowAndJSONErrorBody() throws {
        try withApplicationServer { server in
            let client = try server.connect()
            let response = try client.request(request("POST", "/api/public/health", headers: ["Content-Length: 0"]))
            #expect(response.status == 405)
            #expect(response.header("Allow") == "GET, HEAD, OPTIONS")
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.errorBody?.error == "MethodNotAllowedError", "\(response.text)")
        }
    }

    @Test func echoesTheClientsRequestID() throws {
        try withApplicationServer { server in
            let client = try server.connect()
            let response = try client.request(request(target: "/api/public/health", headers: ["X-Request-Id: trace-abc-123"]))
            #expect(response.header("X-Request-Id") == "trace-abc-123")
            let missing = try client.request(request(target: "/missing", headers: ["X-Request-Id: trace-404"]))
            #expect(missing.header("X-Request-Id") == "trace-404")
        }
    }

    @Test func generatesARequestIDWhenNoneIsSent() throws {
        try withApplicationServer { server in
            let client = try server.connect()
            let first = try client.request(request(target: "/api/public/health"))
            let second = try client.request(request(target: "/api/public/health"))
            let id = try #require(first.header("X-Request-Id"))
            #expect(id.count == 16 && id.allSatisfy(\.isHexDigit), "\(id)")
            #expect(second.header("X-Request-Id") != id)
        }
    }

    @Test func headHasTheHeadersAndContentLengthOfGetButNoBody() throws {
        try withApplicationServer { server in
            let client = try server.connect()
            let get = try client.request(request(target: "/api/public/health"))
            try client.send(request("HEAD", "/api/public/health", headers: ["Connection: close"]))
            let head = try client.readResponse(method: "HEAD")
            #expect(head.status == 200)
            #expect(head.header("Content-Type") == "application/json")
            #expect(head.header("Content-Length") == String(get.body.count))
            #expect(get.body.count > 0)
            // RFC 9110 §9.3.2: nothing follows the head; the next bytes are the close.
            #expect(try client.readUntilClose() == [])
        }
    }

    @Test func everyResponseCarriesDateAndServer() throws {
        try withApplicationServer { server in
            let client = try server.connect()
            for target in ["/api/public/health", "/missing", "/metrics"] {
                let response = try client.request(request(target: target))
                #expect(response.header("Server") == "parley")
                let date = try #require(response.header("Date"), "no Date on \(target)")
                // RFC 9110 §5.6.7: IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
                let formatter = DateFormatter()
                formatter.locale = Locale(identifier: "en_US_POSIX")
                formatter.timeZone = TimeZone(identifier: "GMT")
                formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
                #expect(formatter.date(from: date) != nil, "Date is not IMF-fixdate: \(date)")
            }
        }
    }
}
