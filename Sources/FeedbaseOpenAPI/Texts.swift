// The longer descriptions of the documents, kept out of the structure that holds them.

enum Texts {
    static func openAPIDescription(feed: Bool) -> String {
        var text = """
            Every table of the database with a single-column primary key, served as a collection of JSON items. \
            Request bodies are JSON (`application/json`, `application/merge-patch+json` or any `application/*+json`); \
            responses are `application/json`, errors RFC 9457 `application/problem+json`. Every response carries `X-Request-Id`. \
            A path that exists with another method is 405 with `Allow`; an unknown path is 404; a body larger than the server's \
            limit is 413 on any route. `HEAD` works wherever `GET` does. Query strings are decoded as HTML forms encode \
            them: `+` is a space, `%2B` a plus.
            """
        if feed {
            text += " Every committed change is an event of the change feed (`/_changes`, `/_feed`); reads and writes carry `X-Change-Seq`."
        }
        return text + "\n\n" + access + "\n\n" + browsers
    }

    /// How to authenticate and what the access rules answer: the part of the description a
    /// client needs before its first guarded request.
    static let access = """
        Access: a request may carry `Authorization: Bearer <token>`, the token being an API key or a JWT (the \
        `bearerAuth` scheme says how to get one); a request without it acts as the anonymous role `anon`. The server's \
        access rules decide, per collection and action (read, create, update, delete), which roles may act and on \
        which rows; a server without a rules file allows everything (and listens on loopback only unless started with \
        `--public`). A malformed or refused token, or an anonymous request for what `anon` may not do, is 401 with \
        `WWW-Authenticate: Bearer realm="feedbase"`; a known role that may not do the action on the collection, or a \
        create or update that would leave a row outside its rules, is 403; a row the rules hide is 404, exactly like \
        an absent one, and lists and counts hold only the rows the rules admit. With a rate limit (`--rate-limit`), \
        an identity past it gets 429 with `Retry-After` (seconds) on any route. The index, `/_health` and the \
        documents need no credentials, though a token sent to them is checked like anywhere else. The feed's routes \
        also take the token as the `access_token` query parameter (the `accessToken` scheme), for clients that \
        cannot set headers.
        """

    static let browsers = """
        Browsers on the origins the server allows (`--cors-origin`) may call the API; credentials are Bearer tokens, \
        never cookies. Every response carries `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, \
        `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` and `Referrer-Policy: no-referrer`.
        """

    static let bearerAuth = """
        An API key (`fbk_` and 43 base64url characters), made by the server's operator with `feedbase keys create \
        --role ROLE [--subject SUBJECT] [--expires 30d]`, or a JWT signed with HS256, RS256 or ES256 by an issuer the \
        server trusts (`exp`, `nbf`, `iss` and `aud` are checked; the role and the subject come from the claims the \
        server is configured to read). Without it a request acts as the anonymous role `anon`.
        """

    static let accessToken = """
        The Bearer token as a query parameter, for clients that cannot set headers (`EventSource`, a browser's \
        `WebSocket`). Taken only on the feed's routes: `/_feed`, `/_changes`, `/_changes/{collection}`, and a \
        listing asked as `text/event-stream`; elsewhere it is not a credential. The `Authorization` header wins \
        when both are sent. The server never logs its value.
        """

    static let wwwAuthenticate = """
        `Bearer realm="feedbase"`; when a token was refused, also `error="invalid_token"` and \
        `error_description="..."` saying why (RFC 6750).
        """

    static let unauthorized = """
        Credentials missing or refused: an anonymous request for what the role `anon` may not do, an \
        `Authorization` header that is not `Bearer <token>`, or a token that was refused (an unknown, revoked or \
        expired API key; a JWT whose signature, `exp`, `nbf`, `iss` or `aud` does not hold). Send \
        `Authorization: Bearer <token>` with an API key or a JWT.
        """

    static let forbidden = """
        Your role may not do this: the access rules do not let it act on this collection (for the whole feed: \
        read every row of the collections asked for; follow a band instead), or the create or update would leave \
        a row outside the rows your rules let you write.
        """

    static let tooManyRequests = """
        Past the rate limit (`--rate-limit` requests per second per identity: an API key, a JWT subject, or an \
        anonymous client's address; bursts of `--rate-burst`): retry after `Retry-After` seconds.
        """

    static let asyncAPIDescription = """
        The change feed of a Feedbase server over WebSocket, described from the subscriber's side. Connect with \
        `GET /_feed` and `Upgrade: websocket`; the server sends text frames only: the backlog after `since`, then a \
        `ready` message, then every change as it commits, in strictly increasing `seq`. The same feed is served as \
        Server-Sent Events (`Accept: text/event-stream`) and, for catching up, as `GET /_changes` (see the OpenAPI \
        document at `/openapi.json`). The same socket follows live queries (bands): the client sends `subscribe` \
        and `unsubscribe` messages and receives each band's messages, told apart by the band's name; with \
        `mode=bands` it carries nothing else. A band is also served as a listing's URL asked as \
        `text/event-stream`, and as `GET /_changes/{collection}`.

        Authentication: the upgrade request may carry `Authorization: Bearer <token>` (an API key or a JWT, the \
        `bearerAuth` scheme) or, since a browser's `WebSocket` cannot set headers, the token as the `access_token` \
        query parameter (the `accessToken` scheme); without either the subscriber is the anonymous role `anon`. The \
        whole feed needs an identity that may read every row of the collections it asks for: otherwise the upgrade \
        is refused over HTTP with 401 (anonymous, or credentials refused) or 403. Bands are narrowed by the \
        subscriber's read rule. When the token expires or its key is revoked, the socket is closed with 4401.
        """

    static let feedChannelDescription = """
        Without `mode=bands`, one connection is one subscription to the feed. The server pings every heartbeat interval (30 s by default) and answers \
        pings. Close codes: 4400 when `since` is ahead of the log; 4401 when the credentials expire or their key is \
        revoked, after what was queued (the reason is `credentials expired or revoked; authenticate again and resume \
        with since=N`, or `... resume each band from the last seq it received` on a `mode=bands` socket); 4408 when the \
        subscriber reads too slowly (the reason says `resume with since=N`); 4410 after a `reset` message, when events \
        after `since` were pruned; 1011 when the server cannot read its change log (the reason says `resume with \
        since=N`); 1001 when the server stops. Query parameters and credentials are checked before the upgrade: a bad \
        one is answered over HTTP (400; 404 for an unknown collection; 401 or 403 for credentials refused or not \
        enough for the whole feed).
        """

    static let bandsOnSocket = """
        Live queries (bands) on the socket: send `subscribe` with an id of your choice and a listing's URL; the \
        server answers `subscribed` with the band's name, then the band's backlog after `since`, `ready`, and \
        its live messages and `progress`, each carrying the id (or, for change messages, the band's name). A \
        socket holds many subscriptions; `unsubscribe` ends one (`unsubscribed`), a `reset` ends one whose \
        `since` was pruned, and a refused message gets an `error`: the socket stays open through all of these. \
        Opened with `mode=bands`, the socket carries bands only (no `since` or `collections` then); without it, \
        the whole feed as well. A slow reader is closed with 4408, a failure with 1011 and expired or revoked \
        credentials with 4401 as for the feed, the reason then saying to resume each band from the last seq it \
        received. A band is the subscriber's listing: only the rows its read rule admits, with the filters.
        """

    static let modeBands = """
        `bands`: the socket carries only the live queries it subscribes to, not the whole feed; `since` and \
        `collections` are then refused (each subscribe message has its own).
        """

    static let subscribe = """
        Follow a live query on this socket: the listing's filters and `select`, judged on each change's row \
        before and after it, among the rows the subscriber's read rule admits.
        """

    static let unauthorizedMessage = """
        Server-Sent Events only (`/_feed`, or a listing, asked as `text/event-stream`): `event: unauthorized` with \
        this data ends the stream when the credentials expire or their key is revoked. Authenticate again and \
        resume with `since` set to `seq`. The WebSocket is closed with 4401 instead and never receives it.
        """

    static let subscribeURL = """
        A listing's path and query, such as `/tasks?project_id=eq.3&select=id,title`: its filters and `select` \
        as for `GET`, checked the same way (the same problem for the same mistake); `order`, `limit`, `offset` \
        and `after` are ignored; a `since` in it counts as the message's (not both).
        """

    static let bandSubscribeSince = """
        Send the band's messages after this seq, then `ready` (default: only new changes). Ahead of the log is \
        an error; older than the oldest kept gives a `reset`.
        """

    static let bandMessage = """
        One change for a band, in strictly increasing seq per band: the change event with `"band"` after `seq`, \
        `op` one of `create`, `update`, `delete` (a row in the band), `enter` (moved into its filter), `leave` \
        (moved out; the item is the row as it was, the one the copy held), and the item narrowed to `select`.
        """

    static let bandReset = """
        Events after this subscription's `since` were pruned (the oldest kept is `oldest`): the subscription \
        ended (its id may be used again); the socket and its other subscriptions go on. Re-read the listing, then \
        subscribe from its X-Change-Seq.
        """

    static let bandError = """
        A message was refused; `problem` says why (400 malformed, a bad filter or too many bands on the socket, 401 or 403 \
        a collection the socket's identity may not read, 401 when it is anonymous; 404 an unknown collection or \
        subscription, 409 an id in use or a band this socket follows already, 429 too many messages waiting or, with \
        `--rate-limit`, the identity past its rate (each message counts as a request), \
        503 the server's limit of distinct bands). A refused subscribe makes no subscription; the socket stays open.
        """

    static let feedOperationDescription = """
        Two transports on one route. With `Upgrade: websocket` (and the usual `Connection: Upgrade`, \
        `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`) the connection switches to the WebSocket feed (101), whose \
        messages the AsyncAPI document at `/asyncapi.json` describes. With `Accept: text/event-stream` the answer is \
        the Server-Sent Events stream (200). A plain GET with neither is refused with 400: use `GET /_changes` to read \
        changes over plain HTTP. Without `mode=bands` this is the whole feed of the collections asked for, which needs \
        an identity that may read every row of them (else 401 when anonymous, 403 otherwise); anyone else follows \
        bands (`mode=bands`, a listing as `text/event-stream`, `/_changes/{collection}`). The token may come as \
        `access_token` instead of the header (`EventSource` and browsers' `WebSocket` cannot set headers).
        """

    static let changeEvent = """
        A committed create, update or delete. `item` is the item after the change (as it was, for a delete), \
        exactly as GET returns it.
        """

    static let resetMessage = """
        Events after `since` are no longer kept (the oldest is `oldest`); the connection then closes with code \
        4410. Re-read the collections over REST, then subscribe from their X-Change-Seq.
        """

    static let feedSince = """
        Send the events after this seq (default: only new events); a `Last-Event-ID` header wins over it. Ahead of the \
        log is refused with 400 (SSE) or closed with 4400 (WebSocket); older than the oldest kept gives 410 \
        (SSE) or a reset message (WebSocket).
        """

    static let changesSince = """
        Return the events after this seq (default: from the oldest kept). Older than the oldest kept is refused \
        with 410.
        """

    static let collections = """
        Only these collections, comma-separated (default: all). An unknown name is refused with 404 (for \
        `/_feed`, before any upgrade).
        """

    static let absentID = """
        An id that cannot be of the key's type names no item: 404, for PUT too.
        """

    static let listing = """
        A page of items, ordered by `order` and then by the primary key. While more rows may follow, `Link` \
        holds the next page's URL (keyset pagination: rows are never skipped or repeated). `HEAD` answers the \
        same without a body. Asked with `Accept: text/event-stream` (and `since`, or `Last-Event-ID`), the same \
        URL is a live query instead: Server-Sent Events of the rows that are created, updated or deleted in the \
        filtered list and of those that `enter` or `leave` it, with `progress` markers (docs/API.md, "Live queries"), \
        and it takes the token as `access_token` too. Only the rows the caller's read rule admits are listed, \
        counted or streamed.
        """

    static let listingStream = """
        The page (possibly empty). With `Accept: text/event-stream` (not ranked below `application/json`), \
        the live query instead: Server-Sent Events from `since` (or `Last-Event-ID`), `order`, `limit`, `offset` \
        and `after` not applying. Each event is `id: <seq>`, `event: change`, `data: <band message>`: the change \
        event with `"band"` after `seq`, `op` one of `create`, `update`, `delete`, `enter`, `leave`, and the item \
        narrowed to `select`. `event: ready` ends the backlog; `event: progress` (`id: N`, data \
        `{"type":"progress","seq":N}`) says the log moved to N with nothing for the band; `event: reset`, \
        `overflow`, `failure` or `unauthorized` ends the stream, as on `/_feed`.
        """

    static func bandChange(_ collection: String) -> String {
        """
        A live query's message about an item of `\(collection)`: the change event with the band's `op` (`create`, \
        `update` or `delete` of a row in the band, `enter` for a row that moved into its filter, `leave` for one \
        that moved out, with the item as it is now) and the item narrowed to `select`.
        """
    }

    static let bandLastSeq = """
        Continue with `since` set to this. It moves past the events read that were not for the band, so it may \
        be ahead of the last message's seq, and move when there is no message.
        """

    static let bandChangesSince = """
        Return the band's messages after this seq (default: from the oldest event kept). Older than the oldest \
        kept is refused with 410.
        """

    static let bandChanges = """
        The messages of the live query (band) that the listing's filters and `select` make, after `since`, \
        oldest first: each change is judged on the row before and after it, `enter` and `leave` telling a row \
        that moved into or out of the filter from one created or deleted. Continue with `since=last_seq`. With \
        `wait`, an answer with no message is held until one comes or the time is up (long poll). The band is the \
        caller's listing: only the rows its read rule admits, with the filters.
        """

    static let order = """
        Sort keys, comma-separated: `column` or `column.asc`, `column.desc` (e.g. `priority.desc,title`). The \
        primary key is always the final tiebreaker, in the direction of the last key. NULLs come first \
        ascending, last descending. Blob and JSON columns cannot be ordered by; a column twice is refused with \
        400.
        """

    static let created = """
        Created: the stored item with its defaults and key (`Location` and `ETag` for an object body), or the \
        array of them (for an array body).
        """

    static let create = """
        An object creates one item; an array of objects creates all of them in one transaction, or none (errors \
        then point into the array: `/3/title`).
        """

    static let replace = """
        Keys left out become their column default, or NULL. An id in the body that differs from the URL is \
        refused with 422; an id in the URL that cannot be of the key's type names no item (404).
        """

    static let changes = """
        Events after `since`, oldest first. Continue with `since=last_seq`. With `wait`, an empty answer is held \
        until an event comes or the time is up (long poll). The whole feed of the collections asked for: only for an \
        identity that may read every row of them (else 401 when anonymous, 403 otherwise); anyone else follows a \
        band (`/_changes/{collection}`).
        """

    static let upgraded = """
        Switching Protocols: with `Upgrade: websocket`, the connection becomes the WebSocket feed described by \
        the AsyncAPI document at `/asyncapi.json`.
        """

    static let eventStream = """
        With `Accept: text/event-stream`: the stream. Each event is `id: <seq>`, `event: change`, `data: \
        <ChangeEvent JSON>`; `event: ready` (data `{"type":"ready","seq":N}`) ends the backlog; `event: reset`, \
        `event: overflow`, `event: failure` (data `{"type":"failure","seq":N}`: the server cannot read its change \
        log; resume after N) or `event: unauthorized` (data `{"type":"unauthorized","seq":N}`: the credentials \
        expired or their key was revoked; authenticate again and resume after N) ends the stream; `: ping` comment \
        lines are heartbeats.
        """

    static let ifMatch = """
        Entity tags (or `*`): the write happens only if the item exists and its current ETag is one of them; \
        otherwise 412 with the current ETag. Checked inside the write's transaction.
        """

    static let changeSeq = """
        The change log's head: for a read, the highest seq visible in the snapshot the body was read from; for a \
        write, the seq of its last event. Subscribe with `since` set to this to miss nothing.
        """

    static let badRequest = """
        Malformed: a bad query parameter or cursor; a path or query that is not valid percent-encoded UTF-8; a \
        body that is not JSON, not UTF-8, nested deeper than 2,000 levels, empty, not an object (or array, for \
        POST), or with an unknown or duplicate field; on any route, a request that is not valid HTTP/1.1 (such \
        as a control character in a header value), after which the connection closes.
        """

    static let unprocessable = """
        The body does not fit the table: a type, range, date or base64 error, a NOT NULL, CHECK or foreign key \
        violation, a string holding U+0000, a number beyond the range of a 64-bit float (in a JSON value too), a \
        key in the body that differs from the URL; `errors` points at each field (never SQL).
        """
}
