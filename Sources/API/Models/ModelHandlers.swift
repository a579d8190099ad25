import Model
import Storage
import Transport

/// `/api/public/models` (operationIds `modelsList`, `modelsCreate`, `modelsGet`, `modelsDelete`):
/// the model prices cost inference uses, as in Langfuse's API. A project's own models (for its
/// fine-tunes, or to override a built-in price) are listed before the built-in table; built-in
/// models cannot be deleted, only overridden. A model added or deleted prices events written
/// from then on; `parley models recompute` applies it to stored observations.
enum ModelHandlers {
    static func list(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let paging = try Paging(request.query)
            let projectID = auth.project.rowID
            let definitions = try await database.read { db in try ModelStore.all(projectID: projectID, on: db) }
            let page = definitions.dropFirst(paging.offset).prefix(paging.limit).map(\.json)
            return jsonResponse(paging.response(Array(page), totalItems: definitions.count))
        }
    }

    static func get(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let id = request.parameters["id"] ?? ""
            let projectID = auth.project.rowID
            guard let definition = try await database.read({ db in try ModelStore.definition(id: id, projectID: projectID, on: db) }) else {
                throw APIError.notFound("Model \(id) not found within authorized project")
            }
            return jsonResponse(definition.json)
        }
    }

    static func create(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let body = try parseJSONBody(request)
            let definition: ModelDefinition
            do {
                definition = try ModelDefinition.create(request: body, id: ModelDefinition.newID(), createdAtMillis: WallClock.nowMillis())
            } catch let error as ModelDefinitionError {
                throw APIError.badRequest("Invalid request data: \(error.message)")
            }
            let projectID = auth.project.rowID
            let now = WallClock.nowMillis()
            do {
                try await database.writer.write { db in try ModelStore.insert(definition, projectID: projectID, now: now, on: db) }
            } catch ModelStore.Failure.tooMany {
                throw APIError.badRequest("Invalid request data: a project has at most \(ValueBounds.modelsPerProject) models; delete one first")
            }
            return jsonResponse(definition.json)
        }
    }

    static func delete(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let id = request.parameters["id"] ?? ""
            let projectID = auth.project.rowID
            let deleted = try await database.writer.write { db in try ModelStore.delete(id: id, projectID: projectID, on: db) }
            guard deleted else {
                if BuiltInPrices.definitions.contains(where: { $0.id == id }) {
                    throw APIError.badRequest(
                        "Model \(id) is built in and cannot be deleted; create your own definition with the same matchPattern to override its prices")
                }
                throw APIError.notFound("Model \(id) not found within authorized project")
            }
            return HTTPResponse(status: 204)
        }
    }
}
