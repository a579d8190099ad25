-- The schema of a new Parley database (schema version 13), as
-- sqlite_master holds it. Written by MigrationTests.theSchemaIsTheCheckedInSnapshot.

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

CREATE TABLE dirty_sessions (
    project_id  INTEGER NOT NULL,
    session_id  TEXT    NOT NULL,
    marked_at   INTEGER NOT NULL,
    PRIMARY KEY (project_id, session_id)
) WITHOUT ROWID;

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

CREATE TABLE models (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    model_id    TEXT    NOT NULL UNIQUE,
    model_name  TEXT    NOT NULL,
    definition  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

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
    updated_at             INTEGER NOT NULL, cost_source TEXT, internal_model_id TEXT, pricing_tier TEXT,
    UNIQUE (project_id, observation_id)
);

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    public_id   TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    settings    TEXT    NOT NULL DEFAULT '{}'
, user_salt BLOB);

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

CREATE TABLE row_counts (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    table_name  TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (project_id, table_name)
) WITHOUT ROWID;

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

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    session_id   TEXT    NOT NULL,
    environment  TEXT    NOT NULL DEFAULT 'default',
    user_id      TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL, type TEXT, channel TEXT, client_version TEXT, locale TEXT, user_tier TEXT, org_id TEXT, metadata TEXT NOT NULL DEFAULT '{}', start_time INTEGER, end_time INTEGER, status TEXT NOT NULL DEFAULT 'active', end_reason TEXT, first_activity INTEGER, last_activity INTEGER, duration_ms INTEGER NOT NULL DEFAULT 0, turn_count INTEGER NOT NULL DEFAULT 0, observation_count INTEGER NOT NULL DEFAULT 0, generation_count INTEGER NOT NULL DEFAULT 0, tool_count INTEGER NOT NULL DEFAULT 0, error_count INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0, total_tokens INTEGER NOT NULL DEFAULT 0, total_cost REAL NOT NULL DEFAULT 0, latency_mean_ms REAL, latency_p95_ms REAL, scores TEXT NOT NULL DEFAULT '{}', tags TEXT NOT NULL DEFAULT '[]', declared_type TEXT, declared_channel TEXT, declared_client_version TEXT, declared_locale TEXT, declared_user_tier TEXT, declared_org_id TEXT, end_source TEXT, ended_activity INTEGER, idle_time_ms INTEGER, resumptions INTEGER NOT NULL DEFAULT 0, turn_number_source TEXT, turn_issues TEXT NOT NULL DEFAULT '{}', has_turn_issues INTEGER NOT NULL DEFAULT 0, conversation_count INTEGER NOT NULL DEFAULT 0, last_turn_number INTEGER, last_intent TEXT, agent_last_action TEXT, since_last_turn_ms INTEGER, dropoff INTEGER NOT NULL DEFAULT 0, completed INTEGER NOT NULL DEFAULT 0, journey_name TEXT, journey_stage TEXT, journey_stage_number INTEGER, journey_total_stages INTEGER, converted INTEGER NOT NULL DEFAULT 0, conversion_turn INTEGER, conversion_time_ms INTEGER, context_max_pct REAL, context_max_tokens INTEGER, context_over80_turn INTEGER, user_satisfaction REAL, journey_path TEXT, settle_version INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project_id, session_id)
);

CREATE TABLE sqlite_sequence(name,seq);

CREATE TABLE storage_meta (
    key   TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

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
    updated_at   INTEGER NOT NULL, turn_number INTEGER, observation_count INTEGER NOT NULL DEFAULT 0, generation_count INTEGER NOT NULL DEFAULT 0, tool_count INTEGER NOT NULL DEFAULT 0, error_count INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0, total_tokens INTEGER NOT NULL DEFAULT 0, total_cost REAL NOT NULL DEFAULT 0, first_start INTEGER, last_end INTEGER, latency_ms INTEGER NOT NULL DEFAULT 0, session_type TEXT, session_channel TEXT, session_client_version TEXT, session_locale TEXT, session_end_reason TEXT, conversation_id TEXT, conversation_topic TEXT, conversation_total_turns INTEGER, turn_id TEXT, turn_role TEXT, turn_input_type TEXT, turn_output_type TEXT, turn_latency_ms INTEGER, turn_tool_calls INTEGER, context_tokens INTEGER, context_limit INTEGER, context_window_pct REAL, context_pruned INTEGER, context_messages_pruned INTEGER, user_tier TEXT, user_org_id TEXT, journey_name TEXT, journey_stage TEXT, journey_stage_number INTEGER, journey_total_stages INTEGER, journey_converted INTEGER, journey_conversion_turn INTEGER, journey_time_in_stage_ms INTEGER, dropoff_last_intent TEXT, dropoff_agent_last_action TEXT, agent_count INTEGER NOT NULL DEFAULT 0, peak_input_tokens INTEGER, peak_model TEXT, turn_seq INTEGER, turn_source TEXT, turn_flags TEXT, context_used_tokens INTEGER, context_window INTEGER, context_used_pct REAL, context_source TEXT,
    UNIQUE (project_id, trace_id)
);

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    UNIQUE (project_id, user_id)
);

CREATE INDEX deletion_jobs_unfinished ON deletion_jobs (id) WHERE status <> 'done';

CREATE INDEX events_by_entity ON events (project_id, entity_kind, entity_id, timestamp_us);

CREATE INDEX models_by_project ON models (project_id, id);

CREATE INDEX observations_by_trace ON observations (project_id, trace_id, start_time);

CREATE INDEX rejected_events_by_time ON rejected_events (project_id, received_at);

CREATE INDEX scores_by_session ON scores (project_id, session_id) WHERE session_id IS NOT NULL;

CREATE INDEX scores_by_trace ON scores (project_id, trace_id) WHERE trace_id IS NOT NULL;

CREATE INDEX sessions_by_channel ON sessions (project_id, channel) WHERE channel IS NOT NULL;

CREATE INDEX sessions_by_cost ON sessions (project_id, total_cost);

CREATE INDEX sessions_by_created ON sessions (project_id, created_at);

CREATE INDEX sessions_by_duration ON sessions (project_id, duration_ms);

CREATE INDEX sessions_by_journey ON sessions (project_id, journey_name, created_at) WHERE journey_name IS NOT NULL;

CREATE INDEX sessions_by_last_activity ON sessions (project_id, last_activity);

CREATE INDEX sessions_by_turns ON sessions (project_id, turn_count);

CREATE INDEX sessions_by_user ON sessions (project_id, user_id) WHERE user_id IS NOT NULL;

CREATE INDEX sessions_by_user_tier ON sessions (project_id, user_tier) WHERE user_tier IS NOT NULL;

CREATE INDEX sessions_idle ON sessions (project_id, coalesce(last_activity, created_at)) WHERE status = 'active';

CREATE INDEX traces_by_session ON traces (project_id, session_id, timestamp) WHERE session_id IS NOT NULL;

CREATE INDEX traces_by_time ON traces (project_id, timestamp);

CREATE INDEX traces_by_user ON traces (project_id, user_id, timestamp) WHERE user_id IS NOT NULL;

CREATE TRIGGER sessions_counted_delete AFTER DELETE ON sessions BEGIN
    UPDATE row_counts SET n = n - 1 WHERE project_id = OLD.project_id AND table_name = 'sessions';
END;

CREATE TRIGGER sessions_counted_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO row_counts (project_id, table_name, n) VALUES (NEW.project_id, 'sessions', 1)
    ON CONFLICT (project_id, table_name) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sessions_counted_move AFTER UPDATE OF project_id ON sessions BEGIN
    UPDATE row_counts SET n = n - 1 WHERE project_id = OLD.project_id AND table_name = 'sessions';
    INSERT INTO row_counts (project_id, table_name, n) VALUES (NEW.project_id, 'sessions', 1)
    ON CONFLICT (project_id, table_name) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER traces_counted_delete AFTER DELETE ON traces BEGIN
    UPDATE row_counts SET n = n - 1 WHERE project_id = OLD.project_id AND table_name = 'traces';
END;

CREATE TRIGGER traces_counted_insert AFTER INSERT ON traces BEGIN
    INSERT INTO row_counts (project_id, table_name, n) VALUES (NEW.project_id, 'traces', 1)
    ON CONFLICT (project_id, table_name) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER traces_counted_move AFTER UPDATE OF project_id ON traces BEGIN
    UPDATE row_counts SET n = n - 1 WHERE project_id = OLD.project_id AND table_name = 'traces';
    INSERT INTO row_counts (project_id, table_name, n) VALUES (NEW.project_id, 'traces', 1)
    ON CONFLICT (project_id, table_name) DO UPDATE SET n = n + 1;
END;
