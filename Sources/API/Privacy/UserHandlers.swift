import Ingest
import Model
import Storage
import Transport

/// The users API: who the project's end users are (by their stored, usually hashed, id) and how
/// they use the application. `{id}` takes the raw id or the hashed one (docs/PRIVACY.md).
enum UserHandlers {
    /// operationId `usersList`: `GET /api/public/users`, paged and sortable.
    static func list(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let query = request.query
            let paging = try Paging(query)
            let (field, descending) = try query.orderBy(
                default: "lastSeen", descending: true, fields: Set(UserStore.sortColumns.keys))
            let column = UserStore.sortColumns[field] ?? "u.last_seen"
            let projectID = auth.project.rowID
            let page = try await database.read { db in
                try UserStore.users(projectID: projectID, sort: column, descending: descending,
                                    limit: paging.limit, offset: paging.offset, on: db)
            }
            return jsonResponse(paging.response(page.rows.map { .object(user($0)) }, totalItems: page.totalItems))
        }
    }

    /// operationId `userGet`: `GET /api/public/users/{userId}` with the 10 most recent sessions.
    static func get(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let userID = auth.privacy.userID(request.parameters["userId"] ?? "")
            let projectID = auth.project.rowID
            let found = try await database.read { db -> (UserStore.UserRow, [SessionRow])? in
                guard let user = try UserStore.user(userID, projectID: projectID, on: db) else { return nil }
                return (user, try UserStore.recentSessions(userID, projectID: projectID, limit: 10, on: db))
            }
            guard let (user, sessions) = found else { throw APIError.notFound("User not found within authorized project") }
            let publicID = auth.project.publicID
            let recent = sessions.map { session -> JSONValue in
                .object([
                    ("id", .string(session.sessionID)), ("createdAt", ReadJSON.time(session.createdAt)),
                    ("lastActivity", ReadJSON.time(session.lastActivity)), ("status", .string(session.status)),
                    ("endReason", ReadJSON.text(session.endReason)), ("turnCount", JSONValue(Int(session.turnCount))),
                    ("durationMs", JSONValue(Int(session.durationMs))), ("totalTokens", JSONValue(Int(session.totalTokens))),
                    ("totalCost", JSONValue(session.totalCost)), ("projectId", .string(publicID)),
                ])
            }
            return jsonResponse(.object(Self.user(user) + [("recentSessions", .array(recent))]))
        }
    }

    static func user(_ row: UserStore.UserRow) -> [(String, JSONValue)] {
        [
            ("id", .string(row.userID)), ("firstSeen", ReadJSON.time(row.firstSeen)), ("lastSeen", ReadJSON.time(row.lastSeen)),
            // Whole days between the first and the last trace: how long the user kept coming back.
            ("retentionDays", JSONValue(Int((row.lastSeen - row.firstSeen) / 86_400_000))),
            ("sessions", JSONValue(Int(row.sessions))), ("traces", JSONValue(Int(row.traces))),
            ("meanSessionTurns", ReadJSON.number(row.meanTurns)),
            ("meanSessionMinutes", ReadJSON.number(row.meanDurationMs.map { $0 / 60_000 })),
            ("totalTokens", JSONValue(Int(row.totalTokens))), ("totalCost", JSONValue(row.totalCost)),
        ]
    }
}
