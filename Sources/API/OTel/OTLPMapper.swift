import Crypto
import Foundation
import Model
import OTLP

/// Maps OTLP spans to ingestion events (langfuse-api.md §4.3–4.6), so OTLP data goes through
/// the same idempotent, order-independent merge as batch ingestion. Event ids are derived from
/// the span ids, so an exporter re-sending a batch changes nothing.
///
/// Covered so far: Langfuse SDK attributes, OpenTelemetry GenAI (`gen_ai.*`), OpenInference
/// (`input.value`, `openinference.span.kind`), Traceloop association properties, status → level,
/// span events as EVENT observations.
/// Vendor-specific families (Vercel AI, genkit, Logfire, …) are not mapped yet (issue #5).
enum OTLPMapper {
    static func events(for spans: [OTLPSpan]) -> [IngestionEvent] {
        var events: [IngestionEvent] = []
        var traceParts: [String: [(isRoot: Bool, start: UInt64, body: [(String, JSONValue)])]] = [:]
        for span in spans {
            let start = span.startNanos > 0 ? span.startNanos : span.endNanos
            let end = span.endNanos > 0 ? span.endNanos : start
            let startMicros = Int64(start / 1000)
            let observationType = observationType(span)
            var body: [(String, JSONValue)] = [
                ("id", .string(span.spanID)), ("traceId", .string(span.traceID)),
                ("name", .string(observationName(span))),
                ("startTime", .string(iso(start))), ("endTime", .string(iso(end))),
                ("environment", .string(environment(span))),
            ]
            // A span promoted to trace root (`langfuse.internal.as_root`) starts its own tree.
            if let parent = span.parentSpanID, !truthy(span.attribute("langfuse.internal.as_root")) {
                body.append(("parentObservationId", .string(parent)))
            }
            if let level = text(span, "langfuse.observation.level") {
                body.append(("level", .string(level.uppercased())))
            } else if span.statusCode == 2 {
                body.append(("level", .string("ERROR")))
            }
            if let message = text(span, "langfuse.observation.status_message") ?? (span.statusMessage.isEmpty ? nil : span.statusMessage) {
                body.append(("statusMessage", .string(message)))
            }
            if let version = text(span, "langfuse.version") ?? span.resourceAttribute("service.version")?.stringValue {
                body.append(("version", .string(version)))
            }
            if let model = firstText(span, ["langfuse.observation.model.name", "gen_ai.response.model", "gen_ai.request.model",
                                            "llm.model_name", "model"]) {
                body.append(("model", .string(model)))
            }
            if let parameters = modelParameters(span) { body.append(("modelParameters", parameters)) }
            if let usage = usageDetails(span) { body.append(("usageDetails", usage)) }
            if let cost = costDetails(span) { body.append(("costDetails", cost)) }
            if let completion = text(span, "langfuse.observation.completion_start_time") {
                let unquoted = (try? JSONParser.parse(completion))?.stringValue ?? completion
                if Timestamp.parseMicros(unquoted) != nil { body.append(("completionStartTime", .string(unquoted))) }
            }
            let (input, output) = inputOutput(span)
            if let input { body.append(("input", input)) }
            if let output { body.append(("output", output)) }
            body.append(("metadata", observationMetadata(span)))
            let type = IngestionEventType(rawValue: observationType.lowercased() + "-create") ?? .spanCreate
            events.append(IngestionEvent(
                id: "otel:\(span.traceID):\(span.spanID)", type: type, timestampMicros: startMicros, body: .object(body)))

            // Span events become EVENT observations under their span (issue #5), named after
            // the event, at its time, with its attributes as metadata.
            for (index, event) in span.events.enumerated() {
                let time = event.timeNanos > 0 ? event.timeNanos : start
                let eventBody: [(String, JSONValue)] = [
                    ("id", .string("\(span.spanID)-\(index)")), ("traceId", .string(span.traceID)),
                    ("parentObservationId", .string(span.spanID)), ("name", .string(event.name)),
                    ("startTime", .string(iso(time))), ("endTime", .string(iso(time))),
                    ("environment", .string(environment(span))),
                    ("metadata", .object(event.attributes.map { ($0.0, decodedValue($0.1)) })),
                    ("level", .string(event.name == "exception" ? "ERROR" : "DEFAULT")),
                ]
                events.append(IngestionEvent(
                    id: "otel:\(span.traceID):\(span.spanID):event:\(index)", type: .eventCreate,
                    timestampMicros: Int64(time / 1000), body: .object(eventBody)))
            }

            if let trace = traceBody(span, input: input, output: output, start: start) {
                traceParts[span.traceID, default: []].append((isRoot(span), start, trace))
            }
        }
        // One trace-create per trace and export, not one per span: SDKs repeat the trace
        // attributes on every span, and each stored trace event is re-read whenever the trace
        // is re-folded. The parts are merged in start order with the root span's fields winning.
        for (traceID, parts) in traceParts.sorted(by: { $0.key < $1.key }) {
            let ordered = parts.sorted { ($0.isRoot ? 1 : 0, $0.start) < ($1.isRoot ? 1 : 0, $1.start) }
            var merged: [(String, JSONValue)] = []
            for part in ordered {
                for (key, value) in part.body {
                    if let index = merged.firstIndex(where: { $0.0 == key }) {
                        switch key {
                        case "id", "timestamp": continue  // the timestamp is set below: the earliest start
                        case "metadata": merged[index].1 = mergeObjects(merged[index].1, value)
                        case "tags":
                            let union = Set((merged[index].1.arrayValue ?? []).compactMap(\.stringValue))
                                .union((value.arrayValue ?? []).compactMap(\.stringValue))
                            merged[index].1 = .array(union.sorted().map(JSONValue.string))
                        default: merged[index].1 = value
                        }
                    } else {
                        merged.append((key, value))
                    }
                }
            }
            let start = parts.map(\.start).min() ?? 0
            if let index = merged.firstIndex(where: { $0.0 == "timestamp" }) { merged[index].1 = .string(iso(start)) }
            let body = JSONValue.object(merged)
            // The id names the content, so re-exporting the same spans changes nothing.
            let digest = Digest.shortHex(body.jsonBytes)
            events.append(IngestionEvent(
                id: "otel:\(traceID):trace:\(digest)", type: .traceCreate, timestampMicros: Int64(start / 1000), body: body))
        }
        return events
    }

    // MARK: Trace

    static func isRoot(_ span: OTLPSpan) -> Bool {
        span.parentSpanID == nil || truthy(span.attribute("langfuse.internal.as_root"))
    }

    static let traceKeys = ["langfuse.trace.name", "langfuse.trace.input", "langfuse.trace.output", "user.id", "session.id",
                            "langfuse.trace.public", "langfuse.trace.tags", "langfuse.user.id", "langfuse.session.id"]

    /// The trace-create body a span contributes: everything for a root span, trace-level
    /// attributes for others, and otherwise a shallow trace so the row exists.
    static func traceBody(_ span: OTLPSpan, input: JSONValue?, output: JSONValue?, start: UInt64) -> [(String, JSONValue)]? {
        let root = isRoot(span)
        let carriesTrace = span.attributes.contains { key, _ in
            traceKeys.contains(key) || key.hasPrefix("langfuse.trace.metadata") || isSessionTrackingKey(key)
        }
        var body: [(String, JSONValue)] = [("id", .string(span.traceID)), ("timestamp", .string(iso(start))),
                                           ("environment", .string(environment(span)))]
        guard root || carriesTrace else { return body }
        if let name = text(span, "langfuse.trace.name") ?? (root ? span.name : nil) { body.append(("name", .string(name))) }
        if let user = firstText(span, ["langfuse.user.id", "user.id", "traceloop.association.properties.user_id"]) {
            body.append(("userId", .string(user)))
        }
        if let session = sessionID(span) { body.append(("sessionId", .string(session))) }
        if let release = text(span, "langfuse.release") ?? span.resourceAttribute("langfuse.release")?.stringValue {
            body.append(("release", .string(release)))
        }
        if let version = text(span, "langfuse.version") { body.append(("version", .string(version))) }
        let tags = self.tags(span)
        if !tags.isEmpty { body.append(("tags", .array(tags.map(JSONValue.string)))) }
        if let flag = span.attribute("langfuse.trace.public") { body.append(("public", .bool(truthy(flag)))) }
        let traceInput = text(span, "langfuse.trace.input").map(decoded) ?? (root ? input : nil)
        let traceOutput = text(span, "langfuse.trace.output").map(decoded) ?? (root ? output : nil)
        if let traceInput { body.append(("input", traceInput)) }
        if let traceOutput { body.append(("output", traceOutput)) }
        var metadata = prefixed(span.attributes, "langfuse.trace.metadata.")
        if let whole = text(span, "langfuse.trace.metadata").map(decoded)?.objectValue { metadata = whole + metadata }
        for (key, value) in prefixed(span.resourceAttributes, "langfuse.trace.metadata.") where !metadata.contains(where: { $0.0 == key }) {
            metadata.append((key, value))
        }
        // Session-tracking attributes (session.*, conversation.*, turn.*, user.tier, journey.*,
        // dropoff.*, context.*) keep their names in trace metadata, where the same keys sent
        // through /api/public/ingestion land too (e.g. `turn.number` sets the turn order).
        for (key, value) in span.attributes where isSessionTrackingKey(key) && !metadata.contains(where: { $0.0 == key }) {
            metadata.append((key, decodedValue(value)))
        }
        if !metadata.isEmpty { body.append(("metadata", .object(metadata))) }
        return body
    }

    static let sessionTrackingPrefixes = ["session.", "conversation.", "turn.", "journey.", "dropoff.", "context.", "user.tier", "user.org_id"]

    static func isSessionTrackingKey(_ key: String) -> Bool {
        key != "session.id" && sessionTrackingPrefixes.contains { key.hasPrefix($0) }
    }

    static func sessionID(_ span: OTLPSpan) -> String? {
        firstText(span, ["langfuse.session.id", "session.id", "gen_ai.conversation.id",
                         "langfuse.observation.metadata.langfuse_session_id", "langfuse.trace.metadata.langfuse_session_id",
                         "traceloop.association.properties.session_id"])
    }

    static func tags(_ span: OTLPSpan) -> [String] {
        guard let value = span.attribute("langfuse.trace.tags") ?? span.attribute("langfuse.tags") else { return [] }
        if let values = value.arrayValue { return values.compactMap(\.stringValue) }
        guard let text = value.stringValue else { return [] }
        if let parsed = try? JSONParser.parse(text), let values = parsed.arrayValue { return values.compactMap(\.stringValue) }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    // MARK: Observation fields

    static func observationName(_ span: OTLPSpan) -> String {
        firstText(span, ["gen_ai.tool.name"]) ?? span.name
    }

    /// langfuse-api.md §4.4, first match wins; default SPAN.
    static func observationType(_ span: OTLPSpan) -> String {
        if let type = text(span, "langfuse.observation.type")?.uppercased(), ObservationTypes.all.contains(type) { return type }
        if let kind = text(span, "openinference.span.kind")?.uppercased() {
            if kind == "LLM" { return "GENERATION" }
            if ObservationTypes.all.contains(kind) { return kind }
        }
        switch text(span, "gen_ai.operation.name") {
        case "chat", "completion", "text_completion", "generate_content", "generate": return "GENERATION"
        case "embeddings": return "EMBEDDING"
        case "invoke_agent", "create_agent": return "AGENT"
        case "execute_tool": return "TOOL"
        default: break
        }
        if span.attribute("gen_ai.tool.name") != nil || span.attribute("gen_ai.tool.call.id") != nil { return "TOOL" }
        let modelKeys = ["langfuse.observation.model.name", "gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "model"]
        if modelKeys.contains(where: { span.attribute($0) != nil }) { return "GENERATION" }
        return "SPAN"
    }

    static func environment(_ span: OTLPSpan) -> String {
        for key in ["langfuse.environment", "deployment.environment.name", "deployment.environment"] {
            if let value = text(span, key) ?? span.resourceAttribute(key)?.stringValue, !value.isEmpty {
                return EnvironmentName.normalise(value)
            }
        }
        return EnvironmentName.fallback
    }

    static func modelParameters(_ span: OTLPSpan) -> JSONValue? {
        if let json = text(span, "langfuse.observation.model.parameters"), let object = (try? JSONParser.parse(json)), object.objectValue != nil {
            return object
        }
        let parameters = span.attributes.compactMap { key, value -> (String, JSONValue)? in
            guard key.hasPrefix("gen_ai.request."), key != "gen_ai.request.model" else { return nil }
            return (String(key.dropFirst("gen_ai.request.".count)), value)
        }
        return parameters.isEmpty ? nil : .object(parameters)
    }

    /// `langfuse.observation.usage_details`, else `gen_ai.usage.*` normalised to input/output/
    /// total with cache read and creation tokens split out of input.
    static func usageDetails(_ span: OTLPSpan) -> JSONValue? {
        if let json = text(span, "langfuse.observation.usage_details"), let object = try? JSONParser.parse(json), object.objectValue != nil {
            return object
        }
        var raw: [String: Int64] = [:]
        for (key, value) in span.attributes where key.hasPrefix("gen_ai.usage.") && key != "gen_ai.usage.cost" {
            if let count = value.intValue ?? value.stringValue.flatMap({ Int64($0) }) {
                raw[String(key.dropFirst("gen_ai.usage.".count))] = count
            }
        }
        guard !raw.isEmpty else { return nil }
        let cacheRead = raw["cache_read.input_tokens"] ?? raw["cache_read_input_tokens"] ?? raw["cache_read_tokens"] ?? 0
        let cacheCreation = raw["cache_creation.input_tokens"] ?? raw["cache_creation_input_tokens"] ?? 0
        var details: [(String, JSONValue)] = []
        if let input = raw["input_tokens"] ?? raw["prompt_tokens"] {
            details.append(("input", JSONValue(Int(max(0, input - cacheRead - cacheCreation)))))
        }
        if let output = raw["output_tokens"] ?? raw["completion_tokens"] { details.append(("output", JSONValue(Int(output)))) }
        if let total = raw["total_tokens"] { details.append(("total", JSONValue(Int(total)))) }
        if cacheRead > 0 { details.append(("input_cached_tokens", JSONValue(Int(cacheRead)))) }
        if cacheCreation > 0 { details.append(("input_cache_creation", JSONValue(Int(cacheCreation)))) }
        return details.isEmpty ? nil : .object(details)
    }

    static func costDetails(_ span: OTLPSpan) -> JSONValue? {
        if let json = text(span, "langfuse.observation.cost_details"), let object = try? JSONParser.parse(json), object.objectValue != nil {
            return object
        }
        if let total = span.attribute("gen_ai.usage.cost")?.doubleValue { return .object([("total", JSONValue(total))]) }
        return nil
    }

    /// langfuse-api.md §4.5, the groups Parley maps so far.
    static func inputOutput(_ span: OTLPSpan) -> (JSONValue?, JSONValue?) {
        for (inputKey, outputKey) in [("langfuse.observation.input", "langfuse.observation.output"),
                                      ("gen_ai.input.messages", "gen_ai.output.messages"),
                                      ("input.value", "output.value"),
                                      ("traceloop.entity.input", "traceloop.entity.output")] {
            let input = span.attribute(inputKey).map(decodedValue)
            let output = span.attribute(outputKey).map(decodedValue)
            if input != nil || output != nil { return (input, output) }
        }
        return (nil, nil)
    }

    /// Observation metadata (§4.6): `langfuse.observation.metadata.*` (JSON-decoded), the whole
    /// `langfuse.observation.metadata` object, other attributes for non-Langfuse scopes, and the
    /// resource attributes and scope.
    static func observationMetadata(_ span: OTLPSpan) -> JSONValue {
        var metadata: [(String, JSONValue)] = []
        if let whole = text(span, "langfuse.observation.metadata").map(decoded)?.objectValue { metadata += whole }
        metadata += prefixed(span.attributes, "langfuse.observation.metadata.")
        metadata += prefixed(span.attributes, "langfuse.metadata.")
        if !span.scopeName.hasPrefix("langfuse-sdk") {
            let attributes = span.attributes.filter { key, _ in !key.hasPrefix("langfuse.") }
            if !attributes.isEmpty { metadata.append(("attributes", .object(attributes))) }
        }
        metadata.append(("resourceAttributes", .object(span.resourceAttributes)))
        metadata.append(("scope", .object([
            ("name", .string(span.scopeName)), ("version", .string(span.scopeVersion)),
            ("attributes", .object(span.scopeAttributes)),
        ])))
        return .object(metadata)
    }

    // MARK: Helpers

    static func text(_ span: OTLPSpan, _ key: String) -> String? {
        guard let value = span.attribute(key) else { return nil }
        switch value {
        case .string(let text): return text
        case .number(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        default: return nil
        }
    }

    static func firstText(_ span: OTLPSpan, _ keys: [String]) -> String? {
        for key in keys { if let value = text(span, key), !value.isEmpty { return value } }
        return nil
    }

    /// Keys under `prefix`, suffix as key, values JSON-decoded when they are JSON text.
    static func prefixed(_ attributes: [(String, JSONValue)], _ prefix: String) -> [(String, JSONValue)] {
        attributes.compactMap { key, value in
            guard key.hasPrefix(prefix), key.count > prefix.count else { return nil }
            return (String(key.dropFirst(prefix.count)), decodedValue(value))
        }
    }

    /// SDKs JSON-encode structured values into string attributes: decode when it parses,
    /// otherwise keep the raw string.
    static func decoded(_ text: String) -> JSONValue {
        (try? JSONParser.parse(text)) ?? .string(text)
    }

    static func decodedValue(_ value: JSONValue) -> JSONValue {
        if case .string(let text) = value { return decoded(text) }
        return value
    }

    /// Objects merged key by key, `overlay` winning; anything else is replaced by `overlay`.
    static func mergeObjects(_ base: JSONValue, _ overlay: JSONValue) -> JSONValue {
        guard var members = base.objectValue, let updates = overlay.objectValue else { return overlay }
        for (key, value) in updates {
            if let index = members.firstIndex(where: { $0.0 == key }) { members[index].1 = value } else { members.append((key, value)) }
        }
        return .object(members)
    }

    static func truthy(_ value: JSONValue?) -> Bool {
        value?.boolValue == true || value?.stringValue == "true"
    }

    static func iso(_ nanos: UInt64) -> String {
        let micros = Int64(nanos / 1000)
        let millis = micros / 1000
        // Keep microseconds: the merge orders events by them.
        let base = Timestamp.iso8601(millis: millis)
        let extra = micros % 1000
        return String(base.dropLast()) + String(format: "%03d", extra) + "Z"
    }
}
