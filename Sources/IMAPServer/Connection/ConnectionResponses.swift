import IMAPProtocol

/// What the connection handler answers by itself, around the session: greetings'
/// refusals, timeouts, literal limits, STARTTLS's go-ahead. Each text is here once;
/// the session's own refusals are `CommandError`'s.
enum ConnectionResponse {
    static let shutdown = bye("Server shutting down.")
    static let tooManyFromAddress = bye("Too many connections from your address.")
    static let serverFull = bye("Too many connections, try again later.")
    static let loginTimedOut = bye("Login timeout.")
    static let inactivity = bye("Disconnected for inactivity.")
    static let literalBudgetText = "Too much literal data buffered on this server, try again later."
    static let literalBudgetExhausted = bye(literalBudgetText)
    /// RFC 9051 §7.5: go ahead with the synchronizing literal.
    static let sendLiteral = Response.continuation("OK")

    /// RFC 9051 §7.1.5: the server closes the connection.
    static func bye(_ text: String) -> Response { .untagged(.status(.bye, code: nil, text: text)) }

    /// A command the decoder could not read: tagged when it found the tag.
    static func bad(_ tag: String?, _ text: String) -> Response { reply(tag, .bad, nil, text) }

    /// RFC 7888 §4 / RFC 9051 §7.1: a literal over the limit, refused before `+`.
    static func literalTooLarge(_ tag: String?, limit: Int) -> Response {
        let text = "Literal too large (limit \(limit) bytes)."
        // Without a tag there is no command to say NO to: BAD, as for any unreadable input.
        guard tag != nil else { return reply(nil, .bad, nil, text) }
        return reply(tag, .no, .other(ResponseCodeName.tooBig, nil), text)
    }

    /// The server-wide literal budget cannot take a synchronizing literal just announced.
    static func literalOverBudget(_ tag: String?) -> Response { reply(tag, .no, .limit, literalBudgetText) }

    /// Tagged when the decoder found the command's tag, untagged (`*`) otherwise.
    private static func reply(_ tag: String?, _ status: ResponseStatus, _ code: ResponseCode?, _ text: String)
        -> Response
    {
        guard let tag else { return .untagged(.status(status, code: code, text: text)) }
        return .tagged(tag: tag, status: status, code: code, text: text)
    }

    /// RFC 4978 §3: both sides compress from the CRLF of this line on.
    static func compressionActive(_ tag: String) -> Response {
        .tagged(tag: tag, status: .ok, code: nil, text: "DEFLATE active.")
    }

    /// RFC 9051 §6.2.1: the client starts its TLS handshake after this line.
    static func startTLSReady(_ tag: String) -> Response {
        .tagged(tag: tag, status: .ok, code: nil, text: "Begin TLS negotiation now.")
    }
}
