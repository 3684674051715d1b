import CeleryCommand
import MyTasks

await CeleryWorkerCommand.main(registry: makeRegistry())
