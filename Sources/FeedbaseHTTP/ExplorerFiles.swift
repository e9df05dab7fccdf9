// The explorer at /_ui: one page, its scripts and its style, from the binary's own bytes
// (UI/ in this module, embedded by SwiftPM as ClientFiles are), built on /_client/feedbase.js.
// Off with `--no-ui` (docs/UI.md). Every other answer of the server forbids everything
// (`default-src 'none'`); these allow exactly what the page needs: its own scripts, style and
// requests to this origin (REST, the WebSocket and EventSource of the feed), nothing else.

import NIOHTTP1

enum ExplorerFiles {
    /// The explorer's policy: same-origin scripts (ES modules; no inline script, no eval),
    /// style, connections (`'self'` covers ws: and wss: to this host, CSP Level 3) and images
    /// (none today); no frames, forms posting elsewhere, or `<base>`.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let page = ClientFiles.File(bytes: PackageResources.explorer_html, contentType: "text/html; charset=utf-8")

    /// `/_ui/NAME` → its file.
    static let assets: [(name: String, file: ClientFiles.File)] = [
        ("explorer.js", ClientFiles.File(bytes: PackageResources.explorer_js, contentType: "text/javascript; charset=utf-8")),
        ("schema.js", ClientFiles.File(bytes: PackageResources.schema_js, contentType: "text/javascript; charset=utf-8")),
        ("editor.js", ClientFiles.File(bytes: PackageResources.editor_js, contentType: "text/javascript; charset=utf-8")),
        ("explorer.css", ClientFiles.File(bytes: PackageResources.explorer_css, contentType: "text/css; charset=utf-8")),
    ]

    static func response(_ file: ClientFiles.File, to request: Request) -> Response {
        var response = ClientFiles.response(file, to: request)
        // Kept by RequestHandler.addSecurityHeaders, which sets `default-src 'none'` on the rest.
        response.headers.replaceOrAdd(name: "Content-Security-Policy", value: contentSecurityPolicy)
        return response
    }
}
