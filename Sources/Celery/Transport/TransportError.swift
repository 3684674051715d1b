/// How the worker and the client tell a passing outage from a configuration error, whatever the
/// transport raised: each transport's error type adopts this.
package protocol TransportError: Error {
    /// The connection failed or dropped: worth trying again.
    var isConnectionError: Bool { get }
    /// The server refused a write for lack of memory: worth trying again later.
    var isOutOfMemory: Bool { get }
    /// The server refused the configuration (password, database): trying again will not help.
    var isConfigurationError: Bool { get }
    /// The connection was closed on purpose (the worker or client is stopping).
    var isClosed: Bool { get }
    /// What a configuration error means for the operator (what is wrong, never the password).
    var configurationProblem: String? { get }
}

extension Error {
    /// This error as a ``TransportError``, when a transport raised it.
    var transportError: (any TransportError)? { self as? any TransportError }
}
