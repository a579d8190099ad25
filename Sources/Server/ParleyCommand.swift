import API
import ArgumentParser

@main
struct ParleyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "Session analytics and trace ingestion for LLM applications, speaking Langfuse's public API.",
        version: ParleyVersion.current,
        subcommands: [ServeCommand.self, KeysCommand.self, ProjectsCommand.self, ModelsCommand.self, DBCommand.self],
        defaultSubcommand: ServeCommand.self)
}
