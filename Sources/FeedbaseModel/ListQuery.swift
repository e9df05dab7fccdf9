// What a listing asks for, in the terms of the REST API (column names and operand text), before
// any SQL: the HTTP layer parses the query string into this; the store checks it against the
// schema, types each operand by its column, and answers with a Page.

public enum FilterOperator: String, Sendable, CaseIterable {
    case eq, neq, gt, gte, lt, lte, like, ilike, `in`, `is`
}

public struct Filter: Sendable, Equatable {
    public enum Operand: Sendable, Equatable {
        /// One value, as written in the URL (`eq.5` → "5").
        case value(String)
        /// The items of `in.(a,b,"c,d")`.
        case list([String])
        /// `is.null`, `is.true`, `is.false`.
        case null, `true`, `false`
    }

    /// The query parameter, for error messages: the column name as the client wrote it.
    public var column: String
    public var op: FilterOperator
    public var negated: Bool
    public var operand: Operand

    public init(column: String, op: FilterOperator, negated: Bool = false, operand: Operand) {
        self.column = column
        self.op = op
        self.negated = negated
        self.operand = operand
    }
}

/// `or=(...)`, `and=(...)`, `not.or=(...)`, `not.and=(...)`: conditions joined by OR or AND,
/// nested, under an optional NOT (docs/API.md, "Logic").
public struct FilterGroup: Sendable, Equatable {
    public indirect enum Member: Sendable, Equatable {
        case filter(Filter)
        case group(FilterGroup)
    }

    /// OR when true, AND when false.
    public var any: Bool
    public var negated: Bool
    public var members: [Member]
    /// The query parameter it came from (`or`, `not.and`), for error messages.
    public var parameter: String

    public init(any: Bool, negated: Bool = false, members: [Member], parameter: String) {
        self.any = any
        self.negated = negated
        self.members = members
        self.parameter = parameter
    }

    /// Conditions in the group, nested groups' included.
    public var conditionCount: Int {
        members.reduce(0) { count, member in
            switch member {
            case .filter: count + 1
            case .group(let group): count + group.conditionCount
            }
        }
    }

    /// Levels of groups: 1 for a group of conditions.
    public var depth: Int {
        1 + members.reduce(0) { deepest, member in
            if case .group(let group) = member { max(deepest, group.depth) } else { deepest }
        }
    }
}

public struct Ordering: Sendable, Equatable {
    public var column: String
    public var descending: Bool

    public init(column: String, descending: Bool = false) {
        self.column = column
        self.descending = descending
    }
}

public struct ListQuery: Sendable, Equatable {
    public static let defaultLimit = 100
    public static let maximumLimit = 1000
    /// Filter conditions in one listing, those in groups and embedded relations included (HTTP
    /// answers 400 above). SQLite nests ANDed and ORed conditions and refuses an expression
    /// deeper than 1,000: 200 stays far below, with groups nested 8 deep, and is more than the
    /// OpenAPI document's bounds add up to (10 filters per column, 5 groups of 3 per group
    /// parameter) for a table of 10 columns.
    public static let maximumFilters = 200
    /// Filter parameters on one column (HTTP answers 400 above): enough for any range, and
    /// what the OpenAPI document declares as each filter's `maxItems`.
    public static let maximumFiltersPerColumn = 10
    /// Items in one `in.(...)` list (HTTP answers 400 above).
    public static let maximumInItems = 1_000
    /// Groups in one `or`, `and`, `not.or` or `not.and` parameter (HTTP answers 400 above), the
    /// OpenAPI document's `maxItems`.
    public static let maximumGroupsPerParameter = 5
    /// Levels of `or`/`and` groups, the parameter's own counted (HTTP answers 400 above).
    public static let maximumGroupDepth = 8
    /// The parameters of logic groups.
    public static let groupParameters: Set<String> = ["or", "and", "not.or", "not.and"]
    /// The query parameters of a listing that are not filters: a column of one of these names
    /// cannot be filtered on.
    public static let reservedParameters: Set<String> = ["order", "select", "limit", "offset", "after"]

    public var filters: [Filter] = []
    /// Logic groups, ANDed with the filters and with each other.
    public var groups: [FilterGroup] = []
    /// The conditions of the access rule in force (claims already substituted), ANDed with the
    /// filters. Not the client's: they count against no limit, and an operand that is not of
    /// its column's type admits no row instead of being an error (a claim such as `$sub` may
    /// be any text).
    public var rule: [Filter] = []
    /// Sort keys; the primary key is always appended as the final tiebreaker.
    public var order: [Ordering] = []
    /// The keys of each item, in this order; nil for all columns.
    public var select: [String]? = nil
    /// Related rows embedded in each item, after its columns (Embedding.swift).
    public var embeds: [Embed] = []
    public var limit = ListQuery.defaultLimit
    public var offset = 0
    /// An opaque cursor from a previous page's `next`: the page starts after that row.
    public var after: String? = nil
    /// Whether to count every matching row (`Prefer: count=exact`).
    public var count = false

    public init() {}

    /// The client's conditions: its filters and those in its groups.
    public var conditionCount: Int {
        filters.count + groups.reduce(0) { $0 + $1.conditionCount } + embeds.reduce(0) { $0 + $1.conditionCount }
    }
}

public struct Page: Sendable {
    /// A JSON array of the items, as bytes.
    public var json: [UInt8]
    public var itemCount: Int
    /// The cursor of the next page, when more rows may follow.
    public var next: String?
    /// With `count`: all rows matching the filters, and the position of this page's first row.
    public var total: Int?
    public var start: Int
    /// The change log's head in the snapshot this page was read from.
    public var seq: Int64 = 0

    public init(json: [UInt8], itemCount: Int, next: String?, total: Int?, start: Int) {
        self.json = json
        self.itemCount = itemCount
        self.next = next
        self.total = total
        self.start = start
    }
}

/// Conditions a write must meet, checked inside its transaction (RFC 9110 §13.1).
public struct Preconditions: Sendable, Equatable {
    /// `If-Match`: entity tags as sent (quoted), or ["*"].
    public var ifMatch: [String]?
    /// `If-None-Match`: entity tags as sent, or ["*"].
    public var ifNoneMatch: [String]?

    public init(ifMatch: [String]? = nil, ifNoneMatch: [String]? = nil) {
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
    }

    public static let none = Preconditions()

    /// Checks the preconditions against the item as it is now (nil: absent or hidden), inside the
    /// write's own transaction. RFC 9110 §13.2.2 order: If-Match first, then If-None-Match.
    package func check(current: Item?) throws {
        let etag = current?.etag
        func failed(_ message: String) -> StoreError {
            var error = StoreError(.preconditionFailed, message)
            error.currentETag = etag
            return error
        }
        if let tags = ifMatch {
            guard let etag else { throw failed("If-Match: the item does not exist") }
            guard ETag.stronglyMatches(tags, etag) else { throw failed("If-Match: the item has changed; its current ETag is \(etag)") }
        }
        if let tags = ifNoneMatch, let etag, ETag.weaklyMatches(tags, etag) {
            throw failed(tags.contains("*") ? "If-None-Match: *: the item already exists" : "If-None-Match: the item has this ETag")
        }
    }
}

/// Strong entity tags over an item's JSON bytes: equal bytes, equal tag; any change in the
/// representation changes the tag. FNV-1a (64 bits) because it is cheap on every GET, and a
/// collision would need two versions of one item to hash alike.
public enum ETag {
    public static func of(_ json: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in json {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return "\"" + Hex.lowercase((0..<8).map { UInt8(truncatingIfNeeded: hash >> UInt64(56 - $0 * 8)) }) + "\""
    }

    /// If-Match's strong comparison (RFC 9110 §13.1.1): whether one of `tags` (as a client sent
    /// them) is `*` or `current` itself; weak tags never match.
    public static func stronglyMatches(_ tags: [String], _ current: String) -> Bool {
        tags.contains { $0 == "*" || $0 == current }
    }

    /// If-None-Match's weak comparison (RFC 9110 §13.1.2), on reads and writes alike: the `W/`
    /// marker is ignored on both sides.
    public static func weaklyMatches(_ tags: [String], _ current: String) -> Bool {
        let opaque = current.hasPrefix("W/") ? Substring(current.dropFirst(2)) : Substring(current)
        return tags.contains { $0 == "*" || ($0.hasPrefix("W/") ? $0.dropFirst(2) : Substring($0)) == opaque }
    }
}
