// Fuzz target: a listing's query string (`GET /tasks?<input>`), through the router, the query
// parameter and filter parser (QueryParameters), and the store's checks and SQL on a real
// database. Each input is also compiled as a band predicate (what `/_changes/tasks?…` and a
// WebSocket subscribe do with the same text) and evaluated on the seed rows, which must select
// exactly the rows the listing returns: the two are meant to agree, errors included.

@testable import FeedbaseHTTP
import FeedbaseModel
import FeedbaseSQLite
import FuzzSupport
import NIOHTTP1

let store = FuzzStore.shared
let api: API = {
    do {
        return try API(store: store, logger: FuzzStore.logger)
    } catch {
        preconditionFailure("the API's routes conflict: \(error)")
    }
}()
let collections = ["tasks", "comments"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQuery(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    // NIO hands the request target over as a String decoded from the bytes the same lossy way.
    let query = String(decoding: bytes(data, size), as: UTF8.self)
    waitFor {
        for collection in collections {
            let request = Request(method: .GET, uri: "/\(collection)?\(query)", headers: ["Prefer": "count=exact"], body: [], requestID: "fuzz")
            _ = await api.respond(to: request)
            await checkBandAgreesWithListing(collection, query: query)
        }
    }
    return 0
}

/// The band predicate of the query's filters selects the seed rows the listing does.
func checkBandAgreesWithListing(_ collection: String, query text: String) async {
    guard let schema = store.schema[collection], let pairs = try? QueryParameters.pairs(Substring(text)),
        let parsed = try? QueryParameters.listQuery(pairs)
    else { return }
    var query = ListQuery()
    query.filters = parsed.filters
    query.groups = parsed.groups
    query.select = [schema.primaryKey.name]
    query.limit = ListQuery.maximumLimit
    let listed: Result<Page, any Error> = await outcome { try await store.list(in: collection, query: query) }
    let predicate: Result<RowPredicate, any Error> = await outcome { try await store.predicate(in: collection, filters: parsed.filters, groups: parsed.groups, rule: []) }
    switch (listed, predicate) {
    case (.success(let page), .success(let predicate)):
        let numeric = schema.primaryKey.type == .integer
        let expected = (FuzzStore.items[collection] ?? []).filter { predicate.matches(itemJSON: $0.json) }
            .map { "{\"\(schema.primaryKey.name)\":" + (numeric ? $0.id : "\"\($0.id)\"") + "}" }
        let got = String(decoding: page.json, as: UTF8.self)
        guard got == "[" + expected.joined(separator: ",") + "]" else {
            preconditionFailure("band and listing disagree on \(collection)?\(text): listing \(got), band \(expected)")
        }
    case (.failure, .failure):
        break
    case (.success, .failure(let error)):
        preconditionFailure("\(collection)?\(text): the listing accepts the filters, the band refuses them: \(error)")
    case (.failure(let error), .success):
        preconditionFailure("\(collection)?\(text): the band accepts the filters, the listing refuses them: \(error)")
    }
}

func outcome<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

/// The entry point SwiftPM links as `main` (FuzzDriver.c says why it is not libFuzzer's own).
@_cdecl("FuzzQuery_main")
public func entryPoint(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzQuery)
}
