// The served process's lifecycle on swift-service-lifecycle: one ServiceGroup whose graceful
// shutdown SIGTERM and SIGINT begin. The app stops as `FeedbaseApp.stop` documents: `/_ready`
// turns 503, long-polls answer at once with what they have, streams end with their resume point
// (SSE's last id, WebSocket's close 1001), in-flight requests and writes finish within the grace
// period, then the database closes. SIGHUP reloads the API keys at once (docs/OPERATIONS.md).

import FeedbaseApp
import Logging
import ServiceLifecycle
import UnixSignals

/// The running app as a service: it serves until the group's graceful shutdown, then stops.
struct AppService: Service {
    let app: FeedbaseApp
    let logger: Logger
    /// Called first: the group has trapped its signals by then.
    let started: @Sendable () -> Void

    func run() async throws {
        started()
        // Returns at graceful shutdown; throws only when the group is cancelled, and the app
        // stops gracefully either way.
        try? await gracefulShutdown()
        logger.notice("stopping")
        await app.stop()
        logger.notice("stopped")
    }
}

/// SIGHUP: reload the API keys now rather than at the next refresh (a key just revoked by
/// `feedbase keys revoke` takes effect at once, open subscriptions included).
struct HangupService: Service {
    let app: FeedbaseApp
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            await app.reloadKeys()
            logger.notice("SIGHUP: API keys reloaded")
        }
    }
}

enum Lifecycle {
    /// Runs `app` until SIGTERM or SIGINT has stopped it; `started` once the signals are trapped.
    static func serve(_ app: FeedbaseApp, logger: Logger, started: @escaping @Sendable () -> Void) async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: AppService(app: app, logger: logger, started: started)),
                    // Listed last, so the group's shutdown ends it first; its end is no reason
                    // to cancel the app.
                    .init(service: HangupService(app: app, logger: logger), successTerminationBehavior: .ignore),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
