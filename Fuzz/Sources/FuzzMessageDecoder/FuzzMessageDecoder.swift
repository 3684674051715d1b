import Celery

/// One fuzz input: a raw queue entry, decoded as the worker decodes it (bounded size and
/// depth), re-encoded when it decodes, and parsed as plain JSON. Any crash, hang, leak or
/// sanitizer report is a finding; thrown errors are the expected outcome for bad input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let options = MessageDecodingOptions(maximumMessageSize: 1 << 20, maximumDepth: 64)
    if let message = try? TaskMessage(envelope: bytes, options: options) {
        _ = message.envelopeBytes()
        _ = PythonRepr.repr(.array(message.args), limit: 1024)
        if let expires = message.headers.expires { _ = CeleryTime.parse(expires) }
        if let eta = message.headers.eta { _ = CeleryTime.parse(eta) }
    }
    if let value = try? JSONValue(parsing: bytes, maximumDepth: 64) {
        _ = value.pythonJSONBytes()
    }
    return 0
}
