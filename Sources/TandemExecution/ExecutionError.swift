/// An execution-layer failure: what went wrong, where, and the underlying cause.
public struct ExecutionError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The journal refused or failed an append.
        case journal
        /// A FIX session could not take a message.
        case session
        /// Configuration or input the order manager cannot use.
        case invalidInput
    }
    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        "execution error (\(code.rawValue)): \(message)" + (cause.map { " (cause: \($0))" } ?? "")
    }
}
