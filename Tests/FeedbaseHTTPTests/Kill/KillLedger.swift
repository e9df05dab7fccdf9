// The oracle's record of writes, kept by the clients themselves: every write with its unique
// marker (the title it sets) and what the client saw of it. Acknowledged is a 2xx response (or
// the shell's exit 0); refused is any other answer; unknown is a request sent whose answer never
// came (the server died). Each row belongs to one writer, which stops writing a row after a write
// that was not acknowledged, so a row's history is sequential and only its last write can be in
// doubt.

import Synchronization

enum WriteKind: String, Sendable {
    case create, update, delete
}

enum Outcome: Sendable, Equatable {
    case acknowledged
    case unknown
    case refused(String)
}

struct WriteRecord: Sendable {
    /// The row this write belongs to (one per created row, whoever created it).
    var chain: String
    var collection: String
    var kind: WriteKind
    /// The title (a project's name) the write leaves on the row; unique in the run. A delete's is
    /// the title it removes.
    var marker: String
    /// The row's id, once an acknowledged create told it.
    var rowID: String?
    var outcome: Outcome
    /// Who wrote it (REST, bulk, shell), for the report.
    var via: String
}

final class KillLedger: Sendable {
    private struct State {
        var writes: [WriteRecord] = []
        var acknowledged = 0
    }
    private let state = Mutex(State())

    func record(_ write: WriteRecord) {
        state.withLock { state in
            state.writes.append(write)
            if write.outcome == .acknowledged { state.acknowledged += 1 }
        }
    }

    var writes: [WriteRecord] { state.withLock { $0.writes } }
    var acknowledged: Int { state.withLock { $0.acknowledged } }
}
