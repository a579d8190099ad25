import Model

/// The schema, as an ordered list of migrations. `PRAGMA user_version` records how many have
/// been applied; each runs in its own transaction at start. A file whose version is newer than
/// this list is refused, so an old binary never writes into a schema it does not understand.
///
/// A migration is SQL only. Data that today's code derives from stored rows (columns lifted out
/// of metadata, session aggregates) is recomputed by `Derivations` once every migration has run,
/// so that such code always finds the columns it writes.
/// `Tests/Fixtures/schema/schema.sql` holds the schema the list produces, and a test
/// compares them: a change to the schema is a change to that file too.
enum Migrations {
    struct Migration: Sendable {
        let version: Int
        let sql: String
    }

    static let all: [Migration] = [
        Migration(version: 1, sql: schemaV1),
        Migration(version: 2, sql: schemaV2),
        Migration(version: 3, sql: schemaV3),
        Migration(version: 4, sql: schemaV4),
        Migration(version: 5, sql: schemaV5),
        Migration(version: 6, sql: schemaV6),
        Migration(version: 7, sql: schemaV7),
        Migration(version: 8, sql: schemaV8),
        Migration(version: 9, sql: schemaV9),
        Migration(version: 10, sql: schemaV10),
        Migration(version: 11, sql: schemaV11),
        Migration(version: 12, sql: schemaV12),
        Migration(version: 13, sql: schemaV13),
    ]

    static var latestVersion: Int { all.last?.version ?? 0 }

    /// Applies every migration newer than the file's version, then the derivations the file
    /// still lacks (`Derivations.apply`).
    static func apply(to connection: SQLiteConnection) throws {
        let current = Int(try connection.scalarText("PRAGMA user_version") ?? "0") ?? 0
        if current > latestVersion {
            throw StorageError.schemaTooNew(found: current, known: latestVersion)
        }
        for migration in all where migration.version > current {
            try connection.execute("BEGIN IMMEDIATE")
            do {
                try connection.execute(migration.sql)
                // In the transaction that creates the record's table: a file migrated from an
                // older schema that stops before its derivations still knows it lacks them.
                try Derivations.recordIfMissing(schemaVersionBefore: current, on: connection)
                try connection.execute("PRAGMA user_version = \(migration.version)")
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
        try Derivations.apply(to: connection)
    }

    /// Version 1. Times are INTEGER milliseconds since the Unix epoch (UTC) unless named `_us`
    /// (microseconds). Text ids live in unique indexes next to integer row keys, because
    /// random-UUID primary keys cost SQLite 5× on inserts (measured; see docs/DATA_MODEL.md).
    static let schemaV1 = """
    CREATE TABLE projects (
        id          INTEGER PRIMARY KEY,
        public_id   TEXT    NOT NULL UNIQUE,
        name        TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        settings    TEXT    NOT NULL DEFAULT '{}'
    );

    CREATE TABLE api_keys (
        id            INTEGER PRIMARY KEY,
        project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        public_key    TEXT    NOT NULL UNIQUE,
        secret_salt   BLOB    NOT NULL,
        secret_hash   BLOB    NOT NULL,
        secret_hint   TEXT    NOT NULL,
        created_at    INTEGER NOT NULL,
        revoked_at    INTEGER
    );

    CREATE TABLE traces (
        id           INTEGER PRIMARY KEY,
        project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        trace_id     TEXT    NOT NULL,
        timestamp    INTEGER NOT NULL,
        name         TEXT,
        user_id      TEXT,
        session_id   TEXT,
        release      TEXT,
        version      TEXT,
        input        TEXT,
        output       TEXT,
        metadata     TEXT,
        tags         TEXT    NOT NULL DEFAULT '[]',
        public       INTEGER NOT NULL DEFAULT 0,
        environment  TEXT    NOT NULL DEFAULT 'default',
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        UNIQUE (project_id, trace_id)
    );
    CREATE INDEX traces_by_session ON traces (project_id, session_id, timestamp) WHERE session_id IS NOT NULL;
    CREATE INDEX traces_by_time ON traces (project_id, timestamp);

    CREATE TABLE observations (
        id                     INTEGER PRIMARY KEY,
        project_id             INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        observation_id         TEXT    NOT NULL,
        trace_id               TEXT,
        type                   TEXT    NOT NULL,
        parent_observation_id  TEXT,
        name                   TEXT,
        start_time             INTEGER NOT NULL,
        end_time               INTEGER,
        completion_start_time  INTEGER,
        model                  TEXT,
        model_parameters       TEXT,
        input                  TEXT,
        output                 TEXT,
        metadata               TEXT,
        level                  TEXT    NOT NULL DEFAULT 'DEFAULT',
        status_message         TEXT,
        version                TEXT,
        environment            TEXT    NOT NULL DEFAULT 'default',
        usage_details          TEXT,
        cost_details           TEXT,
        input_tokens           INTEGER,
        output_tokens          INTEGER,
        total_tokens           INTEGER,
        total_cost             REAL,
        prompt_name            TEXT,
        prompt_version         INTEGER,
        created_at             INTEGER NOT NULL,
        updated_at             INTEGER NOT NULL,
        UNIQUE (project_id, observation_id)
    );
    CREATE INDEX observations_by_trace ON observations (project_id, trace_id, start_time);

    CREATE TABLE scores (
        id              INTEGER PRIMARY KEY,
        project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        score_id        TEXT    NOT NULL,
        timestamp       INTEGER NOT NULL,
        name            TEXT    NOT NULL,
        value           REAL,
        string_value    TEXT,
        data_type       TEXT    NOT NULL,
        source          TEXT    NOT NULL DEFAULT 'API',
        trace_id        TEXT,
        observation_id  TEXT,
        session_id      TEXT,
        dataset_run_id  TEXT,
        comment         TEXT,
        metadata        TEXT,
        config_id       TEXT,
        queue_id        TEXT,
        environment     TEXT    NOT NULL DEFAULT 'default',
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        UNIQUE (project_id, score_id)
    );
    CREATE INDEX scores_by_trace ON scores (project_id, trace_id) WHERE trace_id IS NOT NULL;
    CREATE INDEX scores_by_session ON scores (project_id, session_id) WHERE session_id IS NOT NULL;

    CREATE TABLE sessions (
        id           INTEGER PRIMARY KEY,
        project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        session_id   TEXT    NOT NULL,
        environment  TEXT    NOT NULL DEFAULT 'default',
        user_id      TEXT,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        UNIQUE (project_id, session_id)
    );
    CREATE INDEX sessions_by_created ON sessions (project_id, created_at);

    CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        user_id     TEXT    NOT NULL,
        first_seen  INTEGER NOT NULL,
        last_seen   INTEGER NOT NULL,
        UNIQUE (project_id, user_id)
    );

    -- Every applied ingestion event, for idempotency (an event id is applied once) and for
    -- order-independent merging (an entity is the fold of its events by envelope timestamp).
    CREATE TABLE events (
        id            INTEGER PRIMARY KEY,
        project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        event_id      TEXT    NOT NULL,
        entity_kind   INTEGER NOT NULL,
        entity_id     TEXT    NOT NULL,
        type          TEXT    NOT NULL,
        timestamp_us  INTEGER NOT NULL,
        body          TEXT    NOT NULL,
        received_at   INTEGER NOT NULL,
        UNIQUE (project_id, event_id)
    );
    CREATE INDEX events_by_entity ON events (project_id, entity_kind, entity_id, timestamp_us);
    """

    /// Version 2. A user's first and last seen are recomputed from the traces that name it
    /// (`IngestionStore`), so they need an index to find that user's earliest and latest trace
    /// in O(log n): https://sqlite.org/optoverview.html#minmax.
    static let schemaV2 = """
    CREATE INDEX traces_by_user ON traces (project_id, user_id, timestamp) WHERE user_id IS NOT NULL;
    """

    /// Version 3: session lifecycle fields and the aggregates kept current on write
    /// (`AggregateStore`), per trace and per session, so lists and drill-downs read rows instead
    /// of scanning observations.
    static let schemaV3 = """
    ALTER TABLE traces ADD COLUMN turn_number INTEGER;
    ALTER TABLE traces ADD COLUMN observation_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE traces ADD COLUMN generation_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE traces ADD COLUMN tool_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE traces ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE traces ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE traces ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE traces ADD COLUMN total_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE traces ADD COLUMN total_cost REAL NOT NULL DEFAULT 0;
    ALTER TABLE traces ADD COLUMN first_start INTEGER;
    ALTER TABLE traces ADD COLUMN last_end INTEGER;
    ALTER TABLE traces ADD COLUMN latency_ms INTEGER NOT NULL DEFAULT 0;

    ALTER TABLE sessions ADD COLUMN type TEXT;
    ALTER TABLE sessions ADD COLUMN channel TEXT;
    ALTER TABLE sessions ADD COLUMN client_version TEXT;
    ALTER TABLE sessions ADD COLUMN locale TEXT;
    ALTER TABLE sessions ADD COLUMN user_tier TEXT;
    ALTER TABLE sessions ADD COLUMN org_id TEXT;
    ALTER TABLE sessions ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE sessions ADD COLUMN start_time INTEGER;
    ALTER TABLE sessions ADD COLUMN end_time INTEGER;
    ALTER TABLE sessions ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
    ALTER TABLE sessions ADD COLUMN end_reason TEXT;
    ALTER TABLE sessions ADD COLUMN first_activity INTEGER;
    ALTER TABLE sessions ADD COLUMN last_activity INTEGER;
    ALTER TABLE sessions ADD COLUMN duration_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN turn_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN observation_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN generation_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN tool_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN total_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN total_cost REAL NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN latency_mean_ms REAL;
    ALTER TABLE sessions ADD COLUMN latency_p95_ms REAL;
    ALTER TABLE sessions ADD COLUMN scores TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE sessions ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

    CREATE INDEX sessions_by_last_activity ON sessions (project_id, last_activity);
    CREATE INDEX sessions_by_cost ON sessions (project_id, total_cost);
    CREATE INDEX sessions_by_turns ON sessions (project_id, turn_count);
    CREATE INDEX sessions_by_duration ON sessions (project_id, duration_ms);
    CREATE INDEX sessions_by_user ON sessions (project_id, user_id) WHERE user_id IS NOT NULL;
    """

    /// Version 4: the session-tracking attributes of each trace as typed columns
    /// (`SessionTracking`, docs/DATA_MODEL.md), so analytics filter and group on columns
    /// instead of parsing metadata. `turn_number` (v3) is now written the same way. Sessions
    /// keep what the sessions API declared apart from what their turns sent, so a session's
    /// attributes are a function of its stored rows whatever order the turns arrived in.
    static let schemaV4 = """
    ALTER TABLE traces ADD COLUMN session_type TEXT;
    ALTER TABLE traces ADD COLUMN session_channel TEXT;
    ALTER TABLE traces ADD COLUMN session_client_version TEXT;
    ALTER TABLE traces ADD COLUMN session_locale TEXT;
    ALTER TABLE traces ADD COLUMN session_end_reason TEXT;
    ALTER TABLE traces ADD COLUMN conversation_id TEXT;
    ALTER TABLE traces ADD COLUMN conversation_topic TEXT;
    ALTER TABLE traces ADD COLUMN conversation_total_turns INTEGER;
    ALTER TABLE traces ADD COLUMN turn_id TEXT;
    ALTER TABLE traces ADD COLUMN turn_role TEXT;
    ALTER TABLE traces ADD COLUMN turn_input_type TEXT;
    ALTER TABLE traces ADD COLUMN turn_output_type TEXT;
    ALTER TABLE traces ADD COLUMN turn_latency_ms INTEGER;
    ALTER TABLE traces ADD COLUMN turn_tool_calls INTEGER;
    ALTER TABLE traces ADD COLUMN context_tokens INTEGER;
    ALTER TABLE traces ADD COLUMN context_limit INTEGER;
    ALTER TABLE traces ADD COLUMN context_window_pct REAL;
    ALTER TABLE traces ADD COLUMN context_pruned INTEGER;
    ALTER TABLE traces ADD COLUMN context_messages_pruned INTEGER;
    ALTER TABLE traces ADD COLUMN user_tier TEXT;
    ALTER TABLE traces ADD COLUMN user_org_id TEXT;
    ALTER TABLE traces ADD COLUMN journey_name TEXT;
    ALTER TABLE traces ADD COLUMN journey_stage TEXT;
    ALTER TABLE traces ADD COLUMN journey_stage_number INTEGER;
    ALTER TABLE traces ADD COLUMN journey_total_stages INTEGER;
    ALTER TABLE traces ADD COLUMN journey_converted INTEGER;
    ALTER TABLE traces ADD COLUMN journey_conversion_turn INTEGER;
    ALTER TABLE traces ADD COLUMN journey_time_in_stage_ms INTEGER;
    ALTER TABLE traces ADD COLUMN dropoff_last_intent TEXT;
    ALTER TABLE traces ADD COLUMN dropoff_agent_last_action TEXT;
    CREATE INDEX traces_by_conversation ON traces (project_id, conversation_id) WHERE conversation_id IS NOT NULL;
    CREATE INDEX traces_by_journey ON traces (project_id, journey_name, timestamp) WHERE journey_name IS NOT NULL;

    ALTER TABLE sessions ADD COLUMN declared_type TEXT;
    ALTER TABLE sessions ADD COLUMN declared_channel TEXT;
    ALTER TABLE sessions ADD COLUMN declared_client_version TEXT;
    ALTER TABLE sessions ADD COLUMN declared_locale TEXT;
    ALTER TABLE sessions ADD COLUMN declared_user_tier TEXT;
    ALTER TABLE sessions ADD COLUMN declared_org_id TEXT;
    UPDATE sessions SET declared_type = type, declared_channel = channel, declared_client_version = client_version, declared_locale = locale,
        declared_user_tier = user_tier, declared_org_id = org_id;
    CREATE INDEX sessions_by_channel ON sessions (project_id, channel) WHERE channel IS NOT NULL;
    CREATE INDEX sessions_by_user_tier ON sessions (project_id, user_tier) WHERE user_tier IS NOT NULL;
    """

    /// Version 5: per-project row counts of `sessions` and `traces`, kept by triggers, so an
    /// unfiltered list page answers `meta.totalItems` with one lookup instead of counting every
    /// row of the project (docs/BENCHMARKS.md: the count was most of a session-list request).
    static let schemaV5 = """
    CREATE TABLE row_counts (
        project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        table_name  TEXT    NOT NULL,
        n           INTEGER NOT NULL,
        PRIMARY KEY (project_id, table_name)
    ) WITHOUT ROWID;
    INSERT INTO row_counts (project_id, table_name, n)
        SELECT project_id, 'sessions', count(*) FROM sessions GROUP BY project_id;
    INSERT INTO row_counts (project_id, table_name, n)
        SELECT project_id, 'traces', count(*) FROM traces GROUP BY project_id;
    \(["sessions", "traces"].map(countTriggers).joined(separator: "\n"))
    """

    /// Version 6: conversation analytics (issue #7, docs/ANALYTICS.md). Per trace, what Parley
    /// derives for the turn (its number, context use) and what the context estimate needs (agent
    /// runs, the peak generation input and its model); per session, the end, drop-off, journey,
    /// context and satisfaction figures. Every session is recomputed once to fill them (by v7's
    /// backfill).
    static let schemaV6 = """
    ALTER TABLE traces ADD COLUMN agent_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE traces ADD COLUMN peak_input_tokens INTEGER;
    ALTER TABLE traces ADD COLUMN peak_model TEXT;
    ALTER TABLE traces ADD COLUMN turn_seq INTEGER;
    ALTER TABLE traces ADD COLUMN turn_source TEXT;
    ALTER TABLE traces ADD COLUMN turn_flags TEXT;
    ALTER TABLE traces ADD COLUMN context_used_tokens INTEGER;
    ALTER TABLE traces ADD COLUMN context_window INTEGER;
    ALTER TABLE traces ADD COLUMN context_used_pct REAL;
    ALTER TABLE traces ADD COLUMN context_source TEXT;

    UPDATE traces SET agent_count = a.agents, peak_input_tokens = a.peak
    FROM (
        SELECT project_id, trace_id, coalesce(sum(type = 'AGENT'), 0) AS agents,
               max(CASE WHEN type = 'GENERATION' THEN input_tokens END) AS peak
        FROM observations WHERE trace_id IS NOT NULL GROUP BY project_id, trace_id
    ) AS a
    WHERE traces.project_id = a.project_id AND traces.trace_id = a.trace_id;
    UPDATE traces SET peak_model = (
        SELECT model FROM observations o WHERE o.project_id = traces.project_id AND o.trace_id = traces.trace_id
        AND o.type = 'GENERATION' AND o.input_tokens IS NOT NULL ORDER BY o.input_tokens DESC, o.start_time LIMIT 1)
    WHERE peak_input_tokens IS NOT NULL;

    ALTER TABLE sessions ADD COLUMN end_source TEXT;
    ALTER TABLE sessions ADD COLUMN ended_activity INTEGER;
    ALTER TABLE sessions ADD COLUMN idle_time_ms INTEGER;
    ALTER TABLE sessions ADD COLUMN resumptions INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN turn_number_source TEXT;
    ALTER TABLE sessions ADD COLUMN turn_issues TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE sessions ADD COLUMN has_turn_issues INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN conversation_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN last_turn_number INTEGER;
    ALTER TABLE sessions ADD COLUMN last_intent TEXT;
    ALTER TABLE sessions ADD COLUMN agent_last_action TEXT;
    ALTER TABLE sessions ADD COLUMN since_last_turn_ms INTEGER;
    ALTER TABLE sessions ADD COLUMN dropoff INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN completed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN journey_name TEXT;
    ALTER TABLE sessions ADD COLUMN journey_stage TEXT;
    ALTER TABLE sessions ADD COLUMN journey_stage_number INTEGER;
    ALTER TABLE sessions ADD COLUMN journey_total_stages INTEGER;
    ALTER TABLE sessions ADD COLUMN converted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN conversion_turn INTEGER;
    ALTER TABLE sessions ADD COLUMN conversion_time_ms INTEGER;
    ALTER TABLE sessions ADD COLUMN context_max_pct REAL;
    ALTER TABLE sessions ADD COLUMN context_max_tokens INTEGER;
    ALTER TABLE sessions ADD COLUMN context_over80_turn INTEGER;
    ALTER TABLE sessions ADD COLUMN user_satisfaction REAL;
    UPDATE sessions SET end_source = 'api' WHERE status = 'ended';

    -- The sweeper's scan: only sessions still active, oldest activity first.
    CREATE INDEX sessions_idle ON sessions (project_id, coalesce(last_activity, created_at)) WHERE status = 'active';
    CREATE INDEX sessions_by_journey ON sessions (project_id, journey_name, created_at) WHERE journey_name IS NOT NULL;
    """

    /// Version 7: each session's journey stage path (`StageEntry`, JSON), so a funnel reads one
    /// row per session instead of joining every turn (docs/BENCHMARKS.md: the join made a funnel
    /// over 50,000 sessions take a second).
    static let schemaV7 = """
    ALTER TABLE sessions ADD COLUMN journey_path TEXT;
    """

    /// Version 8: privacy and data lifecycle (docs/PRIVACY.md). Each project gets the secret salt
    /// its user ids are hashed under; rejected events are kept (bounded) for the data-quality
    /// report; erasure and session deletions too large for one request run as jobs.
    static let schemaV8 = """
    ALTER TABLE projects ADD COLUMN user_salt BLOB;
    UPDATE projects SET user_salt = randomblob(32);
    -- Projects that already hold user ids keep them as they are (raw): hashing only new ones would
    -- split each user in two. Their operators turn hashing on deliberately (docs/PRIVACY.md).
    UPDATE projects SET settings = json_set(coalesce(settings, '{}'), '$.hashUserIds', json('false'))
    WHERE EXISTS (SELECT 1 FROM users WHERE users.project_id = projects.id);

    CREATE TABLE rejected_events (
        id           INTEGER PRIMARY KEY,
        project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        received_at  INTEGER NOT NULL,
        source       TEXT    NOT NULL,
        event_id     TEXT,
        event_type   TEXT,
        status       INTEGER NOT NULL,
        error        TEXT    NOT NULL,
        message      TEXT    NOT NULL
    );
    CREATE INDEX rejected_events_by_time ON rejected_events (project_id, received_at);

    CREATE TABLE deletion_jobs (
        id            INTEGER PRIMARY KEY,
        project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        job_id        TEXT    NOT NULL UNIQUE,
        kind          TEXT    NOT NULL,
        target        TEXT    NOT NULL,
        status        TEXT    NOT NULL,
        requested_at  INTEGER NOT NULL,
        finished_at   INTEGER,
        traces        INTEGER NOT NULL DEFAULT 0,
        sessions      INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX deletion_jobs_unfinished ON deletion_jobs (id) WHERE status <> 'done';
    """

    /// Version 9: a session's turn issues list at most `ValueBounds.listedTurnGaps` gaps and
    /// count them all in `gapCount` (issue #17: the full list was sized by the turn numbers a
    /// client sent). Earlier rows listed every gap, so their count is their list's length.
    static let schemaV9 = """
    UPDATE sessions SET turn_issues = json_set(turn_issues,
        '$.gaps', (SELECT json_group_array(value) FROM (
            SELECT value FROM json_each(sessions.turn_issues, '$.gaps') ORDER BY key LIMIT \(ValueBounds.listedTurnGaps))),
        '$.gapCount', coalesce(json_array_length(turn_issues, '$.gaps'), 0))
    WHERE has_turn_issues = 1 AND json_valid(turn_issues) AND json_type(turn_issues, '$.gapCount') IS NULL;
    """

    /// Version 10: sessions whose analytics are still to be settled (issue #18). A write marks
    /// the sessions it changed here instead of recomputing them before its COMMIT; the settler
    /// and any read that reaches them recompute them (`AggregateStore.settle`). The mark is in
    /// the writing transaction, so a crash never loses one; a start settles what is left. Each
    /// settle bumps the session's `settle_version`.
    static let schemaV10 = """
    -- Bumped by every settle of the session, which every change to it causes: what a cached
    -- drill-down of the session is checked against.
    ALTER TABLE sessions ADD COLUMN settle_version INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE dirty_sessions (
        project_id  INTEGER NOT NULL,
        session_id  TEXT    NOT NULL,
        marked_at   INTEGER NOT NULL,
        PRIMARY KEY (project_id, session_id)
    ) WITHOUT ROWID;
    """

    /// Version 11: model prices and cost inference (issue #20, docs/DATA_MODEL.md "Model prices
    /// and cost inference"). A project's own model definitions, as the JSON of Langfuse's `Model`
    /// (AUTOINCREMENT, so a deleted row's id is never reused: `ModelStore.resolver` tells a
    /// changed set of models by its count and newest id). Each observation records where its cost
    /// came from (`given` by the client, `inferred` from prices), the definition its model
    /// matched and the tier used. Costs stored before are the clients' own.
    static let schemaV11 = """
    CREATE TABLE models (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        model_id    TEXT    NOT NULL UNIQUE,
        model_name  TEXT    NOT NULL,
        definition  TEXT    NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE INDEX models_by_project ON models (project_id, id);

    ALTER TABLE observations ADD COLUMN cost_source TEXT;
    ALTER TABLE observations ADD COLUMN internal_model_id TEXT;
    ALTER TABLE observations ADD COLUMN pricing_tier TEXT;
    UPDATE observations SET cost_source = 'given' WHERE cost_details IS NOT NULL;
    """

    /// Version 12: indexes that earn their place (issue #18). Two trace indexes served no query
    /// (no read filters or sorts traces by conversation or journey; journeys are read from
    /// `sessions`), yet every trace write that set those columns rewrote their entries. Every
    /// remaining index and the query that needs it is listed in docs/DATA_MODEL.md ("Indexes").
    static let schemaV12 = """
    DROP INDEX traces_by_conversation;
    DROP INDEX traces_by_journey;
    """

    /// Version 13: the version of the derived data (`Derivations`), apart from the schema's.
    static let schemaV13 = """
    CREATE TABLE storage_meta (
        key   TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    """

    static func countTriggers(_ table: String) -> String {
        """
        CREATE TRIGGER \(table)_counted_insert AFTER INSERT ON \(table) BEGIN
            INSERT INTO row_counts (project_id, table_name, n) VALUES (NEW.project_id, '\(table)', 1)
            ON CONFLICT (project_id, table_name) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER \(table)_counted_delete AFTER DELETE ON \(table) BEGIN
            UPDATE row_counts SET n = n - 1 WHERE project_id = OLD.project_id AND table_name = '\(table)';
        END;
        CREATE TRIGGER \(table)_counted_move AFTER UPDATE OF project_id ON \(table) BEGIN
            UPDATE row_counts SET n = n - 1 WHERE project_id = OLD.project_id AND table_name = '\(table)';
            INSERT INTO row_counts (project_id, table_name, n) VALUES (NEW.project_id, '\(table)', 1)
            ON CONFLICT (project_id, table_name) DO UPDATE SET n = n + 1;
        END;
        """
    }
}
