extension NodeConfiguration {
    /// A human summary of a valid configuration, for `tandem node --check-config`: what this node
    /// will connect to and how it will behave, with derived values (when a leader self-fences)
    /// spelled out. Passwords are never shown; a DSN's password is masked.
    public func explain() -> String {
        let ms = Self.ms
        var lines: [String] = []
        lines.append("node \(nodeID) in cluster \(cluster)")
        lines.append("journal: \(database)")
        lines.append("timing: heartbeat \(ms(timing.heartbeat)) ms, lease \(ms(timing.lease)) ms, "
            + "self-fence margin \(ms(timing.selfFenceMargin)) ms (a leader stops sending \(ms(timing.selfFenceAfter)) ms after its last renewal), "
            + "standby max lag \(ms(timing.standbyMaxLag)) ms")
        lines.append(journal.snapshotEveryEvents > 0
            ? "snapshots: a standby stores its fold every \(journal.snapshotEveryEvents) events and keeps the newest \(journal.snapshotsKept); "
                + "a starting node folds from the newest"
            : "snapshots: off; a starting node folds the journal from seq 1")
        for venue in venues {
            lines.append("venue \(venue.name): \(venue.sessions.count == 1 ? "1 session" : "\(venue.sessions.count) sessions"), "
                + "venue-wide limit \(Self.describe(venue.rateLimit))")
            for session in venue.sessions {
                var text = "  FIX \(session): HeartBtInt \(session.heartBtInt) s, limit \(Self.describe(session.rateLimit)), "
                    + (session.resetOnLogon ? "resets sequence numbers on logon" : "keeps sequence numbers across logons")
                    + (session.maxSendingTimeSkewSeconds > 0 ? ", SendingTime within \(session.maxSendingTimeSkewSeconds) s" : ", SendingTime not checked")
                if let username = session.username { text += ", username \(username)" }
                if session.password != nil { text += ", password set" }
                lines.append(text)
            }
            if let feed = venue.feed {
                lines.append("  feed: recovery at \(feed.host):\(feed.recoveryPort)")
            } else {
                lines.append("  feed: none")
            }
            for i in venue.instruments {
                var text = "  instrument \(i.id.rawValue) \(i.symbol): tick \(i.tickSize), lot \(i.lotSize), "
                    + "multiplier \(i.multiplier), \(i.currency)"
                if !i.calendar.isEmpty { text += ", calendar \(i.calendar)" }
                lines.append(text)
            }
        }
        lines.append("strategy \(strategy.name) on \(strategy.venue), account \(strategy.account)")
        if strategy.parameters.isEmpty {
            lines.append("  parameters: none")
        } else {
            for key in strategy.parameters.keys.sorted() {
                lines.append("  \(key) = \(strategy.parameters[key]!)")
            }
        }
        lines.append("execution: \(execution.cancelOnShutdown ? "cancels open orders" : "leaves open orders") on shutdown, "
            + "\(execution.retryAttempts) retries from \(ms(execution.retryInitial)) ms up to \(ms(execution.retryMax)) ms, "
            + "status request timeout \(ms(execution.statusRequestTimeout)) ms")
        lines.append("risk: trading day rolls at \(risk.dayRollUTC) UTC")
        lines.append("log level: \(logLevel)")
        return lines.joined(separator: "\n")
    }

    private static func describe(_ limit: RateLimit) -> String {
        "\(limit.ordersPerSecond) orders/s, burst \(limit.burst)"
    }
}
