import Model
import Storage
import Synchronization
import Transport

/// `GET /api/public/export/sessions` and `/export/traces` (docs/PRIVACY.md, "Export"): every
/// matching row as NDJSON or CSV, streamed with chunked encoding. Rows are read `batchSize` at a
/// time by row id and each batch is rendered and sent before the next is read, so memory stays
/// constant however large the export.
enum ExportHandlers {
    static let batchSize = 500

    enum Format: String {
        case ndjson, csv

        var contentType: String { self == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson" }
    }

    static func sessions(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let format = try format(request.query)
            let conditions = try SessionFilters.conditions(request.query, auth: auth)
            let publicID = auth.project.publicID
            return response(format, name: "sessions", database: database) { db, after in
                let batch = try ReadStore.sessions(conditions, afterRow: after, limit: batchSize, on: db)
                return (batch.rows.map { ReadJSON.session($0, projectID: publicID) }, batch.last)
            }
        }
    }

    static func traces(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let format = try format(request.query)
            let conditions = try TraceHandlers.filters(request.query, auth: auth)
            let publicID = auth.project.publicID
            return response(format, name: "traces", database: database) { db, after in
                let batch = try ReadStore.traces(conditions, afterRow: after, limit: batchSize, on: db)
                let items = batch.rows.map { trace in
                    ReadJSON.trace(trace, projectID: publicID) + [
                        ("latency", JSONValue(Timestamp.seconds(millis: trace.latencyMs))), ("totalCost", JSONValue(trace.totalCost)),
                    ] + ReadJSON.traceAggregates(trace)
                }
                return (items, batch.last)
            }
        }
    }

    private static func format(_ query: QueryParameters) throws -> Format {
        guard let text = query["format"] else { return .ndjson }
        guard let format = Format(rawValue: text) else {
            throw APIError.badRequest("Invalid request data: format must be ndjson or csv")
        }
        return format
    }

    /// A streamed answer whose pieces are the batches `read` gives, from row 0 on.
    private static func response(
        _ format: Format, name: String, database: Database,
        read: @escaping @Sendable (SQLiteConnection, Int64) throws -> ([[(String, JSONValue)]], Int64?)
    ) -> HTTPResponse {
        let cursor = ExportCursor(format: format)
        var response = HTTPResponse(status: 200, headers: [
            "Content-Type": format.contentType,
            "Content-Disposition": "attachment; filename=\"\(name).\(format.rawValue)\"",
            "Cache-Control": "no-store",
        ])
        response.stream = HTTPBodyStream {
            guard let after = cursor.position else { return nil }
            let (items, last) = try await database.read { db in try read(db, after) }
            // A short batch is the last: no further read to learn that nothing is left.
            return cursor.render(items, last: items.count < batchSize ? nil : last)
        }
        return response
    }
}

/// Where an export is (the last row id sent, nil when done) and the CSV header once written.
final class ExportCursor: Sendable {
    private struct State {
        var position: Int64? = 0
        var columns: [String]?
    }

    private let format: ExportHandlers.Format
    private let state = Mutex(State())

    init(format: ExportHandlers.Format) {
        self.format = format
    }

    var position: Int64? { state.withLock { $0.position } }

    /// The bytes of one batch; moves the cursor past it (to the end when `last` is nil).
    func render(_ items: [[(String, JSONValue)]], last: Int64?) -> [UInt8] {
        state.withLock { state in
            state.position = last
            var out: [UInt8] = []
            switch format {
            case .ndjson:
                for item in items {
                    out += JSONValue.object(item).jsonBytes
                    out.append(UInt8(ascii: "\n"))
                }
            case .csv:
                for item in items {
                    if state.columns == nil {
                        let columns = item.map(\.0)
                        state.columns = columns
                        CSV.appendRow(columns.map(CSV.Cell.text), to: &out)
                    }
                    let values = Dictionary(item, uniquingKeysWith: { _, last in last })
                    CSV.appendRow((state.columns ?? []).map { CSV.Cell(values[$0] ?? .null) }, to: &out)
                }
            }
            return out
        }
    }
}

/// RFC 4180 CSV, with the usual guard against formula injection.
enum CSV {
    enum Cell {
        case text(String)
        case number(String)

        /// Scalars as themselves, null as empty, objects and arrays as their JSON text.
        init(_ value: JSONValue) {
            switch value {
            case .null: self = .text("")
            case .bool(let flag): self = .text(flag ? "true" : "false")
            case .number(let text): self = .number(text)
            case .string(let text): self = .text(text)
            default: self = .text(value.jsonText)
            }
        }
    }

    static func appendRow(_ cells: [Cell], to out: inout [UInt8]) {
        for (index, cell) in cells.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            switch cell {
            case .number(let text): out += Array(text.utf8)
            case .text(let text): appendText(text, to: &out)
            }
        }
        out += [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
    }

    /// A text cell, quoted when it holds a separator, quote or line break. Text a spreadsheet
    /// would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`.
    private static func appendText(_ text: String, to out: inout [UInt8]) {
        var bytes = Array(text.utf8)
        if let first = bytes.first, [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D].contains(first) {
            bytes.insert(UInt8(ascii: "'"), at: 0)
        }
        let needsQuotes = bytes.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else {
            out += bytes
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }
}
