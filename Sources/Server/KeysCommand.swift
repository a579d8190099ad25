import API
import ArgumentParser
import Foundation
import Model
import Storage

/// `parley keys create|list|revoke`: manage API keys in the database file directly (works
/// while the server runs; the server notices within its key-cache lifetime, 10 s).
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct DatabaseOption: ParsableArguments {
        @Option(help: "SQLite database file (env PARLEY_DB). Default ./parley.sqlite.")
        var db: String?

        var path: String { db ?? Environment.string("PARLEY_DB") ?? "./parley.sqlite" }

        /// The existing database (a missing file is an error: only `serve` creates one).
        func open() throws -> Database {
            try DatabaseFile.openExisting(path)
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key pair (and the project if it is new).")
        @Option(help: "Project name.")
        var project: String
        @OptionGroup var database: DatabaseOption

        func run() throws {
            let db = try database.open()
            defer { db.close() }
            let pair = KeyService.generatePair()
            let projectName = project
            let created = try blockingAwait {
                try await KeyService.create(projectName: projectName, publicKey: pair.publicKey, secretKey: pair.secretKey, database: db)
            }
            print("project:    \(created.project.name) (\(created.project.publicID))")
            print("public key: \(created.publicKey)")
            print("secret key: \(created.secretKey)")
            print("The secret key is shown only now; Parley stores only its hash.")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (secrets are never shown).")
        @OptionGroup var database: DatabaseOption

        func run() throws {
            let db = try database.open()
            defer { db.close() }
            let keys = try db.readBlocking { try ProjectStore.keys(on: $0) }
            print("public key\tsecret\tproject\tcreated\tstatus")
            for key in keys {
                let created = Timestamp.iso8601(millis: key.createdAt)
                print("\(key.publicKey)\t\(key.secretHint)\t\(key.project.name)\t\(created)\t\(key.revokedAt == nil ? "active" : "revoked")")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its public key.")
        @Argument(help: "The public key (pk-lf-…).")
        var publicKey: String
        @OptionGroup var database: DatabaseOption

        func run() throws {
            let db = try database.open()
            defer { db.close() }
            let key = publicKey
            let now = WallClock.nowMillis()
            let revoked = try blockingAwait { try await db.writer.write { try ProjectStore.revoke(publicKey: key, now: now, on: $0) } }
            guard revoked else { throw ValidationError("no active key \(key)") }
            print("revoked \(key)")
        }
    }
}

/// `parley db check`: SQLite's integrity check; exit status 1 when it finds problems.
struct DBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Database maintenance.", subcommands: [Check.self, Backup.self])

    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent copy of the database to FILE while the server keeps serving.",
            discussion: """
                Uses SQLite's VACUUM INTO: the copy is the database as of one commit, compacted, and
                checked with PRAGMA quick_check. FILE must not exist. Restore by stopping the server and
                putting the copy in place of the database file (docs/RELIABILITY.md, "Backup and restore").
                """)
        @Argument(help: "The new file to write.")
        var file: String
        @OptionGroup var database: KeysCommand.DatabaseOption

        func run() throws {
            let source = database.path
            try DatabaseFile.requireExisting(source)
            do {
                try DatabaseBackup.copy(from: source, to: file) { FileManager.default.fileExists(atPath: $0) }
            } catch let failure as DatabaseBackup.Failure {
                throw DatabaseFile.OpenError(path: file, cause: failure.description)
            } catch {
                throw DatabaseFile.OpenError(path: file, cause: DatabaseFile.cause(of: error, path: file))
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            print("backed up \(source) to \(file) (\(size) bytes)")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run PRAGMA integrity_check.")
        @OptionGroup var database: KeysCommand.DatabaseOption

        func run() throws {
            let db = try database.open()
            defer { db.close() }
            let result = try db.integrityCheck()
            print(result)
            if result != "ok" { throw ExitCode(1) }
        }
    }
}
