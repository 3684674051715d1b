import CeleryJSON

extension JSONValue {
    /// Whether Python reads the value as false (`None`, `False`, `0`, `0.0`, `""`, `[]`, `{}`),
    /// as kombu's and Celery's `x or {}` do: a falsy value stands for the empty default, so a
    /// PHP or Node client's `[]` for an empty map is read as Python reads it.
    var isPythonFalsy: Bool {
        switch self {
        case .null: return true
        case .bool(let flag): return !flag
        case .integer(let number): return number == 0
        case .bigInteger: return false
        case .double(let number): return number == 0
        case .string(let text): return text.isEmpty
        case .array(let items): return items.isEmpty
        case .object(let members): return members.isEmpty
        }
    }
}
