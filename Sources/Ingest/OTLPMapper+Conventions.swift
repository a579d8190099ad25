import Model
import OTLP

/// Third-party conventions beyond Langfuse's own attributes (docs/DATA_MODEL.md, "Third-party
/// conventions", has one table per library): Traceloop/OpenLLMetry span kinds and association
/// properties, OpenInference metadata and first-token events, the GenAI chunk, message and
/// exception events, and pydantic-ai's time to first chunk.
extension OTLPMapper {
    /// Where `traceBody` puts the root span's own name: the trace's name only when no span of
    /// the export set `langfuse.trace.name`.
    static let spanNameKey = "\u{0}spanName"

    /// Traceloop's association properties (`Traceloop.set_association_properties`).
    static let associationPrefix = "traceloop.association.properties."

    /// `traceloop.span.kind` → observation type. Traceloop's workflow is the app's run and a task
    /// one step of it: both are chains of calls, as OpenInference's CHAIN.
    static let traceloopKinds = ["tool": "TOOL", "agent": "AGENT", "workflow": "CHAIN", "task": "CHAIN"]

    /// The observation's model: the first model attribute, else the `model` inside OpenInference's
    /// `llm.invocation_parameters` (its error spans carry the model only there).
    static func modelName(_ span: OTLPSpan) -> String? {
        if let model = firstText(span, ["langfuse.observation.model.name", "gen_ai.response.model", "ai.model.id",
                                        "gen_ai.request.model", "llm.response.model", "llm.model_name", "model"]) {
            return model
        }
        guard let json = text(span, "llm.invocation_parameters"), let model = (try? JSONParser.parse(json))?["model"]?.stringValue,
              !model.isEmpty else { return nil }
        return model
    }

    /// Model parameters as Langfuse serves them: strings and numbers as sent, anything else
    /// (lists, objects, booleans) as its compact JSON text (the SDKs read `Dict[str, str]`).
    static func stringifiedParameters(_ parameters: JSONValue) -> JSONValue {
        guard let members = parameters.objectValue else { return parameters }
        return .object(members.map { key, value in
            switch value {
            case .string, .number, .null: (key, value)
            default: (key, .string(value.jsonText))
            }
        })
    }

    /// Span events that are not observations of their own but fold into their span.
    struct FoldedEvents {
        /// Indices into `span.events` of the folded events.
        var indices = Set<Int>()
        /// Streaming chunk events (OpenLLMetry's `gen_ai.content.completion.chunk`, one per chunk).
        var chunks = 0
        /// The time of the first token: OpenInference's `First Token Stream Event`, else the first chunk.
        var firstToken: UInt64?
        /// An `exception` event of an ERROR span: `exception.type`, `.message`, `.stacktrace`.
        var exception: JSONValue?
    }

    /// GenAI message events already feed the observation's input and output (`eventMessages`).
    static let messageEvents: Set<String> = [
        "gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message", "gen_ai.tool.message",
        "gen_ai.choice", "gen_ai.content.prompt", "gen_ai.content.completion", "gen_ai.client.inference.operation.details",
    ]

    static let chunkEvents: Set<String> = ["gen_ai.content.completion.chunk", "llm.content.completion.chunk"]

    static func foldedEvents(_ span: OTLPSpan) -> FoldedEvents {
        var folded = FoldedEvents()
        var firstChunk: UInt64?
        for (index, event) in span.events.enumerated() {
            let time = event.timeNanos > 0 ? event.timeNanos : span.startNanos
            if chunkEvents.contains(event.name) {
                folded.indices.insert(index)
                folded.chunks += 1
                firstChunk = min(firstChunk ?? time, time)
            } else if event.name == "First Token Stream Event" {
                folded.indices.insert(index)
                folded.firstToken = min(folded.firstToken ?? time, time)
            } else if messageEvents.contains(event.name) {
                folded.indices.insert(index)
            } else if event.name == "exception", span.statusCode == 2, folded.exception == nil {
                // The span is already the error: its exception is the error's detail, not a second one.
                folded.indices.insert(index)
                folded.exception = .object(event.attributes.filter { $0.0 != "exception.escaped" })
            }
        }
        if folded.firstToken == nil { folded.firstToken = firstChunk }
        return folded
    }

    /// `completionStartTime`: Langfuse's attribute, else a first-token signal (OpenInference's
    /// event, the first chunk event, pydantic-ai's `gen_ai.client.operation.time_to_first_chunk`
    /// in seconds, Vercel's `ai.response.msToFirstChunk` in milliseconds), never before the start.
    static func completionStartTime(_ span: OTLPSpan, folded: FoldedEvents) -> String? {
        if let completion = text(span, "langfuse.observation.completion_start_time") {
            let unquoted = (try? JSONParser.parse(completion))?.stringValue ?? completion
            if Timestamp.parseMicros(unquoted) != nil { return unquoted }
        }
        let start = span.startNanos > 0 ? span.startNanos : span.endNanos
        if let first = folded.firstToken, first >= start { return iso(first) }
        let offsets: [(String, Double)] = [("gen_ai.client.operation.time_to_first_chunk", 1e9),
                                           ("gen_ai.response.time_to_first_chunk", 1e9),
                                           ("ai.response.msToFirstChunk", 1e6), ("ai.stream.msToFirstChunk", 1e6)]
        for (key, nanosPerUnit) in offsets {
            guard let value = span.attribute(key)?.doubleValue ?? text(span, key).flatMap(Double.init) else { continue }
            // Bounded: a negative, non-finite or over-a-day offset is ignored, so the sum cannot overflow.
            let nanos = value * nanosPerUnit
            guard nanos.isFinite, nanos >= 0, nanos <= 86_400e9 else { continue }
            let (time, overflow) = start.addingReportingOverflow(UInt64(nanos))
            if !overflow { return iso(time) }
        }
        return nil
    }

    /// Metadata third-party libraries attach to every span of a run: OpenInference's `metadata`
    /// (a JSON object as text, from `using_metadata`) and Traceloop's association properties
    /// other than the session and user ids, which become the trace's.
    static func conventionMetadata(_ span: OTLPSpan) -> [(String, JSONValue)] {
        var metadata: [(String, JSONValue)] = []
        if let object = text(span, "metadata").map(decoded)?.objectValue { metadata += object }
        for (key, value) in prefixed(span.attributes, associationPrefix) where key != "session_id" && key != "user_id" {
            metadata.append((key, value))
        }
        return metadata
    }
}
