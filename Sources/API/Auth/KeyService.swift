import Crypto
import Foundation
import Storage

/// Creates projects and key pairs. Secrets leave this type once, to be shown to the user, and
/// are stored only as SHA-256(salt ‖ secret).
package enum KeyService {
    package struct CreatedKey: Sendable {
        package let project: ProjectStore.Project
        package let publicKey: String
        package let secretKey: String
    }

    /// A fresh `pk-lf-…` / `sk-lf-…` pair in Langfuse's format.
    package static func generatePair() -> (publicKey: String, secretKey: String) {
        ("pk-lf-" + UUID().uuidString.lowercased(), "sk-lf-" + UUID().uuidString.lowercased())
    }

    /// Stores `publicKey`/`secretKey` for the project named `projectName`, creating the project if needed.
    package static func create(
        projectName: String, publicKey: String, secretKey: String, database: Database
    ) async throws -> CreatedKey {
        let salt = Digest.randomBytes(16)
        let hash = Digest.sha256(salt + Array(secretKey.utf8))
        let hint = "sk-lf-…" + String(secretKey.suffix(4))
        let now = WallClock.nowMillis()
        let project = try await database.writer.write { db in
            let project = try ProjectStore.project(named: projectName, on: db)
                ?? ProjectStore.createProject(publicID: UUID().uuidString.lowercased(), name: projectName, now: now, on: db)
            try ProjectStore.addKey(
                projectID: project.rowID, publicKey: publicKey, salt: salt, secretHash: hash, secretHint: hint,
                now: now, on: db)
            return project
        }
        return CreatedKey(project: project, publicKey: publicKey, secretKey: secretKey)
    }

    /// First start with an empty database: create the project and key from
    /// `PARLEY_INIT_PUBLIC_KEY` / `PARLEY_INIT_SECRET_KEY` (and `PARLEY_INIT_PROJECT_NAME`), or a
    /// `default` project with a fresh pair, which the caller prints once. Nil when projects exist.
    package static func bootstrap(database: Database, environment: [String: String]) async throws -> (key: CreatedKey, generated: Bool)? {
        let count = try await database.read { try ProjectStore.projectCount(on: $0) }
        guard count == 0 else { return nil }
        let name = environment["PARLEY_INIT_PROJECT_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        if let publicKey = environment["PARLEY_INIT_PUBLIC_KEY"], !publicKey.isEmpty,
           let secretKey = environment["PARLEY_INIT_SECRET_KEY"], !secretKey.isEmpty {
            return (try await create(projectName: name, publicKey: publicKey, secretKey: secretKey, database: database), false)
        }
        let pair = generatePair()
        return (try await create(projectName: name, publicKey: pair.publicKey, secretKey: pair.secretKey, database: database), true)
    }
}
