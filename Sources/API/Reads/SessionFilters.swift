import Foundation
import Model
import Storage

/// The filters of the session list (`GET /api/public/sessions`), shared by every endpoint that
/// takes them (the session distributions and drop-off analytics), so they always agree.
enum SessionFilters {
    /// `metadata[key]=value` filters in one request at most.
    static let maxMetadataFilters = 20

    static func conditions(_ query: QueryParameters, auth: AuthContext) throws -> ReadStore.Conditions {
        var conditions = ReadStore.Conditions(projectID: auth.project.rowID)
        if let from = try query.millis("fromTimestamp") { conditions.add("created_at >= ?", .integer(from)) }
        if let to = try query.millis("toTimestamp") { conditions.add("created_at < ?", .integer(to)) }
        conditions.any("environment", try query.list("environment"))
        if let userID = query.userID(auth.privacy) { conditions.add("user_id = ?", .text(userID)) }
        if let status = query["status"] {
            guard ["active", "ended", "timed_out"].contains(status) else {
                throw APIError.badRequest("Invalid request data: status must be active, ended or timed_out")
            }
            conditions.add("status = ?", .text(status))
        }
        if let channel = query["channel"] { conditions.add("channel = ?", .text(channel)) }
        if let text = query["minTurns"] {
            guard let minTurns = Int64(text), minTurns >= 0 else {
                throw APIError.badRequest("Invalid request data: minTurns must be a non-negative integer")
            }
            conditions.add("turn_count >= ?", .integer(minTurns))
        }
        for tag in try query.list("tag") {
            conditions.add("EXISTS (SELECT 1 FROM json_each(sessions.tags) WHERE value = ?)", .text(tag))
        }
        let metadataFilters = query.all.filter { $0.0.hasPrefix("metadata[") && $0.0.hasSuffix("]") }
        guard metadataFilters.count <= maxMetadataFilters else {
            // Each one is a JSON lookup in every session and its traces.
            throw APIError.badRequest("Invalid request data: at most \(maxMetadataFilters) metadata[...] filters")
        }
        for (key, value) in metadataFilters {
            let field = String(key.dropFirst("metadata[".count).dropLast())
            guard !field.isEmpty else { continue }
            let path = "$.\"" + field.replacingOccurrences(of: "\"", with: "\\\"") + "\""
            // Matches the session's own metadata or the metadata of any of its traces.
            // json_extract gives JSON true/false as 1/0 (https://sqlite.org/json1.html#jex),
            // so booleans are compared by their JSON type name, the text a query carries.
            // Plain `?`s, bound in order: numbered ones would count from the statement's start.
            func matches(_ column: String) -> String {
                """
                CASE json_type(\(column), ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                    ELSE CAST(json_extract(\(column), ?) AS TEXT) END = ?
                """
            }
            conditions.add("""
                (\(matches("sessions.metadata")) OR EXISTS (
                    SELECT 1 FROM traces t WHERE t.project_id = sessions.project_id
                    AND t.session_id = sessions.session_id AND \(matches("t.metadata"))))
                """, .text(path), .text(path), .text(value), .text(path), .text(path), .text(value))
        }
        if let tier = query["userTier"] { conditions.add("user_tier = ?", .text(tier)) }
        // Where a drop-off happened, as the drop-off report groups it: its groups link here.
        if let text = query["lastTurn"] {
            guard let turn = Int64(text), turn >= 0 else {
                throw APIError.badRequest("Invalid request data: lastTurn must be a non-negative integer")
            }
            conditions.add("last_turn_number = ?", .integer(turn))
        }
        if let intent = query["lastIntent"] { conditions.add("last_intent = ?", .text(intent)) }
        if let action = query["agentLastAction"] { conditions.add("agent_last_action = ?", .text(action)) }
        if let stage = query["journeyStage"] { conditions.add("journey_stage = ?", .text(stage)) }
        if let journey = query["journey"] { conditions.add("journey_name = ?", .text(journey)) }
        for (name, column) in [("dropoff", "dropoff"), ("converted", "converted"), ("hasTurnIssues", "has_turn_issues")] {
            guard let text = query[name] else { continue }
            guard text == "true" || text == "false" else {
                throw APIError.badRequest("Invalid request data: \(name) must be true or false")
            }
            conditions.add("\(column) = ?", .integer(text == "true" ? 1 : 0))
        }
        return conditions
    }
}
