import ArgumentParser
import Celery

/// Reads a flag (or argument) that carries JSON, naming it in the usage error when it is not JSON.
func parseJSON(_ text: String, option: String) throws -> JSONValue {
    do {
        return try JSONValue(parsing: text)
    } catch {
        throw ValidationError("\(option) is not JSON: \(error)")
    }
}
