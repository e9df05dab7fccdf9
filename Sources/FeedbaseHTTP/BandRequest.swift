// A band asked for by URL: a listing's path and query (`/tasks?project_id=eq.3&select=id,title`)
// as the SSE route gets it, as a WebSocket `subscribe` message names it, and as
// `/_changes/{collection}` takes it. The filters are compiled and checked by the store exactly as
// for the listing (the same 400 for the same mistake); `order`, `limit`, `offset` and `after`
// shape pages and are ignored; `since` is where the stream starts.

import FeedbaseAuth
import FeedbaseFeed
import FeedbaseModel

struct BandRequest: Sendable {
    var band: Band
    var since: Int64?

    /// From a collection's query parameters. `passing` are further parameters the caller takes
    /// (such as `/_changes`'s `limit` and `wait`): kept out of the band. `rule` is the read
    /// rule's conditions for the subscriber (claims substituted), ANDed with its filters: the
    /// band is what the subscriber's listing with those filters would show.
    static func make(
        _ collection: CollectionSchema, pairs: [(String, String)], store: any ResourceStore, maxFilters: Int, rule: [Filter] = [],
        passing: Set<String> = []
    ) async throws -> BandRequest {
        var since: Int64?
        var rest: [(String, String)] = []
        for (name, value) in pairs {
            if name == "since" {
                guard let value = Int64(value), value >= 0 else {
                    throw Problem.badParameter("since", "expected a change seq (a whole number), got '\(value)'")
                }
                since = value
            } else if !passing.contains(name) && !["order", "limit", "offset", "after"].contains(name) {
                rest.append((name, value))
            }
        }
        let query = try QueryParameters.listQuery(rest)
        guard query.embeds.isEmpty else {
            throw Problem.badParameter("select", "a band's items cannot embed related rows (its events carry one row); follow each collection's band instead")
        }
        guard query.conditionCount <= maxFilters else {
            throw Problem(.badRequest, "a band has at most \(maxFilters) filter conditions (--feed-band-filters); this one has \(query.conditionCount)")
        }
        let predicate = try await store.predicate(in: collection.name, filters: query.filters, groups: query.groups, rule: rule)
        if let select = query.select, let unknown = select.first(where: { collection.column($0) == nil }) {
            throw Problem.badParameter("select", "\(collection.name) has no column '\(unknown)'")
        }
        // Names and values percent-encoded, so that no value can spell two parameters.
        var key = rest.filter { !ListQuery.reservedParameters.contains($0.0) }
            .map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.sorted().joined(separator: "&")
        // The rule's part after a space, which no encoded parameter contains: two subscribers
        // share a band only when their filters and their rules are the same.
        if !rule.isEmpty { key += " " + rule.map(\.key).sorted().joined(separator: "&") }
        return BandRequest(band: Band(collection: collection.name, predicate: predicate, select: query.select, key: key), since: since)
    }

    /// From a URL of a listing: `/tasks?...` (the leading slash may be left out), for a
    /// subscriber whose read rules `access` gives.
    static func parse(url: String, store: any ResourceStore, maxFilters: Int, identity: Identity, policy: AccessPolicy) async throws -> BandRequest {
        guard url.utf8.count <= RequestLimits.bandURLBytes else {
            throw Problem(.badRequest, "the band's url is longer than \(RequestLimits.bandURLBytes) bytes")
        }
        let path = Request.path(of: url).drop { $0 == "/" }
        guard !path.isEmpty, !path.contains("/"), let name = PercentEncoding.decode(path) else {
            throw Problem(.badRequest, "a band's url is a listing's, such as /tasks?done=is.false (got '\(url)')")
        }
        guard let collection = store.schema[name] else { throw Problem(.notFound, "no collection named '\(name)'") }
        let rule = try policy.readRule(identity, collection.name)
        return try await make(collection, pairs: try QueryParameters.pairs(Request.query(of: url)), store: store, maxFilters: maxFilters, rule: rule)
    }
}

extension Filter {
    /// The filter as one key term: each operand percent-encoded (which escapes `,`, `(`, `)`
    /// and `&`), so that two different filters never give one term.
    var key: String {
        let value: String = switch operand {
        case .value(let text): op.rawValue + "." + PercentEncoding.encode(text)
        case .list(let items): op.rawValue + ".(" + items.map(PercentEncoding.encode).joined(separator: ",") + ")"
        case .null: "is.null"
        case .true: "is.true"
        case .false: "is.false"
        }
        return PercentEncoding.encode(column) + "=" + (negated ? "not." : "") + value
    }
}
