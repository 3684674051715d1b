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

/// Reads a flag that carries a JSON array, such as `--args`.
func parseJSONArray(_ text: String, option: String) throws -> [JSONValue] {
    guard case .array(let values) = try parseJSON(text, option: option) else {
        throw ValidationError("\(option) must be a JSON array")
    }
    return values
}

/// Reads a flag that carries a JSON object, such as `--kwargs`.
func parseJSONObject(_ text: String, option: String) throws -> JSONObject {
    guard case .object(let object) = try parseJSON(text, option: option) else {
        throw ValidationError("\(option) must be a JSON object")
    }
    return object
}

/// A flag given in seconds (`--timeout 0.5`, `--countdown`), as a `Duration` cut to whole milliseconds.
func duration(seconds: Double) -> Duration {
    .milliseconds(Int(seconds * 1000))
}
