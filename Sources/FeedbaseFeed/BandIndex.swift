// The bands with subscribers, indexed so that an event is tested only against the bands it
// could belong to: a band whose filter demands `column = value` (an `eq` or `in` condition) is
// filed under those values, and an event is looked up by its row's values, before and after
// the change, in the indexed columns; bands with no such condition are tested on every event of
// their collection. The test itself runs in Swift on the event's values, once per band, for all
// of the band's subscribers. Bands are grouped by the row layout they were compiled against (a
// migration may change it while the server runs), and each event is read once per layout.

import FeedbaseModel

/// A distinct band with subscribers, and the name its messages carry.
final class BandEntry {
    let band: Band
    let name: String
    /// Its subscriptions, by sink.
    var subscribers: [ObjectIdentifier: Subscription] = [:]

    init(band: Band, name: String) {
        self.band = band
        self.name = name
    }
}

struct BandIndex {
    private final class Group {
        /// Column → value key → bands filed under it.
        var byValue: [Int: [IndexKey: [ObjectIdentifier: BandEntry]]] = [:]
        /// Bands with no equality to file them under.
        var unindexed: [ObjectIdentifier: BandEntry] = [:]
        var count = 0
    }

    private var groups: [String: [RowLayout: Group]] = [:]

    mutating func insert(_ entry: BandEntry) {
        let predicate = entry.band.predicate
        let group = groups[entry.band.collection, default: [:]][predicate.layout] ?? Group()
        groups[entry.band.collection, default: [:]][predicate.layout] = group
        group.count += 1
        let id = ObjectIdentifier(entry)
        if let term = predicate.indexTerm {
            for key in term.keys { group.byValue[term.column, default: [:]][key, default: [:]][id] = entry }
        } else {
            group.unindexed[id] = entry
        }
    }

    mutating func remove(_ entry: BandEntry) {
        let predicate = entry.band.predicate
        guard let group = groups[entry.band.collection]?[predicate.layout] else { return }
        let id = ObjectIdentifier(entry)
        if let term = predicate.indexTerm {
            for key in term.keys {
                group.byValue[term.column]?[key]?[id] = nil
                if group.byValue[term.column]?[key]?.isEmpty == true { group.byValue[term.column]?[key] = nil }
            }
            if group.byValue[term.column]?.isEmpty == true { group.byValue[term.column] = nil }
        } else {
            group.unindexed[id] = nil
        }
        group.count -= 1
        if group.count == 0 {
            groups[entry.band.collection]?[predicate.layout] = nil
            if groups[entry.band.collection]?.isEmpty == true { groups[entry.band.collection] = nil }
        }
    }

    /// Calls `body` with each band that `event` concerns and the band's message for it.
    func messages(for event: ChangeEvent, _ body: (BandEntry, [UInt8]) -> Void) {
        guard let layouts = groups[event.collection], let parts = EventParts(event) else { return }
        for (layout, group) in layouts {
            guard let after = layout.row(parts.item) else { continue }
            let before = event.previous.flatMap { layout.row($0) }
            func test(_ entry: BandEntry) {
                if let message = entry.band.message(for: parts, after: after, before: before, name: entry.name) { body(entry, message) }
            }
            for entry in group.unindexed.values { test(entry) }
            for (column, bands) in group.byValue {
                let afterKey = after.key(at: column)
                let found = bands[afterKey]
                found?.values.forEach(test)
                // A row that left the band is found by its value before the change (once: an
                // `in` band may be filed under both values).
                if let beforeKey = before?.key(at: column), beforeKey != afterKey, let more = bands[beforeKey] {
                    for (id, entry) in more where found?[id] == nil { test(entry) }
                }
            }
        }
    }
}
