import Celery

let client = try CeleryClient(configuration: .fromEnvironment())   // CELERY_BROKER_URL, CELERY_TASK_DEFAULT_QUEUE, ...
defer { client.close() }

// By name, like app.send_task(): JSON arguments, JSON result.
let result = try await client.send("tasks.add", args: [2, 3])
print(try await result.get(timeout: .seconds(10)))                  // 5

// Typed: declared once, arguments checked by the compiler, the result decoded.
let add = TypedTask<Int, Int, Int>("tasks.add", parameters: "x", "y")
let sum: Int = try await client.delay(add, 20, 22).get(timeout: .seconds(10))
print(sum)                                                            // 42

// Canvas, published exactly as Python's chain, group and chord.
let chain = try await client.apply(.chain([Signature("tasks.add", args: [1, 2]), Signature("tasks.add", args: [3])]))
print(try await chain.get(timeout: .seconds(10)))                     // 6
let group = try await client.applyGroup(.group((1...3).map { Signature("tasks.add", args: [.integer(Int64($0)), 10]) }))
print(try await group.get(timeout: .seconds(10)))                     // [11, 12, 13]

// A Python exception comes back as TaskFailedError, naming it.
do {
    _ = try await client.send("tasks.fail", args: ["boom"]).get(timeout: .seconds(10))
} catch let failure as TaskFailedError {
    print(failure.exception.pythonRepr)                               // ValueError('boom')
}
