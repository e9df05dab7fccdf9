/// The server's version, as `feedbase --version` prints it (the API's own version, in the
/// OpenAPI document's `info.version`, moves only when the REST contract does).
public enum FeedbaseVersion {
    public static let current = "0.22.0"
}
