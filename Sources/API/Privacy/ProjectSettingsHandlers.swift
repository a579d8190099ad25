import Logging
import Model
import Storage
import Transport

/// `GET`/`PATCH /api/public/projects/{projectId}/settings` (secret key only): the project's
/// privacy, retention and analytics settings (docs/CONFIGURATION.md, "Project settings").
enum ProjectSettingsHandlers {
    static func get(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authorize(request, authenticator)
            let projectID = auth.project.rowID
            let settings = try await database.read { try ProjectSettingsStore.settings(projectID: projectID, on: $0) }
            return jsonResponse(render(settings, auth: auth, defaults: authenticator.defaults))
        }
    }

    /// Sets the keys the body names; `null` returns a key to the server's default; others stay.
    static func patch(database: Database, authenticator: Authenticator, logger: Logger) -> RouteHandler {
        .async { request in
            let auth = try await authorize(request, authenticator)
            let body = try parseJSONBody(request)
            guard let members = body.objectValue else { throw APIError.badRequest("Invalid request data: expected a JSON object") }
            let changes = try members.map { key, value in (key: key, value: try validated(key, value)) }
            let projectID = auth.project.rowID
            let frozen = changes
            _ = try await database.writer.write { db in try ProjectSettingsStore.update(projectID: projectID, frozen, on: db) }
            // Cached keys carry the settings: drop them so the next request sees the change.
            authenticator.invalidate()
            if changes.contains(where: { $0.key == "contextWindows" }) {
                Task {
                    do {
                        try await SettingsService.recomputeContextUse(database: database, projectID: projectID)
                    } catch {
                        logger.warning("recomputing context use after a settings change failed: \(error)")
                    }
                }
            }
            let settings = try await database.read { try ProjectSettingsStore.settings(projectID: projectID, on: $0) }
            return jsonResponse(render(settings, auth: auth, defaults: authenticator.defaults))
        }
    }

    private static func authorize(_ request: APIRequest, _ authenticator: Authenticator) async throws -> AuthContext {
        let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
        // Another project's id gets the same answer as one that does not exist.
        guard request.parameters["projectId"] == auth.project.publicID else {
            throw APIError.notFound("Project not found within authorized project")
        }
        return auth
    }

    private static func render(_ settings: ProjectSettings, auth: AuthContext, defaults: ProjectDefaults) -> JSONValue {
        .object([
            ("projectId", .string(auth.project.publicID)), ("name", .string(auth.project.name)),
            ("settings", settings.json), ("effective", settings.effective(defaults)),
        ])
    }

    /// A PATCH member checked against its setting (`ValueBounds`); nil for `null` (back to the default).
    static func validated(_ key: String, _ value: JSONValue) throws -> JSONValue? {
        switch ProjectSettings.validatedChange(key, value) {
        case .success(let stored): return stored
        case .failure(let error): throw APIError.badRequest("Invalid request data: \(error.message)")
        }
    }
}

/// Settings changes that need work beyond storing them, shared by the API and `parley projects`.
package enum SettingsService {
    /// Recomputes the context use of every session of the project (it depends on the context
    /// windows), 500 sessions per writer transaction so ingestion waits at most one batch.
    package static func recomputeContextUse(database: Database, projectID: Int64) async throws {
        var after: Int64 = 0
        while true {
            let from = after
            guard let last = try await database.writer.write({ db in
                try AggregateStore.refreshSessions(ofProject: projectID, after: from, limit: 500, on: db)
            }) else { return }
            after = last
        }
    }
}
