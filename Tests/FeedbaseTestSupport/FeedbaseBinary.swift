// The `feedbase` executable, found next to the test bundle: every test target that lists the
// `feedbase` target among its dependencies has it built there, and runs it as a user would.

import Foundation

public func feedbaseBinary() throws -> URL {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
    ].map { $0.appendingPathComponent("feedbase") }
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw ChildProcessError("the feedbase executable was not built next to the tests: \(candidates.map(\.path))")
    }
    return found
}
