// Taking the token out of an `Authorization` header (RFC 6750 §2.1: `Bearer <b64token>`, the
// scheme case-insensitive, RFC 7235 §2.1) and checking a token given without one (a feed's
// query parameter or first message) has the same shape.

enum BearerToken {
    /// The token of `Authorization: Bearer <token>`.
    static func fromAuthorization(_ header: String) -> Result<String, AuthFailure> {
        let bytes = Array(header.utf8)
        var start = 0, end = bytes.count
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        let trimmed = bytes[start..<end]
        guard let gap = trimmed.firstIndex(where: isSpace) else {
            let reason = trimmed.isEmpty ? "the Authorization header is empty" : "the Authorization header has no token after its scheme"
            return .failure(.malformedHeader(reason + "; expected 'Bearer <token>'"))
        }
        let scheme = String(decoding: trimmed[..<gap], as: UTF8.self)
        guard scheme.lowercased() == "bearer" else {
            return .failure(.malformedHeader("the Authorization scheme must be Bearer (RFC 6750), not \(quotedForMessage(scheme))"))
        }
        let token = String(decoding: trimmed[gap...].drop(while: isSpace), as: UTF8.self)
        guard isWellFormed(token) else {
            return .failure(.malformedHeader("the bearer token holds characters a token cannot have (RFC 6750 b64token)"))
        }
        return .success(token)
    }

    /// RFC 6750's b64token: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
    static func isWellFormed(_ token: String) -> Bool {
        let bytes = token.utf8
        let body = bytes.prefix(while: { $0 != UInt8(ascii: "=") })
        // Padding only at the end.
        guard bytes.dropFirst(body.count).allSatisfy({ $0 == UInt8(ascii: "=") }) else { return false }
        guard !body.isEmpty else { return false }
        return body.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                true
            default: false
            }
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
}
