import API
import ArgumentParser
import Foundation
import Model
import Storage

/// `parley models list|add|delete|recompute|notice`: the model prices cost inference uses
/// (docs/DATA_MODEL.md, "Model prices and cost inference"), the same definitions as
/// `/api/public/models`. A running server prices the next batch it writes with a change.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "List, add and delete model prices; recompute inferred costs.",
        subcommands: [List.self, Add.self, Delete.self, Recompute.self, Notice.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a project's models, then the built-in ones.")
        @Option(help: "Project name.")
        var project = "default"
        @Flag(help: "Only the project's own models.")
        var custom = false
        @OptionGroup var database: KeysCommand.DatabaseOption

        func run() throws {
            let db = try database.open()
            defer { db.close() }
            let projectID = try ProjectsCommand.find(project, in: db).project.rowID
            let onlyCustom = custom
            let definitions = try db.readBlocking { db in
                onlyCustom ? try ModelStore.custom(projectID: projectID, on: db) : try ModelStore.all(projectID: projectID, on: db)
            }
            print("id\tmodel\tsource\tpattern\tinput\toutput\ttiers")
            for definition in definitions {
                let tier = definition.defaultTier
                print([definition.id, definition.modelName, definition.isLangfuseManaged ? "built-in" : "project",
                       definition.matchPattern, tier?.price("input").map { "\($0)" } ?? "-",
                       tier?.price("output").map { "\($0)" } ?? "-", "\(definition.tiers.count)"].joined(separator: "\t"))
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a model price to a project (it wins over a built-in one its pattern also matches).",
            discussion: """
                Either flat prices:
                  parley models add --project default --name my-ft --pattern '(?i)^ft:gpt-4o-mini:acme' \\
                      --input-price 0.0000003 --output-price 0.0000012
                or a CreateModelRequest body as POST /api/public/models takes it (pricing tiers too):
                  parley models add --project default --json model.json      (- reads stdin)
                Prices are USD per unit (per token). New events are priced with it; run
                `parley models recompute` to price stored observations again.
                """)
        @Option(help: "Project name.")
        var project = "default"
        @Option(help: "Model name.")
        var name: String?
        @Option(help: "Match pattern (a regular expression of the supported subset, e.g. '(?i)^my-model$').")
        var pattern: String?
        @Option(help: "USD per input unit.")
        var inputPrice: Double?
        @Option(help: "USD per output unit.")
        var outputPrice: Double?
        @Option(help: "USD per total unit (instead of input and output prices).")
        var totalPrice: Double?
        @Option(help: "A CreateModelRequest JSON file, or - for stdin.")
        var json: String?
        @OptionGroup var database: KeysCommand.DatabaseOption

        func body() throws -> JSONValue {
            if let json {
                let data = json == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: json))
                do { return try JSONParser.parse(Array(data)) } catch { throw ValidationError("\(json) is not JSON: \(error)") }
            }
            guard let name, let pattern else { throw ValidationError("give --name and --pattern with prices, or --json") }
            var members: [(String, JSONValue)] = [("modelName", .string(name)), ("matchPattern", .string(pattern))]
            for (key, price) in [("inputPrice", inputPrice), ("outputPrice", outputPrice), ("totalPrice", totalPrice)] {
                if let price { members.append((key, JSONValue(price))) }
            }
            return .object(members)
        }

        func run() throws {
            let request = try body()
            let db = try database.open()
            defer { db.close() }
            let projectID = try ProjectsCommand.find(project, in: db).project.rowID
            let now = WallClock.nowMillis()
            let definition: ModelDefinition
            do {
                definition = try ModelDefinition.create(request: request, id: ModelDefinition.newID(), createdAtMillis: now)
            } catch {
                throw ValidationError(error.message)
            }
            do {
                try blockingAwait { try await db.writer.write { try ModelStore.insert(definition, projectID: projectID, now: now, on: $0) } }
            } catch ModelStore.Failure.tooMany {
                throw ValidationError("the project already has \(ValueBounds.modelsPerProject) models; delete one first")
            }
            print(definition.json.jsonText)
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete one of a project's models by id.")
        @Argument(help: "The model id.")
        var id: String
        @Option(help: "Project name.")
        var project = "default"
        @OptionGroup var database: KeysCommand.DatabaseOption

        func run() throws {
            let db = try database.open()
            defer { db.close() }
            let projectID = try ProjectsCommand.find(project, in: db).project.rowID
            let modelID = id
            let deleted = try blockingAwait { try await db.writer.write { try ModelStore.delete(id: modelID, projectID: projectID, on: $0) } }
            guard deleted else {
                throw ValidationError(BuiltInPrices.definitions.contains { $0.id == modelID }
                    ? "\(modelID) is built in and cannot be deleted; add a model with the same pattern to override it"
                    : "project '\(project)' has no model \(modelID)")
            }
            print("deleted \(modelID)")
        }
    }

    struct Recompute: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Price stored observations again with today's model prices.",
            discussion: """
                Observations whose cost the client sent keep it. The others (inferred or without a cost)
                get the cost today's prices give, and their traces and sessions are refreshed. Runs in
                batches, one writer transaction each, so a running server keeps serving.
                """)
        @Option(help: "Project name (default: every project).")
        var project: String?
        @Option(help: "Observations per transaction.")
        var batch = 1_000
        @OptionGroup var database: KeysCommand.DatabaseOption

        func validate() throws {
            guard (1...100_000).contains(batch) else { throw ValidationError("--batch must be 1 to 100000") }
        }

        func run() throws {
            let db = try database.open()
            defer { db.close() }
            let projectID = try project.map { try ProjectsCommand.find($0, in: db).project.rowID }
            var after: Int64 = 0
            var total = ModelStore.Recomputed()
            let limit = batch
            while true {
                let from = after
                let now = WallClock.nowMillis()
                let (next, changed) = try blockingAwait {
                    try await db.writer.write { try ModelStore.recomputeCosts(projectID: projectID, after: from, limit: limit, now: now, on: $0) }
                }
                total.observations += changed.observations
                total.traces += changed.traces
                guard let next else { break }
                after = next
            }
            print("recomputed \(total.observations) observation cost(s) in \(total.traces) trace(s)")
        }
    }

    struct Notice: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the built-in price table's source and licence.")

        func run() throws {
            print(BuiltInPrices.notice)
        }
    }
}
