/// An error a Swift task throws to fail the way a Python task raising that exception would.
///
/// Python's `AsyncResult.get()` re-raises it as the named class: builtins such as
/// `ValueError` or `KeyError` exactly, and classes from other modules as themselves when the
/// Python side can import them (otherwise as a synthetic class of that name).
///
/// ```swift
/// throw PythonException.valueError("bad")                 // ValueError('bad')
/// throw PythonException("CustomError", module: "myapp.errors", arguments: ["boom", 7])
/// ```
public struct PythonException: Error, Sendable, CustomStringConvertible {
    /// The exception as stored: class, module, arguments.
    public var info: ExceptionInfo
    /// A traceback to store instead of the one the worker writes.
    public var traceback: String?

    /// An exception of class `type` from `module` with `arguments` (its Python `args`).
    public init(_ type: String, module: String = "builtins", arguments: [JSONValue] = [], traceback: String? = nil) {
        self.info = ExceptionInfo(type: type, module: module, arguments: arguments)
        self.traceback = traceback
    }

    /// `ValueError(message)`.
    public static func valueError(_ message: String) -> PythonException {
        PythonException("ValueError", arguments: [.string(message)])
    }

    /// `TypeError(message)`: what Celery stores for wrong arguments.
    public static func typeError(_ message: String) -> PythonException {
        PythonException("TypeError", arguments: [.string(message)])
    }

    /// `KeyError(key)`.
    public static func keyError(_ key: JSONValue) -> PythonException {
        PythonException("KeyError", arguments: [key])
    }

    /// `RuntimeError(message)`: what other Swift errors become.
    public static func runtimeError(_ message: String) -> PythonException {
        PythonException("RuntimeError", arguments: [.string(message)])
    }

    public var description: String { info.pythonRepr }
}
