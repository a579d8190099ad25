import Logging
import Model
import Storage
import Transport

/// Builds Parley's application: every route, in one place.
package enum Routes {
    /// The application for `database`, with `/metrics` fed by `transportStats`. `defaults` are the
    /// server-wide project settings; `deletionWorker` finishes large deletions (one that is not
    /// started still runs when a deletion wakes it). A write request that waited longer than
    /// `maxRequestWait` before its handler ran is refused with 503 (the server is overloaded).
    /// `live` bounds the console's event streams; `consoleSessions` keeps its sign-ins; keys are
    /// cached for `keyCacheLifetime` (a key revoked by another process is seen within that).
    package static func application(
        database: Database, transportStats: TransportStats, logger: Logger,
        defaults: ProjectDefaults = ProjectDefaults(), deletionWorker: DeletionWorker? = nil,
        maxRequestWait: Duration = .seconds(2), live: LiveStreams.Configuration = LiveStreams.Configuration(),
        consoleSessions: ConsoleSessions = ConsoleSessions(), keyCacheLifetime: Duration = .seconds(10)
    ) -> Application {
        let limits = IngestionHandlers.Limits(maxRequestWait: maxRequestWait)
        let metrics = Metrics()
        let authenticator = Authenticator(
            database: database, defaults: defaults, cacheLifetime: keyCacheLifetime, consoleSessions: consoleSessions)
        let liveStreams = LiveStreams(feed: database.commits, configuration: live)
        let deletions = deletionWorker ?? DeletionWorker(database: database, logger: logger)
        let analytics = AnalyticsCache { database.writer.commitCount }
        let drillDowns = DrillDownCache()
        var router = Router()
        router.get("/api/public/health", HealthHandlers.health())
        router.get("/api/public/ready", HealthHandlers.ready(database: database))
        router.get("/metrics", HealthHandlers.metrics {
            metrics.render(transport: transportStats) + Metrics.render(storage: database, drillDowns: drillDowns.counts)
        })
        router.get("/api/public/projects", ProjectHandlers.list(authenticator: authenticator))
        router.get("/api/public/projects/:projectId/settings", ProjectSettingsHandlers.get(database: database, authenticator: authenticator))
        router.patch("/api/public/projects/:projectId/settings", ProjectSettingsHandlers.patch(
            database: database, authenticator: authenticator, logger: logger))
        router.post("/api/public/ingestion", IngestionHandlers.batch(
            database: database, authenticator: authenticator, limits: limits))
        router.post("/api/public/scores", ScoreHandlers.create(database: database, authenticator: authenticator))
        let otlp = OTLPHandlers.traces(database: database, authenticator: authenticator, limits: limits)
        router.post("/api/public/otel/v1/traces", otlp)
        router.post("/v1/traces", otlp)  // exporters pointed at the server root
        // Metrics and logs are answered, not kept (docs/DATA_MODEL.md, "OTLP metrics and logs").
        let metricsExport = OTLPHandlers.metrics(authenticator: authenticator)
        let logsExport = OTLPHandlers.logs(authenticator: authenticator)
        router.post("/api/public/otel/v1/metrics", metricsExport)
        router.post("/v1/metrics", metricsExport)
        router.post("/api/public/otel/v1/logs", logsExport)
        router.post("/v1/logs", logsExport)
        router.get("/api/public/scores", ObservationHandlers.scores(database: database, authenticator: authenticator))
        router.get("/api/public/scores/:id", ObservationHandlers.score(database: database, authenticator: authenticator))
        router.delete("/api/public/scores/:id", ObservationHandlers.deleteScore(database: database, authenticator: authenticator))

        router.post("/api/public/sessions", SessionHandlers.create(database: database, authenticator: authenticator))
        router.get("/api/public/sessions", SessionHandlers.list(database: database, authenticator: authenticator))
        router.get("/api/public/sessions/:id", SessionHandlers.get(database: database, authenticator: authenticator, cache: drillDowns))
        router.delete("/api/public/sessions/:id", DeletionHandlers.deleteSession(
            database: database, authenticator: authenticator, worker: deletions))
        router.get("/api/public/sessions/:id/turns", SessionHandlers.turns(database: database, authenticator: authenticator))
        router.post("/api/public/sessions/:id/end", SessionHandlers.end(database: database, authenticator: authenticator))
        router.get("/api/public/analytics/dropoff", AnalyticsHandlers.dropoff(database: database, authenticator: authenticator, cache: analytics))
        router.get("/api/public/analytics/sessions", AnalyticsHandlers.sessions(database: database, authenticator: authenticator, cache: analytics))
        router.get("/api/public/analytics/journeys", AnalyticsHandlers.journeys(database: database, authenticator: authenticator, cache: analytics))
        router.get("/api/public/analytics/journeys/:name", AnalyticsHandlers.journey(database: database, authenticator: authenticator, cache: analytics))

        router.post("/api/public/traces", TraceHandlers.create(database: database, authenticator: authenticator))
        router.get("/api/public/traces", TraceHandlers.list(database: database, authenticator: authenticator))
        router.delete("/api/public/traces", TraceHandlers.deleteMany(database: database, authenticator: authenticator))
        router.get("/api/public/traces/:id", TraceHandlers.get(database: database, authenticator: authenticator))
        router.delete("/api/public/traces/:id", TraceHandlers.delete(database: database, authenticator: authenticator))

        router.get("/api/public/observations", ObservationHandlers.list(database: database, authenticator: authenticator))
        router.get("/api/public/observations/:id", ObservationHandlers.get(database: database, authenticator: authenticator))
        router.get("/api/public/v2/observations", V2Handlers.observations(database: database, authenticator: authenticator))
        router.get("/api/public/v2/scores", V2Handlers.scoresV2(database: database, authenticator: authenticator))
        router.get("/api/public/v2/scores/:id", V2Handlers.scoreV2(database: database, authenticator: authenticator))
        router.get("/api/public/v3/scores", V2Handlers.scoresV3(database: database, authenticator: authenticator))
        router.get("/api/public/metrics/daily", V2Handlers.metricsDaily(database: database, authenticator: authenticator))
        router.get("/api/public/models", ModelHandlers.list(database: database, authenticator: authenticator))
        router.post("/api/public/models", ModelHandlers.create(database: database, authenticator: authenticator))
        router.get("/api/public/models/:id", ModelHandlers.get(database: database, authenticator: authenticator))
        router.delete("/api/public/models/:id", ModelHandlers.delete(database: database, authenticator: authenticator))
        router.get("/api/public/users", UserHandlers.list(database: database, authenticator: authenticator))
        router.get("/api/public/users/:userId", UserHandlers.get(database: database, authenticator: authenticator))
        router.delete("/api/public/users/:userId", DeletionHandlers.deleteUser(
            database: database, authenticator: authenticator, worker: deletions))
        router.get("/api/public/deletions/:id", DeletionHandlers.status(database: database, authenticator: authenticator))
        router.get("/api/public/quality", QualityHandlers.report(database: database, authenticator: authenticator))
        router.get("/api/public/export/sessions", ExportHandlers.sessions(database: database, authenticator: authenticator))
        router.get("/api/public/export/traces", ExportHandlers.traces(database: database, authenticator: authenticator))

        // The web console (docs/CONSOLE.md): the page at / and its deep links, its files,
        // sign-in and its live events.
        for pattern in ["/", "/project/:projectId", "/project/:projectId/:view", "/project/:projectId/sessions/:id",
                        "/project/:projectId/traces/:id", "/project/:projectId/users/:id"] {
            router.get(pattern, ConsoleHandlers.page())
        }
        router.get("/console/:file", ConsoleHandlers.asset())
        router.post("/api/console/session", ConsoleHandlers.signIn(authenticator: authenticator))
        router.get("/api/console/session", ConsoleHandlers.current(authenticator: authenticator))
        router.delete("/api/console/session", ConsoleHandlers.signOut(authenticator: authenticator))
        router.get("/api/console/events", ConsoleHandlers.events(database: database, authenticator: authenticator, live: liveStreams))
        return Application(router: router, metrics: metrics, transportStats: transportStats, logger: logger, live: liveStreams)
    }
}
