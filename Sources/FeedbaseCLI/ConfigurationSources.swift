// Where a setting comes from, in precedence order: the command line, a `FEEDBASE_<NAME>`
// environment variable, the config file (`--config FILE` or `FEEDBASE_CONFIG`: a JSON object
// whose keys are the flags' names, `{"port": 8443, "feed-heartbeat": 15}`), and the default,
// which each option takes from the typed configuration it fills (`ServerConfiguration`,
// `FeedConfiguration`, `RequestLimits`...), so that one place defines it.
//
// The environment and the file are read through swift-configuration's providers. The sources
// are loaded once, before the command line is parsed (the options' defaults are read then), and
// every error about a value names the source it came from: `--port`, `FEEDBASE_PORT`, or
// `feedbase.json: port`. A `FEEDBASE_*` variable or a file key that is no setting is a warning.

import Configuration
import Foundation
import Logging
import Synchronization
import SystemPackage

final class ConfigurationSources: Sendable {
    private let arguments: [String]
    private let environment: EnvironmentVariablesProvider
    private let file: (path: String, provider: FileProvider<JSONSnapshot>)?
    /// The source of each value taken from the environment or the file, by name (`PORT`).
    private let taken = Mutex<[String: String]>([:])

    private static let current = Mutex<ConfigurationSources?>(nil)

    private init(arguments: [String], environment: EnvironmentVariablesProvider, file: (path: String, provider: FileProvider<JSONSnapshot>)?) {
        self.arguments = arguments
        self.environment = environment
        self.file = file
    }

    /// Reads the environment and the config file named on the command line or by
    /// `FEEDBASE_CONFIG`; warns (on `logger`) of names that are no setting.
    static func load(arguments: [String], logger: Logger) async throws {
        let environment = ProcessInfo.processInfo.environment
        let path = Self.configPath(in: arguments) ?? environment["FEEDBASE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        var file: (String, FileProvider<JSONSnapshot>)?
        if let path {
            guard FileManager.default.isReadableFile(atPath: path) else { throw CLIError("the config file \(path) cannot be read") }
            do {
                file = (path, try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
            } catch {
                throw CLIError("the config file \(path) is not a JSON object of settings: \(error)")
            }
            for key in Self.topLevelKeys(path) where !Self.settings.contains(key) {
                logger.warning("\(path): '\(key)' is not a setting; it is ignored (the keys are the flags' names, such as \"port\")")
            }
        }
        for name in environment.keys where name.hasPrefix("FEEDBASE_") && name != "FEEDBASE_CONFIG" {
            let setting = name.dropFirst("FEEDBASE_".count).lowercased().replacingOccurrences(of: "_", with: "-")
            if !Self.settings.contains(setting) {
                logger.warning("\(name) is not a setting; it is ignored (FEEDBASE_ and a flag's name, such as FEEDBASE_PORT)")
            }
        }
        let sources = ConfigurationSources(
            arguments: arguments, environment: EnvironmentVariablesProvider(environmentVariables: environment), file: file)
        current.withLock { $0 = sources }
    }

    /// The value of the setting `name` (`MAX_BODY`, the environment's spelling) from the
    /// environment or the config file, the default of the option of that name; nil for neither.
    static func value(_ name: String) -> String? {
        guard let sources = current.withLock({ $0 }) else { return ProcessInfo.processInfo.environment["FEEDBASE_" + name] }
        return sources.value(name)
    }

    /// What to call the source of the setting of `flag` (`max-body`) in an error: the flag when
    /// it is on the command line or nothing gave it, else the variable or the file's key.
    static func source(_ flag: String) -> String {
        guard let sources = current.withLock({ $0 }) else { return "--" + flag }
        if sources.arguments.contains(where: { $0 == "--" + flag || $0.hasPrefix("--" + flag + "=") }) { return "--" + flag }
        return sources.taken.withLock { $0[flag.uppercased().replacingOccurrences(of: "-", with: "_")] } ?? "--" + flag
    }

    private func value(_ name: String) -> String? {
        let variable = "FEEDBASE_" + name
        if let value = try? environment.environmentValue(forName: variable) {
            taken.withLock { $0[name] = variable }
            return value
        }
        guard let (path, provider) = file else { return nil }
        let key = name.lowercased().replacingOccurrences(of: "_", with: "-")
        for type in [ConfigType.string, .int, .double, .bool, .stringArray] {
            guard let content = (try? provider.value(forKey: AbsoluteConfigKey([key]), type: type))?.value?.content else { continue }
            let text: String
            switch content {
            case .string(let string): text = string
            case .int(let int): text = String(int)
            case .double(let double): text = String(double)
            case .bool(let bool): text = bool ? "1" : "0"
            case .stringArray(let strings): text = strings.joined(separator: ",")
            default: continue
            }
            taken.withLock { $0[name] = "\(path): \(key)" }
            return text
        }
        return nil
    }

    /// `--config FILE` or `--config=FILE`, before any `--` that ends the options.
    private static func configPath(in arguments: [String]) -> String? {
        for (index, argument) in arguments.enumerated() {
            if argument == "--" { return nil }
            if argument == "--config", index + 1 < arguments.count { return arguments[index + 1] }
            if argument.hasPrefix("--config=") { return String(argument.dropFirst("--config=".count)) }
        }
        return nil
    }

    /// The file's top-level keys (for the unknown-key warning; the values are the provider's).
    private static func topLevelKeys(_ path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [] }
        return object.keys.sorted()
    }

    /// Every setting's name (a flag's long name): what the environment and the file may set.
    static let settings: Set<String> = [
        "host", "port", "db", "db-connections", "synchronous", "max-db-size", "migrations", "rules", "public", "max-body",
        "idle-timeout", "no-feed", "wal-checkpoint", "feed-heartbeat", "feed-buffer", "feed-retention", "feed-max-events",
        "feed-max-bands", "feed-bands-per-connection", "feed-band-filters", "feed-progress-interval", "cors-origin", "rate-limit",
        "rate-burst", "tls-cert", "tls-key", "log-format", "log-level", "max-connections", "max-header-bytes", "max-headers",
        "max-uri-bytes", "request-timeout", "max-json-depth", "max-bulk-items", "ws-max-message", "jwt-secret", "jwt-secret-file",
        "jwt-public-key", "jwt-jwks", "jwt-issuer", "jwt-audience", "jwt-role-claim", "jwt-subject-claim", "jwt-default-role",
        "jwt-leeway", "no-metrics", "no-ui",
    ]
}

/// The value of the setting `name` from `FEEDBASE_<NAME>` or the config file, used as the
/// default of the option of that name (the command line wins over it).
func environment(_ name: String) -> String? {
    ConfigurationSources.value(name)
}

/// The source of `flag`'s value, for an error about it (`--port`, `FEEDBASE_PORT`, `f.json: port`).
func source(_ flag: String) -> String {
    ConfigurationSources.source(flag)
}
