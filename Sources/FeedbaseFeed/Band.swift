// A band: a live filtered list of one collection (its filter in the REST grammar, compiled to a
// RowPredicate, and an optional select). Each change is judged on the row before and after it:
// in → in is the change itself, out → in an `enter`, in → out a `leave`, out → out nothing; a
// create or delete counts only when its row is in the band. The band's message is the event with
// that op and the item narrowed to the select.

import FeedbaseStore

public struct Band: Sendable, Hashable {
    public let collection: String
    public let predicate: RowPredicate
    /// The keys of each item, in this order; nil for all.
    public let select: [String]?
    /// The normalized filter as written (`project_id=eq.3&done=is.false`, sorted), so that
    /// subscribers asking for the same band share one.
    public let key: String

    public init(collection: String, predicate: RowPredicate, select: [String]?, key: String) {
        self.collection = collection
        self.predicate = predicate
        self.select = select
        self.key = key
    }

    public static func == (a: Band, b: Band) -> Bool { a.collection == b.collection && a.key == b.key && a.select == b.select }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(collection)
        hasher.combine(key)
        hasher.combine(select)
    }

    /// The band's message for `event`, or nil when the change does not concern the band.
    public func message(for event: ChangeEvent) -> [UInt8]? {
        guard event.collection == collection, let members = RowImage.members(of: event.json) else { return nil }
        var op: Range<Int>?
        var item: Range<Int>?
        for member in members {
            if member.key == "op" { op = member.raw } else if member.key == "item" { item = member.raw }
        }
        guard let op, let item else { return nil }
        let itemJSON = Array(event.json[item])
        let inAfter = predicate.matches(itemJSON: itemJSON)
        let newOp: String
        switch event.json[op].dropFirst().first {
        case UInt8(ascii: "c"):  // create
            guard inAfter else { return nil }
            newOp = "create"
        case UInt8(ascii: "d"):  // delete: the item is the row as it was
            guard inAfter else { return nil }
            newOp = "delete"
        default:  // update
            // An update logged before the log kept the previous row is judged on its new row.
            let inBefore = event.previous.map { predicate.matches(itemJSON: $0) } ?? inAfter
            switch (inBefore, inAfter) {
            case (true, true): newOp = "update"
            case (false, true): newOp = "enter"
            case (true, false): newOp = "leave"
            case (false, false): return nil
            }
        }
        var message: [UInt8] = []
        message.reserveCapacity(event.json.count + 8)
        message += event.json[..<op.lowerBound]
        message += Array("\"\(newOp)\"".utf8)
        message += event.json[op.upperBound..<item.lowerBound]
        message += narrowed(itemJSON)
        message += event.json[item.upperBound...]
        return message
    }

    /// The item with only the selected keys, in the select's order.
    func narrowed(_ item: [UInt8]) -> [UInt8] {
        guard let select, let members = RowImage.members(of: item) else { return item }
        var out: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        for name in select {
            guard let member = members.first(where: { $0.key == name }) else { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out += Array(JSONText.quote(name).utf8)
            out.append(UInt8(ascii: ":"))
            out += item[member.raw]
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
