import Model

/// Per-project settings, kept as a JSON object in `projects.settings`.
package enum ProjectSettingsStore {
    /// The project's settings; defaults for a project that has none (or does not exist).
    package static func settings(projectID: Int64, on db: SQLiteConnection) throws -> ProjectSettings {
        var text: String?
        try db.statement("SELECT settings FROM projects WHERE id = ?").query([.integer(projectID)]) { text = $0.text(0) }
        return ProjectSettings(json: text)
    }

    /// Every project's row id with its settings.
    package static func all(on db: SQLiteConnection) throws -> [(projectID: Int64, settings: ProjectSettings)] {
        var rows: [(Int64, ProjectSettings)] = []
        try db.statement("SELECT id, settings FROM projects ORDER BY id").query { row in
            rows.append((row.int(0), ProjectSettings(json: row.text(1))))
        }
        return rows
    }

    /// Sets (or, with nil, removes) top-level keys of the project's settings; other keys stay.
    /// False when the project does not exist. Changed `contextWindows` change the derived figures
    /// of the project's sessions: recompute them afterwards with
    /// `AggregateStore.refreshSessions(ofProject:after:limit:on:)`, in batches.
    package static func update(
        projectID: Int64, _ changes: [(key: String, value: JSONValue?)], on db: SQLiteConnection
    ) throws -> Bool {
        var text: String?
        var found = false
        try db.statement("SELECT settings FROM projects WHERE id = ?").query([.integer(projectID)]) { row in
            text = row.text(0)
            found = true
        }
        guard found else { return false }
        var members = (text.flatMap { try? JSONParser.parse($0) }?.objectValue) ?? []
        for (key, value) in changes {
            members.removeAll { $0.0 == key }
            if let value, !value.isNull { members.append((key, value)) }
        }
        try db.statement("UPDATE projects SET settings = ? WHERE id = ?")
            .run([.text(JSONValue.object(members).jsonText), .integer(projectID)])
        return true
    }
}
