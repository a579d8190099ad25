import Foundation
import PackagePlugin

/// Embeds the console's web files (`Sources/ConsoleAssets/Web/*`) into the `ConsoleAssets`
/// target at build time: `AssetEmbedder` turns them into one Swift file of base64 literals in the
/// plugin's work directory. Declaring every file as an input makes SwiftPM run it again whenever
/// one changes; nothing is fetched and nothing is written into the source tree.
@main
struct EmbedConsoleAssets: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let web = target.directoryURL.appending(path: "Web")
        let files = try FileManager.default.contentsOfDirectory(at: web, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) console assets",
                executable: try context.tool(named: "AssetEmbedder").url,
                arguments: [output.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]),
        ]
    }
}
