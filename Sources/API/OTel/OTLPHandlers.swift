import Foundation
import Ingest
import Model
import OTLP
import Storage
import SwiftProtobuf
import Transport

/// `POST /api/public/otel/v1/traces` and `POST /v1/traces` (operationId `otlpTraces`):
/// OTLP/HTTP trace export, protobuf or JSON, gzip undone by the transport
/// (https://opentelemetry.io/docs/specs/otlp/#otlphttp). The spans are stored before the
/// answer, through the same writer and merge as batch ingestion.
enum OTLPHandlers {
    static func traces(database: Database, authenticator: Authenticator, limits: IngestionHandlers.Limits) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            try refuseWhenOverloaded(database, request, maxWait: limits.maxRequestWait)
            if let version = request.http.headers["x-langfuse-ingestion-version"], !version.isEmpty {
                guard let number = Int(version), number <= 4 else {
                    throw APIError.badRequest("Unsupported x-langfuse-ingestion-version: \"\(version)\". Maximum supported: \"4\".")
                }
            }
            let isProtobuf = try isProtobufExport(request)
            var export: OTLPExport
            do {
                export = isProtobuf ? try OTLPDecoder.decodeProtobuf(request.http.body) : try OTLPDecoder.decodeJSON(request.http.body)
            } catch {
                let failure = APIError.badRequest("Invalid OTLP trace export: \(error); no span was stored")
                await recordRejectedRequest(failure, source: "otlp", auth: auth, database: database)
                throw failure
            }
            // A span whose session or user id could not be stored (a NUL, an empty or overlong
            // session id) is refused alone, as such an event is in batch ingestion.
            var kept: [OTLPSpan] = []
            for span in export.spans {
                if let problem = OTLPMapper.identifierProblem(span) { export.rejections.append(problem) } else { kept.append(span) }
            }
            export.spans = kept
            let events = OTLPMapper.events(for: export.spans)
            try await applyEvents(events, auth: auth, database: database, rejected: export.rejections.map {
                RejectedEvent(source: "otlp", eventID: nil, eventType: "span", status: 400, error: "InvalidSpan", message: $0)
            })
            // ExportTraceServiceResponse in the request's encoding, with partialSuccess only when
            // spans were rejected (an empty one means full success, so it is left out).
            let rejected = export.rejections.count
            if isProtobuf {
                var response = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse()
                if rejected > 0 {
                    response.partialSuccess.rejectedSpans = Int64(rejected)
                    response.partialSuccess.errorMessage = export.rejectionMessage
                }
                let body: [UInt8] = try response.serializedBytes()
                return HTTPResponse(status: 200, headers: ["Content-Type": "application/x-protobuf"], body: body)
            }
            guard rejected > 0 else { return jsonResponse(.object([])) }
            // OTLP/JSON writes int64 as a decimal string.
            return jsonResponse(.object([("partialSuccess", .object([
                ("rejectedSpans", .string(String(rejected))), ("errorMessage", .string(export.rejectionMessage)),
            ]))]))
        }
    }
}

/// True for a protobuf export, false for OTLP/JSON; 415 for any other Content-Type.
func isProtobufExport(_ request: APIRequest) throws -> Bool {
    let contentType = (request.http.headers["Content-Type"] ?? "").lowercased()
    let isProtobuf = contentType.contains("application/x-protobuf") || contentType.contains("application/protobuf")
    guard isProtobuf || contentType.contains("application/json") else {
        throw APIError(status: 415, code: "UnsupportedMediaType",
                       message: "Content-Type must be application/x-protobuf or application/json")
    }
    return isProtobuf
}

/// `POST /api/public/otel/v1/metrics`, `/v1/metrics` (operationId `otlpMetrics`) and
/// `POST /api/public/otel/v1/logs`, `/v1/logs` (operationId `otlpLogs`): Parley keeps traces
/// only, so these exports are answered 200 with `partialSuccess` naming every data point or log
/// record as rejected and why (the OTLP/HTTP answer for data a server does not accept, which
/// exporters do not retry), never 404. docs/DATA_MODEL.md, "OTLP metrics and logs", says why
/// the GenAI metrics are not stored.
extension OTLPHandlers {
    static let metricsRejection = "Parley stores traces only: OTLP metrics are not kept (the GenAI token and duration "
        + "metrics repeat what the spans carry; see docs/DATA_MODEL.md)"
    static let logsRejection = "Parley stores traces only: OTLP logs are not kept (put GenAI message content on spans: "
        + "OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental; see docs/DATA_MODEL.md)"

    static func metrics(authenticator: Authenticator) -> RouteHandler {
        notKept(authenticator: authenticator, signal: .metrics, countName: "rejectedDataPoints", message: metricsRejection)
    }

    static func logs(authenticator: Authenticator) -> RouteHandler {
        notKept(authenticator: authenticator, signal: .logs, countName: "rejectedLogRecords", message: logsRejection)
    }

    private static func notKept(authenticator: Authenticator, signal: OTLPItemCounter.Signal, countName: String, message: String) -> RouteHandler {
        .async { request in
            _ = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let isProtobuf = try isProtobufExport(request)
            let rejected: Int
            do {
                rejected = isProtobuf ? try OTLPItemCounter.countProtobuf(request.http.body, signal: signal)
                    : try OTLPItemCounter.countJSON(request.http.body, signal: signal)
            } catch {
                throw APIError.badRequest("Invalid OTLP export: \(error)")
            }
            if isProtobuf {
                return HTTPResponse(status: 200, headers: ["Content-Type": "application/x-protobuf"],
                                    body: OTLPItemCounter.protobufResponse(rejected: rejected, message: message))
            }
            guard rejected > 0 else { return jsonResponse(.object([])) }
            // OTLP/JSON writes int64 as a decimal string.
            return jsonResponse(.object([("partialSuccess", .object([
                (countName, .string(String(rejected))), ("errorMessage", .string(message)),
            ]))]))
        }
    }
}
