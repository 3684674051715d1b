public import ArgumentParser
public import Celery
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A `celery worker`-compatible command line for your own executable: your program registers its
/// tasks and hands the registry over; the command reads `celery worker`'s flags, the settings
/// of a `celeryconfig.py` and `CELERY_<NAME>` variables, and runs the worker with Celery's
/// signal semantics (``Celery/CeleryWorker/runService(softShutdownTimeout:hangup:)``).
///
/// ```swift
/// import Celery
/// import CeleryCommand
///
/// @main
/// struct MyWorker {
///     static func main() async {
///         let registry = TaskRegistry()
///         registry.register(add) { _, x, y in x + y }
///         await CeleryWorkerCommand.main(registry: registry)   // my-worker worker -c 4 -Q a,b
///     }
/// }
/// ```
public struct CeleryWorkerCommand: AsyncParsableCommand {
    /// The root command: its name is the executable's, `worker` its (default) subcommand.
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? Substring($0)) },
            abstract: "A Celery worker written in Swift.",
            subcommands: [WorkerSubcommand.self],
            defaultSubcommand: WorkerSubcommand.self
        )
    }

    /// Created by the argument parser.
    public init() {}

    /// Parses `arguments` (the process's own when `nil`) and runs the worker with the tasks of
    /// `registry`; exits the process with the command's exit code when it ends.
    public static func main(registry: TaskRegistry, arguments: [String]? = nil) async {
        installedRegistry.withLock { $0 = registry }
        await main(arguments)
    }

    /// The registry ``main(registry:arguments:)`` was given, for the subcommand's `run`.
    static func registry() -> TaskRegistry {
        installedRegistry.withLock { $0 } ?? TaskRegistry()
    }
}

private let installedRegistry = Mutex<TaskRegistry?>(nil)
