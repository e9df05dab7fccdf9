// A band: a live filtered list of one collection (its filter in the REST grammar, compiled to a
// RowPredicate, and an optional select). Each change is judged on the row before and after it:
// in → in is the change itself, out → in an `enter`, in → out a `leave` (carrying the row as it
// was), out → out nothing; a create or delete counts only when its row is in the band. The band's message is the event with
// that op, the band's name (when it has one) after the seq, and the item narrowed to the select.

import FeedbaseModel

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

    /// The predicate too: the same filter compiled against another layout (after a migration)
    /// is another band.
    public static func == (a: Band, b: Band) -> Bool {
        a.collection == b.collection && a.key == b.key && a.select == b.select && a.predicate == b.predicate
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(collection)
        hasher.combine(key)
        hasher.combine(select)
    }

    /// The band's message for `event`, or nil when the change does not concern the band.
    public func message(for event: ChangeEvent, name: String? = nil) -> [UInt8]? {
        guard event.collection == collection, let parts = EventParts(event) else { return nil }
        let layout = predicate.layout
        guard let after = layout.row(parts.item) else { return nil }
        return message(for: parts, after: after, before: event.previous.flatMap { layout.row($0) }, name: name)
    }

    /// The message for an event already taken apart, its rows read with this band's layout.
    func message(for parts: EventParts, after: RowSnapshot, before: RowSnapshot?, name: String?) -> [UInt8]? {
        let inAfter = predicate.matches(after)
        let newOp: String
        switch parts.op {
        case .create:
            guard inAfter else { return nil }
            newOp = "create"
        case .delete:  // the item is the row as it was
            guard inAfter else { return nil }
            newOp = "delete"
        case .update:
            // An update logged before the log kept the previous row is judged on its new row.
            let inBefore = before.map { predicate.matches($0) } ?? inAfter
            switch (inBefore, inAfter) {
            case (true, true): newOp = "update"
            case (false, true): newOp = "enter"
            case (true, false): newOp = "leave"
            case (false, false): return nil
            }
        }
        let json = parts.event.json
        var message: [UInt8] = []
        message.reserveCapacity(json.count + 24)
        if let name {
            message += json[..<parts.seqEnd]
            message += Array(",\"band\":\(JSONText.quote(name))".utf8)
            message += json[parts.seqEnd..<parts.opRange.lowerBound]
        } else {
            message += json[..<parts.opRange.lowerBound]
        }
        message += Array("\"\(newOp)\"".utf8)
        message += json[parts.opRange.upperBound..<parts.itemRange.lowerBound]
        // A leave carries the row as it was, the one the subscriber held: its new state is
        // outside the band, and under access rules may be a row the subscriber may not read.
        let item = newOp == "leave" ? parts.event.previous ?? parts.item : parts.item
        message += select == nil ? item : narrowed(item)
        message += json[parts.itemRange.upperBound...]
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

/// An event's JSON taken apart once for every band that looks at it.
struct EventParts {
    enum Op { case create, update, delete }

    let event: ChangeEvent
    let op: Op
    let opRange: Range<Int>
    let itemRange: Range<Int>
    /// Where the `seq` member's value ends (a band's name goes after it).
    let seqEnd: Int
    let item: [UInt8]

    init?(_ event: ChangeEvent) {
        guard let members = RowImage.members(of: event.json) else { return nil }
        var op: Range<Int>?
        var item: Range<Int>?
        var seq: Range<Int>?
        for member in members {
            switch member.key {
            case "op": op = member.raw
            case "item": item = member.raw
            case "seq": seq = member.raw
            default: break
            }
        }
        guard let op, let item, let seq, seq.upperBound <= op.lowerBound, op.upperBound <= item.lowerBound else { return nil }
        switch event.json[op].dropFirst().first {
        case UInt8(ascii: "c"): self.op = .create
        case UInt8(ascii: "d"): self.op = .delete
        default: self.op = .update
        }
        self.event = event
        self.opRange = op
        self.itemRange = item
        self.seqEnd = seq.upperBound
        self.item = Array(event.json[item])
    }
}
