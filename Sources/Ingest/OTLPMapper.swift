import Crypto
import Foundation
import Model
import OTLP

/// Maps OTLP spans to ingestion events (langfuse-api.md §4.3–4.6), so OTLP data goes through
/// the same idempotent, order-independent merge as batch ingestion. Event ids are derived from
/// the span ids, so an exporter re-sending a batch changes nothing.
///
/// Covered: Langfuse SDK attributes, OpenTelemetry GenAI (`gen_ai.*` attributes and events),
/// OpenInference (`input.value`, `llm.*`, `openinference.span.kind`), Traceloop/OpenLLMetry
/// (`traceloop.*`, flattened `gen_ai.prompt.N.*`), Vercel AI SDK (`ai.*`), genkit, MLflow,
/// Logfire's message name, status → level, span events as EVENT observations. Package-visible
/// for the OTLP fuzz targets (Sources/ParleyFuzz).
package enum OTLPMapper {
    /// The ingestion events `spans` become: one per span and span event, one trace-create per trace.
    ///
    /// Bodies go through `withUniqueKeys`: attribute lists may repeat a key (the OTLP spec forbids
    /// it, exporters do it) and metadata joins several sources, while storage parses the body text
    /// again when it re-folds an entity and would keep only the last value. Found by fuzzing.
    package static func events(for spans: [OTLPSpan]) -> [IngestionEvent] {
        var events: [IngestionEvent] = []
        var traceParts: [String: [(isRoot: Bool, start: UInt64, body: [(String, JSONValue)])]] = [:]
        for span in spans {
            let start = span.startNanos > 0 ? span.startNanos : span.endNanos
            let end = span.endNanos > 0 ? span.endNanos : start
            let startMicros = Timestamp.micros(nanos: start)
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
            if let model = modelName(span) { body.append(("model", .string(model))) }
            if let parameters = modelParameters(span) { body.append(("modelParameters", parameters)) }
            if let usage = usageDetails(span) { body.append(("usageDetails", usage)) }
            if let cost = costDetails(span) { body.append(("costDetails", cost)) }
            let folded = foldedEvents(span)
            if let completion = completionStartTime(span, folded: folded) { body.append(("completionStartTime", .string(completion))) }
            if folded.exception != nil, text(span, "langfuse.observation.status_message") == nil, span.statusMessage.isEmpty,
               let message = folded.exception?["exception.message"]?.stringValue {
                body.append(("statusMessage", .string(message)))
            }
            let (input, output) = inputOutput(span)
            if let input { body.append(("input", input)) }
            if let output { body.append(("output", output)) }
            body.append(("metadata", observationMetadata(span, folded: folded)))
            let type = IngestionEventType(rawValue: observationType.lowercased() + "-create") ?? .spanCreate
            events.append(IngestionEvent(
                id: "otel:\(span.traceID):\(span.spanID)", type: type, timestampMicros: startMicros,
                body: JSONValue.object(body).withUniqueKeys))

            // Span events become EVENT observations under their span (issue #5), named after
            // the event, at its time, with its attributes as metadata.
            for (index, event) in span.events.enumerated() where !folded.indices.contains(index) {
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
                    timestampMicros: Timestamp.micros(nanos: time), body: JSONValue.object(eventBody).withUniqueKeys))
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
            // A name set with `langfuse.trace.name` on any span (`propagate_attributes(trace_name=…)`
            // puts it on the spans under the root) beats the root span's own name.
            if let fallback = merged.firstIndex(where: { $0.0 == spanNameKey }) {
                if merged.contains(where: { $0.0 == "name" }) {
                    merged.remove(at: fallback)
                } else {
                    merged[fallback].0 = "name"
                }
            }
            let body = JSONValue.object(merged).withUniqueKeys
            // The id names the content, so re-exporting the same spans changes nothing.
            let digest = Digest.shortHex(body.jsonBytes)
            events.append(IngestionEvent(
                id: "otel:\(traceID):trace:\(digest)", type: .traceCreate, timestampMicros: Timestamp.micros(nanos: start), body: body))
        }
        return events
    }

    // MARK: Trace

    static func isRoot(_ span: OTLPSpan) -> Bool {
        span.parentSpanID == nil || truthy(span.attribute("langfuse.internal.as_root"))
    }

    static let traceKeys = ["langfuse.trace.name", "langfuse.trace.input", "langfuse.trace.output", "user.id", "session.id",
                            "langfuse.trace.public", "langfuse.trace.tags", "langfuse.user.id", "langfuse.session.id",
                            "langfuse.observation.metadata.langfuse_user_id", "langfuse.observation.metadata.langfuse_session_id",
                            "langfuse.observation.metadata.langfuse_tags", "ai.telemetry.metadata.sessionId",
                            "ai.telemetry.metadata.userId", "ai.telemetry.metadata.tags", "tag.tags",
                            "traceloop.association.properties.session_id", "traceloop.association.properties.user_id",
                            "gen_ai.conversation.id"]

    /// The trace-create body a span contributes: everything for a root span, trace-level
    /// attributes for others, and otherwise a shallow trace so the row exists.
    static func traceBody(_ span: OTLPSpan, input: JSONValue?, output: JSONValue?, start: UInt64) -> [(String, JSONValue)]? {
        let root = isRoot(span)
        let carriesTrace = span.attributes.contains { key, _ in
            traceKeys.contains(key) || key.hasPrefix("langfuse.trace.metadata") || isSessionTrackingKey(key)
                || key.hasPrefix(associationPrefix) || key == "metadata"
        }
        var body: [(String, JSONValue)] = [("id", .string(span.traceID)), ("timestamp", .string(iso(start))),
                                           ("environment", .string(environment(span)))]
        guard root || carriesTrace else { return body }
        if let name = text(span, "langfuse.trace.name") {
            body.append(("name", .string(name)))
        } else if root {
            body.append((spanNameKey, .string(span.name)))
        }
        if let user = userID(span) { body.append(("userId", .string(user))) }
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
        // The same keys in a span's Langfuse observation metadata (what the 3.x–5.x SDKs send
        // for `span.update(metadata={"journey.stage": …})`) describe the turn too.
        // Only these two forms are read here: building the whole observation metadata (resource
        // attributes, scope) a second time per span would cost every export.
        var observationKeys = prefixed(span.attributes, "langfuse.observation.metadata.")
        if let whole = text(span, "langfuse.observation.metadata").map(decoded)?.objectValue { observationKeys = whole + observationKeys }
        // The root span's own observation metadata describes the trace too (Langfuse copies it),
        // trace metadata winning; on other spans only the session-tracking keys are lifted.
        for (key, value) in observationKeys where (root || isSessionTrackingKey(key)) && !metadata.contains(where: { $0.0 == key }) {
            metadata.append((key, value))
        }
        // Third-party trace-wide metadata: OpenInference's `metadata` (JSON text, set with
        // `using_metadata`) and Traceloop's association properties other than the session and user.
        for (key, value) in conventionMetadata(span) where !metadata.contains(where: { $0.0 == key }) {
            metadata.append((key, value))
        }
        if !metadata.isEmpty { body.append(("metadata", .object(metadata))) }
        return body
    }

    static let sessionTrackingPrefixes = ["session.", "conversation.", "turn.", "journey.", "dropoff.", "context.", "user.tier", "user.org_id"]

    static func isSessionTrackingKey(_ key: String) -> Bool {
        key != "session.id" && sessionTrackingPrefixes.contains { key.hasPrefix($0) }
    }

    static func userID(_ span: OTLPSpan) -> String? {
        firstText(span, ["langfuse.user.id", "user.id", "langfuse.observation.metadata.langfuse_user_id",
                         "langfuse.trace.metadata.langfuse_user_id", "ai.telemetry.metadata.userId",
                         "traceloop.association.properties.user_id"])
    }

    /// True when the span's session or user id holds a NUL, which batch ingestion refuses too.
    /// Why the span's session or user id cannot be stored, or nil: a session id follows the id
    /// rules of batch ingestion (`ValueBounds.identifierProblem`), a user id may not hold a NUL.
    package static func identifierProblem(_ span: OTLPSpan) -> String? {
        if let session = sessionID(span), let problem = ValueBounds.identifierProblem(session) {
            return "session id \(problem)"
        }
        if let user = userID(span), user.utf8.contains(0) { return "user id must not contain NUL" }
        return nil
    }

    static func sessionID(_ span: OTLPSpan) -> String? {
        firstText(span, ["langfuse.session.id", "session.id", "gen_ai.conversation.id",
                         "langfuse.observation.metadata.langfuse_session_id", "langfuse.trace.metadata.langfuse_session_id",
                         "ai.telemetry.metadata.sessionId", "traceloop.association.properties.session_id"])
    }

    static func tags(_ span: OTLPSpan) -> [String] {
        let keys = ["langfuse.trace.tags", "langfuse.tags", "langfuse.observation.metadata.langfuse_tags",
                    "langfuse.trace.metadata.langfuse_tags", "ai.telemetry.metadata.tags", "tag.tags"]
        guard let value = keys.lazy.compactMap({ span.attribute($0) }).first else { return [] }
        if let values = value.arrayValue { return values.compactMap(\.stringValue) }
        guard let text = value.stringValue else { return [] }
        if let parsed = try? JSONParser.parse(text), let values = parsed.arrayValue { return values.compactMap(\.stringValue) }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    // MARK: Observation fields

    static func observationName(_ span: OTLPSpan) -> String {
        if let name = firstText(span, ["gen_ai.tool.name", "genkit:name", "logfire.msg", "ai.toolCall.name", "traceloop.entity.name"]) {
            return name
        }
        if let operation = text(span, "ai.operationId"), let function = text(span, "ai.telemetry.functionId") {
            return "\(function):\(operation)"
        }
        return span.name
    }

    /// langfuse-api.md §4.4, first match wins; default SPAN.
    static func observationType(_ span: OTLPSpan) -> String {
        if let type = text(span, "langfuse.observation.type")?.uppercased(), ObservationTypes.all.contains(type) { return type }
        if let kind = text(span, "openinference.span.kind")?.uppercased() {
            if kind == "LLM" { return "GENERATION" }
            if ObservationTypes.all.contains(kind) { return kind }
        }
        if let type = text(span, "traceloop.span.kind").flatMap({ traceloopKinds[$0.lowercased()] }) { return type }
        switch text(span, "gen_ai.operation.name") {
        case "chat", "completion", "text_completion", "generate_content", "generate": return "GENERATION"
        case "embeddings": return "EMBEDDING"
        case "invoke_agent", "create_agent": return "AGENT"
        case "execute_tool": return "TOOL"
        default: break
        }
        switch text(span, "genkit:metadata:subtype") {
        case "model", "background-model": return "GENERATION"
        case "embedder": return "EMBEDDING"
        case "tool", "tool.v2": return "TOOL"
        case "retriever": return "RETRIEVER"
        case "evaluator": return "EVALUATOR"
        default: break
        }
        switch text(span, "ai.operationId") ?? text(span, "operation.name") {
        case "ai.generateText.doGenerate", "ai.streamText.doStream", "ai.generateObject.doGenerate", "ai.streamObject.doStream":
            if span.attribute("ai.model.id") != nil || span.attribute("gen_ai.request.model") != nil { return "GENERATION" }
        case "ai.embed.doEmbed", "ai.embedMany.doEmbed": return "EMBEDDING"
        case "ai.toolCall": return "TOOL"
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
            return stringifiedParameters(object)
        }
        for key in ["llm.invocation_parameters", "model_config"] {
            if let json = text(span, key), let object = try? JSONParser.parse(json), object.objectValue != nil {
                return stringifiedParameters(object)
            }
        }
        let parameters = span.attributes.compactMap { key, value -> (String, JSONValue)? in
            for prefix in ["gen_ai.request.", "llm.invocation_parameters."] where key.hasPrefix(prefix) {
                let name = String(key.dropFirst(prefix.count))
                return name == "model" || name.isEmpty ? nil : (name, value)
            }
            return nil
        }
        return parameters.isEmpty ? nil : stringifiedParameters(.object(parameters))
    }

    /// `langfuse.observation.usage_details`, else `gen_ai.usage.*` normalised to input/output/
    /// total with cache read and creation tokens split out of input.
    static func usageDetails(_ span: OTLPSpan) -> JSONValue? {
        if let json = text(span, "langfuse.observation.usage_details"), let object = try? JSONParser.parse(json), object.objectValue != nil {
            return object
        }
        // gen_ai.usage.* (OpenTelemetry GenAI), llm.token_count.* (OpenInference) and
        // ai.usage.* (Vercel AI SDK), prefix stripped.
        var raw: [String: Int64] = [:]
        for (key, value) in span.attributes where key != "gen_ai.usage.cost" {
            guard let prefix = ["gen_ai.usage.", "llm.token_count.", "ai.usage."].first(where: key.hasPrefix) else { continue }
            // Counts past ValueBounds.maxCount are ignored, as in batch usage, so the
            // subtraction below cannot overflow.
            if let count = value.intValue ?? value.stringValue.flatMap({ Int64($0) }),
               (-ValueBounds.maxCount...ValueBounds.maxCount).contains(count) {
                raw[String(key.dropFirst(prefix.count))] = count
            }
        }
        guard !raw.isEmpty else { return nil }
        func first(_ keys: String...) -> Int64? { keys.lazy.compactMap { raw[$0] }.first }
        // Attribute values are any Int64: negative counts count as 0, and the cached tokens are
        // taken out of input without going below 0, so no subtraction can overflow.
        let cacheRead = max(0, first("cache_read.input_tokens", "cache_read_input_tokens", "cache_read_tokens",
                                     "prompt_details.cache_read", "cachedInputTokens") ?? 0)
        let cacheCreation = max(0, first("cache_creation.input_tokens", "cache_creation_input_tokens", "prompt_details.cache_write") ?? 0)
        // Reasoning and audio tokens are part of the output (and audio of the input) counts, and
        // priced apart: taken out of them like cached tokens (OpenInference's `*_details.*`,
        // pydantic-ai's `details.reasoning_tokens`, the GenAI `reasoning.output_tokens`).
        let reasoning = max(0, first("reasoning.output_tokens", "completion_details.reasoning", "details.reasoning_tokens",
                                     "reasoning_tokens", "reasoningTokens") ?? 0)
        let inputAudio = max(0, first("prompt_details.audio", "audio.input_tokens") ?? 0)
        let outputAudio = max(0, first("completion_details.audio", "audio.output_tokens") ?? 0)
        var details: [(String, JSONValue)] = []
        if let input = first("input_tokens", "prompt_tokens", "prompt", "promptTokens", "inputTokens") {
            let uncached = [cacheRead, cacheCreation, inputAudio].reduce(max(0, input)) { $0 > $1 ? $0 - $1 : 0 }
            details.append(("input", JSONValue(Int(uncached))))
        }
        if let output = first("output_tokens", "completion_tokens", "completion", "completionTokens", "outputTokens") {
            let plain = [reasoning, outputAudio].reduce(max(0, output)) { $0 > $1 ? $0 - $1 : 0 }
            details.append(("output", JSONValue(Int(plain))))
        }
        if let total = first("total_tokens", "total", "totalTokens") { details.append(("total", JSONValue(Int(total)))) }
        if cacheRead > 0 { details.append(("input_cached_tokens", JSONValue(Int(cacheRead)))) }
        if cacheCreation > 0 { details.append(("input_cache_creation", JSONValue(Int(cacheCreation)))) }
        if inputAudio > 0 { details.append(("input_audio_tokens", JSONValue(Int(inputAudio)))) }
        if reasoning > 0 { details.append(("output_reasoning_tokens", JSONValue(Int(reasoning)))) }
        if outputAudio > 0 { details.append(("output_audio_tokens", JSONValue(Int(outputAudio)))) }
        return details.isEmpty ? nil : .object(details)
    }

    static func costDetails(_ span: OTLPSpan) -> JSONValue? {
        if let json = text(span, "langfuse.observation.cost_details"), let object = try? JSONParser.parse(json), object.objectValue != nil {
            return object
        }
        for key in ["gen_ai.usage.cost", "llm.cost.total", "operation.cost"] {
            if let total = span.attribute(key)?.doubleValue ?? text(span, key).flatMap(Double.init) {
                return .object([("total", JSONValue(total))])
            }
        }
        return nil
    }

    /// Attribute pairs holding input and output, in the order they are tried (issue #5 for the
    /// first four, then the vendor families of langfuse-api.md §4.5).
    static let inputOutputKeys: [(input: [String], output: [String])] = [
        (["langfuse.observation.input"], ["langfuse.observation.output"]),
        (["gen_ai.input.messages"], ["gen_ai.output.messages"]),
        (["input.value"], ["output.value"]),
        (["traceloop.entity.input"], ["traceloop.entity.output"]),
        (["ai.prompt.messages", "ai.prompt", "ai.toolCall.args"],
         ["ai.response.text", "ai.result.text", "ai.toolCall.result", "ai.response.object", "ai.result.object",
          "ai.response.toolCalls", "ai.result.toolCalls"]),
        (["genkit:input"], ["genkit:output"]),
        (["mlflow.spanInputs"], ["mlflow.spanOutputs"]),
        (["gen_ai.tool.call.arguments", "tool_arguments"], ["gen_ai.tool.call.result", "tool_response"]),
        (["pydantic_ai.all_messages"], ["final_result"]),
        (["input"], ["output"]),
    ]

    /// langfuse-api.md §4.5: the first group that yields something; then flattened message
    /// lists (`gen_ai.prompt.N.*`, `llm.input_messages.N.message.*`), then GenAI span events.
    static func inputOutput(_ span: OTLPSpan) -> (JSONValue?, JSONValue?) {
        for (inputKeys, outputKeys) in inputOutputKeys {
            let input = inputKeys.lazy.compactMap { span.attribute($0) }.first.map(decodedValue)
            let output = outputKeys.lazy.compactMap { span.attribute($0) }.first.map(decodedValue)
            if input != nil || output != nil { return (input, output) }
        }
        for (inputPrefix, outputPrefix) in [("gen_ai.prompt.", "gen_ai.completion."),
                                            ("llm.input_messages.", "llm.output_messages.")] {
            let input = flattenedMessages(span, prefix: inputPrefix)
            let output = flattenedMessages(span, prefix: outputPrefix)
            if input != nil || output != nil { return (input, output) }
        }
        return eventMessages(span)
    }

    /// Rebuilds `<prefix>N.<field>` (and `<prefix>N.message.<field>`) into an array of objects.
    static func flattenedMessages(_ span: OTLPSpan, prefix: String) -> JSONValue? {
        var messages: [Int: [(String, JSONValue)]] = [:]
        for (key, value) in span.attributes where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            guard let dot = rest.firstIndex(of: "."), let index = Int(rest[..<dot]), index >= 0, index < 10_000 else { continue }
            var field = String(rest[rest.index(after: dot)...])
            if field.hasPrefix("message.") { field = String(field.dropFirst("message.".count)) }
            guard !field.isEmpty else { continue }
            messages[index, default: []].append((field, value))
        }
        guard !messages.isEmpty else { return nil }
        return .array(messages.keys.sorted().map { JSONValue.object(messages[$0] ?? []) })
    }

    /// OpenTelemetry GenAI events: `gen_ai.{system,user,assistant,tool}.message` are the input
    /// (with their role), `gen_ai.choice` the output; the older `gen_ai.content.prompt` and
    /// `gen_ai.content.completion` events carry `gen_ai.prompt` and `gen_ai.completion`, the newer
    /// `gen_ai.client.inference.operation.details` event `gen_ai.input.messages` and
    /// `gen_ai.output.messages`.
    static func eventMessages(_ span: OTLPSpan) -> (JSONValue?, JSONValue?) {
        var input: [JSONValue] = []
        var output: [JSONValue] = []
        var legacyInput: JSONValue?
        var legacyOutput: JSONValue?
        for event in span.events {
            let attributes = event.attributes.map { ($0.0.hasPrefix("gen_ai.") ? String($0.0.dropFirst(7)) : $0.0, decodedValue($0.1)) }
            switch event.name {
            case "gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message", "gen_ai.tool.message":
                let role = String(event.name.dropFirst("gen_ai.".count).dropLast(".message".count))
                input.append(.object([("role", .string(role))] + attributes.filter { $0.0 != "role" && $0.0 != "system" }))
            case "gen_ai.choice":
                output.append(.object(attributes.filter { $0.0 != "system" }))
            case "gen_ai.content.prompt":
                legacyInput = event.attributes.first { $0.0 == "gen_ai.prompt" }.map { decodedValue($0.1) }
            case "gen_ai.content.completion":
                legacyOutput = event.attributes.first { $0.0 == "gen_ai.completion" }.map { decodedValue($0.1) }
            case "gen_ai.client.inference.operation.details":
                // The newer conventions' one event per call, carrying the call's messages.
                legacyInput = event.attributes.first { $0.0 == "gen_ai.input.messages" }.map { decodedValue($0.1) } ?? legacyInput
                legacyOutput = event.attributes.first { $0.0 == "gen_ai.output.messages" }.map { decodedValue($0.1) } ?? legacyOutput
            default: continue
            }
        }
        return (input.isEmpty ? legacyInput : .array(input), output.isEmpty ? legacyOutput : .array(output))
    }

    /// Observation metadata (§4.6): `langfuse.observation.metadata.*` (JSON-decoded), the whole
    /// `langfuse.observation.metadata` object, other attributes for non-Langfuse scopes, and the
    /// resource attributes and scope.
    static func observationMetadata(_ span: OTLPSpan, folded: FoldedEvents) -> JSONValue {
        var metadata: [(String, JSONValue)] = []
        if let whole = text(span, "langfuse.observation.metadata").map(decoded)?.objectValue { metadata += whole }
        metadata += prefixed(span.attributes, "langfuse.observation.metadata.")
        metadata += prefixed(span.attributes, "langfuse.metadata.")
        metadata += prefixed(span.attributes, "ai.telemetry.metadata.").filter { !["userId", "sessionId", "tags"].contains($0.0) }
        if !span.scopeName.hasPrefix("langfuse-sdk") {
            let attributes = span.attributes.filter { key, _ in !key.hasPrefix("langfuse.") }
            if !attributes.isEmpty { metadata.append(("attributes", .object(attributes))) }
        }
        for (key, value) in conventionMetadata(span) where !metadata.contains(where: { $0.0 == key }) {
            metadata.append((key, value))
        }
        if folded.chunks > 0 { metadata.append(("streamChunks", JSONValue(folded.chunks))) }
        if let exception = folded.exception { metadata.append(("exception", exception)) }
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
        let micros = Timestamp.micros(nanos: nanos)
        let millis = Timestamp.millis(micros: micros)
        // Keep microseconds: the merge orders events by them.
        let base = Timestamp.iso8601(millis: millis)
        let extra = micros % 1000
        return String(base.dropLast()) + String(format: "%03d", extra) + "Z"
    }
}
