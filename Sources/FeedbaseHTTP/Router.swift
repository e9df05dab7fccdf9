// The router: a segment trie built once at startup, then only read. Literal segments win over
// parameter segments (with backtracking, so `/a/:x/c` still matches `/a/b/c` when a literal `b`
// branch has no `c`). Paths are matched on percent-decoded segments, so `/tasks/a%2Fb` has the id
// `a/b` and never reaches a deeper route.

import FeedbaseModel
import NIOHTTP1

public struct Router<Handler: Sendable>: Sendable {
    struct Node: Sendable {
        var literals: [String: Node] = [:]
        var parameterName: String?
        /// Zero or one node: the parameter branch (an array because a struct cannot hold itself).
        var parameter: [Node] = []
        /// Keyed by method name (HTTPMethod is not Hashable).
        var handlers: [String: Handler] = [:]
    }

    public enum Match: Sendable {
        case found(Handler, parameters: [String: String])
        /// The path exists but not for this method; `allow` lists the methods it has.
        case methodNotAllowed(allow: [HTTPMethod])
        case notFound
    }

    private var root = Node()

    public init() {}

    public enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    /// Two routes capture the same segment under different names (`/tasks/:id` and
    /// `/tasks/:key/comments`): one handler would get its parameter under the other's name.
    public struct Conflict: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Adds a route written as a path; a segment `:name` is a parameter. HEAD is answered by
    /// GET's handler unless HEAD has its own.
    public mutating func add(_ method: HTTPMethod, _ path: String, _ handler: Handler) throws(Conflict) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { segment in
            segment.hasPrefix(":") ? Segment.parameter(String(segment.dropFirst())) : .literal(String(segment))
        }
        try add(method, segments, handler)
    }

    /// Adds a route from segments (a literal may contain `/`: it matches `%2F` in a request).
    public mutating func add(_ method: HTTPMethod, _ segments: [Segment], _ handler: Handler) throws(Conflict) {
        try Self.insert(&root, segments[...], depth: 0, method, handler)
    }

    private static func insert(
        _ node: inout Node, _ segments: ArraySlice<Segment>, depth: Int, _ method: HTTPMethod, _ handler: Handler
    ) throws(Conflict) {
        guard let first = segments.first else {
            node.handlers[method.rawValue] = handler
            return
        }
        switch first {
        case .parameter(let name):
            if let existing = node.parameterName, existing != name {
                throw Conflict(description: "\(method.rawValue) route: segment \(depth + 1) is the parameter ':\(name)', "
                    + "but another route already captures it as ':\(existing)'")
            }
            if node.parameter.isEmpty { node.parameter = [Node()] }
            node.parameterName = name
            try insert(&node.parameter[0], segments.dropFirst(), depth: depth + 1, method, handler)
        case .literal(let text):
            try insert(&node.literals[text, default: Node()], segments.dropFirst(), depth: depth + 1, method, handler)
        }
    }

    /// Matches decoded path segments (as from `Router.segments(of:)`).
    public func match(_ method: HTTPMethod, _ segments: [String]) -> Match {
        var parameters: [String: String] = [:]
        guard let node = Self.find(root, segments[...], &parameters) else { return .notFound }
        if let handler = node.handlers[method.rawValue] ?? (method == .HEAD ? node.handlers["GET"] : nil) {
            return .found(handler, parameters: parameters)
        }
        var allow = Array(node.handlers.keys)
        if node.handlers["GET"] != nil && node.handlers["HEAD"] == nil { allow.append("HEAD") }
        return .methodNotAllowed(allow: allow.sorted().map { HTTPMethod(rawValue: $0) })
    }

    private static func find(_ node: Node, _ segments: ArraySlice<String>, _ parameters: inout [String: String]) -> Node? {
        guard let first = segments.first else { return node.handlers.isEmpty ? nil : node }
        if let literal = node.literals[first], let found = find(literal, segments.dropFirst(), &parameters) {
            return found
        }
        if let child = node.parameter.first, let name = node.parameterName {
            var inner = parameters
            inner[name] = first
            if let found = find(child, segments.dropFirst(), &inner) {
                parameters = inner
                return found
            }
        }
        return nil
    }

    /// The percent-decoded segments of a request path (without its query); nil when the path is
    /// not valid percent-encoded UTF-8. A single trailing slash is ignored.
    public static func segments(of path: some StringProtocol) -> [String]? {
        var segments: [String] = []
        // Split among scalars: a combining mark after `/` must not hide it.
        for raw in Substring(path).unicodeScalars.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(Substring.init) {
            guard let decoded = PercentEncoding.decode(raw) else { return nil }
            segments.append(decoded)
        }
        if segments.count > 1, segments.last == "" { segments.removeLast() }
        if segments == [""] { segments = [] }
        return segments
    }
}
