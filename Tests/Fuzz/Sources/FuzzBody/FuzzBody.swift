// Fuzz target: a JSON request body, through the validator as a create (object or array), a
// replace and a patch of each shipped collection would run it: the JSON reader (JSONBody: SQLite's
// grammar, without a database), the scans for escaped NULs and lone surrogates, and the checks of
// every column type (dates, times, base64, integer ranges). Nothing is written: the checked
// values are all a write would bind.

import FeedbaseModel
@testable import FeedbaseSQLite
import FuzzSupport

/// One connection on an in-memory copy of the shipped schema. libFuzzer calls the target on one
/// thread only, which is all a Connection asks.
nonisolated(unsafe) let connection: Connection = {
    do {
        let connection = try Connection(path: ":memory:")
        _ = try Migrator.migrate(Migrator.files(in: FuzzStore.migrations), on: connection)
        return connection
    } catch {
        preconditionFailure("cannot migrate an in-memory database: \(error)")
    }
}()
let schema: Schema = {
    do {
        return try Introspector.schema(of: connection)
    } catch {
        preconditionFailure("cannot introspect the shipped schema: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBody(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = bytes(data, size)
    // As SQLiteStore's insert: an object, or an array of objects.
    switch try? RequestBody.topLevelType(of: body) {
    case "object":
        guard let fields = try? RequestBody.fields(ofObject: body) else { break }
        for collection in schema.collections {
            for mode in [WriteMode.create, .replace, .patch] {
                _ = try? RowValidator.values(of: fields, for: collection, mode: mode, makeID: { "generated" })
            }
        }
    case "array":
        guard let elements = try? RequestBody.elements(ofArray: body) else { break }
        for (index, element) in elements.enumerated() where element.type == "object" {
            guard let fields = try? RequestBody.fields(ofObject: Array(element.json.utf8)) else { continue }
            for collection in schema.collections {
                _ = try? RowValidator.values(of: fields, for: collection, mode: .create, pointerPrefix: "/\(index)", makeID: { "generated" })
            }
        }
    default:
        break
    }
    return 0
}

/// The entry point SwiftPM links as `main` (FuzzDriver.c says why it is not libFuzzer's own).
@_cdecl("FuzzBody_main")
public func entryPoint(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzBody)
}
