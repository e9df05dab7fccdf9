// Replacing every occurrence of one character: quoting identifiers and literals, escaping JSON
// pointer tokens. Faster than Foundation's replacingOccurrences, and no Foundation.

extension String {
    package func replacingAll(_ target: Character, with replacement: String) -> String {
        guard contains(target) else { return self }
        var result = ""
        result.reserveCapacity(utf8.count + 2)
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
