import API
import ArgumentParser
import Dispatch
import Foundation
import Logging
import Model
import Storage
import Synchronization
import Transport

/// `parley serve`: every flag here maps to one field of `ServerConfiguration` (or storage);
/// defaults live in that struct, and docs/CONFIGURATION.md lists them.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the HTTP(S) server.")

    @Option(help: "Address to bind (env PARLEY_HOST). Default 127.0.0.1.")
    var host: String?
    @Option(help: "HTTP port, 0 for an ephemeral port (env PARLEY_PORT). Default 3000.")
    var port: Int?
    @Flag(help: "Disable the plain HTTP listener (serve HTTPS only).")
    var noHttp = false
    @Option(help: "HTTPS port, 0 for ephemeral (env PARLEY_TLS_PORT). Needs --tls-cert and --tls-key.")
    var tlsPort: Int?
    @Option(help: "PEM certificate, optionally followed by its chain (env PARLEY_TLS_CERT).")
    var tlsCert: String?
    @Option(help: "PEM private key (env PARLEY_TLS_KEY).")
    var tlsKey: String?
    @Option(help: "SQLite database file (env PARLEY_DB). Default ./parley.sqlite.")
    var db: String?
    @Option(help: "normal (survives a process crash) or full (fsync every commit). Default normal.")
    var durability: Database.Durability = .normal
    @Option(help: "trace, debug, info, notice, warning, error or critical (env PARLEY_LOG_LEVEL). Default info.")
    var logLevel: String?
    @Option(help: "Event-loop threads. Default: one per core.")
    var threads: Int?
    @Option(help: "Maximum open connections; past it new clients get 503. Default 16384.")
    var maxConnections: Int?
    @Option(help: "Maximum request line plus header bytes (→ 431). Default 16384.")
    var maxHeaderBytes: Int?
    @Option(help: "Maximum body bytes after decompression (→ 413). Default 16777216.")
    var maxBodyBytes: Int?
    @Option(help: "Seconds allowed to receive request headers (→ 408). Default 10.")
    var headerTimeout: Double?
    @Option(help: "Seconds allowed between reads of a request body (→ 408). Default 30.")
    var bodyTimeout: Double?
    @Option(help: "Seconds an idle keep-alive connection stays open. Default 60.")
    var idleTimeout: Double?
    @Option(help: "Seconds allowed for a TLS handshake. Default 10.")
    var tlsHandshakeTimeout: Double?
    @Option(help: "Seconds a shutdown waits for in-flight requests. Default 10.")
    var shutdownGrace: Double?
    @Option(help: "Seconds without activity before a session is timed out (env PARLEY_INACTIVITY_TIMEOUT; a project's inactivityTimeoutSeconds setting wins). Default 1800.")
    var inactivityTimeout: Int?
    @Option(help: "true or false: replace user ids by a keyed hash before storage, for projects that have not chosen (env PARLEY_HASH_USER_IDS). Default true.")
    var hashUserIds: Bool?
    @Option(help: "full, masked or metadata-only: what is stored of input and output, for projects that have not chosen (env PARLEY_IO_POLICY). Default full.")
    var ioPolicy: String?
    @Option(help: "Days data is kept, for projects that have not chosen; 0 keeps it forever (env PARLEY_RETENTION_DAYS). Default 0.")
    var retentionDays: Int?

    func validate() throws {
        _ = try projectDefaults()
        if let level = resolvedLogLevelText, Logger.Level(rawValue: level) == nil {
            throw ValidationError("unknown log level '\(level)'")
        }
        if let inactivityTimeout, inactivityTimeout < 1 { throw ValidationError("--inactivity-timeout must be at least 1 second") }
        for (name, value) in [("--port", port), ("--tls-port", tlsPort)] {
            if let value, !(0...65535).contains(value) { throw ValidationError("\(name) must be 0...65535") }
        }
    }

    private var resolvedLogLevelText: String? { logLevel ?? Environment.string("PARLEY_LOG_LEVEL") }

    func run() throws {
        System.tuneMalloc()
        let level = Logger.Level(rawValue: resolvedLogLevelText ?? "info") ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = {
            var logger = Logger(label: "parley")
            logger.logLevel = level
            return logger
        }()

        let configuration = try makeConfiguration()
        // A certificate that cannot serve stops the start before the database is opened (and
        // before a first start would make and print a key pair that is then never used).
        try configuration.tls?.validate()
        let databasePath = db ?? Environment.string("PARLEY_DB") ?? "./parley.sqlite"
        let database = try DatabaseFile.openOrCreate(databasePath, durability: durability)
        if let created = try blockingAwait({
            try await KeyService.bootstrap(database: database, environment: ProcessInfo.processInfo.environment)
        }) {
            if created.generated {
                // Printed once, on the first start with an empty database: the secret is not stored.
                let text = "created project '\(created.key.project.name)' with a new API key (shown only now):\n"
                    + "  LANGFUSE_PUBLIC_KEY=\(created.key.publicKey)\n"
                    + "  LANGFUSE_SECRET_KEY=\(created.key.secretKey)\n"
                FileHandle.standardError.write(Data(text.utf8))
            } else {
                logger.notice("created project '\(created.key.project.name)' with key \(created.key.publicKey) from PARLEY_INIT_*")
            }
        }
        let openFiles = System.raiseOpenFileLimit()
        if openFiles < configuration.maxConnections + 64 {
            logger.warning("open-file limit \(openFiles) is below --max-connections \(configuration.maxConnections)")
        }

        let stats = TransportStats()
        let defaults = try projectDefaults()
        let deletions = DeletionWorker(database: database, logger: logger)
        let application = Routes.application(
            database: database, transportStats: stats, logger: logger, defaults: defaults, deletionWorker: deletions)
        let server = try HTTPServer(
            configuration: configuration, responder: application, observer: application, stats: stats, logger: logger)
        // Signals are routed before the server listens: a client (a test harness, a supervisor)
        // may stop it as soon as it reads "listening on", and a SIGTERM in a window where it is
        // ignored but not yet watched would be lost, leaving the server running.
        let stop = DispatchSemaphore(value: 0)
        let signals = SignalHandlers()
        signals.on([SIGTERM, SIGINT]) { signal in
            logger.notice("received signal \(signal); shutting down")
            stop.signal()
        }
        signals.on([SIGHUP]) { _ in
            do {
                try server.reloadTLS()
                logger.notice("reloaded TLS certificate")
            } catch {
                logger.error("TLS reload failed; keeping the current certificate: \(error)")
            }
        }
        let addresses = try server.start()
        for address in addresses {
            // Printed unconditionally (not through the log level): scripts read the real port here.
            FileHandle.standardError.write(Data("listening on \(address)\n".utf8))
        }
        if let first = addresses.first {
            // The web console is served at the root (docs/CONSOLE.md).
            FileHandle.standardError.write(Data("console: open \(first)/ and sign in with a project's key pair\n".utf8))
        }
        logger.notice("parley \(ParleyVersion.current) serving \(databasePath) with \(configuration.eventLoopThreads) I/O thread(s)")

        let clock: @Sendable () -> Int64 = { WallClock.nowMillis() }
        let sweeper = InactivitySweeper(
            database: database, defaultTimeoutSeconds: defaults.inactivityTimeoutSeconds, logger: logger, clock: clock)
        sweeper.start()
        let retention = RetentionSweeper(database: database, defaultDays: defaults.retentionDays, logger: logger, clock: clock)
        retention.start()
        deletions.start()

        stop.wait()
        sweeper.stop()
        retention.stop()
        deletions.stop()
        server.shutdown()
        database.close()
        logger.notice("stopped")
    }

    /// The server-wide project defaults from flags and environment.
    private func projectDefaults() throws -> ProjectDefaults {
        var defaults = ProjectDefaults()
        let timeout = inactivityTimeout ?? Environment.int("PARLEY_INACTIVITY_TIMEOUT") ?? Int(InactivitySweeper.defaultTimeoutSeconds)
        guard ValueBounds.inactivityTimeoutSeconds.contains(Int64(timeout)) else {
            let bounds = ValueBounds.inactivityTimeoutSeconds
            throw ValidationError("--inactivity-timeout must be from \(bounds.lowerBound) to \(bounds.upperBound) seconds")
        }
        defaults.inactivityTimeoutSeconds = Int64(timeout)
        if let hash = hashUserIds {
            defaults.hashUserIds = hash
        } else if let text = Environment.string("PARLEY_HASH_USER_IDS") {
            guard let hash = Bool(text.lowercased()) else { throw ValidationError("PARLEY_HASH_USER_IDS must be true or false") }
            defaults.hashUserIds = hash
        }
        if let text = ioPolicy ?? Environment.string("PARLEY_IO_POLICY") {
            guard let policy = ProjectSettings.IOPolicy(rawValue: text) else {
                throw ValidationError("--io-policy must be full, masked or metadata-only, not '\(text)'")
            }
            defaults.ioPolicy = policy
        }
        let days = retentionDays ?? Environment.int("PARLEY_RETENTION_DAYS") ?? 0
        guard days == 0 || ValueBounds.retentionDays.contains(Int64(days)) else {
            throw ValidationError("--retention-days must be 0 (keep forever) or from 1 to \(ValueBounds.retentionDays.upperBound)")
        }
        defaults.retentionDays = days == 0 ? nil : Int64(days)
        return defaults
    }

    private func makeConfiguration() throws -> ServerConfiguration {
        var config = ServerConfiguration()
        config.host = host ?? Environment.string("PARLEY_HOST") ?? config.host
        config.port = noHttp ? nil : (port ?? Environment.int("PARLEY_PORT") ?? config.port)
        config.tlsPort = tlsPort ?? Environment.int("PARLEY_TLS_PORT")
        let cert = tlsCert ?? Environment.string("PARLEY_TLS_CERT")
        let key = tlsKey ?? Environment.string("PARLEY_TLS_KEY")
        if let cert, let key {
            config.tls = TLSConfiguration(certificatePath: cert, privateKeyPath: key)
        } else if config.tlsPort != nil || cert != nil || key != nil {
            throw ValidationError("HTTPS needs --tls-port, --tls-cert and --tls-key together")
        }
        if config.tls != nil && config.tlsPort == nil {
            throw ValidationError("--tls-cert and --tls-key need --tls-port")
        }
        if config.port == nil && config.tlsPort == nil {
            throw ValidationError("no listener: give --port or --tls-port")
        }
        if let threads { config.eventLoopThreads = max(1, threads) }
        if let maxConnections { config.maxConnections = max(1, maxConnections) }
        if let maxHeaderBytes { config.limits.maxHeaderBytes = max(256, maxHeaderBytes) }
        if let maxBodyBytes { config.limits.maxBodyBytes = max(0, maxBodyBytes) }
        if let headerTimeout { config.headerReadTimeout = .seconds(headerTimeout) }
        if let bodyTimeout { config.bodyReadTimeout = .seconds(bodyTimeout) }
        if let idleTimeout { config.idleTimeout = .seconds(idleTimeout) }
        if let tlsHandshakeTimeout { config.tlsHandshakeTimeout = .seconds(tlsHandshakeTimeout) }
        if let shutdownGrace { config.shutdownGracePeriod = .seconds(shutdownGrace) }
        return config
    }
}

extension Database.Durability: ExpressibleByArgument {}

/// Environment fallbacks for flags.
enum Environment {
    static func string(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static func int(_ name: String) -> Int? {
        string(name).flatMap(Int.init)
    }
}

/// Routes POSIX signals to Dispatch sources instead of async-signal-unsafe handlers.
final class SignalHandlers {
    private var sources: [any DispatchSourceSignal] = []

    func on(_ signals: [Int32], _ action: @escaping @Sendable (Int32) -> Void) {
        for number in signals {
            // The default disposition must be ignored, or the signal kills us before Dispatch sees it.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { action(number) }
            source.resume()
            sources.append(source)
        }
    }
}
