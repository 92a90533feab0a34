extension NodeConfiguration {
    /// The documented full example: every key, optional ones at their defaults, with comments.
    /// docs/node-config.md shows the same text, and a test parses it.
    public static let example = #"""
        # Tandem node configuration. One file per node; both nodes of a pair share everything but node.id.
        # Any key can be overridden from the environment: TANDEM__<path> with components joined by "__"
        # and list indexes as numbers, e.g. TANDEM__venues__0__sessions__0__port=9999.

        # Required. Names the journal stream and the lease both nodes of the pair share.
        cluster: demo

        node:
          # Required; unique in the cluster. Shorthand override: TANDEM_NODE_ID.
          id: node-a

        database:
          # Either dsn (an external, possibly HA, PostgreSQL; shorthand override TANDEM_DSN) ...
          # dsn: "host=db1,db2 dbname=tandem user=tandem target_session_attrs=read-write"
          # ... or embedded: a private local PostgreSQL Tandem starts from the system's binaries.
          # Neither given means embedded in the default directory.
          embedded:
            dataDirectory: .tandem/pg          # default .tandem/pg

        timing:
          heartbeatMs: 200                     # default 200: the leader renews its lease this often
          leaseMs: 1000                        # default 1000: a lease lasts this long (database clock); > heartbeatMs
          selfFenceMarginMs: 200               # default 200: the leader stops sending leaseMs - this after its
                                               #   last renewal; must be < leaseMs - heartbeatMs
          standbyMaxLagMs: 500                 # default 500: a standby further behind reports itself unfit

        journal:
          snapshotEveryEvents: 100000          # default 100000; 0 = off: a standby stores its fold this often,
                                               #   and a starting node, status and replays start from the newest
          snapshotsKept: 10                    # default 10: the standby deletes older snapshots than these

        venues:                                # at least one
          - name: VENUE                        # required; instruments carry it as their venue
            sessions:                          # at least one FIX 4.4 order-entry session; we initiate
              - host: 127.0.0.1                # required
                port: 9878                     # required, 1-65535
                senderCompID: TANDEM           # required
                targetCompID: VENUE            # required; each SenderCompID/TargetCompID pair once
                heartBtInt: 30                 # default 30 (seconds)
                # username: tandem             # optional, Logon Username (553)
                # password: secret             # optional, Logon Password (554); never printed
                rateLimit:                     # this session's orders; default 50/s, burst 10
                  ordersPerSecond: 50
                  burst: 10
                resetOnLogon: false            # default false: keep sequence numbers across logons and leaders
                maxSendingTimeSkewSeconds: 120 # default 120: reject and log out on a SendingTime further off; 0: no check
            feed:                              # optional: the venue's market-data feed
              host: 127.0.0.1                  # default 127.0.0.1
              recoveryPort: 9879               # required when feed is given
            rateLimit:                         # venue-wide, across its sessions; default 100/s, burst 20
              ordersPerSecond: 100
              burst: 20
            instruments:                       # at least one; ids unique across all venues
              - id: 1                          # required, 1-4294967295: the instrument's key in the journal
                symbol: ACME                   # required; Symbol (55) on the wire
                tickSize: "0.01"               # required, exact decimal
                lotSize: "1"                   # required, exact decimal
                multiplier: 1                  # default 1: money per price unit per quantity unit (50, 0.1, 1/10)
                currency: USD                  # required
                calendar: ""                   # default "" (none)

        strategy:
          name: market-maker                   # required
          account: ACC1                        # required: Account (1) on its orders
          venue: VENUE                         # required: a configured venue's name
          parameters:                          # the strategy's own settings, passed as text; default none
            instrument: "1"
            quoteQuantity: "10"
            halfSpreadTicks: "2"
            maxPosition: "100"
            requoteTicks: "2"

        execution:
          cancelOnShutdown: false              # default false: the standby takes over open orders
          retryInitialMs: 100                  # default 100: first retry's delay
          retryMaxMs: 2000                     # default 2000: retry delay ceiling; >= retryInitialMs
          retryAttempts: 5                     # default 5 (0-100; 0 = no retries)
          statusRequestTimeoutMs: 1000         # default 1000: wait for an order status answer
          # riskLimitsFile: deploy/config/risk-limits.json   # optional: TandemRisk pre-trade checks (docs/risk.md)

        risk:
          dayRollUTC: "00:00"                  # default "00:00": UTC time (HH:MM) the daily loss and drawdown reset

        log:
          level: info                          # default info: trace, debug, info, notice, warning, error, critical
        """#
}
