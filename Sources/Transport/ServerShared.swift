import Logging
import Synchronization

/// State every listener and connection of one server shares. Immutable except for the atomics
/// and the mutex-guarded TLS context.
final class ServerShared: Sendable {
    let configuration: ServerConfiguration
    let responder: any HTTPResponder
    let observer: (any TransportObserver)?
    let stats: TransportStats
    let logger: Logger
    let tlsContext: Mutex<TLSContext?>
    let shuttingDown = Atomic<Bool>(false)
    init(
        configuration: ServerConfiguration, responder: any HTTPResponder,
        observer: (any TransportObserver)?, stats: TransportStats, logger: Logger, tlsContext: TLSContext?
    ) {
        self.configuration = configuration
        self.responder = responder
        self.observer = observer
        self.stats = stats
        self.logger = logger
        self.tlsContext = Mutex(tlsContext)
    }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }
}
