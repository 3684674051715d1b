import Celery

/// The tasks of Celery 5.7.0's `t/integration/tasks.py` that `test_canvas.py` and the
/// replace tests of `test_tasks.py` call, with the same behaviour as their Python definitions.
extension CelerySuiteTasks {
    static func registerCanvasSuite(in registry: TaskRegistry) {
        // def record_replaced_task_nesting(self, replacements, nesting=None):
        //     nesting.append(self.request.replaced_task_nesting); replace while replacements remain
        registry.register("\(module).record_replaced_task_nesting") { request in
            let arguments = try request.bind(["replacements", "nesting"], defaults: ["nesting": nil])
            var nesting = arguments["nesting"]!.arrayValue ?? []
            nesting.append(request.headers.object["replaced_task_nesting"] ?? 0)
            guard let replacements = arguments["replacements"]!.integerValue, replacements > 0 else { return .array(nesting) }
            var replacement = Signature("\(module).record_replaced_task_nesting", args: [.integer(replacements - 1), .array(nesting)])
            replacement.options["reply_to"] = request.properties.object["reply_to"] ?? nil
            try await request.replace(with: replacement)
        }
    }
}
