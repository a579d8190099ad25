/* Storage ceiling for the ingestion benchmark: inserts the rows Parley writes for the same
 * event mix (one `events` row per event plus an upsert of its trace or observation row), into a
 * database with Parley's own schema, indexes and pragmas (WAL, synchronous=NORMAL), one
 * transaction per batch, with no HTTP, no JSON and no merging. Prints events/s.
 *
 * usage: sqlite_ceiling DB BATCH EVENTS
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void check(int rc, sqlite3 *db, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static const char *BODY =
    "{\"traceId\":\"t-000000000000000000000000000000000000\",\"name\":\"llm-call\",\"startTime\":\"2026-11-24T21:58:28.427363Z\","
    "\"metadata\":{\"provider\":\"openai\"},\"input\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
    "{\"role\":\"user\",\"content\":\"What is the weather in Paris today?\"}],\"parentObservationId\":\"a-0000000000000000\","
    "\"environment\":\"production\",\"id\":\"g-000000000000000000000000\",\"model\":\"gpt-4o-mini\","
    "\"modelParameters\":{\"temperature\":\"0.2\",\"max_tokens\":256}}";

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s DB BATCH EVENTS\n", argv[0]); return 2; }
    int batch = atoi(argv[2]);
    long events = atol(argv[3]);
    sqlite3 *db;
    check(sqlite3_open(argv[1], &db), db, "open");
    check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", 0, 0, 0), db, "pragmas");
    sqlite3_exec(db, "INSERT OR IGNORE INTO projects (id, public_id, name, created_at) VALUES (1, 'bench', 'bench', 0)", 0, 0, 0);

    sqlite3_stmt *event, *trace, *observation;
    check(sqlite3_prepare_v2(db,
        "INSERT INTO events (project_id, event_id, entity_kind, entity_id, type, timestamp_us, body, received_at) "
        "VALUES (1, ?, ?, ?, 'x', ?, ?, 0) ON CONFLICT (project_id, event_id) DO NOTHING", -1, &event, 0), db, "prepare events");
    check(sqlite3_prepare_v2(db,
        "INSERT INTO traces (project_id, trace_id, timestamp, name, user_id, session_id, release, version, input, output, metadata, tags, public, environment, created_at, updated_at) "
        "VALUES (1, ?, ?, 'chat-turn', 'bench-user', 'bench-session', '1.0.0', '1.0.0', '{\"role\":\"user\",\"content\":\"What is the weather in Paris today?\"}', "
        "'{\"role\":\"assistant\",\"content\":\"It is sunny.\"}', '{\"conversation_id\":\"conv-1\",\"turn_number\":1,\"channel\":\"web\"}', '[\"bench\",\"chat\"]', 0, 'production', 0, 0) "
        "ON CONFLICT (project_id, trace_id) DO UPDATE SET output = excluded.output, metadata = excluded.metadata, updated_at = excluded.updated_at",
        -1, &trace, 0), db, "prepare traces");
    check(sqlite3_prepare_v2(db,
        "INSERT INTO observations (project_id, observation_id, trace_id, type, parent_observation_id, name, start_time, end_time, model, model_parameters, input, output, metadata, level, environment, usage_details, cost_details, input_tokens, output_tokens, total_tokens, total_cost, created_at, updated_at) "
        "VALUES (1, ?, ?, 'GENERATION', 'a-parent', 'llm-call', ?, ?, 'gpt-4o-mini', '{\"temperature\":\"0.2\",\"max_tokens\":256}', "
        "'[{\"role\":\"user\",\"content\":\"What is the weather in Paris today?\"}]', '{\"role\":\"assistant\",\"content\":\"It is sunny.\"}', '{\"provider\":\"openai\"}', 'DEFAULT', 'production', "
        "'{\"input\":200,\"output\":40,\"total\":240}', '{\"input\":3e-05,\"output\":2.4e-05,\"total\":5.4e-05}', 200, 40, 240, 5.4e-05, 0, 0) "
        "ON CONFLICT (project_id, observation_id) DO UPDATE SET output = excluded.output, end_time = excluded.end_time, updated_at = excluded.updated_at",
        -1, &observation, 0), db, "prepare observations");

    srand((unsigned)time(NULL));
    long tag = rand();
    char eventID[64], entityID[64];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long turn = 0;
    for (long i = 0; i < events; i += batch) {
        check(sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0), db, "begin");
        for (long j = i; j < i + batch && j < events; j++) {
            int k = (int)(j % 9);      /* the same 9-event turn as scripts/bench/ingest.lua */
            if (k == 0) turn++;
            int isTrace = (k == 0 || k == 8);
            /* the turn's observations: agent (k 1,7), generation (2,3), tool (4,5), event (6) */
            int entity = isTrace ? 0 : (k == 1 || k == 7) ? 1 : (k <= 3) ? 2 : (k <= 5) ? 3 : 4;
            snprintf(eventID, sizeof eventID, "e-%ld-%08ld", tag, j);
            snprintf(entityID, sizeof entityID, "%c-%ld-%08ld", "tagsv"[entity], tag, turn);
            sqlite3_bind_text(event, 1, eventID, -1, SQLITE_STATIC);
            sqlite3_bind_int(event, 2, isTrace ? 1 : 2);
            sqlite3_bind_text(event, 3, entityID, -1, SQLITE_STATIC);
            sqlite3_bind_int64(event, 4, 1795557508000000LL + j);
            sqlite3_bind_text(event, 5, BODY, -1, SQLITE_STATIC);
            check(sqlite3_step(event), db, "insert event");
            sqlite3_reset(event);
            sqlite3_stmt *row = isTrace ? trace : observation;
            sqlite3_bind_text(row, 1, entityID, -1, SQLITE_STATIC);
            if (isTrace) {
                sqlite3_bind_int64(row, 2, 1795557508000LL + j);
            } else {
                char traceID[64];
                snprintf(traceID, sizeof traceID, "t-%ld-%08ld", tag, turn);
                sqlite3_bind_text(row, 2, traceID, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(row, 3, 1795557508000LL + j);
                sqlite3_bind_int64(row, 4, 1795557508100LL + j);
            }
            check(sqlite3_step(row), db, "upsert entity");
            sqlite3_reset(row);
        }
        check(sqlite3_exec(db, "COMMIT", 0, 0, 0), db, "commit");
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf("%.0f\n", events / seconds);
    sqlite3_finalize(event);
    sqlite3_finalize(trace);
    sqlite3_finalize(observation);
    sqlite3_close(db);
    return 0;
}
