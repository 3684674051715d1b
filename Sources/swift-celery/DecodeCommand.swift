import ArgumentParser
import Celery

#if canImport(Glibc)
import Glibc
#endif

/// `decode`: turns one raw queue entry read from standard input into ``MessageView``'s JSON object.
struct DecodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode one raw queue entry from standard input into a JSON object with Celery's field names.")

    func run() async throws {
        var input: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(0, &chunk, chunk.count)
            if count <= 0 { break }
            input.append(contentsOf: chunk[0..<count])
        }
        while let last = input.last, last == 0x0A || last == 0x0D || last == 0x20 { input.removeLast() }
        do {
            let message = try TaskMessage(envelope: input)
            print(JSONValue.object(MessageView.object(for: message)).pythonJSONString())
        } catch {
            printError("error: cannot decode the message: \(error)")
            throw ExitCode(1)
        }
    }
}
