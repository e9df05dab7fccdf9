// Waiting on the hub: long-polls (`/_changes?wait=`) until an event after their seq is loaded,
// and readiness (`/_ready`) until everything committed before the probe is loaded.

import Synchronization

extension ChangeHub {
    /// Waits until the hub has loaded an event after `seq`, or `timeout` passes, or the hub
    /// stops (at once when it has: a long-poll then answers with what it has).
    public func waitForChange(after seq: Int64, timeout: Duration) async {
        if head > seq || stopped { return }
        let id = nextWaiter
        nextWaiter += 1
        await withCheckedContinuation { continuation in
            waiters[id] = (seq, continuation)
            Task {
                try? await Task.sleep(for: timeout)
                self.expire(id)
            }
        }
    }

    private func expire(_ id: Int) {
        waiters.removeValue(forKey: id)?.continuation.resume()
    }

    func wakeWaiters() {
        for (id, waiter) in waiters where waiter.after < head {
            waiters[id] = nil
            waiter.continuation.resume()
        }
    }

    /// Whether `shutdown` was called: the server is stopping.
    public var isStopped: Bool { stopped }

    /// Whether the hub loads every event committed before this call within `timeout` (false if
    /// the log cannot be read, or the hub has stopped). `advance` is not cancellable, so the
    /// wait, not the load, is what the timeout ends.
    public nonisolated func isCaughtUp(within timeout: Duration) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer = FirstAnswer(continuation)
            let timer = Task {
                try? await Task.sleep(for: timeout)
                answer.give(false)
            }
            Task {
                defer { timer.cancel() }
                guard let target = try? await self.source.changes(after: 0, collections: nil, limit: 0, maxBytes: 0).head else {
                    return answer.give(false)
                }
                // Caught up already: no load round (a probe every second must not force reads).
                if await self.head < target { await self.advance() }
                let (head, stopped) = await (self.head, self.stopped)
                answer.give(head >= target && !stopped)
            }
        }
    }

    /// Long-polls waiting for a change.
    public var waitingCount: Int { waiters.count }
}

/// Resumes a continuation with the first value given; later ones are dropped.
private final class FirstAnswer: Sendable {
    private let continuation: Mutex<CheckedContinuation<Bool, Never>?>

    init(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation = Mutex(continuation)
    }

    func give(_ value: Bool) {
        continuation.withLock { $0.take() }?.resume(returning: value)
    }
}
