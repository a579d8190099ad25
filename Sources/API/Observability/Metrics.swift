import Model
import Storage
import Synchronization
import Transport

/// Request counters and a latency histogram per route, rendered as Prometheus text.
///
/// Route labels are the static route patterns, so label cardinality is bounded by the routes.
package final class Metrics: Sendable {
    /// Upper bounds of the latency histogram buckets, in seconds.
    package static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    private struct Histogram {
        var buckets: [Int]
        var count = 0
        var sum = 0.0
    }

    private struct State {
        var requests: [Key: Int] = [:]
        var latency: [String: Histogram] = [:]
        var transportAnswers: [Int: Int] = [:]
    }

    /// The label for requests that matched no route.
    static let unmatchedRoute = "unmatched"
    private let state = Mutex(State())

    package init() {}

    func record(route: String, method: String, status: Int, seconds: Double) {
        state.withLock { state in
            state.requests[Key(route: route, method: method, status: status), default: 0] += 1
            var histogram = state.latency[route] ?? Histogram(buckets: Array(repeating: 0, count: Self.latencyBuckets.count))
            if let bucket = Self.latencyBuckets.firstIndex(where: { seconds <= $0 }) {
                histogram.buckets[bucket] += 1
            }
            histogram.count += 1
            histogram.sum += seconds
            state.latency[route] = histogram
        }
    }

    func recordTransportAnswer(status: Int) {
        state.withLock { $0.transportAnswers[status, default: 0] += 1 }
    }

    /// Prometheus text exposition format 0.0.4.
    package func render(transport: TransportStats) -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        out += "# HELP parley_http_requests_total HTTP requests answered by a route, by method and status.\n"
        out += "# TYPE parley_http_requests_total counter\n"
        for (key, count) in snapshot.requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            out += "parley_http_requests_total{route=\"\(key.route)\",method=\"\(key.method)\",status=\"\(key.status)\"} \(count)\n"
        }
        out += "# HELP parley_http_transport_responses_total Answers the transport gave itself (framing errors, timeouts, overload), by status.\n"
        out += "# TYPE parley_http_transport_responses_total counter\n"
        for (status, count) in snapshot.transportAnswers.sorted(by: { $0.key < $1.key }) {
            out += "parley_http_transport_responses_total{status=\"\(status)\"} \(count)\n"
        }
        out += "# HELP parley_http_request_duration_seconds Time from a complete request to its response, by route.\n"
        out += "# TYPE parley_http_request_duration_seconds histogram\n"
        for (route, histogram) in snapshot.latency.sorted(by: { $0.key < $1.key }) {
            let label = route
            var cumulative = 0
            for (index, bound) in Self.latencyBuckets.enumerated() {
                cumulative += histogram.buckets[index]
                out += "parley_http_request_duration_seconds_bucket{route=\"\(label)\",le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "parley_http_request_duration_seconds_bucket{route=\"\(label)\",le=\"+Inf\"} \(histogram.count)\n"
            out += "parley_http_request_duration_seconds_sum{route=\"\(label)\"} \(histogram.sum)\n"
            out += "parley_http_request_duration_seconds_count{route=\"\(label)\"} \(histogram.count)\n"
        }
        out += "# HELP parley_http_open_connections Connections currently open.\n"
        out += "# TYPE parley_http_open_connections gauge\n"
        out += "parley_http_open_connections \(transport.openConnections)\n"
        out += "# HELP parley_http_connections_accepted_total Connections accepted.\n"
        out += "# TYPE parley_http_connections_accepted_total counter\n"
        out += "parley_http_connections_accepted_total \(transport.acceptedConnections)\n"
        out += "# HELP parley_http_connections_rejected_total Connections refused with 503 at the connection limit.\n"
        out += "# TYPE parley_http_connections_rejected_total counter\n"
        out += "parley_http_connections_rejected_total \(transport.rejectedConnections)\n"
        out += "# HELP parley_tls_handshake_failures_total TLS handshakes that failed or timed out.\n"
        out += "# TYPE parley_tls_handshake_failures_total counter\n"
        out += "parley_tls_handshake_failures_total \(transport.failedTLSHandshakes)\n"
        out += "# HELP parley_http_received_bytes_total Bytes read from client sockets.\n"
        out += "# TYPE parley_http_received_bytes_total counter\n"
        out += "parley_http_received_bytes_total \(transport.bytesReceived)\n"
        out += "# HELP parley_http_sent_bytes_total Bytes written to client sockets.\n"
        out += "# TYPE parley_http_sent_bytes_total counter\n"
        out += "parley_http_sent_bytes_total \(transport.bytesSent)\n"
        return out
    }

    /// The storage figures: how far session analytics lag behind ingestion, and how often a
    /// drill-down was served from memory.
    static func render(storage database: Database, drillDowns: (hits: Int, misses: Int)) -> String {
        let lag = database.settleLag
        var out = ""
        out += "# HELP parley_drilldown_cache_hits_total Session drill-downs served from memory (unchanged since built).\n"
        out += "# TYPE parley_drilldown_cache_hits_total counter\n"
        out += "parley_drilldown_cache_hits_total \(drillDowns.hits)\n"
        out += "# HELP parley_drilldown_cache_misses_total Session drill-downs built from the database.\n"
        out += "# TYPE parley_drilldown_cache_misses_total counter\n"
        out += "parley_drilldown_cache_misses_total \(drillDowns.misses)\n"
        let folds = database.foldFigures
        out += "# HELP parley_entity_folds_total Entities folded on ingestion: one step on the cached fold, or re-folded from their stored events.\n"
        out += "# TYPE parley_entity_folds_total counter\n"
        out += "parley_entity_folds_total{path=\"step\"} \(folds.steps)\n"
        out += "parley_entity_folds_total{path=\"refold\"} \(folds.refolds)\n"
        out += "# HELP parley_sessions_dirty Sessions whose analytics are still to be settled.\n"
        out += "# TYPE parley_sessions_dirty gauge\n"
        out += "parley_sessions_dirty \(database.dirtySessionCount)\n"
        out += "# HELP parley_sessions_settled_total Dirty sessions settled since start.\n"
        out += "# TYPE parley_sessions_settled_total counter\n"
        out += "parley_sessions_settled_total \(lag.settled)\n"
        out += "# HELP parley_settle_lag_mean_seconds Mean time from a write to the settling of the session it changed.\n"
        out += "# TYPE parley_settle_lag_mean_seconds gauge\n"
        out += "parley_settle_lag_mean_seconds \(lag.meanMs / 1000)\n"
        out += "# HELP parley_settle_lag_max_seconds Longest time from a write to the settling of the session it changed.\n"
        out += "# TYPE parley_settle_lag_max_seconds gauge\n"
        out += "parley_settle_lag_max_seconds \(Timestamp.seconds(millis: lag.maxMs))\n"
        return out
    }
}
