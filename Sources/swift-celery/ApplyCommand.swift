import ArgumentParser
import Celery

/// `apply`: publishes a serialized canvas (task, chain, group or chord) as `sig.apply_async()` does.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Publish a canvas (a serialized Celery signature: task, chain, group or chord, as json.dumps(sig) prints it) as sig.apply_async() does.",
        discussion: """
            Prints the id of the result standing for the canvas (a chain's last step, a chord's body, a group's id), \
            then, for a group, one member id per line. With --wait prints the return value (a group's: the list of its members').
            """)

    @Argument(help: "The signature as JSON, e.g. {\"task\": \"celery.chain\", \"kwargs\": {\"tasks\": [...]}, \"subtask_type\": \"chain\"}.")
    var signature: String

    @Option(name: [.short, .long], help: "Arguments put in front of the (first) task's, as a JSON array.")
    var args: String = "[]"

    @Flag(help: "Save a group's result (GroupResult.save()) so Python's GroupResult.restore(id) reads it.")
    var save = false

    @Flag(help: "Wait for the result and print it.")
    var wait = false

    @Option(help: "Seconds to wait with --wait.")
    var timeout: Double = 60

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        guard let signature = Signature(json: try parseJSON(self.signature, option: "signature")) else {
            throw ValidationError("signature must be a JSON object with a 'task' name")
        }
        let arguments = try parseJSONArray(args, option: "--args")
        try await connection.withClient { client in
            try await withExitCodes(.brief) {
                if signature.subtaskType == "group" {
                    let group = try await client.applyGroup(signature, args: arguments)
                    if save { try await group.save() }
                    guard wait else {
                        print(([group.id] + group.results.map(\.id)).joined(separator: "\n"))
                        return
                    }
                    print(JSONValue.array(try await group.get(timeout: duration(seconds: timeout))).pythonJSONString())
                    return
                }
                let result = try await client.apply(signature, args: arguments)
                if wait {
                    try await printResult(result, timeout: timeout)
                } else {
                    print(result.id)
                }
            }
        }
    }
}
