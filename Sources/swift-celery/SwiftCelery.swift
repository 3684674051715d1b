import ArgumentParser

/// `swift-celery`: send tasks, read results and look into queues from the shell.
///
/// Only the root command lives here, as in swift-openapi-generator's `Tool.swift`: each
/// subcommand has a file of its own, the flags they share are ``ConnectionOptions``, and
/// printing and exit codes are in `Output.swift`.
@main
struct SwiftCelery: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-celery",
        abstract: "Call Celery tasks, read their results and inspect queues over Redis.",
        subcommands: [
            CallCommand.self, ApplyCommand.self, ResultCommand.self, PeekCommand.self, PurgeCommand.self,
            DecodeCommand.self, InspectCommand.self, ControlCommand.self,
        ]
    )
}
