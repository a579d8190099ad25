import Storage
import Testing
import TestSupport

/// `ProjectStore`: projects and key rows (secrets only as salt + hash), lookup and revocation.
@Suite("ProjectStore")
struct ProjectStoreTests {
    static let salt: [UInt8] = Array(0..<16)
    static let hash: [UInt8] = Array(repeating: 0xAB, count: 32)

    @Test func createdProjectIsFoundByName() async throws {
        try await TestDatabase.with { test async throws in
            let created = try await test.database.writer.write { db in
                try ProjectStore.createProject(publicID: "pub-1", name: "acme", now: 42, on: db)
            }
            #expect(created.publicID == "pub-1")
            #expect(created.name == "acme")
            #expect(created.createdAt == 42)
            let found = try test.database.readBlocking { try ProjectStore.project(named: "acme", on: $0) }
            #expect(found == created)
            #expect(try test.database.readBlocking { try ProjectStore.project(named: "nope", on: $0) } == nil)
            #expect(try test.database.readBlocking { try ProjectStore.projectCount(on: $0) } == 1)
        }
    }

    @Test func addedKeyIsFoundWithItsProjectSaltAndHash() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.database.writer.write { db in
                let project = try ProjectStore.createProject(publicID: "pub-1", name: "acme", now: 1, on: db)
                try ProjectStore.addKey(
                    projectID: project.rowID, publicKey: "pk-lf-1", salt: Self.salt, secretHash: Self.hash,
                    secretHint: "sk-lf-…abcd", now: 7, on: db)
                return project
            }
            let key = try #require(try test.database.readBlocking { try ProjectStore.key(publicKey: "pk-lf-1", on: $0) })
            #expect(key.publicKey == "pk-lf-1")
            #expect(key.project == project)
            #expect(key.salt == Self.salt)
            #expect(key.secretHash == Self.hash)
            #expect(key.secretHint == "sk-lf-…abcd")
            #expect(key.createdAt == 7)
            #expect(key.revokedAt == nil)
            #expect(try test.database.readBlocking { try ProjectStore.key(publicKey: "pk-lf-unknown", on: $0) } == nil)
        }
    }

    @Test func keysAreListedOldestFirst() async throws {
        try await TestDatabase.with { test async throws in
            try await test.database.writer.write { db in
                let project = try ProjectStore.createProject(publicID: "pub-1", name: "acme", now: 1, on: db)
                for name in ["pk-b", "pk-a", "pk-c"] {
                    try ProjectStore.addKey(projectID: project.rowID, publicKey: name, salt: Self.salt,
                                            secretHash: Self.hash, secretHint: "h", now: 1, on: db)
                }
            }
            #expect(try test.database.readBlocking { try ProjectStore.keys(on: $0) }.map(\.publicKey) == ["pk-b", "pk-a", "pk-c"])
        }
    }

    @Test func revokingMarksTheKeyOnceAndOnlyExistingKeys() async throws {
        try await TestDatabase.with { test async throws in
            try await test.database.writer.write { db in
                let project = try ProjectStore.createProject(publicID: "pub-1", name: "acme", now: 1, on: db)
                try ProjectStore.addKey(projectID: project.rowID, publicKey: "pk-lf-1", salt: Self.salt,
                                        secretHash: Self.hash, secretHint: "h", now: 1, on: db)
            }
            let first = try await test.database.writer.write { db in try ProjectStore.revoke(publicKey: "pk-lf-1", now: 99, on: db) }
            let second = try await test.database.writer.write { db in try ProjectStore.revoke(publicKey: "pk-lf-1", now: 100, on: db) }
            let unknown = try await test.database.writer.write { db in try ProjectStore.revoke(publicKey: "pk-nope", now: 100, on: db) }
            #expect(first)
            #expect(!second)
            #expect(!unknown)
            let key = try #require(try test.database.readBlocking { try ProjectStore.key(publicKey: "pk-lf-1", on: $0) })
            #expect(key.revokedAt == 99)
        }
    }

    @Test func duplicatePublicKeyIsAConflictEvenInAnotherProject() async throws {
        try await TestDatabase.with { test async throws in
            let (one, two) = try await test.database.writer.write { db in
                let one = try ProjectStore.createProject(publicID: "pub-1", name: "one", now: 1, on: db)
                let two = try ProjectStore.createProject(publicID: "pub-2", name: "two", now: 1, on: db)
                try ProjectStore.addKey(projectID: one.rowID, publicKey: "pk-lf-dup", salt: Self.salt,
                                        secretHash: Self.hash, secretHint: "h", now: 1, on: db)
                return (one.rowID, two.rowID)
            }
            for projectID in [one, two] {
                await #expect(throws: StorageError.conflict) {
                    try await test.database.writer.write { db in
                        try ProjectStore.addKey(projectID: projectID, publicKey: "pk-lf-dup", salt: Self.salt,
                                                secretHash: Self.hash, secretHint: "other", now: 2, on: db)
                    }
                }
            }
            let keys = try test.database.readBlocking { try ProjectStore.keys(on: $0) }
            #expect(keys.count == 1)
            #expect(keys.first?.secretHint == "h")
        }
    }
}
