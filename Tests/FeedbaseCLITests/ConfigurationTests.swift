// Settings from three sources and the defaults, through the real binary: the command line wins
// over FEEDBASE_* variables, which win over the config file (`--config`, JSON keyed by the
// flags' names), which wins over the defaults; every error about a value names where it came
// from; a variable or file key that is no setting is a warning; and each default is the typed
// configuration's own (one place defines it).

@testable import FeedbaseApp
@testable import FeedbaseCLI
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct ConfigurationTests {
    /// A server started with these sources logs its start in JSON or text: which one tells
    /// which source's `log-format` won. The start's own log is returned.
    static func startLog(_ arguments: [String], environment: [String: String] = [:], in workspace: Workspace) async throws -> String {
        let server = try ServeProcess(arguments, in: workspace.path, environment: environment)
        let log = try await server.waitForLog { $0.contains("listening on http://127.0.0.1:") }
        #expect(try await server.stop() == 0)
        return log
    }

    @Test func flagsWinOverTheEnvironmentWhichWinsOverTheFile() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        try #"{"port": 0, "log-format": "json", "log-level": "notice"}"#.write(toFile: workspace.file("feedbase.json"), atomically: true, encoding: .utf8)
        // The file alone: JSON lines.
        let fromFile = try await Self.startLog(["--config", "feedbase.json"], in: workspace)
        #expect(fromFile.split(separator: "\n").allSatisfy { $0.hasPrefix("{") }, "\(fromFile)")
        // The environment over the file: text.
        let fromEnvironment = try await Self.startLog(["--config", "feedbase.json"], environment: ["FEEDBASE_LOG_FORMAT": "text"], in: workspace)
        #expect(fromEnvironment.contains(" notice feedbase: ") && !fromEnvironment.hasPrefix("{"), "\(fromEnvironment)")
        // The flag over both: JSON again. FEEDBASE_CONFIG names the file as --config does.
        let fromFlag = try await Self.startLog(
            ["--log-format", "json"], environment: ["FEEDBASE_LOG_FORMAT": "text", "FEEDBASE_CONFIG": workspace.file("feedbase.json")], in: workspace)
        #expect(fromFlag.split(separator: "\n").allSatisfy { $0.hasPrefix("{") }, "\(fromFlag)")
    }

    @Test func everyErrorNamesTheSourceOfItsValue() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        try #"{"port": "http", "feed-band-filters": 500}"#.write(toFile: workspace.file("bad.json"), atomically: true, encoding: .utf8)
        expectOneErrorLine(try await run(["serve", "--config", "bad.json"], in: workspace.path), containing: "bad.json: port must be 0 to 65535, not 'http'")
        expectOneErrorLine(
            try await run(["serve", "--config", "bad.json", "--port", "0"], in: workspace.path),
            containing: "bad.json: feed-band-filters must be 1 to 200, not '500'")
        expectOneErrorLine(
            try await run(["serve", "--config", "bad.json"], in: workspace.path, environment: ["FEEDBASE_PORT": "nope"]),
            containing: "FEEDBASE_PORT must be 0 to 65535, not 'nope'")
        expectOneErrorLine(
            try await run(["serve", "--port", "x"], in: workspace.path, environment: ["FEEDBASE_PORT": "nope"]), containing: "--port must be 0 to 65535, not 'x'")
        expectOneErrorLine(
            try await run(["serve"], in: workspace.path, environment: ["FEEDBASE_MAX_HEADERS": "0"]), containing: "FEEDBASE_MAX_HEADERS must be 1 to 100000")
        // The file itself: missing, or not an object of settings.
        expectOneErrorLine(try await run(["serve", "--config", "missing.json"], in: workspace.path), containing: "the config file missing.json cannot be read")
        try "[1, 2]".write(toFile: workspace.file("list.json"), atomically: true, encoding: .utf8)
        expectOneErrorLine(try await run(["migrate", "--config", "list.json"], in: workspace.path), containing: "the config file list.json is not a JSON object")
    }

    @Test func namesThatAreNoSettingAreWarnedOfAndTheRestStillApplies() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        try #"{"prot": 8081, "port": 0}"#.write(toFile: workspace.file("typo.json"), atomically: true, encoding: .utf8)
        let log = try await Self.startLog(["--config", "typo.json"], environment: ["FEEDBASE_PROT": "8081"], in: workspace)
        #expect(log.contains("typo.json: 'prot' is not a setting"), "\(log)")
        #expect(log.contains("FEEDBASE_PROT is not a setting"), "\(log)")
    }

    /// The command line's defaults are the typed configuration's: `serve` with no flag builds
    /// exactly the default AppConfiguration (where the two once differed: 200 band filters in
    /// the CLI, 100 in the code the tests use).
    @Test func eachDefaultIsDefinedOnce() throws {
        let serve = try Serve.parse([])
        let configuration = try serve.appConfiguration()
        let feed = FeedConfiguration(), server = ServerConfiguration()
        #expect(configuration.feed.bandFilters == feed.bandFilters && feed.bandFilters == FeedService.defaults.bandFilters)
        #expect(configuration.feed.bandsPerConnection == feed.bandsPerConnection)
        #expect(configuration.feed.heartbeat == feed.heartbeat)
        #expect(configuration.feed.retention == feed.retention)
        #expect(configuration.feed.hub.maxBands == feed.hub.maxBands)
        #expect(configuration.feed.hub.progressInterval == feed.hub.progressInterval)
        #expect(configuration.server.port == server.port && configuration.server.host == server.host)
        #expect(configuration.server.maxBodySize == server.maxBodySize && configuration.server.idleTimeout == server.idleTimeout)
        #expect(configuration.server.streamBufferLimit == server.streamBufferLimit)
        #expect(configuration.server.limits.requestTimeout == RequestLimits().requestTimeout)
    }

    /// `--no-ui` (or FEEDBASE_NO_UI, read as every setting is) serves no explorer; it is on by default.
    @Test func theExplorerIsOnUnlessNoUI() throws {
        #expect(try Serve.parse([]).appConfiguration().explorer)
        #expect(try !Serve.parse(["--no-ui"]).appConfiguration().explorer)
    }

    /// The names the environment and the file may set are the options' own: a new option is
    /// a setting by itself (its `environment("NAME")` default), or this fails.
    @Test func theKnownSettingsAreTheOptions() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/FeedbaseCLI")
        var names: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: sources.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: /environment\("([A-Z_]+)"\)/) {
                names.insert(match.1.lowercased().replacingOccurrences(of: "_", with: "-"))
            }
        }
        #expect(names == ConfigurationSources.settings, "missing: \(names.subtracting(ConfigurationSources.settings)), extra: \(ConfigurationSources.settings.subtracting(names))")
    }
}
