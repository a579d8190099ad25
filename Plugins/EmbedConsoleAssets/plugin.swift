import Foundation
import PackagePlugin

/// Embeds a target's files into it at build time: the console's web files
/// (`Sources/ConsoleAssets/Web/*`) and the built-in model prices (`Sources/PriceData/Data/*`).
/// `AssetEmbedder` turns them into one Swift file of base64 literals in the plugin's work
/// directory. Declaring every file as an input makes SwiftPM run it again whenever
/// one changes; nothing is fetched and nothing is written into the source tree.
@main
struct EmbedConsoleAssets: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let web = target.directoryURL.appending(path: "Web")
        let folder = FileManager.default.fileExists(atPath: web.path) ? web : target.directoryURL.appending(path: "Data")
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) files into \(target.name)",
                executable: try context.tool(named: "AssetEmbedder").url,
                arguments: [output.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]),
        ]
    }
}
