import Foundation
import Ingest
import Model
import Storage
import Transport

/// `DELETE /api/public/sessions/{id}` and `DELETE /api/public/users/{userId}` (erasure), with
/// `GET /api/public/deletions/{id}` for the ones that run on (docs/PRIVACY.md, "Deletion").
///
/// A deletion is recorded as a job, then run in steps of `DeletionWorker.batchSize` traces, each
/// its own writer transaction. Up to `inlineSteps` steps run before the answer: a deletion that
/// finishes in them is answered 200 with what it removed; a larger one is answered 202 with the
/// job, and the worker finishes it (also after a restart).
enum DeletionHandlers {
    static let inlineSteps = 4

    static func deleteSession(database: Database, authenticator: Authenticator, worker: DeletionWorker) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            return try await delete(.session(request.parameters["id"] ?? ""), auth: auth, database: database, worker: worker,
                                    notFound: "Session not found within authorized project")
        }
    }

    static func deleteUser(database: Database, authenticator: Authenticator, worker: DeletionWorker) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let userID = auth.privacy.userID(request.parameters["userId"] ?? "")
            return try await delete(.user(userID), auth: auth, database: database, worker: worker,
                                    notFound: "User not found within authorized project")
        }
    }

    /// operationId `deletionGet`: a deletion job's progress.
    static func status(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let jobID = request.parameters["id"] ?? ""
            let projectID = auth.project.rowID
            guard let job = try await database.read({ try DeletionStore.job(jobID, projectID: projectID, on: $0) }) else {
                throw APIError.notFound("Deletion not found within authorized project")
            }
            return jsonResponse(render(job))
        }
    }

    private static func delete(
        _ target: DeletionStore.Target, auth: AuthContext, database: Database, worker: DeletionWorker, notFound: String
    ) async throws -> HTTPResponse {
        let projectID = auth.project.rowID
        guard try await database.read({ try DeletionStore.exists(target, projectID: projectID, on: $0) }) else {
            throw APIError.notFound(notFound)
        }
        let jobID = UUID().uuidString.lowercased()
        let now = WallClock.nowMillis()
        try await database.writer.write { db in
            try DeletionStore.createJob(jobID: jobID, target: target, projectID: projectID, now: now, on: db)
        }
        for _ in 0..<inlineSteps {
            if try await worker.step(jobID: jobID, target: target, projectID: projectID) { break }
        }
        guard let job = try await database.read({ try DeletionStore.job(jobID, projectID: projectID, on: $0) }) else {
            throw APIError.internal
        }
        if job.status == "done" { return jsonResponse(render(job)) }
        worker.wake()
        var response = jsonResponse(render(job), status: 202)
        response.headers.set("Location", "/api/public/deletions/\(jobID)")
        return response
    }

    static func render(_ job: DeletionStore.Job) -> JSONValue {
        .object([
            ("id", .string(job.jobID)), ("kind", .string(job.kind)), ("status", .string(job.status)),
            ("requestedAt", ReadJSON.time(job.requestedAt)), ("finishedAt", ReadJSON.time(job.finishedAt)),
            ("deletedTraces", JSONValue(Int(job.traces))), ("deletedSessions", JSONValue(Int(job.sessions))),
        ])
    }
}
