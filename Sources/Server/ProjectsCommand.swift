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
        guard let found = try db.read({ try ProjectStore.projects(on: $0) }).first(where: { $0.0.name == name }) else {
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
            let projects = try db.read { try ProjectStore.projects(on: $0) }
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
                """)
        @Argument(help: "Project name.")
        var project: String
        @Option(help: "Seconds without activity before the project's sessions time out; 0 uses the server's --inactivity-timeout.")
        var inactivityTimeout: Int64?
        @Option(help: "MODEL=TOKENS: the context window of models whose name starts with MODEL (repeatable; adds to those set before).")
        var contextWindow: [String] = []
        @Flag(help: "Remove every context-window override first.")
        var clearContextWindows = false
        @OptionGroup var database: KeysCommand.DatabaseOption

        func validate() throws {
            if let inactivityTimeout, inactivityTimeout < 0 { throw ValidationError("--inactivity-timeout must be 0 or more") }
            for entry in contextWindow {
                let parts = entry.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, !parts[0].isEmpty, let tokens = Int64(parts[1]), tokens > 0 else {
                    throw ValidationError("--context-window takes MODEL=TOKENS with TOKENS a positive integer, got '\(entry)'")
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
            if clearContextWindows || !contextWindow.isEmpty {
                var windows = clearContextWindows ? [:] : ProjectSettings(json: current).contextWindows
                for entry in contextWindow {
                    let parts = entry.split(separator: "=", maxSplits: 1)
                    windows[String(parts[0])] = Int64(parts[1])
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
                // Context use is derived with the windows: recompute the project's sessions, 500
                // per transaction, so a running server's ingestion waits at most one batch.
                var after: Int64 = 0
                while true {
                    let from = after
                    guard let last = try blockingAwait({
                        try await db.writer.write { try AggregateStore.refreshSessions(ofProject: projectID, after: from, limit: 500, on: $0) }
                    }) else { break }
                    after = last
                }
                FileHandle.standardError.write(Data("recomputed the context use of project '\(name)'\n".utf8))
            }
            let updated = try ProjectsCommand.find(name, in: db).settings
            print(updated)
        }
    }
}
