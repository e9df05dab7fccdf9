// Fuzz target: a text message from a WebSocket band client (`{"type":"subscribe","id":…,
// "url":"/tasks?…","since":N}` or `unsubscribe`), read as WebSocketBands reads it (BandMessage),
// and a subscribe's url turned into a band as the socket would (BandRequest: the collection, the
// filters checked and compiled by the store), and every refusal rendered as the error message
// the client would get.

import FeedbaseAuth
@testable import FeedbaseHTTP
import FeedbaseModel
import FeedbaseSQLite
import FuzzSupport

let store = FuzzStore.shared
let api: API = {
    do {
        return try API(store: store, logger: FuzzStore.logger)
    } catch {
        preconditionFailure("the API's routes conflict: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBandMessage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let message = bytes(data, size)
    let parsed: BandMessage
    do {
        parsed = try BandMessage.parse(message)
    } catch {
        _ = error.problem.json(instance: nil, requestID: nil)
        return 0
    }
    guard case .subscribe(_, let url, _) = parsed else { return 0 }
    waitFor {
        do {
            let request = try await BandRequest.parse(url: url, store: store, maxFilters: 100, identity: .anonymous, policy: .open)
            _ = request.band.key
        } catch {
            let request = Request(method: .GET, uri: url, headers: [:], body: [], requestID: "fuzz")
            _ = api.problem(for: error, request: request).json(instance: nil, requestID: nil)
        }
    }
    return 0
}

/// The entry point SwiftPM links as `main` (FuzzDriver.c says why it is not libFuzzer's own).
@_cdecl("FuzzBandMessage_main")
public func entryPoint(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzBandMessage)
}
