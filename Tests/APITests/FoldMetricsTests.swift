import Model
import Testing

/// `/metrics` tells how ingestion folded entities (docs/ARCHITECTURE.md, "Folding entities").
@Suite("Fold metrics")
struct FoldMetricsTests {
    static func count(_ path: String, in metrics: String) -> Int? {
        let prefix = #"parley_entity_folds_total{path="\#(path)"} "#
        return metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) }
    }

    @Test func aTraceUpdatedInOrderIsFoldedOnceThenSteppedAndALateUpdateReFolds() async throws {
        try await APIHarness.with { api in
            try await api.ingest([Build.trace("t", session: "s", at: 0)])
            try await api.ingest([Build.trace("t", name: "renamed", at: 10)])
            try await api.ingest([Build.trace("t", name: "later", at: 20)])
            // Sorts before the last event: the trace is rebuilt from its stored events.
            try await api.ingest([Build.trace("t", name: "late", at: 5)])
            let metrics = await api.get("/metrics").text
            #expect(Self.count("step", in: metrics) == 2, "\(metrics)")
            #expect(Self.count("refold", in: metrics) == 2, "\(metrics)")
            // The late event sorts before the others, so the newest name stays.
            #expect(try await api.json("/api/public/traces/t")["name"]?.stringValue == "later")
        }
    }
}
