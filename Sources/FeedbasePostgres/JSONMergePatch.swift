// JSON Merge Patch (RFC 7396) for a JSON column's PATCH on PostgreSQL, which has no json_patch:
// applied to the value as the locked row holds it, read and written with the model's JSON reader
// (JSONBody), so the engine stores what SQLite's json_patch would.

import FeedbaseModel

enum JSONMergePatch {
    /// `patch` (an object member of the body) applied to `target` (the column's member of the
    /// item's JSON, nil or null when it has none): the merged JSON text.
    static func apply(_ patch: BodyField, to target: BodyField?) throws -> String {
        try merged(patch, target?.json) ?? "null"
    }

    /// The merge of `patch` into `target`'s JSON text; nil deletes the member.
    private static func merged(_ patch: BodyField, _ target: String?) throws -> String? {
        guard patch.type == "object" else { return patch.type == "null" ? nil : patch.json }
        var members: [(key: String, json: String)] = []
        if let target, let fields = JSONBody.members(of: Array(target.utf8)), target.first(where: { !$0.isWhitespace }) == "{" {
            members = fields.map { ($0.key, $0.json) }
        }
        for change in try RequestBody.members(of: Array(patch.json.utf8)) {
            let index = members.firstIndex { $0.key == change.key }
            let value = try merged(change, index.map { members[$0].json })
            switch (index, value) {
            case (let index?, let value?): members[index].json = value
            case (let index?, nil): members.remove(at: index)
            case (nil, let value?): members.append((change.key, value))
            case (nil, nil): break
            }
        }
        return "{" + members.map { JSONText.quote($0.key) + ":" + $0.json }.joined(separator: ",") + "}"
    }
}
