import Model

/// A project's own model definitions (`models`, schema v10) and the price table cost inference
/// reads (docs/DATA_MODEL.md, "Model prices and cost inference").
package enum ModelStore {
    /// Why a model could not be added.
    package enum Failure: Error, Equatable {
        /// The project already has `ValueBounds.modelsPerProject` models.
        case tooMany
    }

    /// The project's own definitions, newest first.
    package static func custom(projectID: Int64, on db: SQLiteConnection) throws -> [ModelDefinition] {
        var definitions: [ModelDefinition] = []
        try db.statement("SELECT definition FROM models WHERE project_id = ? ORDER BY id DESC")
            .query([.integer(projectID)]) { row in
                // Rows hold what `insert` wrote, which decodes; a row that does not is skipped.
                if let text = row.text(0), let value = try? JSONParser.parse(text),
                   let definition = try? ModelDefinition.decode(value, managed: false) {
                    definitions.append(definition)
                }
            }
        return definitions
    }

    /// The project's definitions followed by the built-in ones, as `GET /api/public/models` lists them.
    package static func all(projectID: Int64, on db: SQLiteConnection) throws -> [ModelDefinition] {
        try custom(projectID: projectID, on: db) + BuiltInPrices.definitions
    }

    /// A definition by id: the project's own, or a built-in one.
    package static func definition(id: String, projectID: Int64, on db: SQLiteConnection) throws -> ModelDefinition? {
        var found: ModelDefinition?
        try db.statement("SELECT definition FROM models WHERE project_id = ? AND model_id = ?")
            .query([.integer(projectID), .text(id)]) { row in
                if let text = row.text(0), let value = try? JSONParser.parse(text) {
                    found = try? ModelDefinition.decode(value, managed: false)
                }
            }
        return found ?? BuiltInPrices.definitions.first { $0.id == id }
    }

    /// Stores a new project definition; it prices observations written from now on.
    package static func insert(_ definition: ModelDefinition, projectID: Int64, now: Int64, on db: SQLiteConnection) throws {
        var count: Int64 = 0
        try db.statement("SELECT count(*) FROM models WHERE project_id = ?").query([.integer(projectID)]) { count = $0.int(0) }
        guard count < ValueBounds.modelsPerProject else { throw Failure.tooMany }
        try db.statement("""
            INSERT INTO models (project_id, model_id, model_name, definition, created_at) VALUES (?, ?, ?, ?, ?)
            """).run([.integer(projectID), .text(definition.id), .text(definition.modelName),
                      .text(definition.json.jsonText), .integer(now)])
    }

    /// Deletes a project definition; false when the project has none with that id.
    package static func delete(id: String, projectID: Int64, on db: SQLiteConnection) throws -> Bool {
        try db.statement("DELETE FROM models WHERE project_id = ? AND model_id = ?").run([.integer(projectID), .text(id)])
        return db.changes > 0
    }

    // MARK: Prices on the write path

    /// The price resolver for `projectID` on this connection. It is rebuilt when the project's
    /// models changed (their count or newest row id, which AUTOINCREMENT never reuses), so a
    /// model added by another process (`parley models add`) prices the next batch; otherwise each
    /// model name is matched against the patterns once per connection.
    static func resolver(projectID: Int64, on db: SQLiteConnection) throws -> PriceResolver {
        var stamp = (count: Int64(0), newest: Int64(0))
        try db.statement("SELECT count(*), coalesce(max(id), 0) FROM models WHERE project_id = ?")
            .query([.integer(projectID)]) { stamp = ($0.int(0), $0.int(1)) }
        if let cached = db.priceCache.resolvers[projectID], cached.count == stamp.count, cached.newest == stamp.newest {
            return cached.resolver
        }
        let resolver = PriceResolver(table: PriceTable(custom: try custom(projectID: projectID, on: db),
                                                       builtIn: BuiltInPrices.definitions))
        // Bounded by the number of projects written to on this connection.
        db.priceCache.resolvers[projectID] = (stamp.count, stamp.newest, resolver)
        return resolver
    }

    /// What `recomputeCosts` changed.
    package struct Recomputed: Sendable, Equatable {
        package var observations = 0
        package var traces = 0

        package init() {}
    }

    /// Infers the cost of stored observations again with today's prices: those whose cost was
    /// inferred, or that have none (`cost_source` is not `given`), of `projectID` (every project
    /// when nil), `limit` observations after row `after`. Returns the last row id visited (nil
    /// when done) and what changed; the caller commits each batch. Traces and sessions whose
    /// observations changed are refreshed as by ingestion.
    package static func recomputeCosts(
        projectID: Int64?, after: Int64, limit: Int, now: Int64, on db: SQLiteConnection
    ) throws -> (next: Int64?, changed: Recomputed) {
        let select = try db.statement("""
            SELECT id, project_id, observation_id, trace_id, start_time, model, model_parameters, metadata,
                   usage_details, cost_details, cost_source, internal_model_id, pricing_tier, total_cost
            FROM observations
            WHERE id > ?1 AND (?2 IS NULL OR project_id = ?2) AND model IS NOT NULL
              AND coalesce(cost_source, '') <> 'given'
            ORDER BY id LIMIT ?3
            """)
        struct Row {
            let rowID: Int64, projectID: Int64, traceID: String?
            let observation: CostInference.Observation
            let stored: CostInference.Priced
        }
        var rows: [Row] = []
        try select.query([.integer(after), projectID.map(SQLiteValue.integer) ?? .null, .integer(Int64(limit))]) { row in
            // An inferred cost is recomputed from scratch, so it is not passed in as the client's.
            let observation = CostInference.Observation(
                model: row.text(5), startMillis: row.int(4), usageDetails: row.text(8), costDetails: nil,
                modelParameters: row.text(6), metadata: row.text(7))
            let stored = CostInference.Priced(
                costDetails: row.text(9), totalCost: row.isNull(13) ? nil : row.double(13), costSource: row.text(10),
                internalModelID: row.text(11), pricingTierName: row.text(12))
            rows.append(Row(rowID: row.int(0), projectID: row.int(1), traceID: row.text(3), observation: observation, stored: stored))
        }
        var changed = Recomputed()
        var traces: [Int64: [String]] = [:]
        let update = try db.statement("""
            UPDATE observations SET cost_details = ?, total_cost = ?, cost_source = ?, internal_model_id = ?,
                pricing_tier = ?, updated_at = ? WHERE id = ?
            """)
        for row in rows {
            let fresh = CostInference.price(row.observation, prices: try resolver(projectID: row.projectID, on: db))
            guard fresh != row.stored else { continue }
            try update.run([.optional(fresh.costDetails), .optional(fresh.totalCost), .optional(fresh.costSource),
                            .optional(fresh.internalModelID), .optional(fresh.pricingTierName), .integer(now), .integer(row.rowID)])
            changed.observations += 1
            if let traceID = row.traceID { traces[row.projectID, default: []].append(traceID) }
        }
        for (project, ids) in traces {
            let unique = Set(ids)
            changed.traces += unique.count
            AggregateStore.markTracesStale(unique, projectID: project, on: db)
        }
        return (rows.count < limit ? nil : rows.last?.rowID, changed)
    }
}

/// The price resolvers of one connection, by project (`ModelStore.resolver`).
final class PriceCache {
    var resolvers: [Int64: (count: Int64, newest: Int64, resolver: PriceResolver)] = [:]
}
