import API
import Foundation
import Model
import Storage
import Testing
import TestSupport
import Transport

/// `POST /api/public/ingestion` (operationId `ingestionBatch`) with bad input: a broken envelope
/// is a 400 (or 413), a bad event is reported alone in the 207 and the rest are stored
/// (langfuse-api.md §3.1, §3.3, §3.5, §3.6).
@Suite("Ingestion API: validation")
struct IngestionValidationTests {
    static let goodTrace = #"{"id":"good-trace","type":"trace-create","timestamp":"2026-11-24T21:58:28.1Z","body":{"id":"t-good","name":"fine"}}"#
    static let goodSpan = #"{"id":"good-span","type":"span-create","timestamp":"2026-11-24T21:58:28.2Z","body":{"id":"o-good","traceId":"t-good"}}"#

    static func batch(_ events: String...) -> String {
        #"{"batch":[\#(events.joined(separator: ","))],"metadata":{"sdk_name":"test"}}"#
    }

    static func expectJSONError(_ response: HTTPResponse, status: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(response.headers["Content-Type"] == "application/json", sourceLocation: sourceLocation)
        let body = try? response.json()
        #expect(body?["message"]?.stringValue?.isEmpty == false, "\(response.text)", sourceLocation: sourceLocation)
        #expect(body?["error"]?.stringValue?.isEmpty == false, "\(response.text)", sourceLocation: sourceLocation)
    }

    /// Under overload (the writer's oldest job has waited past `maxQueueDelay`), a batch is
    /// answered 503 with Retry-After before its body is even decoded: a body that is not JSON
    /// gets the 503, not the 400. Once the writer catches up, the batch is accepted.
    @Test func overloadIsA503BeforeTheBodyIsDecoded() async throws {
        var configuration = Database.Configuration()
        configuration.writer.maxQueueDelay = .milliseconds(100)
        try await APIHarness.with(configuration: configuration) { api async throws in
            let gate = await WriterGate(api.database.writer)
            let queued = Task.immediate { try await api.database.writer.write { _ in () } }
            try await Task.sleep(for: .milliseconds(200))
            let refused = await api.post("/api/public/ingestion", json: "not json")
            Self.expectJSONError(refused, status: 503)
            #expect(refused.headers["Retry-After"] == "1")
            gate.release()
            _ = try await gate.blocker.value
            try await queued.value
            let accepted = await api.post("/api/public/ingestion", json: Self.batch(Self.goodTrace))
            #expect(accepted.status == 207)
            #expect(try api.test.count("traces") == 1)
        }
    }

    /// A request that waited longer than the writer's queue delay before its handler ran (the
    /// server is short of CPU, not of storage) is refused the same way, and a fresh one is not.
    @Test func aRequestThatWaitedTooLongForItsHandlerIsA503() async throws {
        try await APIHarness.with { api async throws in
            let body = Array(Self.batch(Self.goodTrace).utf8)
            let headers: HTTPHeaders = ["Content-Type": "application/json", "Authorization": APIHarness.basic]
            let stale = await api.respond(HTTPRequest(
                method: "POST", target: "/api/public/ingestion", headers: headers, body: body,
                receivedAtNanos: MonotonicClock.nanos() &- 2 * UInt64(APIHarness.maxRequestWait.components.seconds) * 1_000_000_000))
            Self.expectJSONError(stale, status: 503)
            #expect(stale.headers["Retry-After"] == "1")
            #expect(try api.test.count("traces") == 0)
            let fresh = await api.respond(HTTPRequest(method: "POST", target: "/api/public/ingestion", headers: headers, body: body))
            #expect(fresh.status == 207)
            #expect(try api.test.count("traces") == 1)
        }
    }

    @Test(arguments: ["", "not json", "{", #"{"batch":[]} trailing"#, "{'batch':[]}", #"{"batch":[1,]}"#])
    func bodyThatIsNotJSONIsA400WithAJSONError(body: String) async throws {
        try await APIHarness.with { api async throws in
            Self.expectJSONError(await api.post("/api/public/ingestion", json: body), status: 400)
        }
    }

    @Test(arguments: ["{}", #"{"batch":null}"#, #"{"batch":{}}"#, #"{"batch":"[]"}"#, #"{"batch":1}"#, "[]", #""batch""#, #"{"metadata":{}}"#])
    func missingOrNonArrayBatchIsA400(body: String) async throws {
        try await APIHarness.with { api async throws in
            Self.expectJSONError(await api.post("/api/public/ingestion", json: body), status: 400)
        }
    }

    @Test func invalidUTF8InsideAStringIsA400AndStoresNothing() async throws {
        try await APIHarness.with { api async throws in
            let head = Array(#"{"batch":[{"id":"e1","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1","name":"bad "#.utf8)
            let body = head + [0xC3, 0x28] + Array(#""}}]}"#.utf8)
            Self.expectJSONError(await api.post("/api/public/ingestion", body: body), status: 400)
            let stored = try api.test.count("events")
            #expect(stored == 0)
        }
    }

    @Test func nestingDeeperThanTheParserAllowsIsA400() async throws {
        try await APIHarness.with { api async throws in
            let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            let body = #"{"batch":[{"id":"e1","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1","input":\#(deep)}}]}"#
            Self.expectJSONError(await api.post("/api/public/ingestion", json: body), status: 400)
        }
    }

    @Test(arguments: [
        // (reported id, event)
        ("name-number", #"{"id":"name-number","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1","name":42}}"#),
        ("naive-envelope", #"{"id":"naive-envelope","type":"trace-create","timestamp":"2026-11-24T21:58:28","body":{"id":"t1"}}"#),
        ("naive-start", #"{"id":"naive-start","type":"span-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"o1","startTime":"2026-11-24T21:58:28.5"}}"#),
        ("bad-date", #"{"id":"bad-date","type":"trace-create","timestamp":"2026-02-30T21:58:28Z","body":{"id":"t1"}}"#),
        ("tags-numbers", #"{"id":"tags-numbers","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1","tags":["ok",1]}}"#),
        ("tags-string", #"{"id":"tags-string","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1","tags":"a,b"}}"#),
        ("public-string", #"{"id":"public-string","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1","public":"yes"}}"#),
        ("level-unknown", #"{"id":"level-unknown","type":"span-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"o1","level":"LOUD"}}"#),
        ("span-no-id", #"{"id":"span-no-id","type":"span-create","timestamp":"2026-11-24T21:58:28Z","body":{"traceId":"t1","name":"x"}}"#),
        ("generation-empty-id", #"{"id":"generation-empty-id","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":""}}"#),
        ("update-no-id", #"{"id":"update-no-id","type":"generation-update","timestamp":"2026-11-24T21:58:28Z","body":{"output":"x"}}"#),
        ("score-two-targets", #"{"id":"score-two-targets","type":"score-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"s1","traceId":"t1","sessionId":"s","name":"n","value":1}}"#),
        ("score-no-name", #"{"id":"score-no-name","type":"score-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"s1","traceId":"t1","value":1}}"#),
        ("score-bad-type", #"{"id":"score-bad-type","type":"score-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"s1","traceId":"t1","name":"n","value":"x","dataType":"NUMERIC"}}"#),
        ("score-bad-source", #"{"id":"score-bad-source","type":"score-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"s1","traceId":"t1","name":"n","value":1,"source":"BANANA"}}"#),
        ("name-too-long", #"{"id":"name-too-long","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1","name":"\#(String(repeating: "n", count: 1001))"}}"#),
        ("unknown-type", #"{"id":"unknown-type","type":"banana-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1"}}"#),
        ("internal-type", #"{"id":"internal-type","type":"dataset-run-item-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"d1"}}"#),
        ("type-missing", #"{"id":"type-missing","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1"}}"#),
        ("body-array", #"{"id":"body-array","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":[]}"#),
        ("body-missing", #"{"id":"body-missing","type":"trace-create","timestamp":"2026-11-24T21:58:28Z"}"#),
        ("usage-text", #"{"id":"usage-text","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","usage":{"input":"ten"}}}"#),
        ("usage-details-list", #"{"id":"usage-details-list","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","usageDetails":[1]}}"#),
        // Huge numbers (issue #9): not finite, or counts past ValueBounds.maxCount.
        ("usage-infinite", #"{"id":"usage-infinite","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","usage":{"input":1e400}}}"#),
        ("usage-past-int64", #"{"id":"usage-past-int64","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","usage":{"input":123456789012345678901234567890}}}"#),
        ("usage-cost-infinite", #"{"id":"usage-cost-infinite","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","usage":{"totalCost":-1e400}}}"#),
        ("usage-details-past-limit", #"{"id":"usage-details-past-limit","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","usageDetails":{"input":1000000000001}}}"#),
        ("usage-details-int64-max", #"{"id":"usage-details-int64-max","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","usageDetails":{"a":9223372036854775807,"b":9223372036854775807}}}"#),
        ("usage-details-openai-nested", #"{"id":"usage-details-openai-nested","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","usageDetails":{"prompt_tokens":1,"prompt_tokens_details":{"cached_tokens":1e400}}}}"#),
        ("cost-details-infinite", #"{"id":"cost-details-infinite","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","costDetails":{"input":1e400}}}"#),
        ("prompt-half", #"{"id":"prompt-half","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","promptName":"p"}}"#),
        ("legacy-no-type", #"{"id":"legacy-no-type","type":"observation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"o1"}}"#),
        ("trace-id-cr", #"{"id":"trace-id-cr","type":"span-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"o1","traceId":"a\rb"}}"#),
        ("trace-id-crlf", #"{"id":"trace-id-crlf","type":"span-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"o1","traceId":"a\r\nb"}}"#),
        ("user-id-nul", #"{"id":"user-id-nul","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t-nul","userId":"a\u0000b"}}"#),
        ("unknown", #"{"type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1"}}"#),
        ("unknown", #"{"id":"","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1"}}"#),
        ("unknown", #""not an object""#),
    ])
    func invalidEventIsReportedAloneAndTheOthersAreStored(reportedID: String, invalid: String) async throws {
        try await APIHarness.with { api async throws in
            let response = await api.post("/api/public/ingestion", json: Self.batch(Self.goodTrace, invalid, Self.goodSpan))
            #expect(response.status == 207)
            let result = try IngestionResult(response)
            #expect(result.successIDs == ["good-trace", "good-span"])
            try #require(result.errors.count == 1, "\(result.errors)")
            let error = result.errors[0]
            #expect(error.id == reportedID)
            #expect(error.status == 400)
            #expect(error.message == "Invalid request data")
            #expect(error.error?.isEmpty == false)
            #expect(try api.test.count("traces") == 1)
            #expect(try api.test.count("traces", where: "trace_id = 't-good'") == 1)
            #expect(try api.test.count("observations") == 1)
            #expect(try api.test.count("scores") == 0)
            #expect(try api.test.count("events") == 2)
        }
    }

    @Test func usageCountsAtTheLimitAndHugeMetadataNumbersAreStoredAndReadBack() async throws {
        try await APIHarness.with { api async throws in
            let limit = ValueBounds.maxCount
            let response = await api.post("/api/public/ingestion", json: Self.batch(
                #"{"id":"e1","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","traceId":"t1","usage":{"input":\#(limit),"output":\#(limit)},"metadata":{"big":1e400,"long":123456789012345678901234567890}}}"#))
            #expect(try IngestionResult(response).successIDs == ["e1"])
            let observation = try await api.json("/api/public/observations/g1")
            #expect(observation["usage"]?["input"]?.intValue == limit)
            #expect(observation["totalTokens"]?.intValue == 2 * limit)
            // Free-form JSON keeps the numbers as sent.
            #expect(observation["metadata"]?["big"] == .number("1e400"))
            #expect(observation["metadata"]?["long"] == .number("123456789012345678901234567890"))
        }
    }

    @Test func idsOfUpTo800CharactersAreAcceptedAndLongerOnesRejected() async throws {
        try await APIHarness.with { api async throws in
            let ok = String(repeating: "a", count: 800)
            let long = String(repeating: "b", count: 801)
            let response = await api.post("/api/public/ingestion", json: Self.batch(
                #"{"id":"\#(ok)","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"\#(ok)"}}"#,
                #"{"id":"e2","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"\#(long)"}}"#))
            let result = try IngestionResult(response)
            #expect(result.successIDs == [ok])
            #expect(result.errors.map(\.id) == ["e2"])
        }
    }

    @Test func traceNameOfExactly1000CharactersIsAccepted() async throws {
        try await APIHarness.with { api async throws in
            let name = String(repeating: "n", count: 1000)
            let response = await api.post("/api/public/ingestion", json: Self.batch(
                #"{"id":"e1","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1","name":"\#(name)"}}"#))
            #expect(try IngestionResult(response).successIDs == ["e1"])
            #expect(try api.test.count("traces", where: "length(name) = 1000") == 1)
        }
    }

    @Test func eventsWithoutABodyIDAreSuccessesButNotStoredForTracesAndScores() async throws {
        // langfuse-api.md §3.3: a trace or score without `id` is reported as success and dropped.
        try await APIHarness.with { api async throws in
            let response = await api.post("/api/public/ingestion", json: Self.batch(
                #"{"id":"e-trace","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"name":"no id"}}"#,
                #"{"id":"e-score","type":"score-create","timestamp":"2026-11-24T21:58:28Z","body":{"traceId":"t","name":"n","value":1}}"#))
            let result = try IngestionResult(response)
            #expect(result.successIDs == ["e-trace", "e-score"])
            #expect(result.errors.isEmpty)
            #expect(try api.test.count("traces") == 0)
            #expect(try api.test.count("scores") == 0)
        }
    }

    @Test func manyInvalidEventsAreEachReportedInBatchOrder() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.post("/api/public/ingestion", json: Self.batch(
                #"{"id":"x1","type":"nope","timestamp":"2026-11-24T21:58:28Z","body":{}}"#,
                Self.goodTrace,
                #"{"id":"x2","type":"span-create","timestamp":"2026-11-24T21:58:28Z","body":{}}"#,
                #"{"id":"x3","type":"trace-create","timestamp":"yesterday","body":{"id":"t"}}"#))
            let result = try IngestionResult(response)
            #expect(result.errors.map(\.id) == ["x1", "x2", "x3"])
            #expect(result.successIDs == ["good-trace"])
        }
    }

    @Test func sdkLogEventsAppearInNeitherList() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.post("/api/public/ingestion", json: Self.batch(
                #"{"id":"log-1","type":"sdk-log","timestamp":"2026-11-24T21:58:28Z","body":{"log":{"level":"warn"}}}"#,
                Self.goodTrace))
            let result = try IngestionResult(response)
            #expect(result.successIDs == ["good-trace"])
            #expect(result.errors.isEmpty)
            #expect(try api.test.count("events") == 1)
        }
    }

    @Test func emptyBatchIs207WithBothListsEmpty() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.post("/api/public/ingestion", json: #"{"batch":[]}"#)
            #expect(response.status == 207)
            #expect(response.text == #"{"successes":[],"errors":[]}"#)
        }
    }

    @Test func answerHasTheShapeTheSDKsParse() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.post("/api/public/ingestion", json: Self.batch(Self.goodTrace, #"{"id":"bad","type":"x"}"#))
            let minimal = try JSONParser.parse(try SDKFixtures.bytes("read-api-minimal-responses/POST_api_public_ingestion_207.json"))
            #expect(AuthenticationTests.missingKeys(required: minimal, in: try response.json()) == [])
            let error = try #require(try response.json()["errors"]?.arrayValue?.first)
            #expect(error.objectValue?.map(\.0) == ["id", "status", "message", "error"])
        }
    }

    @Test func batchOverTheDocumentedLimitIsA413() async throws {
        try await APIHarness.with { api async throws in
            let filler = String(repeating: "x", count: 3_500_001)
            let response = await api.post("/api/public/ingestion", json: #"{"batch":[],"metadata":"\#(filler)"}"#)
            Self.expectJSONError(response, status: 413)
            #expect(try api.test.count("events") == 0)
        }
    }

    @Test func oversizedBodyIsA413EvenWhenItIsNotJSON() async throws {
        try await APIHarness.with { api async throws in
            let garbage = [UInt8](repeating: UInt8(ascii: "{"), count: 3_500_001)
            Self.expectJSONError(await api.post("/api/public/ingestion", body: garbage), status: 413)
        }
    }

    @Test func tenThousandSmallEventsUnderTheLimitAreAllStored() async throws {
        try await APIHarness.with { api async throws in
            let count = 10_000
            let events = (0..<count).map { index in
                #"{"id":"e-\#(index)","type":"trace-create","timestamp":"2026-11-24T21:58:28.\#(String(format: "%06d", index))Z","body":{"id":"t-\#(index)","name":"n"}}"#
            }
            let body = #"{"batch":[\#(events.joined(separator: ","))]}"#
            #expect(body.utf8.count < 3_500_000)
            let response = await api.post("/api/public/ingestion", json: body)
            #expect(response.status == 207)
            let result = try IngestionResult(response)
            #expect(result.errors.isEmpty)
            #expect(result.successes.count == count)
            #expect(try api.test.count("traces") == count)
            #expect(try api.test.count("events") == count)
        }
    }

    @Test func getOnIngestionIs405() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.get("/api/public/ingestion")
            #expect(response.status == 405)
            let body = try response.json()
            #expect(body["error"]?.stringValue == "MethodNotAllowedError")
        }
    }
}
