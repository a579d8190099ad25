import ConsoleAssets
import Crypto
import Model
import Storage
import Transport

/// The web console (docs/CONSOLE.md): its pages and files, sign-in and sign-out, and its live
/// event stream. Pages and files need no sign-in (they hold no data); everything they show comes
/// from the read API, which accepts the sign-in cookie for GET and HEAD only.
enum ConsoleHandlers {
    /// The views a deep link `/project/{projectId}/{view}` may name.
    static let views: Set<String> = ["overview", "sessions", "journeys", "distributions", "users", "quality"]

    /// Sent with every console page, file and console API answer. The policy allows scripts,
    /// styles, images and fetches from this origin only: no inline script or style, no eval
    /// (https://www.w3.org/TR/CSP3/), and no framing.
    static let securityHeaders: HTTPHeaders = [
        "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    ]

    /// An embedded file ready to serve: bytes, type and strong validator.
    struct Asset: Sendable {
        let bytes: [UInt8]
        let contentType: String
        let etag: String
    }

    /// Every embedded file by name, with its type and ETag (a digest of its bytes).
    static let assets: [String: Asset] = {
        var assets: [String: Asset] = [:]
        for (name, bytes) in ConsoleAssetFiles.byName {
            assets[name] = Asset(
                bytes: bytes, contentType: contentType(of: name), etag: "\"\(Digest.shortHex(Digest.sha256(bytes)))\"")
        }
        return assets
    }()

    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last {
        case "html": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        default: "application/octet-stream"
        }
    }

    /// `asset` as a response, or 304 when the request's `If-None-Match` already names it
    /// (RFC 9110 §13.1.2). `no-cache`: the browser revalidates each time, so a new binary's
    /// files are never mixed with old cached ones.
    static func serve(_ asset: Asset, _ request: APIRequest) -> HTTPResponse {
        var headers = securityHeaders
        headers.set("ETag", asset.etag)
        headers.set("Cache-Control", "no-cache")
        if let match = request.http.headers["If-None-Match"],
           match.split(separator: ",").contains(where: { String($0).trimmingOWS == asset.etag || String($0).trimmingOWS == "*" }) {
            return HTTPResponse(status: 304, headers: headers)
        }
        headers.set("Content-Type", asset.contentType)
        return HTTPResponse(status: 200, headers: headers, body: asset.bytes)
    }

    /// The page shell: `/`, and every deep link into it.
    static func page() -> RouteHandler {
        .sync { request in
            if let view = request.parameters["view"], !views.contains(view) {
                throw APIError.notFound("No console view \(view)")
            }
            guard let index = assets["index.html"] else { throw APIError.notFound("The console is not built into this binary") }
            return serve(index, request)
        }
    }

    /// `GET /console/{file}`: one embedded file.
    static func asset() -> RouteHandler {
        .sync { request in
            guard let asset = assets[request.parameters["file"] ?? ""] else {
                throw APIError.notFound("No console file \(request.parameters["file"] ?? "")")
            }
            return serve(asset, request)
        }
    }

    // MARK: Sign-in

    /// Refuses a request another site made the browser send (login CSRF, a forged sign-out): the
    /// Fetch metadata (https://www.w3.org/TR/fetch-metadata/) or the `Origin` (RFC 6454 §7)
    /// must say this origin. Non-browser clients send neither and cannot be forged into sending.
    static func refuseCrossSite(_ request: APIRequest) throws {
        let headers = request.http.headers
        let refused = APIError(status: 403, code: "ForbiddenError", message: "Cross-site request refused")
        if let site = headers["Sec-Fetch-Site"], site != "same-origin", site != "none" { throw refused }
        if let origin = headers["Origin"] {
            guard let host = headers["Host"], !host.isEmpty,
                  origin == "http://\(host)" || origin == "https://\(host)" else { throw refused }
        }
    }

    /// The signed-in project as the page shows it.
    static func signedIn(_ auth: AuthContext, expiresIn: Int) -> JSONValue {
        .object([
            ("signedIn", .bool(true)), ("projectId", .string(auth.project.publicID)), ("projectName", .string(auth.project.name)),
            ("publicKey", .string(auth.publicKey)), ("expiresInSeconds", JSONValue(expiresIn)),
        ])
    }

    static func cookie(_ value: String, maxAge: Int, secure: Bool) -> String {
        "\(ConsoleSessions.cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// operationId `consoleSignIn`: `POST /api/console/session` with `{"publicKey", "secretKey"}`
    /// in the body. Sets the sign-in cookie; the secret is checked and forgotten.
    static func signIn(authenticator: Authenticator) -> RouteHandler {
        // Async: checking the key may read SQLite, which must not block the I/O thread.
        .async { request in
            try refuseCrossSite(request)
            let body = try parseJSONBody(request)
            guard let publicKey = body["publicKey"]?.stringValue, let secretKey = body["secretKey"]?.stringValue,
                  publicKey.utf8.count <= 200, secretKey.utf8.count <= 200 else {
                throw APIError.badRequest("Invalid request data: publicKey and secretKey must be strings of at most 200 bytes")
            }
            let auth = try await authenticator.authenticate(publicKey: publicKey, secretKey: secretKey)
            let sessions = authenticator.consoleSessions
            let token = sessions.create(publicKey: auth.publicKey)
            var response = jsonResponse(signedIn(auth, expiresIn: Int(sessions.configuration.lifetime.components.seconds)))
            for (name, value) in securityHeaders { response.headers.set(name, value) }
            response.headers.set("Cache-Control", "no-store")
            response.headers.set("Set-Cookie", cookie(token, maxAge: Int(sessions.configuration.lifetime.components.seconds), secure: request.http.isSecure))
            return response
        }
    }

    /// operationId `consoleSessionGet`: who the cookie signs in as, or `{"signedIn": false}`
    /// (a 200 either way: the page asks on every load, and a browser logs every 401 as an error).
    static func current(authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let answer: JSONValue
            if let token = ConsoleSessions.token(in: request.http.headers),
               let auth = try? await authenticator.authenticate(consoleToken: token) {
                answer = signedIn(auth, expiresIn: Int(authenticator.consoleSessions.configuration.lifetime.components.seconds))
            } else {
                answer = .object([("signedIn", .bool(false))])
            }
            var response = jsonResponse(answer)
            for (name, value) in securityHeaders { response.headers.set(name, value) }
            response.headers.set("Cache-Control", "no-store")
            return response
        }
    }

    /// operationId `consoleSignOut`: forgets the sign-in and clears the cookie. 204 also when
    /// there was none.
    static func signOut(authenticator: Authenticator) -> RouteHandler {
        .sync { request in
            try refuseCrossSite(request)
            if let token = ConsoleSessions.token(in: request.http.headers) {
                authenticator.consoleSessions.remove(token: token)
            }
            var headers = securityHeaders
            headers.set("Set-Cookie", cookie("", maxAge: 0, secure: request.http.isSecure))
            headers.set("Cache-Control", "no-store")
            return HTTPResponse(status: 204, headers: headers)
        }
    }

    /// The cookie's sign-in, for the console's own routes (which take no other credentials).
    static func consoleAuth(_ request: APIRequest, _ authenticator: Authenticator) async throws -> AuthContext {
        guard let token = ConsoleSessions.token(in: request.http.headers) else {
            throw APIError(status: 401, code: "UnauthorizedError", message: "Not signed in to the console")
        }
        return try await authenticator.authenticate(consoleToken: token)
    }

    // MARK: Live events

    /// operationId `consoleEvents`: `GET /api/console/events[?sessionId=]`, a `text/event-stream`
    /// of the project's changes (LiveStreams), for the sign-in cookie.
    static func events(database: Database, authenticator: Authenticator, live: LiveStreams) -> RouteHandler {
        .async { request in
            let auth = try await consoleAuth(request, authenticator)
            let sessionID = request.query["sessionId"]
            if let sessionID, sessionID.utf8.count > 800 {
                throw APIError.badRequest("Invalid request data: sessionId must be at most 800 bytes")
            }
            var headers = securityHeaders
            headers.set("Content-Type", "text/event-stream")
            headers.set("Cache-Control", "no-store")
            // HEAD gets the head alone: no stream is opened for a body never pulled.
            if request.http.method == "HEAD" { return HTTPResponse(status: 200, headers: headers, stream: HTTPBodyStream { nil }) }
            let token = ConsoleSessions.token(in: request.http.headers) ?? ""
            let stream = try live.open(
                projectID: auth.project.rowID, sessionID: sessionID, commitCount: { database.writer.commitCount },
                stillAuthorized: { (try? await authenticator.authenticate(consoleToken: token)) != nil })
            return HTTPResponse(status: 200, headers: headers, stream: stream.body)
        }
    }
}
