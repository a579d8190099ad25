import Model
import Storage

/// `GET /api/public/projects` (operationId `projectsGet`): the key's own project, in Langfuse's
/// shape, which the SDKs' `auth_check()` reads (langfuse-api.md §6.1).
enum ProjectHandlers {
    static func list(authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let project: JSONValue = .object([
                ("id", .string(auth.project.publicID)),
                ("name", .string(auth.project.name)),
                // Parley has no organisations; one implicit organisation keeps the SDK models happy.
                ("organization", .object([("id", .string("parley")), ("name", .string("Parley"))])),
                ("metadata", .object([])),
            ])
            return jsonResponse(.object([("data", .array([project]))]))
        }
    }
}
