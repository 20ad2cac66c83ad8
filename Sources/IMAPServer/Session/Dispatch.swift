import IMAPProtocol

/// Dispatch: the state was checked against the command table (`execute`); here it is
/// unwrapped once and the handler gets the user and mailbox it works on. Each command
/// is routed by the states its table row admits, so a row and a handler that disagree
/// still answer the client: `NO [SERVERBUG]`, with the reason logged.
extension IMAPSession {
    func dispatch(_ tagged: TaggedCommand, spec: CommandSpec) async -> CommandOutcome {
        if spec.states.contains(.notAuthenticated) { return await dispatchAnyState(tagged) }
        guard let loggedIn = state.loggedIn else {
            return serverBug(tagged.tag, "\(tagged.command.name) admitted without a user")
        }
        if spec.states.contains(.authenticated) {
            return await dispatchAuthenticated(tagged, user: loggedIn.user)
        }
        guard let mailbox = loggedIn.mailbox else {
            return serverBug(tagged.tag, "\(tagged.command.name) admitted without a selected mailbox")
        }
        return await dispatchSelected(tagged, mailbox: mailbox, spec: spec)
    }

    /// Commands of the not-authenticated state and those of any state (§6.1, §6.2).
    private func dispatchAnyState(_ tagged: TaggedCommand) async -> CommandOutcome {
        let tag = tagged.tag
        switch tagged.command {
        case .capability: await handleCapability(tag: tag)
        case .noop: await handleNoop(tag: tag)
        case .logout: return await handleLogout(tag: tag)
        case .id(let fields): await handleID(tag: tag, fields: fields)
        case .enable(let names): await handleEnable(tag: tag, names: names)
        case .starttls: return await handleStartTLS(tag: tag)
        case .login(let user, let password): return await handleLogin(tag: tag, username: user, password: password)
        case .authenticate(let mechanism, let initial):
            return await handleAuthenticate(tag: tag, mechanism: mechanism, initialResponse: initial)
        default: return serverBug(tag, "\(tagged.command.name) has no handler for any state")
        }
        return .done
    }

    /// Commands of the authenticated state (§6.3), also admitted when selected.
    private func dispatchAuthenticated(_ tagged: TaggedCommand, user: UserSession) async -> CommandOutcome {
        let tag = tagged.tag
        switch tagged.command {
        case .select(let name, let params):
            await handleSelect(tag: tag, user: user, name: name, parameters: params, readOnly: false)
        case .examine(let name, let params):
            await handleSelect(tag: tag, user: user, name: name, parameters: params, readOnly: true)
        case .list(let list): await handleList(tag: tag, user: user, list)
        case .lsub(let reference, let pattern):
            await handleLsub(tag: tag, user: user, reference: reference, pattern: pattern)
        case .namespace: await handleNamespace(tag: tag)
        case .status(let name, let attributes):
            await handleStatus(tag: tag, user: user, name: name, attributes: attributes)
        case .idle: return await handleIdle(tag: tag)
        case .compress(let mechanism): return handleCompress(tag: tag, mechanism: mechanism)
        case .create(let name, let use): await handleCreate(tag: tag, user: user, name: name, specialUse: use)
        case .delete(let name): await handleDelete(tag: tag, user: user, name: name)
        case .rename(let from, let to): await handleRename(tag: tag, user: user, from: from, to: to)
        case .subscribe(let name): await handleSubscribe(tag: tag, user: user, name: name)
        case .unsubscribe(let name): await handleUnsubscribe(tag: tag, user: user, name: name)
        case .append(let name, let messages): await handleAppend(tag: tag, name: name, messages: messages)
        case .getQuota(let root): await handleGetQuota(tag: tag, user: user, root: root)
        case .getQuotaRoot(let name): await handleGetQuotaRoot(tag: tag, user: user, name: name)
        case .setQuota: handleSetQuota(tag: tag)
        default: return serverBug(tag, "\(tagged.command.name) has no handler for the authenticated state")
        }
        return .done
    }

    /// Commands of the selected state (§6.4).
    private func dispatchSelected(_ tagged: TaggedCommand, mailbox: SelectedMailbox, spec: CommandSpec) async
        -> CommandOutcome
    {
        let tag = tagged.tag
        switch tagged.command {
        case .check: await handleCheck(tag: tag)
        case .close: await handleClose(tag: tag, mailbox: mailbox, expunge: true)
        case .unselect: await handleClose(tag: tag, mailbox: mailbox, expunge: false)
        case .expunge: await handleExpunge(tag: tag, mailbox: mailbox, uids: nil)
        case .uidExpunge(let set): await handleExpunge(tag: tag, mailbox: mailbox, uids: set)
        case .fetch(let set, let attributes, let modifiers):
            await handleFetch(
                tag: tag, mailbox: mailbox, set: set, attributes: attributes, modifiers: modifiers, spec: spec)
        case .store(let set, let modifiers, let action):
            await handleStore(tag: tag, mailbox: mailbox, set: set, modifiers: modifiers, action: action, spec: spec)
        case .search(let kind, let search):
            await handleSearch(tag: tag, mailbox: mailbox, kind: kind, search, spec: spec)
        case .sort(let kind, let sort): await handleSort(tag: tag, mailbox: mailbox, kind: kind, sort, spec: spec)
        case .thread(let kind, let thread):
            await handleThread(tag: tag, mailbox: mailbox, kind: kind, thread, spec: spec)
        case .copy(let set, let name): await handleCopy(tag: tag, mailbox: mailbox, set: set, destination: name)
        case .move(let set, let name): await handleMove(tag: tag, mailbox: mailbox, set: set, destination: name)
        case .cancelUpdate(let tags): await handleCancelUpdate(tag: tag, mailbox: mailbox, tags: tags)
        default: return serverBug(tag, "\(tagged.command.name) has no handler for the selected state")
        }
        return .done
    }
}
