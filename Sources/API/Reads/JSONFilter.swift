import Ingest
import Model
import Storage

/// Langfuse's `filter` query parameter on `GET /api/public/traces` and `GET
/// /api/public/observations`: a JSON array of `{type, column, operator, value, key?}` conditions,
/// all of which must hold (langfuse-openapi.yml, `trace_list` and `legacy_observationsV1_getMany`).
/// When given it replaces the plain query filters, as in Langfuse.
///
/// No condition is ever ignored: a column Parley does not have (`bookmarked`, `scores_avg`, …),
/// an operator that does not fit the type, or a malformed value answers 400 with the reason.
/// openapi.yaml lists the supported columns (`filter` of tracesList, observationsList). Every
/// value is a bound SQL parameter.
struct JSONFilter {
    /// The list the filter applies to.
    enum Target {
        case traces
        case observations
    }

    /// Conditions in one filter at most.
    static let maxConditions = 50

    /// What a filter column is in SQL and which filter types it takes.
    struct Column {
        let sql: String
        let kind: Kind
        /// Hashed with the project's privacy policy before comparing (user ids).
        var isUserID = false
    }

    enum Kind {
        case string, datetime, number, tags, metadata, boolean
    }

    static let traceColumns: [String: Column] = [
        "id": Column(sql: "trace_id", kind: .string), "name": Column(sql: "name", kind: .string),
        "timestamp": Column(sql: "timestamp", kind: .datetime),
        "userId": Column(sql: "user_id", kind: .string, isUserID: true), "sessionId": Column(sql: "session_id", kind: .string),
        "environment": Column(sql: "environment", kind: .string), "version": Column(sql: "version", kind: .string),
        "release": Column(sql: "release", kind: .string), "tags": Column(sql: "tags", kind: .tags),
        "metadata": Column(sql: "metadata", kind: .metadata),
        "latency": Column(sql: "(latency_ms / 1000.0)", kind: .number),
        "inputTokens": Column(sql: "input_tokens", kind: .number), "outputTokens": Column(sql: "output_tokens", kind: .number),
        "totalTokens": Column(sql: "total_tokens", kind: .number), "tokens": Column(sql: "total_tokens", kind: .number),
        "totalCost": Column(sql: "total_cost", kind: .number), "errorCount": Column(sql: "error_count", kind: .number),
        "level": Column(sql: "(CASE WHEN error_count > 0 THEN 'ERROR' ELSE 'DEFAULT' END)", kind: .string),
        "public": Column(sql: "public", kind: .boolean),
    ]

    static let observationColumns: [String: Column] = [
        "id": Column(sql: "observation_id", kind: .string), "type": Column(sql: "type", kind: .string),
        "name": Column(sql: "name", kind: .string), "traceId": Column(sql: "trace_id", kind: .string),
        "startTime": Column(sql: "start_time", kind: .datetime), "endTime": Column(sql: "end_time", kind: .datetime),
        "environment": Column(sql: "environment", kind: .string), "level": Column(sql: "level", kind: .string),
        "statusMessage": Column(sql: "status_message", kind: .string), "version": Column(sql: "version", kind: .string),
        "latency": Column(sql: "((end_time - start_time) / 1000.0)", kind: .number),
        "timeToFirstToken": Column(sql: "((completion_start_time - start_time) / 1000.0)", kind: .number),
        "inputTokens": Column(sql: "input_tokens", kind: .number), "outputTokens": Column(sql: "output_tokens", kind: .number),
        "totalTokens": Column(sql: "total_tokens", kind: .number), "tokens": Column(sql: "total_tokens", kind: .number),
        "totalCost": Column(sql: "total_cost", kind: .number),
        "inputCost": Column(sql: "json_extract(cost_details, '$.input')", kind: .number),
        "outputCost": Column(sql: "json_extract(cost_details, '$.output')", kind: .number),
        "model": Column(sql: "model", kind: .string), "promptName": Column(sql: "prompt_name", kind: .string),
        "promptVersion": Column(sql: "prompt_version", kind: .number), "metadata": Column(sql: "metadata", kind: .metadata),
        "userId": Column(sql: traceColumn("user_id"), kind: .string, isUserID: true),
        "traceName": Column(sql: traceColumn("name"), kind: .string),
        "traceEnvironment": Column(sql: traceColumn("environment"), kind: .string),
        "traceTags": Column(sql: traceColumn("tags"), kind: .tags),
    ]

    static func traceColumn(_ column: String) -> String {
        "(SELECT traces.\(column) FROM traces WHERE traces.project_id = observations.project_id AND traces.trace_id = observations.trace_id)"
    }

    static let operators: [String: Set<String>] = [
        "string": ["=", "contains", "does not contain", "starts with", "ends with"],
        "stringObject": ["=", "contains", "does not contain", "starts with", "ends with"],
        "datetime": [">", "<", ">=", "<="],
        "number": ["=", ">", "<", ">=", "<="],
        "numberObject": ["=", ">", "<", ">=", "<="],
        "stringOptions": ["any of", "none of"],
        "categoryOptions": ["any of", "none of"],
        "arrayOptions": ["any of", "none of", "all of"],
        "boolean": ["=", "<>"],
        "null": ["is null", "is not null"],
    ]

    /// Adds the filter's conditions; 400 on anything it cannot apply exactly.
    static func apply(_ text: String, target: Target, privacy: PrivacyPolicy, to conditions: inout ReadStore.Conditions) throws {
        func reject(_ reason: String) -> APIError { APIError.badRequest("Invalid filter: \(reason)") }
        guard let document = try? JSONParser.parse(text), let list = document.arrayValue else {
            throw reject("filter must be a JSON array of conditions")
        }
        guard list.count <= maxConditions else { throw reject("at most \(maxConditions) conditions") }
        let columns = target == .traces ? traceColumns : observationColumns
        for (index, condition) in list.enumerated() {
            let at = "condition \(index)"
            guard let type = condition["type"]?.stringValue, let allowed = operators[type] else {
                throw reject("\(at): type must be one of \(operators.keys.sorted().joined(separator: ", "))")
            }
            guard let name = condition["column"]?.stringValue else { throw reject("\(at): column is required") }
            guard let column = columns[name] else {
                throw reject("\(at): column \"\(name)\" is not supported here (supported: \(columns.keys.sorted().joined(separator: ", ")))")
            }
            guard let op = condition["operator"]?.stringValue, allowed.contains(op) else {
                throw reject("\(at): operator for type \(type) must be one of \(allowed.sorted().joined(separator: ", "))")
            }
            let value = condition["value"]
            func mismatch() -> APIError { reject("\(at): type \(type) does not apply to column \(name)") }
            switch (type, column.kind) {
            case ("null", .metadata), ("null", .tags): throw mismatch()
            case ("null", _):
                conditions.add("\(column.sql) \(op == "is null" ? "IS NULL" : "IS NOT NULL")")
            case ("string", .string):
                guard var text = value?.stringValue else { throw reject("\(at): value must be a string") }
                if column.isUserID { text = privacy.userID(text) }
                addText(column.sql, op, text, to: &conditions)
            case ("stringOptions", .string), ("categoryOptions", .string):
                var options = try strings(value, at: at, reject: reject)
                if column.isUserID { options = options.map(privacy.userID) }
                let placeholders = Array(repeating: "?", count: options.count).joined(separator: ", ")
                let sql = options.isEmpty ? (op == "any of" ? "0" : "1")
                    : "coalesce(\(column.sql) \(op == "any of" ? "IN" : "NOT IN") (\(placeholders)), \(op == "none of" ? 1 : 0))"
                conditions.clausesAdd(sql, options.map(SQLiteValue.text))
            case ("datetime", .datetime):
                guard let text = value?.stringValue, let millis = Timestamp.parseMillis(text) else {
                    throw reject("\(at): value must be an ISO 8601 date-time")
                }
                conditions.add("\(column.sql) \(op) ?", .integer(millis))
            case ("number", .number):
                guard let number = value?.doubleValue, number.isFinite else { throw reject("\(at): value must be a finite number") }
                conditions.add("\(column.sql) \(op) ?", .real(number))
            case ("boolean", .boolean):
                guard let flag = value?.boolValue else { throw reject("\(at): value must be true or false") }
                conditions.add("\(column.sql) \(op == "=" ? "=" : "<>") ?", .integer(flag ? 1 : 0))
            case ("arrayOptions", .tags):
                let options = try strings(value, at: at, reject: reject)
                let member = "EXISTS (SELECT 1 FROM json_each(coalesce(\(column.sql), '[]')) WHERE value = ?)"
                switch op {
                case "any of":
                    conditions.clausesAdd(options.isEmpty ? "0" : "(" + Array(repeating: member, count: options.count).joined(separator: " OR ") + ")",
                                          options.map(SQLiteValue.text))
                case "none of":
                    conditions.clausesAdd(options.isEmpty ? "1" : "NOT (" + Array(repeating: member, count: options.count).joined(separator: " OR ") + ")",
                                          options.map(SQLiteValue.text))
                default:
                    conditions.clausesAdd(options.isEmpty ? "1" : Array(repeating: member, count: options.count).joined(separator: " AND "),
                                          options.map(SQLiteValue.text))
                }
            case ("stringObject", .metadata), ("numberObject", .metadata), ("categoryOptions", .metadata):
                guard let key = condition["key"]?.stringValue, !key.isEmpty, key.utf8.count <= 200, !key.contains("\"") else {
                    throw reject("\(at): key must name a metadata key (1 to 200 bytes, no double quote)")
                }
                let path = "json_extract(\(column.sql), '$.\"' || ? || '\"')"
                if type == "numberObject" {
                    guard let number = value?.doubleValue, number.isFinite else { throw reject("\(at): value must be a finite number") }
                    conditions.add("CAST(\(path) AS REAL) \(op) ?", .text(key), .real(number))
                } else if type == "categoryOptions" {
                    let options = try strings(value, at: at, reject: reject)
                    let placeholders = Array(repeating: "?", count: options.count).joined(separator: ", ")
                    let sql = options.isEmpty ? (op == "any of" ? "0" : "1")
                        : "coalesce(\(path) \(op == "any of" ? "IN" : "NOT IN") (\(placeholders)), \(op == "none of" ? 1 : 0))"
                    conditions.clausesAdd(sql, [.text(key)] + options.map(SQLiteValue.text))
                } else {
                    guard let text = value?.stringValue else { throw reject("\(at): value must be a string") }
                    addText(path, op, text, to: &conditions, prefix: [.text(key)])
                }
            default:
                throw mismatch()
            }
        }
    }

    static func strings(_ value: JSONValue?, at: String, reject: (String) -> APIError) throws -> [String] {
        guard let list = value?.arrayValue, list.count <= QueryParameters.maxListValues else {
            throw reject("\(at): value must be an array of at most \(QueryParameters.maxListValues) strings")
        }
        let texts = list.compactMap(\.stringValue)
        guard texts.count == list.count else { throw reject("\(at): value must be an array of strings") }
        return texts
    }

    /// A string comparison; `prefix` values are bound before the comparison's own (a metadata key).
    static func addText(_ sql: String, _ op: String, _ text: String, to conditions: inout ReadStore.Conditions, prefix: [SQLiteValue] = []) {
        let value = SQLiteValue.text(text)
        switch op {
        case "=": conditions.clausesAdd("\(sql) = ?", prefix + [value])
        case "contains": conditions.clausesAdd("instr(\(sql), ?) > 0", prefix + [value])
        case "does not contain": conditions.clausesAdd("coalesce(instr(\(sql), ?), 0) = 0", prefix + [value])
        case "starts with": conditions.clausesAdd("substr(\(sql), 1, length(?)) = ?", prefix + [value, value])
        default: conditions.clausesAdd("(? = '' OR substr(\(sql), -length(?)) = ?)", [value] + prefix + [value, value])
        }
    }
}

extension ReadStore.Conditions {
    /// `add` with a list of bound values.
    mutating func clausesAdd(_ clause: String, _ bound: [SQLiteValue]) {
        add(clause, values: bound)
    }
}
