import CeleryJSON
import CeleryProtocol
import Testing

@Suite("Messages rejected with an answer")
struct RejectedMessageTests {
    @Test("the task id is read from the properties at an entry's end, and only a plausible one")
    func taskIDFromTail() {
        let body = String(repeating: "A", count: 10_000)
        let kombu = #"{"body": "\#(body)", "headers": {"id": "x"}, "properties": {"correlation_id": "abc-123", "delivery_tag": "t"}}"#
        #expect(TaskMessage.taskID(ofRejected: Array(kombu.utf8)) == "abc-123")
        let compact = #"{"properties":{"correlation_id":"id-2"}}"#
        #expect(TaskMessage.taskID(ofRejected: Array(compact.utf8)) == "id-2")
        #expect(TaskMessage.taskID(ofRejected: Array(#"{"properties": {"correlation_id": 5}}"#.utf8)) == nil)
        #expect(TaskMessage.taskID(ofRejected: Array(#"{"properties": {"correlation_id": "a b"}}"#.utf8)) == nil)
        #expect(TaskMessage.taskID(ofRejected: Array(#"{"properties": {"correlation_id": ""}}"#.utf8)) == nil)
        #expect(TaskMessage.taskID(ofRejected: Array("not json".utf8)) == nil)
    }

    @Test("each rejection is answered with the exception kombu or Celery names for it")
    func exceptionNames() {
        func named(_ code: ProtocolError.Code) -> String {
            let info = ProtocolError(code: code, field: "f", reason: "r").pythonException
            return "\(info.module).\(info.type)"
        }
        #expect(named(.tooLarge) == "kombu.exceptions.LimitExceeded")
        #expect(named(.refusedContentType) == "kombu.exceptions.ContentDisallowed")
        #expect(named(.malformedBody) == "kombu.exceptions.DecodeError")
        #expect(named(.missingField) == "celery.exceptions.InvalidTaskError")
    }

    @Test("an entry over the limit is refused before it is parsed")
    func sizeLimit() {
        let raw = Array(#"{"body": "", "headers": {}}"#.utf8)
        #expect(throws: ProtocolError.self) {
            try TaskMessage(envelope: raw, options: MessageDecodingOptions(maximumMessageSize: 8))
        }
    }
}
