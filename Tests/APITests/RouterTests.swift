import API
import Synchronization
import Testing
import TestSupport
import Transport

/// Routing in-process, no socket: path parameters, percent-decoding, 404 versus 405, HEAD.
@Suite("Router")
struct RouterTests {
    static let ok = RouteHandler.sync { _ in HTTPResponse(status: 200) }

    static var router: Router {
        var router = Router()
        router.get("/api/public/health", ok)
        router.get("/api/public/sessions/:id", ok)
        router.delete("/api/public/sessions/:id", ok)
        router.get("/api/public/traces/:traceId/observations/:observationId", ok)
        router.post("/api/public/ingestion", ok)
        return router
    }

    @Test func literalRouteMatchesWithoutParameters() throws {
        guard case .found(_, let route, let parameters) = Self.router.match(method: "GET", path: "/api/public/health") else {
            Issue.record("no match")
            return
        }
        #expect(route.pattern == "/api/public/health")
        #expect(parameters.isEmpty)
    }

    @Test func pathParametersAreCapturedByName() throws {
        let match = Self.router.match(method: "GET", path: "/api/public/traces/t-1/observations/o-2")
        guard case .found(_, let route, let parameters) = match else {
            Issue.record("no match: \(match)")
            return
        }
        #expect(route.pattern == "/api/public/traces/:traceId/observations/:observationId")
        #expect(parameters == ["traceId": "t-1", "observationId": "o-2"])
    }

    @Test(arguments: [
        ("/api/public/sessions/a%20b", "a b"),
        ("/api/public/sessions/caf%C3%A9", "café"),
        ("/api/public/sessions/slash%2Finside", "slash/inside"),
        ("/api/public/sessions/plus+stays", "plus+stays"),
    ])
    func pathParametersArePercentDecoded(path: String, expected: String) throws {
        let match = Self.router.match(method: "GET", path: path[...])
        guard case .found(_, _, let parameters) = match else {
            Issue.record("no match for \(path): \(match)")
            return
        }
        #expect(parameters["id"] == expected)
    }

    @Test(arguments: ["/api/public/sessions/%zz", "/api/public/sessions/%C3", "/api/public/sessions/%"])
    func malformedPercentEncodingDoesNotMatch(path: String) {
        guard case .notFound = Self.router.match(method: "GET", path: path[...]) else {
            Issue.record("\(path) matched")
            return
        }
    }

    @Test func unknownPathIsNotFound() {
        for path in ["/", "/api", "/api/public/sessions", "/api/public/sessions/x/y", "/api/public/healthz"] {
            guard case .notFound = Self.router.match(method: "GET", path: path[...]) else {
                Issue.record("\(path) should be 404")
                continue
            }
        }
    }

    @Test func knownPathWithWrongMethodListsTheAllowedOnes() {
        guard case .methodNotAllowed(let allowed) = Self.router.match(method: "PUT", path: "/api/public/sessions/x") else {
            Issue.record("expected 405")
            return
        }
        #expect(allowed == ["GET", "DELETE", "HEAD", "OPTIONS"])

        guard case .methodNotAllowed(let postOnly) = Self.router.match(method: "GET", path: "/api/public/ingestion") else {
            Issue.record("expected 405")
            return
        }
        // No GET route, so no HEAD either (RFC 9110 §9.3.2 ties HEAD to GET).
        #expect(postOnly == ["POST", "OPTIONS"])
    }

    @Test func headIsServedByTheGetRoute() {
        guard case .found(_, let route, let parameters) = Self.router.match(method: "HEAD", path: "/api/public/sessions/s1") else {
            Issue.record("HEAD did not match the GET route")
            return
        }
        #expect(route.method == "GET")
        #expect(parameters == ["id": "s1"])
    }

    @Test func applicationRenders404And405AsJSONWithAllow() throws {
        let application = Application(router: Self.router, metrics: Metrics(), transportStats: TransportStats(), logger: .test)
        let notFound = respond(application, HTTPRequest(method: "GET", target: "/nope"))
        #expect(notFound?.status == 404)
        #expect(notFound?.headers["Content-Type"] == "application/json")
        #expect(notFound.map { String(decoding: $0.body, as: UTF8.self) }?.contains("\"error\":\"LangfuseNotFoundError\"") == true)

        let notAllowed = respond(application, HTTPRequest(method: "PATCH", target: "/api/public/health"))
        #expect(notAllowed?.status == 405)
        #expect(notAllowed?.headers["Allow"] == "GET, HEAD, OPTIONS")
        #expect(notAllowed.map { String(decoding: $0.body, as: UTF8.self) }?.contains("\"error\":\"MethodNotAllowedError\"") == true)

        let head = respond(application, HTTPRequest(method: "HEAD", target: "/api/public/health"))
        #expect(head?.status == 200)
    }

    @Test func optionsListsEveryMethodOfThePathWhateverWasAsked() throws {
        let application = Application(router: Self.router, metrics: Metrics(), transportStats: TransportStats(), logger: .test)
        // Asking about GET used to answer only "GET, OPTIONS" although DELETE is served too.
        for asked in ["GET", "DELETE", "PUT"] {
            let response = respond(application, HTTPRequest(
                method: "OPTIONS", target: "/api/public/sessions/x", headers: ["Access-Control-Request-Method": asked]))
            #expect(response?.status == 204)
            #expect(response?.headers["Allow"] == "GET, DELETE, HEAD, OPTIONS", "\(asked)")
            #expect(response?.headers["Access-Control-Allow-Methods"] == "GET, DELETE, HEAD, OPTIONS", "\(asked)")
        }
        #expect(Self.router.methods(for: "/nope") == [])
        #expect(respond(application, HTTPRequest(method: "OPTIONS", target: "/nope"))?.status == 404)
    }

    /// Runs a request through `application`; every route used here is synchronous, so the
    /// completion has run by the time `respond` returns.
    private func respond(_ application: Application, _ request: HTTPRequest) -> HTTPResponse? {
        let result = Mutex<HTTPResponse?>(nil)
        application.respond(to: request) { response in result.withLock { $0 = response } }
        return result.withLock { $0 }
    }
}
