import Foundation
import Model
import Storage
import Testing
import TestSupport

/// `parley db backup` (DatabaseBackup) and the price table on the write path (ModelStore).
@Suite("Backup and model prices")
struct BackupAndPricingTests {
    @Test func backupIsAConsistentCopyThatOpensAndAnswersTheSameReads() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            _ = try await test.apply(try capturedConversation(), projectID: project)
            let target = test.directory.path + "/backup.sqlite"
            try DatabaseBackup.copy(from: test.path, to: target) { FileManager.default.fileExists(atPath: $0) }
            let copy = try Database(path: target, configuration: TestDatabase.testing)
            defer { copy.close() }
            #expect(try copy.integrityCheck() == "ok")
            for table in TestDatabase.allTables {
                #expect(try TestDatabase.rows(of: table, in: copy) == test.rows(of: table), "\(table)")
            }
            let read = { (database: Database) throws -> [String] in
                try database.readBlocking { db in
                    try ReadStore.traces(inSession: "acc-v2-session-cap01", projectID: project, on: db).map { "\($0.traceID) \($0.totalCost) \($0.turnNumber ?? -1)" }
                }
            }
            #expect(try read(copy) == read(test.database))
            #expect(try read(copy).count == 3)
            // A backup never overwrites a file.
            #expect(throws: DatabaseBackup.Failure.targetExists(target)) {
                try DatabaseBackup.copy(from: test.path, to: target) { FileManager.default.fileExists(atPath: $0) }
            }
        }
    }

    @Test func backupWhileTheWriterCommitsIsOneCommitsState() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            let writes = Task {
                for index in 0..<200 {
                    let event = try IngestionEvent.testTrace(id: "t\(index)")
                    _ = try await test.apply([event], projectID: project)
                }
            }
            var copies = 0
            while copies < 5 {
                let target = test.directory.path + "/live-\(copies).sqlite"
                try DatabaseBackup.copy(from: test.path, to: target) { FileManager.default.fileExists(atPath: $0) }
                let copy = try Database(path: target, configuration: TestDatabase.testing)
                // Each trace-create is one commit, writing its event and its trace: a consistent
                // copy never has one without the other.
                let (events, traces) = try copy.readBlocking { db in
                    (try db.scalarText("SELECT count(*) FROM events") ?? "", try db.scalarText("SELECT count(*) FROM traces") ?? "")
                }
                #expect(events == traces)
                copy.close()
                copies += 1
            }
            try await writes.value
        }
    }

    @Test func aProjectModelPricesTheNextBatchAndRecomputeReachesStoredOnes() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            let generation = { (id: String) throws -> [IngestionEvent] in
                [try IngestionEvent.testTrace(id: "t-\(id)"), try IngestionEvent.testGeneration(id: id, traceID: "t-\(id)", model: "acme-ft")]
            }
            _ = try await test.apply(try generation("g1"), projectID: project)
            #expect(try test.count("observations", where: "cost_source IS NULL AND total_cost IS NULL") == 1)
            let model = try ModelDefinition.create(request: JSONParser.parse(
                #"{"modelName":"acme","matchPattern":"^acme-ft$","inputPrice":0.001,"outputPrice":0.002}"#), id: "m1", createdAtMillis: 0)
            try await test.database.writer.write { db in try ModelStore.insert(model, projectID: project, now: 1, on: db) }
            // The cached resolver sees the new model at the next batch.
            _ = try await test.apply(try generation("g2"), projectID: project)
            #expect(try test.count("observations", where: "observation_id = 'g2' AND cost_source = 'inferred' AND abs(total_cost - 0.02) < 1e-12") == 1)
            #expect(try test.count("observations", where: "observation_id = 'g1' AND total_cost IS NULL") == 1)
            let result = try await test.database.writer.write { db in
                try ModelStore.recomputeCosts(projectID: project, after: 0, limit: 100, now: 2, on: db)
            }
            #expect(result.next == nil)
            #expect(result.changed.observations == 1)
            #expect(try test.count("observations", where: "observation_id = 'g1' AND abs(total_cost - 0.02) < 1e-12") == 1)
            #expect(try test.count("traces", where: "trace_id = 't-g1' AND abs(total_cost - 0.02) < 1e-12") == 1)
            // Deleting the model: recompute drops the inferred cost again.
            _ = try await test.database.writer.write { db in try ModelStore.delete(id: "m1", projectID: project, on: db) }
            _ = try await test.database.writer.write { db in try ModelStore.recomputeCosts(projectID: project, after: 0, limit: 100, now: 3, on: db) }
            #expect(try test.count("observations", where: "total_cost IS NULL AND cost_source IS NULL") == 2)
            #expect(try test.count("traces", where: "total_cost = 0") == 2)
        }
    }

    @Test func aProjectHoldsAtMostTheBoundOfModels() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            try await test.database.writer.write { db in
                for index in 0..<ValueBounds.modelsPerProject {
                    let model = try ModelDefinition.create(request: JSONParser.parse(
                        #"{"modelName":"m","matchPattern":"^m\#(index)$","totalPrice":1}"#), id: "m\(index)", createdAtMillis: 0)
                    try ModelStore.insert(model, projectID: project, now: 0, on: db)
                }
            }
            let one = try ModelDefinition.create(request: JSONParser.parse(#"{"modelName":"x","matchPattern":"x","totalPrice":1}"#),
                                                 id: "over", createdAtMillis: 0)
            await #expect(throws: ModelStore.Failure.tooMany) {
                try await test.database.writer.write { db in try ModelStore.insert(one, projectID: project, now: 0, on: db) }
            }
        }
    }
}

extension IngestionEvent {
    static func testTrace(id: String) throws -> IngestionEvent {
        try makeEvent("e-\(id)", .traceCreate, at: 0, #"{"id":"\#(id)"}"#)
    }

    static func testGeneration(id: String, traceID: String, model: String) throws -> IngestionEvent {
        try makeEvent("e-\(id)", .generationCreate, at: 0,
                      #"{"id":"\#(id)","traceId":"\#(traceID)","model":"\#(model)","usageDetails":{"input":10,"output":5}}"#)
    }
}
