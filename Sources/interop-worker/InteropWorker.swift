import Celery
import CeleryCommand

/// `interop-worker`: a Swift Celery worker hosting the tasks the interop suite, the benchmark
/// harness and Celery's own integration tests call; `celery worker`'s flags come from
/// ``CeleryWorkerCommand``, as in any user's worker executable.
@main
enum InteropWorker {
    static func main() async {
        let registry = TaskRegistry()
        InteropTasks.register(in: registry)
        await CeleryWorkerCommand.main(registry: registry)
    }
}
