/// RFC 4616 SASL PLAIN credentials: `message = [authzid] UTF8NUL authcid UTF8NUL passwd`.
/// Printing or dumping them leaves the password out.
public struct SASLPlainCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The identity to act as. When the client sent none (the usual case) this is the
    /// username, as RFC 4616 §2 says the server derives it from the authentication
    /// identity; so `authorizationID != username` means "acting as someone else", which
    /// the caller refuses.
    public var authorizationID: String
    /// The authentication identity (authcid).
    public var username: String
    public var password: [UInt8]

    public init(authorizationID: String, username: String, password: [UInt8]) {
        self.authorizationID = authorizationID
        self.username = username
        self.password = password
    }

    public var description: String {
        "SASLPlainCredentials(authorizationID: \(authorizationID), username: \(username), password: <redacted>)"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self, children: ["authorizationID": authorizationID, "username": username, "password": "<redacted>"],
            displayStyle: .struct)
    }
}

/// The separator between the three PLAIN fields (RFC 4616 §2 UTF8NUL).
private let saslPlainSeparator: UInt8 = 0

/// RFC 4616 SASL PLAIN: base64 of `authzid NUL authcid NUL passwd`. nil when the
/// base64 or the structure is invalid: not exactly two NULs, an empty authcid or
/// password, or an authzid/authcid that is not UTF-8. An empty authzid becomes the
/// username (see `SASLPlainCredentials.authorizationID`). An authzid different from
/// authcid is for the caller to refuse.
public func decodeSASLPlain(base64: [UInt8]) -> SASLPlainCredentials? {
    guard var message = Base64.decode(base64) else { return nil }
    defer { secureZero(&message) }

    let separators = message.indices.filter { message[$0] == saslPlainSeparator }
    guard separators.count == 2 else { return nil }
    let first = separators[0]
    let second = separators[1]
    let authorizationBytes = message[..<first]
    let usernameBytes = message[(first + 1)..<second]
    let passwordBytes = message[(second + 1)...]
    // authcid and passwd are 1*SAFE (RFC 4616 §2).
    guard !usernameBytes.isEmpty, !passwordBytes.isEmpty,
        let username = String(validating: usernameBytes, as: UTF8.self),
        let authorizationID = String(validating: authorizationBytes, as: UTF8.self)
    else { return nil }
    return SASLPlainCredentials(
        authorizationID: authorizationID.isEmpty ? username : authorizationID,
        username: username,
        password: Array(passwordBytes))
}

/// The base64 PLAIN message for `credentials` (what a client sends), for tests and
/// tools. An authorizationID equal to the username is sent as an empty authzid, as
/// clients do.
public func encodeSASLPlain(_ credentials: SASLPlainCredentials) -> [UInt8] {
    var message: [UInt8] = []
    if credentials.authorizationID != credentials.username {
        message += Array(credentials.authorizationID.utf8)
    }
    message.append(saslPlainSeparator)
    message += Array(credentials.username.utf8)
    message.append(saslPlainSeparator)
    message += credentials.password
    defer { secureZero(&message) }
    return Base64.encode(message)
}
