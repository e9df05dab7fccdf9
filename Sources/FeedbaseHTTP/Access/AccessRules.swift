// The access rules file: who may do what to which rows. One rule per line:
//
//     allow ACTIONS on COLLECTIONS to ROLES [where CONDITIONS] [check CONDITIONS | check *]
//
// ACTIONS are read, create, update, delete (comma-separated) or `*`; COLLECTIONS and ROLES are
// names or `*` (`*` as roles: every role, the anonymous `anon` included). CONDITIONS are a
// listing's filters in the REST grammar, as in a URL's query string (`owner=eq.$sub&done=is.false`,
// percent-encoding allowed, no spaces); an operand may be `$sub`, `$role` or `$claims.NAME`
// (`$$` for a literal `$`). A created or changed row must meet the `where` conditions and the
// `check` ones besides; `check *` lets an update leave the row anywhere. Anything not allowed is
// denied. `#` starts a comment. The parser knows no schema; `validate` checks the rules against one.

import FeedbaseAuth
import FeedbaseModel

public struct AccessRules: Sendable {
    public enum Action: String, Sendable, CaseIterable {
        case read, create, update, delete
    }

    public struct Rule: Sendable {
        public var line: Int
        public var actions: Set<Action>
        /// nil: every collection.
        public var collections: [String]?
        /// nil: every role, `anon` included.
        public var roles: [String]?
        /// The row conditions, operands possibly placeholders (`$sub`).
        public var condition: [Filter]
        /// Conditions a created or changed row must meet besides `condition`; nil: none. `check *`
        /// is [] (an update may leave the row anywhere).
        public var check: [Filter]?
        /// The conditions as written, for `feedbase rules` and errors.
        public var conditionText: String?
        public var checkText: String?

        func covers(_ collection: String, _ action: Action, _ role: String) -> Bool {
            actions.contains(action) && (collections?.contains(collection) ?? true) && (roles?.contains(role) ?? true)
        }

        /// The conditions a row must meet after `action` (a create or an update) made or changed
        /// it; nil: anywhere. `check` adds to `where`, never replaces it: a created row meets
        /// both, so nobody creates a row outside their own; an update leaves the row meeting
        /// both, unless `check *` lets it hand the row to anyone. Other actions: the `where`.
        func leftWhere(_ action: Action) -> [Filter]? {
            guard action == .create || action == .update, let check else { return condition }
            if check.isEmpty { return action == .create ? condition : nil }
            return condition + check
        }

        /// What `feedbase rules` prints for `action`: the rows it may touch, and for a create or
        /// an update where it may leave them.
        func describe(_ action: Action) -> String {
            let rows = conditionText.map { "rows where \($0)" } ?? "every row"
            guard action == .create || action == .update, let checkText else { return rows }
            let both = conditionText.map { $0 + "&" + checkText } ?? checkText
            if action == .create { return checkText == "*" ? rows : "rows where \(both)" }
            return rows + (checkText == "*" ? ", left anywhere" : ", left where \(both)")
        }
    }

    /// The file the rules came from, for messages.
    public var file: String
    public var rules: [Rule]

    public init(file: String, rules: [Rule]) {
        self.file = file
        self.rules = rules
    }

    /// Parses the text of a rules file; errors name the file and line.
    public static func parse(_ text: String, file: String) throws(RulesError) -> AccessRules {
        var rules: [Rule] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            let line = rawLine.firstIndex(of: "#").map { rawLine[..<$0] } ?? rawLine
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard !words.isEmpty else { continue }
            rules.append(try parseRule(words, line: number, file: file))
        }
        return AccessRules(file: file, rules: rules)
    }

    private static func parseRule(_ words: [String], line: Int, file: String) throws(RulesError) -> Rule {
        func fail(_ message: String) -> RulesError { RulesError(file: file, line: line, message: message) }
        let shape = "expected: allow ACTIONS on COLLECTIONS to ROLES [where CONDITIONS] [check CONDITIONS]"
        guard words.first == "allow" else { throw fail("a rule starts with 'allow'; \(shape)") }
        // Lists may be written with spaces after the commas: join the words between keywords.
        var sections: [String: String] = [:]
        var order: [String] = []
        var current = "allow"
        for word in words.dropFirst() {
            if ["on", "to", "where", "check"].contains(word) && sections[word] == nil && word != current {
                current = word
                order.append(word)
                sections[word] = ""
            } else {
                sections[current, default: ""] += word
            }
        }
        guard order.starts(with: ["on", "to"]), let actionsText = sections["allow"], let on = sections["on"], let to = sections["to"],
            !actionsText.isEmpty, !on.isEmpty, !to.isEmpty
        else { throw fail(shape) }
        guard order.dropFirst(2).allSatisfy({ $0 == "where" || $0 == "check" }), order.count <= 4,
            order.count < 4 || (order[2] == "where" && order[3] == "check")
        else { throw fail("'where' comes before 'check', each at most once; \(shape)") }

        var actions = Set<Action>()
        for name in list(actionsText) {
            if name == "*" {
                actions.formUnion(Action.allCases)
            } else if let action = Action(rawValue: name) {
                actions.insert(action)
            } else {
                throw fail("unknown action '\(name)'; actions are read, create, update, delete or *")
            }
        }
        let collections = list(on)
        let roles = list(to)
        guard !collections.contains(""), !roles.contains("") else { throw fail("empty name in a list; names are separated by commas") }
        var rule = Rule(
            line: line, actions: actions, collections: collections == ["*"] ? nil : collections, roles: roles == ["*"] ? nil : roles,
            condition: [], check: nil)
        if let text = sections["where"] {
            guard !text.isEmpty else { throw fail("'where' needs conditions such as owner=eq.$sub") }
            rule.condition = try conditions(text, fail)
            rule.conditionText = text
        }
        if let text = sections["check"] {
            guard !text.isEmpty else { throw fail("'check' needs conditions, or * for any row") }
            guard actions.contains(.create) || actions.contains(.update) else { throw fail("'check' applies to create and update only") }
            rule.check = text == "*" ? [] : try conditions(text, fail)
            rule.checkText = text
        }
        return rule
    }

    private static func list(_ text: String) -> [String] {
        text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }

    private static func conditions(_ text: String, _ fail: (String) -> RulesError) throws(RulesError) -> [Filter] {
        let pairs: [(String, String)]
        do { pairs = try QueryParameters.pairs(Substring(text)) } catch { throw fail("conditions: \(error.detail)") }
        var filters: [Filter] = []
        for (name, value) in pairs {
            guard !ListQuery.reservedParameters.contains(name), !ListQuery.groupParameters.contains(name) else { throw fail("'\(name)' is not a condition; conditions are filters such as owner=eq.$sub") }
            do {
                filters.append(try QueryParameters.filter(column: name, value))
            } catch {
                throw fail("\(name): \(error.errors.first?.detail ?? error.detail)")
            }
            for operand in filters[filters.count - 1].operandTexts where operand.hasPrefix("$") && !operand.hasPrefix("$$") {
                guard Placeholder(operand) != nil else {
                    throw fail("\(name): unknown placeholder '\(operand)'; placeholders are $sub, $role and $claims.NAME ($$ for a literal $)")
                }
            }
        }
        return filters
    }
}

public struct RulesError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// `$sub`, `$role`, `$claims.NAME` in an operand.
enum Placeholder: Equatable {
    case subject, role, claim(String)

    init?(_ text: String) {
        switch text {
        case "$sub": self = .subject
        case "$role": self = .role
        default:
            guard text.hasPrefix("$claims."), text.count > "$claims.".count else { return nil }
            self = .claim(String(text.dropFirst("$claims.".count)))
        }
    }

    func value(for identity: Identity) -> String? {
        switch self {
        case .subject: identity.subject
        case .role: identity.role
        case .claim(let name): identity.claims[name]
        }
    }
}

extension Filter {
    /// The operand texts that may hold placeholders.
    var operandTexts: [String] {
        switch operand {
        case .value(let text): [text]
        case .list(let items): items
        case .null, .true, .false: []
        }
    }

    /// The filter with its placeholders replaced by the identity's values; a filter needing a
    /// value the identity lacks admits no row.
    func substituting(_ identity: Identity) -> Filter {
        // nil: the identity lacks the value.
        func resolve(_ text: String) -> String? {
            if text.hasPrefix("$$") { return String(text.dropFirst()) }
            guard text.hasPrefix("$"), let placeholder = Placeholder(text) else { return text }
            return placeholder.value(for: identity)
        }
        var result = self
        switch operand {
        case .value(let text):
            guard let value = resolve(text) else { return Filter.nothing(column) }
            result.operand = .value(value)
        case .list(let items):
            var resolved: [String] = []
            for item in items {
                guard let value = resolve(item) else { return Filter.nothing(column) }
                resolved.append(value)
            }
            result.operand = .list(resolved)
        case .null, .true, .false: break
        }
        return result
    }

    /// A condition no row meets (`in.()`).
    static func nothing(_ column: String) -> Filter {
        Filter(column: column, op: .in, negated: false, operand: .list([]))
    }
}
