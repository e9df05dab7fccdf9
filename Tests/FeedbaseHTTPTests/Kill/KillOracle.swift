// The kill test's verdict: the ledger of writes (what clients saw), the change log (as the server
// serves it and as the sqlite3 shell reads it from the file), the rows left in the file, and what
// each subscriber received, held against each other. Every finding is one line of text.

struct KillOracle {
    var writes: [WriteRecord]
    /// The change log as `/_changes` served it after the last restart.
    var log: [FeedEvent]
    /// The same log read from the file by the sqlite3 shell.
    var fileLog: [FeedEvent]
    /// The tasks in the file after the last stop: id → title.
    var rows: [String: String]
    var subscribers: [FeedRecord]

    private struct Key: Hashable {
        var collection: String
        var op: String
        var marker: String
    }

    func failures() -> [String] {
        var failures: [String] = []
        // The log itself: strictly increasing seqs, and served as it is stored.
        for (earlier, later) in zip(log, log.dropFirst()) where later.seq <= earlier.seq {
            failures.append("the log goes from \(earlier) to \(later)")
        }
        if log != fileLog {
            failures.append("/_changes served \(log.count) events, the file holds \(fileLog.count); \(firstDifference(log, fileLog))")
        }
        // Every subscriber ends with exactly the log, in order.
        for subscriber in subscribers {
            if let failure = subscriber.failure { failures.append(failure) }
            let events = subscriber.events
            if events != log {
                failures.append("\(subscriber.transport.rawValue) received \(events.count) events, the log has \(log.count); \(firstDifference(events, log))")
            }
        }
        failures += eventsMatchWrites()
        failures += rowsMatchWrites()
        return failures
    }

    /// How many writes in doubt the log says happened: both sides of the doubt should be tried.
    var appliedInDoubt: Int {
        let events = eventsByKey
        return writes.filter { $0.outcome == .unknown && events[key($0)] != nil }.count
    }

    /// What the log says happened to each write: applied (it has its one event) or not.
    private var eventsByKey: [Key: [FeedEvent]] {
        Dictionary(grouping: log) { Key(collection: $0.collection, op: $0.op, marker: $0.marker) }
    }

    private func key(_ write: WriteRecord) -> Key { Key(collection: write.collection, op: write.kind.rawValue, marker: write.marker) }

    /// An acknowledged write has exactly one event, a refused one none, one in doubt at most one;
    /// and no event exists for a write never made.
    private func eventsMatchWrites() -> [String] {
        var failures: [String] = []
        let events = eventsByKey
        for write in writes {
            let found = events[key(write)] ?? []
            let name = "\(write.via) \(write.kind.rawValue) '\(write.marker)'"
            if found.count > 1 { failures.append("\(name) has \(found.count) events: \(found)") }
            switch write.outcome {
            case .acknowledged where found.isEmpty: failures.append("\(name) was acknowledged and has no event")
            case .refused(let answer) where !found.isEmpty: failures.append("\(name) was refused (\(answer)) and has an event: \(found)")
            default: break
            }
            if let id = write.rowID, let event = found.first, event.id != id { failures.append("\(name) on row \(id) has an event for row \(event.id)") }
        }
        let made = Set(writes.map(key))
        for event in log where !made.contains(Key(collection: event.collection, op: event.op, marker: event.marker)) {
            failures.append("an event for no write: \(event)")
        }
        return failures
    }

    /// Each row is as its last applied write left it (an acknowledged one, or the one in doubt if
    /// the log says it happened), and no row exists that no applied write explains.
    private func rowsMatchWrites() -> [String] {
        var failures: [String] = []
        let events = eventsByKey
        var explained: Set<String> = []
        for (chain, history) in Dictionary(grouping: writes, by: \.chain) where chain != "base" {
            let applied = history.map { !(events[key($0)] ?? []).isEmpty }
            // Only the last write of a row can have failed or be in doubt; an applied write after
            // one that was not applied would be a write the log made up or lost.
            if let gap = applied.firstIndex(of: false), applied[gap...].contains(true) {
                failures.append("row \(chain): write \(gap) of \(history.count) has no event, a later one has")
                continue
            }
            guard let last = applied.lastIndex(of: true) else {
                if let stray = rows.first(where: { $0.value == history[0].marker }) {
                    failures.append("row \(chain): its create has no event, yet row \(stray.key) '\(stray.value)' exists")
                }
                continue
            }
            let write = history[last]
            let id = write.rowID ?? history.lazy.compactMap(\.rowID).first ?? events[key(history[0])]?.first?.id ?? "?"
            switch write.kind {
            case .create, .update:
                if rows[id] != write.marker {
                    failures.append("row \(chain) (\(id)): after \(write.via) \(write.kind.rawValue) '\(write.marker)' (\(write.outcome)) "
                        + "it holds \(rows[id].map { "'\($0)'" } ?? "nothing")")
                }
                explained.insert(id)
            case .delete:
                // A deleted id may be taken again by a later insert (INTEGER PRIMARY KEY without
                // AUTOINCREMENT): only this row's own titles under it are a failed delete.
                if let title = rows[id], history.contains(where: { $0.marker == title }) {
                    failures.append("row \(chain) (\(id)): deleted (\(write.outcome)) and still holds '\(title)'")
                }
            }
        }
        for (id, title) in rows where !explained.contains(id) {
            failures.append("row \(id) '\(title)' exists and no applied write explains it")
        }
        return failures
    }
}

/// Where two event lists part: the index and each one's event there.
private func firstDifference(_ a: [FeedEvent], _ b: [FeedEvent]) -> String {
    let index = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
    return "first difference at index \(index): \(index < a.count ? "\(a[index])" : "-") vs \(index < b.count ? "\(b[index])" : "-")"
}
