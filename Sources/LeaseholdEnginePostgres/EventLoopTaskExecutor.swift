import NIOCore

/// A task executor that runs every job of a task on one NIO event loop.
///
/// A task that talks to a single PostgreSQL connection spends most of its time waiting for that connection's
/// replies, which arrive on the connection's event loop. Preferring that loop (`withTaskExecutorPreference`) lets
/// the task resume where the reply arrived and write its next statement from there, instead of waking a thread of
/// the cooperative pool for every reply and the event loop again for every statement: a transaction of five round
/// trips then costs no thread switch at all. Only code that never blocks the thread may run under it.
final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    /// An executor for the loop `eventLoop`.
    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
