import Model

/// Applies validated ingestion events inside a writer transaction.
///
/// Each event is first recorded in `events` under its envelope id; an id seen before is a
/// re-delivery and changes nothing. Each entity touched is then folded (`Merge`): one step on
/// its cached fold when the new events sort after all it has seen, else re-folded from all its
/// stored events. Either way the stored row depends only on the set of events, never on their
/// arrival order or on how often the SDK re-sent them.
package enum IngestionStore {
    /// What became of one event.
    package enum Outcome: Sendable, Equatable {
        /// Stored now.
        case applied
        /// Its envelope id was already applied earlier: nothing changed.
        case duplicate
    }

    /// Applies `events` for `projectID`; call from `DatabaseWriter.write`.
    package static func apply(
        _ events: [IngestionEvent], projectID: Int64, now: Int64, on db: SQLiteConnection
    ) throws -> [Outcome] {
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(events.count)
        var touched: [EntityKey] = []
        let insert = try db.statement("""
            INSERT INTO events (project_id, event_id, entity_kind, entity_id, type, timestamp_us, body, received_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, event_id) DO NOTHING
            """)
        // Events applied in this call, already parsed, by entity; and their bodies by event id:
        // a re-fold then parses only the bodies stored by earlier requests.
        var fresh: [EntityKey: [(event: StoredEvent, bytes: Int)]] = [:]
        var freshBodies: [String: JSONValue] = [:]
        for event in events {
            guard let kind = event.type.entityKind, let entityID = event.entityID else {
                outcomes.append(.applied)
                continue
            }
            let body = event.body.jsonText
            try insert.run([
                .integer(projectID), .text(event.id), .integer(kind.rawValue), .text(entityID),
                .text(event.type.rawValue), .integer(event.timestampMicros), .text(body), .integer(now),
            ])
            if db.changes == 0 {
                outcomes.append(.duplicate)
                continue
            }
            outcomes.append(.applied)
            freshBodies[event.id] = event.body
            let key = EntityKey(kind: kind, id: entityID)
            if fresh[key] == nil { touched.append(key) }
            fresh[key, default: []].append(
                (StoredEvent(type: event.type, timestampMicros: event.timestampMicros, body: event.body), body.utf8.count))
        }
        // Traces and sessions whose aggregates the merged rows may change.
        var traces: [String] = []
        var sessions: [String] = []
        for key in touched {
            let new = fresh[key] ?? []
            switch key.kind {
            case .trace:
                let (fold, _): (TraceFold, _) = try folded(key, new: new, projectID: projectID, freshBodies: freshBodies, on: db)
                let record = fold.record
                let written = try upsert(record, projectID: projectID, now: now, on: db)
                if let previous = written.previousSessionID { sessions.append(previous) }
                if written.inserted, try hasObservations(key.id, projectID: projectID, on: db) {
                    // Observations arrived before their trace: its aggregate starts now. Without
                    // any, the inserted row's defaults are already the aggregate of none.
                    traces.append(key.id)
                } else if let sessionID = record.sessionID {
                    // A trace's aggregate is over its observations, which only their own events
                    // change (and refresh); its session still sees the trace's new values.
                    sessions.append(sessionID)
                }
            case .observation:
                let (fold, previous): (ObservationFold, Previous<ObservationFold>) =
                    try folded(key, new: new, projectID: projectID, freshBodies: freshBodies, on: db)
                // An earlier event arriving late can move the observation to another trace (the
                // first traceId wins): the trace it leaves is refreshed too.
                let before = try previous.values([\.traceID]) { try storedTexts(["trace_id"], of: key, projectID: projectID, on: db) }[0]
                // Cost inference, in one place: a pure function of the folded row and the prices.
                let record = CostInference.apply(fold.record, prices: try ModelStore.resolver(projectID: projectID, on: db))
                try upsert(record, projectID: projectID, now: now, on: db)
                if let traceID = record.traceID { traces.append(traceID) }
                if let before, before != record.traceID { traces.append(before) }
            case .score:
                let (fold, previous): (ScoreFold, Previous<ScoreFold>) =
                    try folded(key, new: new, projectID: projectID, freshBodies: freshBodies, on: db)
                let before = try previous.values([\.traceID, \.sessionID]) {
                    try storedTexts(["trace_id", "session_id"], of: key, projectID: projectID, on: db)
                }
                let (traceBefore, sessionBefore) = (before[0], before[1])
                if let record = fold.record {
                    try upsert(record, projectID: projectID, now: now, on: db)
                    if let traceID = record.traceID { traces.append(traceID) }
                    if let sessionID = record.sessionID { sessions.append(sessionID) }
                    // The trace or session a score leaves drops it from its summary.
                    if let traceBefore, traceBefore != record.traceID { traces.append(traceBefore) }
                    if let sessionBefore, sessionBefore != record.sessionID { sessions.append(sessionBefore) }
                }
            }
        }
        // Trace aggregates once per transaction, before its COMMIT, however many of its
        // requests touched the trace.
        AggregateStore.markTracesStale(traces, projectID: projectID, on: db)
        AggregateStore.markStale(sessions, projectID: projectID, on: db)
        return outcomes
    }

    /// Whether any observation names `traceID` (one probe of `observations_by_trace`).
    private static func hasObservations(_ traceID: String, projectID: Int64, on db: SQLiteConnection) throws -> Bool {
        var found = false
        try db.statement("SELECT 1 FROM observations WHERE project_id = ? AND trace_id = ? LIMIT 1")
            .query([.integer(projectID), .text(traceID)]) { _ in found = true }
        return found
    }

    private struct EntityKey: Hashable {
        let kind: EntityKind
        let id: String
    }

    /// The entity's fold after every event stored for it, `new` (just inserted) included.
    ///
    /// When the writer's `FoldCache` holds the entity's fold, the log still has exactly the
    /// events that fold saw plus `new`, and `new` sorts after all of them, `new` is applied on
    /// it as one step each: no read or parse of the stored events. Otherwise the entity is
    /// re-folded from the log. Both give `Merge`'s whole fold (tested in MergeOrderTests).
    private static func folded<Fold: EntityFold>(
        _ key: EntityKey, new: [(event: StoredEvent, bytes: Int)], projectID: Int64,
        freshBodies: [String: JSONValue], on db: SQLiteConnection
    ) throws -> (Fold, Previous<Fold>) {
        let cacheKey = FoldCache.Key(projectID: projectID, kind: key.kind, id: key.id)
        let newEvents = Merge.ordered(new.map(\.event))
        let newBytes = new.reduce(0) { $0 + $1.bytes }
        if let entry = db.foldCache.take(cacheKey), var fold = entry.fold.as(Fold.self),
           let first = newEvents.first, fold.acceptsNext(first),
           try storedEventCount(for: key, projectID: projectID, on: db) == fold.eventCount + newEvents.count {
            let previous = fold
            for event in newEvents { fold.apply(event) }
            db.foldCache.countHit()
            db.foldCache.put(cacheKey, FoldCache.Entry(fold: .init(fold), bytes: entry.bytes + newBytes))
            return (fold, .fold(previous))
        }
        let (stored, bytes) = try storedEvents(for: key, projectID: projectID, fresh: freshBodies, on: db)
        var fold = Fold(id: key.id)
        for event in Merge.ordered(stored) { fold.apply(event) }
        db.foldCache.countRefold()
        db.foldCache.put(cacheKey, FoldCache.Entry(fold: .init(fold), bytes: bytes))
        // Only this request's events are stored: the entity had no row before.
        return (fold, stored.count == newEvents.count ? .none : .unknown)
    }

    /// What the entity's stored row was before this request, as far as `folded` knows it.
    private enum Previous<Fold: EntityFold> {
        /// There was no row.
        case none
        /// The row was this fold's record (the cached fold the new events were applied on).
        case fold(Fold)
        /// A re-fold: read the row when it matters.
        case unknown

        /// `fields` of the row before: none, the cached fold's, or what `read` reads.
        func values(_ fields: [(Fold) -> String?], read: () throws -> [String?]) rethrows -> [String?] {
            switch self {
            case .none: fields.map { _ in nil }
            case .fold(let fold): fields.map { $0(fold) }
            case .unknown: try read()
            }
        }
    }

    /// Text `columns` of the stored observation or score `key`, in one query (nils when there
    /// is no row).
    private static func storedTexts(_ columns: [String], of key: EntityKey, projectID: Int64, on db: SQLiteConnection) throws -> [String?] {
        let (table, idColumn) = key.kind == .score ? ("scores", "score_id") : ("observations", "observation_id")
        var values = [String?](repeating: nil, count: columns.count)
        try db.statement("SELECT \(columns.joined(separator: ", ")) FROM \(table) WHERE project_id = ? AND \(idColumn) = ?")
            .query([.integer(projectID), .text(key.id)]) { row in
                values = columns.indices.map { row.text(Int32($0)) }
            }
        return values
    }

    private static func storedEventCount(for key: EntityKey, projectID: Int64, on db: SQLiteConnection) throws -> Int {
        var count = 0
        try db.statement("SELECT count(*) FROM events WHERE project_id = ? AND entity_kind = ? AND entity_id = ?")
            .query([.integer(projectID), .integer(key.kind.rawValue), .text(key.id)]) { row in count = Int(row.int(0)) }
        return count
    }

    /// The entity's stored events and the total length of their bodies.
    private static func storedEvents(
        for key: EntityKey, projectID: Int64, fresh: [String: JSONValue], on db: SQLiteConnection
    ) throws -> ([StoredEvent], Int) {
        let select = try db.statement("""
            SELECT type, timestamp_us, event_id, body FROM events
            WHERE project_id = ? AND entity_kind = ? AND entity_id = ?
            """)
        var events: [StoredEvent] = []
        var bytes = 0
        try select.query([.integer(projectID), .integer(key.kind.rawValue), .text(key.id)]) { row in
            guard let type = row.text(0).flatMap(IngestionEventType.init(rawValue:)) else { return }
            let text = row.text(3) ?? "{}"
            bytes += text.utf8.count
            let body: JSONValue
            if let eventID = row.text(2), let parsed = fresh[eventID] {
                body = parsed
            } else {
                guard let parsed = try? JSONParser.parse(text) else { return }
                body = parsed
            }
            events.append(StoredEvent(type: type, timestampMicros: row.int(1), body: body))
        }
        return (events, bytes)
    }

    // MARK: Upserts (created_at keeps its first value)

    /// Writes the trace row; returns whether it was new, and the session it belonged to before
    /// when that differs (so the old session's aggregates are refreshed too).
    ///
    /// An existing row is updated with only the indexed columns whose value changed (besides
    /// every other column): SQLite rewrites an index entry for every indexed column an UPDATE
    /// sets, changed or not, and the three indexed columns (`TraceColumns.indexed`) rarely change
    /// after a trace's first event. At most 2^3 statement texts, each prepared once.
    private static func upsert(
        _ trace: TraceRecord, projectID: Int64, now: Int64, on db: SQLiteConnection
    ) throws -> (inserted: Bool, previousSessionID: String?) {
        let values = TraceColumns.values(trace, now: now)
        var stored: (rowID: Int64, indexed: [SQLiteValue])?
        try db.statement(TraceColumns.selectIndexed).query([.integer(projectID), .text(trace.traceID)]) { row in
            stored = (row.int(0), TraceColumns.indexed.indices.map { row.value(Int32($0 + 1)) })
        }
        let previousUserID: String?
        let previousSessionID: String?
        if let stored {
            previousUserID = stored.indexed[TraceColumns.userIndex].text
            previousSessionID = stored.indexed[TraceColumns.sessionIndex].text
            let changed = TraceColumns.indexed.indices.filter { stored.indexed[$0] != values[TraceColumns.indexed[$0]] }
            try db.statement(TraceColumns.update(changing: changed)).run(
                TraceColumns.updated(changing: changed).map { values[$0] } + [.integer(stored.rowID)])
        } else {
            (previousUserID, previousSessionID) = (nil, nil)
            try db.statement(TraceColumns.insert).run([.integer(projectID), .text(trace.traceID)] + values + [.integer(now)])
        }
        if let sessionID = trace.sessionID {
            // Langfuse: only traces create sessions, insert-if-absent (langfuse-api.md §3.8).
            try db.statement("""
                INSERT INTO sessions (project_id, session_id, environment, user_id, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (project_id, session_id) DO UPDATE SET
                    user_id = coalesce(sessions.user_id, excluded.user_id), updated_at = excluded.updated_at
                """).run([
                    .integer(projectID), .text(sessionID), .text(trace.environment), .optional(trace.userID),
                    .integer(now), .integer(now),
                ])
        }
        if let userID = trace.userID {
            try refreshUser(userID, projectID: projectID, on: db)
        }
        if let previousUserID, previousUserID != trace.userID {
            try refreshUser(previousUserID, projectID: projectID, on: db)
        }
        return (stored == nil, previousSessionID == trace.sessionID ? nil : previousSessionID)
    }

    /// Sets a user's first and last seen to the earliest and latest time of the traces that name
    /// it now, and forgets a user no trace names any more (docs/DATA_MODEL.md).
    ///
    /// Recomputed, not accumulated with min/max: a trace's time and user can change when an
    /// earlier event arrives late (its time is the first event's, §3.7 rule 8), and a running
    /// min/max would keep the superseded value, making the row depend on arrival order (§3.8).
    static func refreshUser(_ userID: String, projectID: Int64, on db: SQLiteConnection) throws {
        // Two scalar subqueries, so each is a single probe of `traces_by_user`.
        try db.statement("""
            INSERT INTO users (project_id, user_id, first_seen, last_seen)
            SELECT ?1, ?2,
                   (SELECT min(timestamp) FROM traces WHERE project_id = ?1 AND user_id = ?2),
                   (SELECT max(timestamp) FROM traces WHERE project_id = ?1 AND user_id = ?2)
            WHERE EXISTS (SELECT 1 FROM traces WHERE project_id = ?1 AND user_id = ?2)
            ON CONFLICT (project_id, user_id) DO UPDATE SET
                first_seen = excluded.first_seen, last_seen = excluded.last_seen
            """).run([.integer(projectID), .text(userID)])
        if db.changes == 0 {
            try db.statement("DELETE FROM users WHERE project_id = ? AND user_id = ?")
                .run([.integer(projectID), .text(userID)])
        }
    }

    private static func upsert(_ o: ObservationRecord, projectID: Int64, now: Int64, on db: SQLiteConnection) throws {
        try db.statement("""
            INSERT INTO observations (project_id, observation_id, trace_id, type, parent_observation_id, name,
                start_time, end_time, completion_start_time, model, model_parameters, input, output, metadata,
                level, status_message, version, environment, usage_details, cost_details, input_tokens,
                output_tokens, total_tokens, total_cost, prompt_name, prompt_version, created_at, updated_at,
                cost_source, internal_model_id, pricing_tier)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (project_id, observation_id) DO UPDATE SET
                trace_id = excluded.trace_id, type = excluded.type,
                parent_observation_id = excluded.parent_observation_id, name = excluded.name,
                start_time = excluded.start_time, end_time = excluded.end_time,
                completion_start_time = excluded.completion_start_time, model = excluded.model,
                model_parameters = excluded.model_parameters, input = excluded.input, output = excluded.output,
                metadata = excluded.metadata, level = excluded.level, status_message = excluded.status_message,
                version = excluded.version, environment = excluded.environment,
                usage_details = excluded.usage_details, cost_details = excluded.cost_details,
                input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
                total_tokens = excluded.total_tokens, total_cost = excluded.total_cost,
                prompt_name = excluded.prompt_name, prompt_version = excluded.prompt_version,
                updated_at = excluded.updated_at, cost_source = excluded.cost_source,
                internal_model_id = excluded.internal_model_id, pricing_tier = excluded.pricing_tier
            """).run([
                .integer(projectID), .text(o.observationID), .optional(o.traceID), .text(o.type),
                .optional(o.parentObservationID), .optional(o.name), .integer(o.startTimeMillis),
                .optional(o.endTimeMillis), .optional(o.completionStartTimeMillis), .optional(o.model),
                .optional(o.modelParameters), .optional(o.input), .optional(o.output), .optional(o.metadata),
                .text(o.level), .optional(o.statusMessage), .optional(o.version), .text(o.environment),
                .optional(o.usageDetails), .optional(o.costDetails), .optional(o.inputTokens),
                .optional(o.outputTokens), .optional(o.totalTokens), .optional(o.totalCost),
                .optional(o.promptName), .optional(o.promptVersion), .integer(now), .integer(now),
                .optional(o.costSource), .optional(o.internalModelID), .optional(o.pricingTierName),
            ])
    }

    private static func upsert(_ s: ScoreRecord, projectID: Int64, now: Int64, on db: SQLiteConnection) throws {
        try db.statement("""
            INSERT INTO scores (project_id, score_id, timestamp, name, value, string_value, data_type, source,
                trace_id, observation_id, session_id, dataset_run_id, comment, metadata, config_id, queue_id,
                environment, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (project_id, score_id) DO UPDATE SET
                timestamp = excluded.timestamp, name = excluded.name, value = excluded.value,
                string_value = excluded.string_value, data_type = excluded.data_type, source = excluded.source,
                trace_id = excluded.trace_id, observation_id = excluded.observation_id,
                session_id = excluded.session_id, dataset_run_id = excluded.dataset_run_id,
                comment = excluded.comment, metadata = excluded.metadata, config_id = excluded.config_id,
                queue_id = excluded.queue_id, environment = excluded.environment, updated_at = excluded.updated_at
            """).run([
                .integer(projectID), .text(s.scoreID), .integer(s.timestampMillis), .text(s.name),
                .optional(s.value), .optional(s.stringValue), .text(s.dataType), .text(s.source),
                .optional(s.traceID), .optional(s.observationID), .optional(s.sessionID), .optional(s.datasetRunID),
                .optional(s.comment), .optional(s.metadata), .optional(s.configID), .optional(s.queueID),
                .text(s.environment), .integer(now), .integer(now),
            ])
    }
}

extension SQLiteValue {
    static func optional(_ text: String?) -> SQLiteValue { text.map(SQLiteValue.text) ?? .null }
    static func optional(_ number: Int64?) -> SQLiteValue { number.map(SQLiteValue.integer) ?? .null }
    static func optional(_ number: Double?) -> SQLiteValue { number.map(SQLiteValue.real) ?? .null }
}
