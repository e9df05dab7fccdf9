// An ordered JSON value for the documents the server describes itself with (OpenAPI, AsyncAPI).
// Object members keep the order they were added in, so one input always gives the same bytes.
// Its two spellings are in DocumentValue+JSON.swift and DocumentValue+YAML.swift.

public enum DocumentValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([DocumentValue])
    case object([Member])

    public struct Member: Sendable, Equatable {
        var key: String
        var value: DocumentValue

        init(_ key: String, _ value: DocumentValue) {
            self.key = key
            self.value = value
        }
    }

    /// An object from members in order; a repeated key keeps its first place and its last value.
    static func object(ordered pairs: [(String, DocumentValue)]) -> DocumentValue {
        var object = DocumentValue.object([])
        for (key, value) in pairs { object[key] = value }
        return object
    }

    /// A member of an object (nil for a missing key or a value that is not an object). Setting a
    /// key replaces its value in place or appends it; setting nil removes it.
    subscript(key: String) -> DocumentValue? {
        get {
            guard case .object(let members) = self else { return nil }
            return members.first { $0.key == key }?.value
        }
        set {
            guard case .object(var members) = self else { return }
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(Member(key, newValue))
            }
            self = .object(members)
        }
    }

    /// An element of an array, nil when out of range or not an array.
    subscript(index: Int) -> DocumentValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var arrayValue: [DocumentValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The keys of an object, in order.
    var keys: [String] {
        if case .object(let members) = self { return members.map(\.key) }
        return []
    }
}

extension DocumentValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(arrayLiteral elements: DocumentValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, DocumentValue)...) { self = .object(ordered: elements) }
}
