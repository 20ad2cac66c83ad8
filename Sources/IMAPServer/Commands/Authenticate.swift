import Auth
import IMAPProtocol

extension IMAPSession {
    /// RFC 9051 §6.2.2 AUTHENTICATE, mechanism PLAIN (RFC 4616), with SASL-IR
    /// (RFC 4959) initial responses and the client's `*` cancel.
    func handleAuthenticate(tag: String, mechanism: String, initialResponse: Secret?) async -> CommandOutcome {
        guard mechanism.uppercased() == "PLAIN" else {
            fail(tag, .unsupportedMechanism)
            return .done
        }
        guard plaintextAuthAllowed else {
            fail(tag, .plaintextDisallowed)
            return .done
        }
        if let initialResponse {
            return await finishAuthenticate(tag: tag, response: initialResponse)
        }
        beginAuthenticate(tag: tag)
        writer.send(.continuation(""))
        return .awaitContinuationLine
    }

    func finishAuthenticate(tag: String, response: Secret) async -> CommandOutcome {
        if response.bytes == Array("*".utf8) {
            fail(tag, .authenticationCancelled)
            return .done
        }
        // "=" is the SASL-IR spelling of an empty initial response.
        let payload = response.bytes == Array("=".utf8) ? [] : response.bytes
        guard let credentials = decodeSASLPlain(base64: payload) else {
            fail(tag, .invalidSASLPlain)
            return .done
        }
        if !credentials.authorizationID.isEmpty && credentials.authorizationID != credentials.username {
            fail(tag, .authorizationFailed)
            return .done
        }
        return await logIn(tag: tag, username: credentials.username, password: credentials.password)
    }
}
