import API
import ArgumentParser
import Foundation
import Model
import Storage

/// `parley projects list|show|set`: per-project settings in the database file (the running
/// server reads them at each sweep and each session refresh, so no restart is needed).
struct ProjectsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projects", abstract: "List projects and show or change their settings.",
        subcommands: [List.self, Show.self, Set.self])

    /// The project called `name` with its settings JSON, or a usage error.
    static func find(_ name: String, in db: Database) throws -> (project: ProjectStore.Project, settings: String) {
        guard let found = try db.readBlocking({ try ProjectStore.projects(on: $0) }).first(where: { $0.0.name == name }) else {
            throw ValidationError("no project named '\(name)'")
        }
        return found
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List projects.")
        @OptionGroup var database: KeysCommand.DatabaseOption

        func run() throws {
            let db = try database.open()
            defer { db.close() }
            let projects = try db.readBlocking { try ProjectStore.projects(on: $0) }
            print("name\tid\tsettings")
            for (project, settings) in projects { print("\(project.name)\t\(project.publicID)\t\(settings)") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a project's settings as JSON.")
        @Argument(help: "Project name.")
        var project: String
        @OptionGroup var database: KeysCommand.DatabaseOption

        func run() throws {
            let db = try database.open()
            defer { db.close() }
            print(try ProjectsCommand.find(project, in: db).settings)
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a project's settings; options not given stay as they are.",
            discussion: """
                Examples:
                  parley projects set default --inactivity-timeout 900
                  parley projects set default --context-window my-finetune=32768 --context-window gpt-4o=128000
                  parley projects set default --inactivity-timeout 0 --clear-context-windows   (back to defaults)
                  parley projects set default --hash-user-ids false --io-policy masked --retention-days 30
                A running server sees a change within 10 seconds.
                """)
        @Argument(help: "Project name.")
        var project: String
        @Option(help: "Seconds without activity before the project's sessions time out; 0 uses the server's --inactivity-timeout.")
        var inactivityTimeout: Int64?
        @Option(help: "MODEL=TOKENS: the context window of models whose name starts with MODEL (repeatable; adds to those set before).")
        var contextWindow: [String] = []
        @Flag(help: "Remove every context-window override first.")
        var clearContextWindows = false
        @Option(help: "true, false, or default (the server's --hash-user-ids): hash user ids before storage.")
        var hashUserIds: String?
        @Option(help: "full, masked, metadata-only, or default (the server's --io-policy): what is stored of input and output.")
        var ioPolicy: String?
        @Option(help: "Days data is kept; 0 uses the server's --retention-days.")
        var retentionDays: Int64?
        @OptionGroup var database: KeysCommand.DatabaseOption

        func validate() throws {
            // The bounds PATCH /projects/{id}/settings enforces (ValueBounds); 0 means the default.
            for (flag, key, value) in [("--inactivity-timeout", "inactivityTimeoutSeconds", inactivityTimeout),
                                       ("--retention-days", "retentionDays", retentionDays)] {
                guard let value, value != 0 else { continue }
                if case .failure(let error) = ProjectSettings.validatedChange(key, JSONValue(Int(value))) {
                    throw ValidationError("\(flag): \(error.message) (0 uses the server's default)")
                }
            }
            if let hashUserIds, !["true", "false", "default"].contains(hashUserIds) {
                throw ValidationError("--hash-user-ids takes true, false or default")
            }
            if let ioPolicy, ioPolicy != "default", ProjectSettings.IOPolicy(rawValue: ioPolicy) == nil {
                throw ValidationError("--io-policy takes full, masked, metadata-only or default")
            }
            for entry in contextWindow {
                let parts = entry.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let tokens = Int64(parts[1]),
                      case .success = ProjectSettings.validatedChange("contextWindows", .object([(String(parts[0]), JSONValue(Int(tokens)))]))
                else {
                    let bounds = ValueBounds.contextWindowTokens
                    throw ValidationError("--context-window takes MODEL=TOKENS with MODEL 1 to \(ValueBounds.modelNameBytes) bytes "
                        + "and TOKENS from \(bounds.lowerBound) to \(bounds.upperBound), got '\(entry)'")
                }
            }
        }

        func run() throws {
            let db = try database.open()
            defer { db.close() }
            let name = project
            let (found, current) = try ProjectsCommand.find(name, in: db)
            var changes: [(key: String, value: JSONValue?)] = []
            if let inactivityTimeout {
                changes.append(("inactivityTimeoutSeconds", inactivityTimeout == 0 ? nil : JSONValue(Int(inactivityTimeout))))
            }
            if let hashUserIds {
                changes.append(("hashUserIds", hashUserIds == "default" ? nil : .bool(hashUserIds == "true")))
            }
            if let ioPolicy { changes.append(("ioPolicy", ioPolicy == "default" ? nil : .string(ioPolicy))) }
            if let retentionDays {
                changes.append(("retentionDays", retentionDays == 0 ? nil : JSONValue(Int(retentionDays))))
            }
            if clearContextWindows || !contextWindow.isEmpty {
                var windows = clearContextWindows ? [:] : ProjectSettings(json: current).contextWindows
                for entry in contextWindow {
                    let parts = entry.split(separator: "=", maxSplits: 1)
                    windows[String(parts[0])] = Int64(parts[1])
                }
                guard windows.count <= ValueBounds.contextWindowEntries else {
                    throw ValidationError("a project has at most \(ValueBounds.contextWindowEntries) context windows; this would make \(windows.count)")
                }
                let members = windows.sorted { $0.key < $1.key }.map { ($0.key, JSONValue(Int($0.value))) }
                changes.append(("contextWindows", members.isEmpty ? nil : .object(members)))
            }
            let projectID = found.rowID
            let frozen = changes
            _ = try blockingAwait {
                try await db.writer.write { try ProjectSettingsStore.update(projectID: projectID, frozen, on: $0) }
            }
            if changes.contains(where: { $0.key == "contextWindows" }) {
                // Context use is derived with the windows: recompute the project's sessions, in
                // batches, so a running server's ingestion waits at most one.
                try blockingAwait { try await SettingsService.recomputeContextUse(database: db, projectID: projectID) }
                FileHandle.standardError.write(Data("recomputed the context use of project '\(name)'\n".utf8))
            }
            let updated = try ProjectsCommand.find(name, in: db).settings
            print(updated)
        }
    }
}
