import API
import Model
import Storage
import Testing
import TestSupport
import Transport

/// `meta.totalItems` of unfiltered session and trace lists comes from `row_counts` (schema v5,
/// kept by triggers); it must always equal a real count, through inserts, deletions and other
/// projects' rows, and filtered lists keep counting.
@Suite("List totals")
struct ListTotalsTests {
    static func totals(_ api: APIHarness, _ path: String) async throws -> Int64? {
        try await api.json(path)["meta"]?["totalItems"]?.intValue
    }

    @Test func unfilteredTotalsMatchRealCountsThroughInsertsAndDeletes() async throws {
        try await APIHarness.with { api async throws in
            var events: [JSONValue] = []
            for index in 0..<12 {
                events += Build.turn("t-\(index)", session: "s-\(index % 5)", user: index % 2 == 0 ? "u-even" : nil, at: Int64(index) * 1000)
            }
            try await api.ingest(events)
            // Rows of another project never count for this one.
            _ = try await api.database.writer.write { db in
                let other = try ProjectStore.createProject(publicID: "other", name: "other", now: 1, on: db)
                try db.execute("""
                    INSERT INTO sessions (project_id, session_id, created_at, updated_at) VALUES (\(other.rowID), 'x', 1, 1);
                    INSERT INTO traces (project_id, trace_id, timestamp, created_at, updated_at) VALUES (\(other.rowID), 'x', 1, 1, 1);
                    """)
            }
            #expect(try await Self.totals(api, "/api/public/sessions") == 5)
            #expect(try await Self.totals(api, "/api/public/traces") == 12)

            #expect(await api.delete("/api/public/traces/t-3").status < 300)
            #expect(await api.delete("/api/public/traces", json: #"{"traceIds": ["t-4", "t-5"]}"#).status < 300)
            _ = try await api.database.writer.write { db in try db.execute("DELETE FROM sessions WHERE session_id = 's-0'") }
            let real = try api.database.readBlocking { db in
                [try db.scalarText("SELECT count(*) FROM sessions WHERE project_id = \(api.project.rowID)"),
                 try db.scalarText("SELECT count(*) FROM traces WHERE project_id = \(api.project.rowID)")]
            }
            #expect(real == ["4", "9"])
            #expect(try await Self.totals(api, "/api/public/sessions") == 4)
            #expect(try await Self.totals(api, "/api/public/traces") == 9)
            // A filter still counts the matching rows.
            #expect(try await Self.totals(api, "/api/public/traces?userId=u-even") == 5)
            #expect(try await Self.totals(api, "/api/public/sessions?userId=u-even") == 4)
        }
    }
}
