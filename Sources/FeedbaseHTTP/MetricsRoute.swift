// `GET /metrics`: who may scrape it. The metrics tell how busy each collection's routes are and
// how many subscribers follow the feed, not any row, yet they describe all of it: so with access
// rules on, they are for whoever may read everything (as the firehose is); with no rules (an open
// server, on loopback unless --public), for anyone. A scraper is given an API key whose role reads
// every collection, as Prometheus' `authorization` setting sends (docs/OPERATIONS.md).

import FeedbaseModel

enum MetricsRoute {
    static func authorize(_ request: Request, policy: AccessPolicy, schema: Schema) throws(Problem) {
        guard !policy.isOpen else { return }
        let collections = schema.collections.map(\.name)
        // With nothing served, "reads everything" holds for anyone: still ask for credentials.
        guard policy.readsEverything(request.identity, collections), !(collections.isEmpty && request.identity.isAnonymous) else {
            throw Problem.denied(request.identity, "read the metrics (they are for a role that reads every collection)")
        }
    }
}
