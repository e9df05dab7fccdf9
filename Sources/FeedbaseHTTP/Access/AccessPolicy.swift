// The access rules in force, as each request and subscription needs them: for an identity and
// a collection, the store's `Access` (which rows each action may touch, claims substituted).
// Without a rules file the policy is open: every identity may do everything (the server then
// listens on loopback only, unless `--public` says the data is meant to be open).

import FeedbaseAuth
import FeedbaseModel

public struct AccessPolicy: Sendable {
    /// nil: no rules file, everything allowed.
    public let rules: AccessRules?

    public static let open = AccessPolicy(rules: nil)

    public init(rules: AccessRules?) {
        self.rules = rules
    }

    public var isOpen: Bool { rules == nil }

    /// The rows `action` may touch, and (for create and update) where it may leave them.
    func scope(_ identity: Identity, _ collection: String, _ action: AccessRules.Action) -> (rows: RowScope, check: RowScope) {
        guard let rules else { return (.all, .all) }
        let matching = rules.rules.filter { $0.covers(collection, action, identity.role) }
        guard !matching.isEmpty else { return (.none, .none) }
        // Grants add up: an unconditional one wins; more than one conditional is refused by
        // `validate`, so the first is the one.
        let rule = matching.first { $0.condition.isEmpty } ?? matching[0]
        func scope(_ filters: [Filter]) -> RowScope {
            filters.isEmpty ? .all : .rows(filters.map { $0.substituting(identity) })
        }
        return (scope(rule.condition), scope(rule.leftWhere(action) ?? []))
    }

    public func access(_ identity: Identity, _ collection: String) -> Access {
        guard rules != nil else { return .unrestricted }
        let update = scope(identity, collection, .update)
        return Access(
            read: scope(identity, collection, .read).rows, create: scope(identity, collection, .create).check,
            update: update.rows, updateCheck: update.check, delete: scope(identity, collection, .delete).rows)
    }

    /// `access(identity, collection.name)` with the read scope of every collection its foreign
    /// keys reference, for the writes (a reference to a hidden row is one to an absent row).
    public func access(_ identity: Identity, _ collection: CollectionSchema) -> Access {
        var access = access(identity, collection.name)
        guard rules != nil else { return access }
        for key in collection.foreignKeys { access.referenced[key.table] = scope(identity, key.table, .read).rows }
        return access
    }

    /// The conditions of the identity's read rule on `collection` (empty: every row); denied
    /// reading at all, the problem to answer.
    func readRule(_ identity: Identity, _ collection: String) throws(Problem) -> [Filter] {
        switch scope(identity, collection, .read).rows {
        case .none: throw Problem.denied(identity, "read \(collection)")
        case .all: return []
        case .rows(let filters): return filters
        }
    }

    /// Whether the identity may read every row of every one of `collections` (the firehose).
    public func readsEverything(_ identity: Identity, _ collections: [String]) -> Bool {
        collections.allSatisfy { scope(identity, $0, .read).rows == .all }
    }

    /// Whether any rule lets the identity do anything at all (else a 401 for `anon` makes sense).
    func grantsAnything(_ identity: Identity, on collection: String) -> Bool {
        AccessRules.Action.allCases.contains { scope(identity, collection, $0).rows.isAllowed }
    }

    // MARK: Checks at startup

    /// Every rule against the schema: collections that exist, conditions the store accepts
    /// (columns, operators, literal operands typed by their column), and no two conditional
    /// rules giving one role one action on one collection (their union is not a band).
    public func validate(_ schema: Schema, store: any ResourceStore) async throws(RulesError) {
        guard let rules else { return }
        func fail(_ line: Int, _ message: String) -> RulesError { RulesError(file: rules.file, line: line, message: message) }
        let names = Set(schema.collections.map(\.name))
        for rule in rules.rules {
            for name in rule.collections ?? [] where !names.contains(name) {
                throw fail(rule.line, "no collection named '\(name)'; the collections are \(names.sorted().joined(separator: ", "))")
            }
            for collection in rule.collections ?? names.sorted() {
                for (filters, keyword) in [(rule.condition, "where"), (rule.check ?? [], "check")] where !filters.isEmpty {
                    let literal = filters.filter { !$0.hasPlaceholder }
                    let placeholders = filters.filter(\.hasPlaceholder)
                    do {
                        _ = try await store.predicate(in: collection, filters: literal, rule: placeholders)
                    } catch let error as StoreError {
                        throw fail(rule.line, "\(keyword) on \(collection): \(error.parameter.map { "\($0): " } ?? "")\(error.message)")
                    } catch {
                        throw fail(rule.line, "\(keyword) on \(collection): \(error)")
                    }
                }
            }
        }
        var roles = Set(rules.rules.flatMap { $0.roles ?? [] })
        roles.insert(Identity.anonymousRole)
        roles.insert("")  // stands for every role no rule names
        for collection in names.sorted() {
            for action in AccessRules.Action.allCases {
                for role in roles.sorted() {
                    let matching = rules.rules.filter { $0.covers(collection, action, role) }
                    guard !matching.contains(where: { $0.condition.isEmpty }), matching.count > 1 else { continue }
                    let who = role.isEmpty ? "every role" : "role '\(role)'"
                    throw fail(matching[1].line,
                        "lines \(matching[0].line) and \(matching[1].line) both give \(who) \(action.rawValue) on \(collection) with conditions; "
                            + "merge them into one rule (conditions of different rules are not combined)")
                }
            }
        }
    }

    // MARK: `feedbase rules`

    /// The effective rules per collection and role, as `feedbase rules` prints them.
    public func describe(_ schema: Schema) -> String {
        guard let rules else {
            return "no rules file: every request may do everything (served on loopback only, unless --public)\n"
        }
        var roles = Set(rules.rules.flatMap { $0.roles ?? [] })
        roles.insert(Identity.anonymousRole)
        var text = "rules from \(rules.file)\n"
        for collection in schema.collections.map(\.name) {
            text += "\n\(collection)\n"
            for role in roles.sorted() + [""] {
                text += "  " + (role.isEmpty ? "other roles" : role) + "\n"
                for action in AccessRules.Action.allCases {
                    let matching = rules.rules.filter { $0.covers(collection, action, role.isEmpty ? "\u{0}" : role) }
                    let rule = matching.first { $0.condition.isEmpty } ?? matching.first
                    var line = "    " + action.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                    if let rule {
                        line += rule.describe(action) + "  (line \(rule.line))"
                    } else {
                        line += "denied"
                    }
                    text += line + "\n"
                }
            }
        }
        return text
    }
}

extension Filter {
    var hasPlaceholder: Bool { operandTexts.contains { $0.hasPrefix("$") && !$0.hasPrefix("$$") } }
}
