import Foundation
import Ingest
import Model
import OTLP

/// Valid requests whose numbers and dates are extreme (issue #17). The input bytes only steer a
/// generator: every batch it writes is well-formed JSON of the Langfuse shape, every OTLP span
/// a valid span, and every value is drawn from the ends of its range (Int64 and UInt64 limits,
/// the bounds of `ValueBounds` and one past them, huge and tiny doubles, the first and last
/// instants of the calendar). They go through what the server does with them short of SQL:
/// validation, the OTLP mapper, the privacy policy and the merge, the session analysis and
/// lifecycle, journey funnels, project settings and the sweepers' arithmetic, and the read
/// path's date formatting.
///
/// It fails on a trap (any overflow or bad conversion), and on work or memory out of proportion
/// to the request: the analysis output and everything written out is bounded by a multiple of
/// the request's size, and in the replay mode (`parley-fuzz extreme-values --random N`, which
/// the fast extreme-values check runs) the process's peak memory may not grow by more than
/// `maxMemoryGrowthBytes` over all inputs, and an input taking 30 s ends the run. Under
/// libFuzzer (fuzz.sh), `-timeout`, `-rss_limit_mb` and `-malloc_limit_mb` do that.
enum ExtremeValuesFuzzer {
    /// Peak resident memory may grow at most this much over a run: one list sized by a turn
    /// number of 10^8 (the bug this target exists for) is 800 MB.
    static let maxMemoryGrowthBytes = 256 << 20
    /// Output bytes per request byte, plus a constant: well above what any field needs.
    static let outputPerInputByte = 64
    static let outputAllowance = 64 << 10

    // Both drivers call `run` on one thread only.
    nonisolated(unsafe) static var baselineRSS: Int?

    static func run(_ input: [UInt8]) {
        if baselineRSS == nil { baselineRSS = peakRSS() }
        var random = InputRandom(input)
        var generator = Generator(random: random)
        let batch = generator.batch()
        let export = generator.export().jsonBytes
        let settings = generator.settings()
        let policy = EventFold.policies[random.next(in: 0...(EventFold.policies.count - 1))]

        // Batch ingestion: the document parses, each event is validated on its own.
        let text = JSONValue.object([("batch", .array(batch))]).jsonBytes
        let document: JSONValue
        do {
            document = try JSONParser.parse(text)
        } catch {
            fuzzCheck(false, "a generated batch does not parse: \(error)")
            return
        }
        var events: [IngestionEvent] = []
        for raw in document["batch"]?.arrayValue ?? [] {
            if case .success(let event) = EventValidator.validate(raw) { events.append(event) }
        }
        // OTLP export: spans with extreme times and attributes, decoded and mapped as the handler does.
        do {
            events += OTLPMapper.events(for: try OTLPDecoder.decodeJSON(export).spans)
        } catch {
            fuzzCheck(false, "a generated OTLP export does not decode: \(error)")
        }
        let records = EventFold.apply(events, policy: policy)

        // Settings as stored (any JSON a PATCH or an older version left) and as changed.
        let stored = ProjectSettings(settings)
        for (key, value) in settings.objectValue ?? [] { _ = ProjectSettings.validatedChange(key, value) }
        let now = generator.instantMillis()
        _ = stored.retentionCutoff(now: now, defaultDays: generator.number().intValue)
        _ = stored.inactivityTimeoutMs(default: generator.number().intValue ?? 0)

        var output = 0
        output += analyseSessions(records, windows: stored.windows, now: now)
        output += readForms(records)
        output += stored.json.jsonBytes.count

        let input = text.count + export.count
        fuzzCheck(output <= input * outputPerInputByte + outputAllowance,
                  "\(output) bytes of analysis and reads for a \(input)-byte request")
        #if !FUZZING
        // Under libFuzzer, ASan's quarantine holds freed memory; -malloc_limit_mb (fuzz.sh) and
        // -rss_limit_mb take this check's place there.
        if let baseline = baselineRSS {
            let grown = peakRSS() - baseline
            fuzzCheck(grown <= maxMemoryGrowthBytes, "peak memory grew by \(grown >> 20) MB")
        }
        #endif
    }

    /// Groups the traces into sessions and runs what a session refresh computes; returns the
    /// size of what would be stored.
    static func analyseSessions(_ records: EventFold.Records, windows: ContextWindows, now: Int64) -> Int {
        var ends: [String: Int64] = [:]
        var peaks: [String: (Int64, String?)] = [:]
        for observation in records.observations {
            guard let trace = observation.traceID else { continue }
            let end = observation.endTimeMillis ?? observation.startTimeMillis
            ends[trace] = max(ends[trace] ?? end, end)
            if observation.type == "GENERATION", let tokens = observation.inputTokens, tokens > (peaks[trace]?.0 ?? .min) {
                peaks[trace] = (tokens, observation.model)
            }
        }
        var sessions: [String: [TurnFacts]] = [:]
        for trace in records.traces {
            guard let session = trace.sessionID else { continue }
            var turn = TurnFacts(traceID: trace.traceID, timestamp: trace.timestampMillis,
                                 lastEnd: max(trace.timestampMillis, ends[trace.traceID] ?? trace.timestampMillis),
                                 tracking: trace.tracking)
            turn.peakInputTokens = peaks[trace.traceID]?.0
            turn.peakModel = peaks[trace.traceID]?.1
            sessions[session, default: []].append(turn)
        }
        var size = 0
        var outcomes: [JourneyFunnel.SessionOutcome] = []
        for (id, turns) in sessions.sorted(by: { $0.key < $1.key }) {
            let ordered = turns.sorted { ($0.timestamp, $0.traceID) < ($1.timestamp, $1.traceID) }
            let analysis = SessionAnalysis.analyse(ordered, windows: windows)
            fuzzCheck(analysis.turns.count == ordered.count, "\(analysis.turns.count) derivations for \(ordered.count) turns")
            fuzzCheck(analysis.issues.gaps.count <= ValueBounds.listedTurnGaps, "\(analysis.issues.gaps.count) gaps listed")
            fuzzCheck(analysis.issues.gapCount >= Int64(analysis.issues.gaps.count), "fewer gaps counted than listed")
            fuzzCheck(analysis.journeyPath.count <= ordered.count, "more journey stages than turns")
            size += analysis.issues.json.jsonBytes.count + (StageEntry.json(analysis.journeyPath)?.utf8.count ?? 0)

            // The lifecycle as the sweeper and a later turn would move it.
            let lastActivity = ordered.map(\.lastEnd).max()
            var lifecycle = SessionLifecycle()
            lifecycle.status = SessionLifecycle.Status.timedOut
            lifecycle.endedActivity = ordered.first?.timestamp
            lifecycle.endTime = lifecycle.endedActivity.map { $0.addingSaturating(1_800_000) }
            _ = lifecycle.resolved(with: analysis, lastActivity: lastActivity).isDropoff(analysis)

            let journey = analysis.journey
            outcomes.append(JourneyFunnel.SessionOutcome(
                sessionID: id, lastActivity: lastActivity, converted: journey.converted,
                conversionTurn: journey.conversionTurn, conversionTimeMs: journey.conversionTimeMs,
                path: StageEntry.parse(StageEntry.json(analysis.journeyPath))))
            // What the session reads format: every turn's times and the distributions.
            for turn in ordered { size += Timestamp.iso8601(millis: turn.timestamp).utf8.count }
            let latencies = ordered.map { $0.lastEnd.subtractingSaturating($0.timestamp) }.sorted()
            _ = Percentiles.nearestRank(latencies, 95)
            _ = now.subtractingSaturating(lastActivity ?? now)
        }
        let funnel = JourneyFunnel(sessions: outcomes)
        fuzzCheck(funnel.stages.count <= outcomes.reduce(0) { $0 + $1.path.count }, "more funnel stages than stage entries")
        return size
    }

    /// What the read endpoints write of each record's dates and numbers; returns the size.
    static func readForms(_ records: EventFold.Records) -> Int {
        var size = 0
        func time(_ millis: Int64?) {
            guard let millis else { return }
            let text = Timestamp.iso8601(millis: millis)
            fuzzCheck(text.utf8.count == 24, "a date written as \(text)")
            size += 24
        }
        for trace in records.traces { time(trace.timestampMillis) }
        for observation in records.observations {
            time(observation.startTimeMillis)
            time(observation.endTimeMillis)
            time(observation.completionStartTimeMillis)
            if let end = observation.endTimeMillis { _ = Double(end.subtractingSaturating(observation.startTimeMillis)) / 1000 }
            if let cost = observation.totalCost { fuzzCheck(cost.isFinite, "an infinite cost was folded") }
            size += (observation.usageDetails?.utf8.count ?? 0) + (observation.costDetails?.utf8.count ?? 0)
        }
        for score in records.scores {
            time(score.timestampMillis)
            size += JSONValue(score.value ?? 0).jsonBytes.count
        }
        return size
    }

    /// The process's peak resident set, in bytes.
    static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }
}

/// Draws well-formed requests whose values come from the ends of their ranges.
struct Generator {
    var random: InputRandom

    /// Integers at and around every bound a client value meets.
    static let integers: [String] = [
        "0", "1", "-1", "2", "3", "100", "100000000", "1000000000", "1000000001", "1000000000000", "1000000000001",
        "3155760000000", "3155760000001", "2147483647", "4294967295", "9007199254740993", "9223372036854775806",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "36500", "36501", "31536000", "31536001",
    ]
    /// Fractions and the ends of Double.
    static let fractions: [String] = [
        "0.5", "-0.0", "1e308", "-1e308", "1.7976931348623157e308", "5e-324", "1e15", "1.000000000000001e15", "1e19",
        "1E400", "-1E400", "99.99", "1000", "1000.0001", "1e-300", "123456789012345678901234567890",
    ]
    /// The first and last instants, offsets at both ends, leap days, the epoch.
    static let dates: [String] = [
        "0000-01-01T00:00:00Z", "0000-01-01T00:00:00+23:59", "0000-01-01T23:59:00+23:59", "0000-02-29T12:00:00Z",
        "9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59-23:59", "9999-12-31T00:00:00-23:59",
        "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z", "2026-03-02T09:00:00.123456Z", "2000-02-29T12:00:00+05:30",
        "2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z", "2554-07-21T23:34:33.709551Z",
    ]
    static let trackingKeys = [
        "turn.number", "conversation.turn_number", "turn_number", "conversation.total_turns", "turn.latency_ms",
        "turn.tool_calls", "context.tokens", "context.limit", "context.window_pct", "context.messages_pruned",
        "journey.stage_number", "journey.total_stages", "journey.conversion_turn", "journey.time_in_stage_ms",
    ]
    static let nanos: [UInt64] = [0, 1, 999, 1_000_000, 1_772_442_000_000_000_000, 9_223_372_036_854_775_807,
                                  9_223_372_036_854_775_808, .max - 1, .max]

    mutating func pick<T>(_ options: [T]) -> T { options[random.next(in: 0...(options.count - 1))] }
    mutating func chance(_ percent: Int) -> Bool { random.next(in: 0...99) < percent }

    /// An extreme number: an integer or a fraction, sometimes as text (as OTLP/JSON and loose
    /// clients send them).
    mutating func number() -> JSONValue {
        let text = chance(60) ? pick(Self.integers) : pick(Self.fractions)
        return chance(15) ? .string(text) : .number(text)
    }

    mutating func date() -> String { pick(Self.dates) }

    mutating func instantMillis() -> Int64 {
        (Timestamp.parseMicros(date()) ?? 0) / 1000
    }

    mutating func envelope(_ type: String, _ body: [(String, JSONValue)]) -> JSONValue {
        .object([("id", .string("e\(random.next())")), ("type", .string(type)), ("timestamp", .string(date())),
                 ("body", .object(body))])
    }

    /// Up to 24 events: traces carrying tracking attributes, generations with usage and cost,
    /// spans and scores, over a few traces and sessions so that merges and sessions form.
    mutating func batch() -> [JSONValue] {
        (0..<random.next(in: 1...24)).map { _ in
            let trace = "t\(random.next(in: 0...5))"
            switch random.next(in: 0...9) {
            case 0...3:
                var metadata: [(String, JSONValue)] = (0..<random.next(in: 1...6)).map { _ in (pick(Self.trackingKeys), number()) }
                if chance(30) { metadata.append(("journey.stage", .string("stage-\(random.next(in: 0...3))"))) }
                if chance(10) { metadata.append(("journey.converted", .bool(true))) }
                if chance(10) { metadata.append(("conversation.id", .string("c\(random.next(in: 0...1))"))) }
                return envelope("trace-create", [
                    ("id", .string(trace)), ("sessionId", .string("s\(random.next(in: 0...2))")), ("timestamp", .string(date())),
                    ("metadata", .object(metadata)),
                ])
            case 4...6:
                let usage: [(String, JSONValue)] = [("input", number()), ("output", number()), ("total", number()),
                                                    ("inputCost", number()), ("totalCost", number())]
                return envelope("generation-create", [
                    ("id", .string("g\(random.next(in: 0...7))")), ("traceId", .string(trace)), ("model", .string(pick(["gpt-4o", "m", "x"]))),
                    ("startTime", .string(date())), ("endTime", .string(date())), ("completionStartTime", .string(date())),
                    ("usage", .object(Array(usage.prefix(random.next(in: 0...5))))),
                    ("usageDetails", .object([("prompt_tokens", number()), ("completion_tokens", number()),
                                              ("prompt_tokens_details", .object([("cached_tokens", number())]))])),
                    ("costDetails", .object([("input", number()), ("output", number())])),
                ])
            case 7:
                return envelope("span-create", [
                    ("id", .string("sp\(random.next(in: 0...3))")), ("traceId", .string(trace)),
                    ("startTime", .string(date())), ("endTime", .string(date())),
                ])
            default:
                let value: JSONValue = chance(80) ? number() : .bool(chance(50))
                return envelope("score-create", [
                    ("id", .string("sc\(random.next(in: 0...3))")), ("traceId", .string(trace)), ("name", .string("user_satisfaction")),
                    ("value", value), ("dataType", chance(50) ? .null : .string(pick(["NUMERIC", "BOOLEAN"]))),
                    ("timestamp", .string(date())),
                ])
            }
        }
    }

    /// An OTLP/JSON export of up to 6 spans of two traces, with extreme start and end times and
    /// numeric attributes (doubles include the infinities and NaN, as proto3 JSON writes them).
    mutating func export() -> JSONValue {
        let spans: [JSONValue] = (0..<random.next(in: 0...6)).map { index in
            var attributes: [JSONValue] = [attribute("session.id", .object([("stringValue", .string("s\(random.next(in: 0...2))"))]))]
            for _ in 0..<random.next(in: 1...6) {
                let key = pick(Self.trackingKeys + ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
                                                    "gen_ai.usage.cost", "llm.token_count.prompt", "gen_ai.request.max_tokens"])
                let value: JSONValue = switch random.next(in: 0...2) {
                case 0: .object([("intValue", .string(pick(Self.integers.filter { Int64($0) != nil })))])
                case 1: .object([("doubleValue", .string(pick(["Infinity", "-Infinity", "NaN"] + Self.fractions)))])
                default: .object([("stringValue", .string(pick(Self.integers + Self.fractions)))])
                }
                attributes.append(attribute(key, value))
            }
            var span: [(String, JSONValue)] = [
                ("traceId", .string(String(repeating: random.next(in: 0...1) == 0 ? "a" : "b", count: 32))),
                ("spanId", .string(String(format: "%016x", index + 1))), ("name", .string("span")),
                ("startTimeUnixNano", .string(String(pick(Self.nanos)))), ("endTimeUnixNano", .string(String(pick(Self.nanos)))),
                ("attributes", .array(attributes)),
                ("status", .object([("code", JSONValue(random.next(in: 0...2)))])),
            ]
            if index > 0 && chance(50) { span.append(("parentSpanId", .string(String(format: "%016x", index)))) }
            if chance(30) {
                span.append(("events", .array([.object([("name", .string("exception")),
                                                         ("timeUnixNano", .string(String(pick(Self.nanos))))])])))
            }
            return .object(span)
        }
        return .object([("resourceSpans", .array([.object([("scopeSpans", .array([.object([("spans", .array(spans))])]))])]))])
    }

    func attribute(_ key: String, _ value: JSONValue) -> JSONValue {
        .object([("key", .string(key)), ("value", value)])
    }

    /// A settings object as stored: any key, any extreme number.
    mutating func settings() -> JSONValue {
        var members: [(String, JSONValue)] = []
        if chance(60) { members.append(("retentionDays", number())) }
        if chance(60) { members.append(("inactivityTimeoutSeconds", number())) }
        if chance(60) {
            members.append(("contextWindows", .object((0..<random.next(in: 0...3)).map { _ in
                (pick(["gpt-4o", "m", "x", ""]), number())
            })))
        }
        return .object(members)
    }
}
