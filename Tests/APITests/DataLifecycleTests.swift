@testable import API
import Foundation
import Model
import Storage
import Testing
import TestSupport
import Transport

/// Rows in any table that still mention `needle` (ids, bodies, job targets), table by table.
private func mentions(_ needle: String, in api: APIHarness) throws -> [String: Int] {
    var found: [String: Int] = [:]
    let columns: [String: [String]] = [
        "traces": ["trace_id", "user_id", "session_id"], "observations": ["trace_id"], "scores": ["trace_id", "session_id"],
        "sessions": ["session_id", "user_id"], "users": ["user_id"], "events": ["entity_id", "body"],
        "deletion_jobs": ["target"],
    ]
    for (table, names) in columns {
        let condition = names.map { "instr(\($0), '\(needle)') > 0" }.joined(separator: " OR ")
        let count = try api.test.count(table, where: condition)
        if count > 0 { found[table] = count }
    }
    return found
}

@Suite("Users API")
struct UsersAPITests {
    @Test("lists users with their figures, sorted and paged, and shows one with recent sessions")
    func listAndGet() async throws {
        try await APIHarness.with { api in
            try await api.ingest(Build.turn("a-1", session: "sa-1", user: "ann", number: 1, at: 0)
                                 + Build.turn("a-2", session: "sa-1", user: "ann", number: 2, at: 60_000)
                                 + Build.turn("a-3", session: "sa-2", user: "ann", number: 1, at: 3 * 86_400_000)
                                 + Build.turn("b-1", session: "sb-1", user: "bob", number: 1, at: 1000))
            let page = try await api.json("/api/public/users?orderBy=lastSeen.desc&limit=1")
            #expect(page["meta"]?["totalItems"]?.intValue == 2)
            #expect(page["meta"]?["totalPages"]?.intValue == 2)
            let ann = try #require(page.data.first)
            #expect(ann["id"]?.stringValue == "ann")
            #expect(ann["sessions"]?.intValue == 2)
            #expect(ann["traces"]?.intValue == 3)
            #expect(ann["retentionDays"]?.intValue == 3)
            #expect(ann["meanSessionTurns"]?.doubleValue == 1.5)
            #expect(ann["totalTokens"]?.intValue == 360)
            #expect(ann["firstSeen"]?.stringValue == Build.time(0))
            #expect(try await api.ids("/api/public/users?orderBy=userId.asc") == ["ann", "bob"])
            #expect(try await api.ids("/api/public/users?orderBy=traces.asc") == ["bob", "ann"])
            #expect(await api.get("/api/public/users?orderBy=height.asc").status == 400)

            let detail = try await api.json("/api/public/users/ann")
            #expect(detail["recentSessions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["sa-2", "sa-1"])
            #expect(detail["recentSessions"]?.arrayValue?.last?["turnCount"]?.intValue == 2)
            let missing = await api.get("/api/public/users/nobody")
            #expect(missing.status == 404)
            #expect(try missing.json()["error"]?.stringValue == "LangfuseNotFoundError")
        }
    }
}

@Suite("Deletion and erasure")
struct DeletionTests {
    @Test("DELETE a session removes it with its traces, observations, scores and events, and nothing else")
    func deleteSession() async throws {
        try await APIHarness.with { api in
            try await api.ingest(Build.turn("t-1", session: "gone", user: "u", at: 0) + Build.turn("t-2", session: "gone", user: "u", at: 10)
                                 + Build.turn("t-3", session: "kept", user: "u", at: 20)
                                 + [Build.score("sc-1", session: "gone", name: "csat", value: 1), Build.score("sc-2", trace: "t-1", name: "ok", value: 1)])
            let response = await api.delete("/api/public/sessions/gone")
            #expect(response.status == 200, "\(response.text)")
            let body = try response.json()
            #expect(body["status"]?.stringValue == "done")
            #expect(body["deletedTraces"]?.intValue == 2)
            #expect(body["deletedSessions"]?.intValue == 1)
            let left = try mentions("gone", in: api)
            #expect(left.isEmpty, "\(left)")
            #expect(try api.test.count("observations", where: "trace_id IN ('t-1', 't-2')") == 0)
            #expect(try api.test.count("scores") == 0)
            #expect(try api.test.count("traces", where: "trace_id = 't-3'") == 1)
            #expect(try await api.json("/api/public/sessions/kept")["id"]?.stringValue == "kept")
            #expect(await api.get("/api/public/sessions/gone").status == 404)
            #expect(await api.delete("/api/public/sessions/gone").status == 404)
        }
    }

    @Test("erasing a user too large for one answer is 202, finishes in the background and leaves no row of them")
    func eraseLargeUser() async throws {
        try await APIHarness.with(defaults: ProjectDefaults(), deletionBatchSize: 5) { api in
            var events: [JSONValue] = []
            for index in 0..<30 {
                events += Build.turn("e-\(index)", session: "es-\(index % 4)", user: "erase.me@example.com", at: Int64(index) * 10)
            }
            // A trace of theirs without a user id, in one of their sessions, goes with the session.
            events.append(Build.trace("anon-in-theirs", session: "es-0", at: 5))
            events += Build.turn("other-1", session: "os-1", user: "someone-else", at: 0)
            try await api.ingest(events)
            let hashed = try #require(try await api.json("/api/public/users/erase.me@example.com")["id"]?.stringValue)

            let response = await api.delete("/api/public/users/erase.me@example.com")
            #expect(response.status == 202, "\(response.text)")
            let location = try #require(response.headers["Location"])
            var status = try await api.json(location)
            for _ in 0..<500 where status["status"]?.stringValue != "done" {
                try await Task.sleep(for: .milliseconds(20))
                status = try await api.json(location)
            }
            #expect(status["status"]?.stringValue == "done")
            #expect(status["deletedTraces"]?.intValue == 31)
            #expect(status["deletedSessions"]?.intValue == 4)
            let left = try mentions(hashed, in: api)
            #expect(left.isEmpty, "\(left)")
            #expect(try api.test.count("traces", where: "trace_id LIKE 'e-%' OR trace_id = 'anon-in-theirs'") == 0)
            #expect(try api.test.count("sessions", where: "session_id LIKE 'es-%'") == 0)
            #expect(try api.test.count("traces", where: "trace_id = 'other-1'") == 1)
            #expect(await api.get("/api/public/users/erase.me@example.com").status == 404)
        }
    }

    @Test("a small erasure is answered 200 with what it removed; unknown users and jobs are 404")
    func eraseSmallUser() async throws {
        try await APIHarness.with { api in
            try await api.ingest(Build.turn("t-1", session: "s-1", user: "small", at: 0))
            let body = try await api.json(delete: "/api/public/users/small")
            #expect(body["status"]?.stringValue == "done")
            #expect(body["kind"]?.stringValue == "user")
            #expect(try mentions("small", in: api).isEmpty)
            #expect(await api.delete("/api/public/users/small").status == 404)
            #expect(await api.get("/api/public/deletions/no-such-job").status == 404)
        }
    }
}

@Suite("Retention")
struct RetentionTests {
    @Test("deletes exactly the data older than the project's retention, in bounded steps")
    func exactCutoff() async throws {
        try await APIHarness.with { api in
            let day: Int64 = 86_400_000
            let now = Build.base + 10 * day
            let cutoff = now - 7 * day  // retentionDays = 7
            _ = try await api.json(patch: "/api/public/projects/\(api.project.publicID)/settings", #"{"retentionDays": 7}"#)
            var events: [JSONValue] = []
            // 600 old traces (more than one step of 500), one just older than the cutoff, one at it.
            for index in 0..<600 { events.append(Build.trace("old-\(index)", session: "old-session", at: Int64(index))) }
            events += Build.turn("just-older", session: "edge", at: cutoff - Build.base - 1)
            events += Build.turn("at-cutoff", session: "edge", at: cutoff - Build.base)
            events.append(Build.score("old-score", session: "old-session", name: "nps", value: 9, at: 0))
            events.append(Build.score("new-score", session: "edge", name: "nps", value: 9, at: cutoff - Build.base))
            for chunk in stride(from: 0, to: events.count, by: 200) {
                try await api.ingest(Array(events[chunk..<min(chunk + 200, events.count)]))
            }
            let sweeper = RetentionSweeper(database: api.database, defaultDays: nil, logger: .test) { now }
            let deleted = try await sweeper.sweep(now: now)
            // 601 traces and the session they emptied (its old score goes with it).
            #expect(deleted == 600 + 1 + 1)
            #expect(try api.test.count("traces") == 1)
            #expect(try api.test.count("traces", where: "trace_id = 'at-cutoff'") == 1)
            #expect(try api.test.count("observations", where: "trace_id = 'just-older'") == 0)
            #expect(try api.test.count("scores", where: "score_id = 'new-score'") == 1)
            #expect(try api.test.count("scores") == 1)
            #expect(try api.test.count("sessions", where: "session_id = 'old-session'") == 0)
            #expect(try await api.json("/api/public/sessions/edge")["turnCount"]?.intValue == 1)
            #expect(try await sweeper.sweep(now: now) == 0)
        }
    }

    @Test("a project without retention keeps everything")
    func noRetention() async throws {
        try await APIHarness.with { api in
            try await api.ingest(Build.turn("ancient", session: "s", at: 0))
            let sweeper = RetentionSweeper(database: api.database, defaultDays: nil, logger: .test) { Build.base + 1000 * 86_400_000 }
            #expect(try await sweeper.sweep(now: Build.base + 1000 * 86_400_000) == 0)
            #expect(try api.test.count("traces") == 1)
        }
    }
}

@Suite("Data quality report")
struct QualityReportTests {
    @Test("counts and samples orphans, missing parents, rootless traces, turn issues and rejected events")
    func report() async throws {
        try await APIHarness.with { api in
            try await api.ingest([
                Build.trace("orphan", at: 0),
                Build.trace("rootless", session: "s-1", at: 0),
                Build.observation("span", "child", trace: "rootless", parent: "never-sent", name: "step", start: 0, end: 5),
            ] + Build.turn("ok-1", session: "s-2", number: 1, at: 0) + Build.turn("ok-2", session: "s-2", number: 1, at: 10))
            let bad = Build.batch([Build.envelope("trace-create", .object([("id", JSONValue(5))]), at: 0)])
            let response = await api.post("/api/public/ingestion", json: bad)
            #expect(response.status == 207)
            #expect(await api.post("/api/public/ingestion", json: "{not json").status == 400)

            let window = "fromTimestamp=\(Build.time(-1000))&toTimestamp=\(Timestamp.iso8601(millis: nowMillisForTest() + 60_000))"
            let report = try await api.json("/api/public/quality?\(window)")
            #expect(report["orphanTraces"]?["count"]?.intValue == 1)
            #expect(report["orphanTraces"]?["samples"]?.arrayValue?.first?["traceId"]?.stringValue == "orphan")
            #expect(report["observationsWithMissingParent"]?["count"]?.intValue == 1)
            #expect(report["observationsWithMissingParent"]?["samples"]?.arrayValue?.first?["parentObservationId"]?.stringValue == "never-sent")
            #expect(report["tracesWithoutRoot"]?["count"]?.intValue == 1)
            #expect(report["tracesWithoutRoot"]?["samples"]?.arrayValue?.first?["traceId"]?.stringValue == "rootless")
            // s-2 sends turn 1 twice; s-1's only trace has no turn number.
            #expect(report["sessionsWithTurnIssues"]?["count"]?.intValue == 2)
            let issues = report["sessionsWithTurnIssues"]?["samples"]?.arrayValue ?? []
            #expect(issues.compactMap { $0["sessionId"]?.stringValue }.sorted() == ["s-1", "s-2"])
            #expect(issues.first { $0["sessionId"]?.stringValue == "s-2" }?["turnIssues"]?["duplicates"]?.arrayValue?.isEmpty == false)
            #expect(report["rejectedEvents"]?["count"]?.intValue == 2)
            let reasons = report["rejectedEvents"]?["reasons"]?.arrayValue ?? []
            #expect(reasons.count == 2)
            #expect(reasons.allSatisfy { $0["source"]?.stringValue == "ingestion" })
            #expect(await api.get("/api/public/quality?samples=99").status == 400)
        }
    }
}

func nowMillisForTest() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

extension APIHarness {
    /// DELETE `path`, requiring 200; the body as JSON.
    func json(delete path: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        let response = await delete(path)
        try #require(response.status == 200, "DELETE \(path): \(response.status) \(response.text.prefix(400))",
                     sourceLocation: sourceLocation)
        return try response.json()
    }
}

@Suite("Export")
struct ExportTests {
    /// The whole body of a response, pulling every piece of a streamed one; also the pieces.
    private func drain(_ response: HTTPResponse) async throws -> (body: [UInt8], pieces: Int) {
        guard let stream = response.stream else { return (response.body, 0) }
        var body: [UInt8] = []
        var pieces = 0
        while let piece = try await stream.next() {
            body += piece
            pieces += 1
        }
        return (body, pieces)
    }

    /// 1,200 traces in 30 sessions of two users: more than two export batches of 500.
    private func ingestMany(_ api: APIHarness) async throws {
        for chunk in 0..<6 {
            var events: [JSONValue] = []
            for index in (chunk * 200)..<((chunk + 1) * 200) {
                events.append(Build.trace("t-\(index)", session: "s-\(index % 30)", user: index % 30 < 10 ? "ann" : "bob",
                                          at: Int64(index), metadata: .object([("turn_number", JSONValue(index / 30 + 1))])))
            }
            try await api.ingest(events)
        }
    }

    @Test("NDJSON traces round-trip: every trace once, as the list gives it, in batches")
    func tracesNDJSON() async throws {
        try await APIHarness.with { api in
            try await ingestMany(api)
            let response = await api.get("/api/public/export/traces")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "application/x-ndjson")
            #expect(response.headers["Content-Disposition"] == "attachment; filename=\"traces.ndjson\"")
            let (body, pieces) = try await drain(response)
            #expect(pieces == 3)
            let lines = String(decoding: body, as: UTF8.self).split(separator: "\n")
            let traces = try lines.map { try JSONParser.parse(String($0)) }
            #expect(traces.count == 1200)
            #expect(Set(traces.compactMap { $0["id"]?.stringValue }).count == 1200)
            let listed = try await api.json("/api/public/traces?limit=1&orderBy=timestamp.asc").data[0]
            let exported = try #require(traces.first { $0["id"] == listed["id"] })
            for key in ["id", "timestamp", "name", "userId", "sessionId", "metadata", "tags", "totalCost", "latency", "turnNumber"] {
                #expect(exported[key] == listed[key], "\(key)")
            }
            // Filters are the list's: one user's traces only.
            let (annBody, _) = try await drain(await api.get("/api/public/export/traces?userId=ann&sessionId=s-3"))
            #expect(String(decoding: annBody, as: UTF8.self).split(separator: "\n").count == 40)
        }
    }

    @Test("CSV sessions round-trip: a header and one row per session, with the list's filters")
    func sessionsCSV() async throws {
        try await APIHarness.with { api in
            try await ingestMany(api)
            let response = await api.get("/api/public/export/sessions?format=csv&userId=bob")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "text/csv; charset=utf-8")
            let rows = CSVReader.rows(String(decoding: try await drain(response).body, as: UTF8.self))
            let header = try #require(rows.first)
            #expect(Array(header.prefix(4)) == ["id", "createdAt", "projectId", "environment"])
            let records = rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
            #expect(records.count == 20)
            #expect(Set(records.compactMap { $0["id"] }) == Set((10..<30).map { "s-\($0)" }))
            let listed = try await api.json("/api/public/sessions/s-12")
            let row = try #require(records.first { $0["id"] == "s-12" })
            #expect(row["turnCount"] == "40")
            #expect(row["userId"] == listed["userId"]?.stringValue)
            #expect(row["tags"] == "[]")
            #expect(try JSONParser.parse(row["turnIssues"] ?? "") == listed["turnIssues"])
        }
    }

    @Test("an unknown format is 400; an empty result is an empty body")
    func formatsAndEmpty() async throws {
        try await APIHarness.with { api async throws in
            let bad = await api.get("/api/public/export/sessions?format=xml")
            #expect(bad.status == 400)
            #expect(try bad.json()["error"]?.stringValue == "InvalidRequestError")
            #expect(try await drain(await api.get("/api/public/export/traces?format=csv")).body.isEmpty)
        }
    }

    @Test("CSV cells are quoted when needed and formulas are defused")
    func csvCells() {
        var out: [UInt8] = []
        CSV.appendRow(["plain", "a,b", "say \"hi\"", "two\nlines", "=SUM(A1)", "-1"].map(CSV.Cell.text), to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",'=SUM(A1),'-1\r\n")
        #expect(CSVReader.rows(String(decoding: out, as: UTF8.self)) == [["plain", "a,b", "say \"hi\"", "two\nlines", "'=SUM(A1)", "'-1"]])
    }
}

/// A small RFC 4180 reader for the tests (quoted fields, doubled quotes, CRLF rows).
enum CSVReader {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" { field.append("\""); characters.removeFirst() } else { quoted = false }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field); field = ""
            } else if c == "\r\n" || c == "\n" {
                row.append(field); field = ""
                rows.append(row); row = []
            } else {
                field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}

/// Background deletion steps sized by how long they held the writer.
@Suite("Step size")
struct StepSizeTests {
    @Test func aSlowStepHalvesAndAFastFullStepDoublesWithinTheBounds() {
        var size = StepSize(initial: 50, bounds: 1...200, target: .milliseconds(10))
        size.adapt(deleted: 50, took: .milliseconds(30))
        #expect(size.rows == 25)
        size.adapt(deleted: 25, took: .milliseconds(7))  // under target, over half of it: kept
        #expect(size.rows == 25)
        size.adapt(deleted: 25, took: .milliseconds(2))
        #expect(size.rows == 50)
        for _ in 0..<10 { size.adapt(deleted: size.rows, took: .milliseconds(1)) }
        #expect(size.rows == 200)
        for _ in 0..<20 { size.adapt(deleted: size.rows, took: .seconds(1)) }
        #expect(size.rows == 1)
    }

    @Test func aFastStepThatRanOutOfRowsDoesNotGrow() {
        var size = StepSize(initial: 40, bounds: 1...500, target: .milliseconds(10))
        size.adapt(deleted: 3, took: .microseconds(100))
        #expect(size.rows == 40)
        #expect(StepSize(initial: 900, bounds: 1...500, target: .milliseconds(10)).rows == 500)
    }
}
