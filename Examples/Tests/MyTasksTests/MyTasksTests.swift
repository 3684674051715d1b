import Celery
import CeleryTesting
import MyTasks
import Testing

@Test func addRunsOnAWorker() async throws {
    let worker = try CeleryWorker.inMemory(registry: makeRegistry())
    let sum = try await worker.withRunning { client in
        try await client.send("tasks.add", args: [2, 3]).get(timeout: .seconds(5))
    }
    #expect(sum == 5)
}
