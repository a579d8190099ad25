import Model

/// Projects and their API keys. Secrets are never stored: only a random salt and
/// SHA-256(salt ‖ secret), computed by the caller.
package enum ProjectStore {
    package struct Project: Sendable, Equatable {
        package let rowID: Int64
        /// The id the API shows (`data[].id` of `GET /api/public/projects`).
        package let publicID: String
        package let name: String
        package let createdAt: Int64
    }

    package struct Key: Sendable, Equatable {
        package let publicKey: String
        package let project: Project
        package let salt: [UInt8]
        package let secretHash: [UInt8]
        /// e.g. `sk-lf-…3f9a`, safe to list.
        package let secretHint: String
        package let createdAt: Int64
        package let revokedAt: Int64?
        /// The project's settings when the key was read.
        package let settings: ProjectSettings
        /// The project's secret salt for user-id hashing (docs/PRIVACY.md).
        package let userSalt: [UInt8]
    }

    /// Creates a project; returns it.
    package static func createProject(publicID: String, name: String, now: Int64, on db: SQLiteConnection) throws -> Project {
        try db.statement("INSERT INTO projects (public_id, name, created_at, user_salt) VALUES (?, ?, ?, randomblob(32))")
            .run([.text(publicID), .text(name), .integer(now)])
        return Project(rowID: db.lastInsertRowID, publicID: publicID, name: name, createdAt: now)
    }

    /// Adds a key pair to a project.
    package static func addKey(
        projectID: Int64, publicKey: String, salt: [UInt8], secretHash: [UInt8], secretHint: String,
        now: Int64, on db: SQLiteConnection
    ) throws {
        do {
            try db.statement("""
                INSERT INTO api_keys (project_id, public_key, secret_salt, secret_hash, secret_hint, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """).run([.integer(projectID), .text(publicKey), .blob(salt), .blob(secretHash), .text(secretHint), .integer(now)])
        } catch where error.isConstraintViolation {
            throw StorageError.conflict
        }
    }

    /// The project called `name`, if any.
    package static func project(named name: String, on db: SQLiteConnection) throws -> Project? {
        var found: Project?
        try db.statement("SELECT id, public_id, name, created_at FROM projects WHERE name = ? ORDER BY id LIMIT 1")
            .query([.text(name)]) { row in found = project(row, offset: 0) }
        return found
    }

    /// Every project with its settings JSON text, oldest first.
    package static func projects(on db: SQLiteConnection) throws -> [(Project, String)] {
        var projects: [(Project, String)] = []
        try db.statement("SELECT id, public_id, name, created_at, settings FROM projects ORDER BY id").query { row in
            projects.append((project(row, offset: 0), row.text(4) ?? "{}"))
        }
        return projects
    }

    package static func projectCount(on db: SQLiteConnection) throws -> Int {
        var count = 0
        try db.statement("SELECT count(*) FROM projects").query { count = Int($0.int(0)) }
        return count
    }

    /// The key with `publicKey`, revoked or not.
    package static func key(publicKey: String, on db: SQLiteConnection) throws -> Key? {
        var found: Key?
        try db.statement(keySelect + " WHERE k.public_key = ?").query([.text(publicKey)]) { row in
            found = key(row)
        }
        return found
    }

    /// Every key, oldest first.
    package static func keys(on db: SQLiteConnection) throws -> [Key] {
        var keys: [Key] = []
        try db.statement(keySelect + " ORDER BY k.id").query { keys.append(key($0)) }
        return keys
    }

    /// Marks a key revoked; false when no such active key exists.
    package static func revoke(publicKey: String, now: Int64, on db: SQLiteConnection) throws -> Bool {
        try db.statement("UPDATE api_keys SET revoked_at = ? WHERE public_key = ? AND revoked_at IS NULL")
            .run([.integer(now), .text(publicKey)])
        return db.changes > 0
    }

    private static let keySelect = """
        SELECT k.public_key, k.secret_salt, k.secret_hash, k.secret_hint, k.created_at, k.revoked_at,
               p.id, p.public_id, p.name, p.created_at, p.settings, p.user_salt
        FROM api_keys k JOIN projects p ON p.id = k.project_id
        """

    private static func key(_ row: Statement) -> Key {
        Key(
            publicKey: row.text(0) ?? "", project: project(row, offset: 6), salt: row.blob(1) ?? [],
            secretHash: row.blob(2) ?? [], secretHint: row.text(3) ?? "", createdAt: row.int(4),
            revokedAt: row.isNull(5) ? nil : row.int(5), settings: ProjectSettings(json: row.text(10)),
            userSalt: row.blob(11) ?? [])
    }

    private static func project(_ row: Statement, offset: Int32) -> Project {
        Project(rowID: row.int(offset), publicID: row.text(offset + 1) ?? "", name: row.text(offset + 2) ?? "",
                createdAt: row.int(offset + 3))
    }
}
