import API
import Foundation
import Model
import Storage
import Testing
import TestSupport
import Transport

/// A full disk (issue #9, security): every write path answers 503 with Retry-After, never 500,
/// stores nothing of the refused request, and works again once there is room. The disk is
/// "filled" with `PRAGMA max_page_count` on the writer connection, which makes SQLite fail
/// with SQLITE_FULL exactly as ENOSPC does, without root or a small file system
/// (scripts/reliability/check_diskfull.py does the same on a real tmpfs).
@Suite("Disk full")
struct DiskFullTests {
    /// Caps the database at its current size plus `spare` pages (nil lifts the cap).
    static func cap(_ api: APIHarness, spare: Int?) async throws {
        try await api.database.writer.write { db in
            let pages = Int(try db.scalarText("PRAGMA page_count") ?? "0") ?? 0
            let limit = spare.map { pages + $0 } ?? 1_073_741_823
            _ = try db.scalarText("PRAGMA max_page_count = \(limit)")
        }
    }

    static func batch(_ prefix: String, count: Int, bytes: Int) -> String {
        let text = String(repeating: "x", count: bytes)
        let events = (0..<count).map { index in
            #"{"id":"\#(prefix)-e\#(index)","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","#
                + #""body":{"id":"\#(prefix)-t\#(index)","sessionId":"\#(prefix)-s","input":"\#(text)"}}"#
        }
        return #"{"batch":[\#(events.joined(separator: ","))]}"#
    }

    @Test func everyWritePathAnswers503WithRetryAfterAndRecoversOnceThereIsRoom() async throws {
        try await APIHarness.with { api async throws in
            let first = await api.post("/api/public/ingestion", json: Self.batch("before", count: 2, bytes: 100))
            #expect(first.status == 207)
            let before = try api.test.dump(tables: TestDatabase.ingestionTables)

            try await Self.cap(api, spare: 2)
            let big = String(repeating: "y", count: 200_000)
            let writes: [(String, HTTPResponse)] = [
                ("batch", await api.post("/api/public/ingestion", json: Self.batch("full", count: 5, bytes: 100_000))),
                ("trace", await api.post("/api/public/traces", json: #"{"id":"full-trace","input":"\#(big)"}"#)),
                ("session", await api.post("/api/public/sessions", json: #"{"id":"full-session","metadata":{"x":"\#(big)"}}"#)),
                ("score", await api.post("/api/public/scores", json: #"{"traceId":"before-t0","name":"n","value":1,"comment":"\#(big)"}"#)),
                ("otlp", await api.post("/api/public/otel/v1/traces", json: """
                    {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",
                    "spanId":"b7ad6b7169203331","name":"\(big)","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}
                    """)),
            ]
            for (path, response) in writes {
                #expect(response.status == 503, "\(path): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
                #expect(response.headers["Retry-After"] == "5", "\(path)")
                #expect(try response.json()["message"]?.stringValue == "Storage is full; retry later", "\(path)")
            }
            // Nothing of the refused writes is stored; reads still answer.
            #expect(try api.test.dump(tables: TestDatabase.ingestionTables) == before)
            #expect(await api.get("/api/public/traces").status == 200)
            #expect(await api.get("/api/public/ready").status == 200)
            #expect(try api.test.database.integrityCheck() == "ok")

            try await Self.cap(api, spare: nil)
            let again = await api.post("/api/public/ingestion", json: Self.batch("full", count: 5, bytes: 100_000))
            #expect(again.status == 207)
            #expect(try IngestionResult(again).successes.count == 5)
            #expect(try api.test.count("traces") == 7)
            #expect(await api.post("/api/public/sessions", json: #"{"id":"full-session"}"#).status == 201)
            #expect(try api.test.database.integrityCheck() == "ok")
        }
    }

    @Test func jobsSharingAGroupTransactionWithAFullDiskAreAcknowledgedOnlyIfStored() async throws {
        // Small batches fit in the pages left, the big one does not; held behind a gate, they
        // share one group transaction. SQLite may roll back only the big statement or the whole
        // transaction: either way a batch is answered 207 exactly when it is stored, and 503
        // otherwise, never 500.
        try await APIHarness.with { api async throws in
            try await Self.cap(api, spare: 8)
            let gate = await WriterGate(api.database.writer)
            let names = ["small-a", "big", "small-b"]
            let tasks = names.map { name in
                Task { await api.post("/api/public/ingestion", json: Self.batch(name, count: name == "big" ? 3 : 1,
                                                                               bytes: name == "big" ? 200_000 : 10)) }
            }
            try await Task.sleep(for: .milliseconds(200))  // lets the three requests reach the queue
            gate.release()
            _ = try await gate.blocker.value
            for (name, task) in zip(names, tasks) {
                let response = await task.value
                let stored = try api.test.count("traces", where: "trace_id LIKE '\(name)-%'")
                switch response.status {
                case 207: #expect(stored > 0, "\(name) acknowledged but not stored")
                case 503: #expect(stored == 0, "\(name) refused but stored")
                default: Issue.record("\(name): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
                }
                if name == "big" { #expect(response.status == 503) }
            }
            #expect(try api.test.database.integrityCheck() == "ok")
            try await Self.cap(api, spare: nil)
            #expect(await api.post("/api/public/ingestion", json: Self.batch("big", count: 3, bytes: 200_000)).status == 207)
        }
    }
}
