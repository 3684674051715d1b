/// A JSON document that could not be read or written.
public struct JSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case syntax, tooDeep, unencodable
        }
        private let base: Base

        /// The text is not JSON (jansson's message and position are in ``JSONError/message``).
        public static let syntax = Code(base: .syntax)
        /// Arrays and objects nest deeper than the configured limit.
        public static let tooDeep = Code(base: .tooDeep)
        /// The value cannot be written as JSON (e.g. a malformed big-integer text).
        public static let unencodable = Code(base: .unencodable)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A human-readable explanation, with line and column for syntax errors.
    public var message: String

    /// Creates an error of `code` explained by `message`.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
