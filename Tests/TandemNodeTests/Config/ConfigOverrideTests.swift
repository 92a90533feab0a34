import Testing
import TandemNode

/// `TANDEM__…` variables and the two shorthands, applied onto the document before validation.
@Suite struct ConfigOverrideTests {
    @Test func overridesApplyAtTheirPaths() throws {
        let config = try parse(minimalYAML, environment: [
            "TANDEM__node__id": "node-b",
            "TANDEM__venues__0__sessions__0__port": "9999",
            "TANDEM__strategy__parameters__quoteQuantity": "5",
            "TANDEM__timing__leaseMs": "2000",
            "TANDEM__execution__cancelOnShutdown": "true",
            "TANDEM__log__level": "debug",
            "HOME": "/root", "TANDEM_PG_BIN": "/usr/lib/postgresql/15/bin",
        ])
        #expect(config.nodeID == "node-b")
        #expect(config.venues[0].sessions[0].port == 9999)
        #expect(config.strategy.parameters == ["quoteQuantity": "5"])
        #expect(config.timing.lease == .seconds(2))
        #expect(config.execution.cancelOnShutdown)
        #expect(config.logLevel == .debug)
    }

    @Test func shorthandsAndTheDSNReplacingEmbedded() throws {
        let file = minimalYAML + "\ndatabase:\n  embedded: {dataDirectory: /d}\n"
        let config = try parse(file, environment: ["TANDEM_DSN": "host=a,b target_session_attrs=read-write", "TANDEM_NODE_ID": "n2"])
        #expect(config.database == .dsn("host=a,b target_session_attrs=read-write"))
        #expect(config.nodeID == "n2")

        let back = try parse(minimalYAML + "\ndatabase: {dsn: host=x}\n", environment: ["TANDEM__database__embedded__dataDirectory": "/e"])
        #expect(back.database == .embedded(dataDirectory: "/e"))

        let same = try parse(minimalYAML, environment: ["TANDEM_NODE_ID": "n3", "TANDEM__node__id": "n3"])
        #expect(same.nodeID == "n3")
        let conflict = failure(minimalYAML, environment: ["TANDEM_NODE_ID": "n3", "TANDEM__node__id": "n4"])
        #expect(issue(at: "node.id", in: conflict)?.variable == "TANDEM_NODE_ID")
    }

    @Test func overridesCanBuildSectionsAndAppendListElements() throws {
        let config = try parse(minimalYAML, environment: [
            "TANDEM__venues__0__sessions__1__host": "10.0.0.2",
            "TANDEM__venues__0__sessions__1__port": "9878",
            "TANDEM__venues__0__sessions__1__senderCompID": "A",
            "TANDEM__venues__0__sessions__1__targetCompID": "B2",
            "TANDEM__venues__0__feed__recoveryPort": "9879",
        ])
        #expect(config.venues[0].sessions.count == 2)
        #expect(config.venues[0].sessions[1] == FIXSessionEndpoint(host: "10.0.0.2", port: 9878, senderCompID: "A", targetCompID: "B2"))
        #expect(config.venues[0].feed == FeedEndpoint(host: "127.0.0.1", recoveryPort: 9879))

        // Everything from the environment, with an empty file.
        let bare = try parse("", environment: [
            "TANDEM__cluster": "c", "TANDEM_NODE_ID": "n",
            "TANDEM__venues__0__name": "V",
            "TANDEM__venues__0__sessions__0__host": "h", "TANDEM__venues__0__sessions__0__port": "1",
            "TANDEM__venues__0__sessions__0__senderCompID": "A", "TANDEM__venues__0__sessions__0__targetCompID": "B",
            "TANDEM__venues__0__instruments__0__id": "1", "TANDEM__venues__0__instruments__0__symbol": "S",
            "TANDEM__venues__0__instruments__0__tickSize": "0.5", "TANDEM__venues__0__instruments__0__lotSize": "1",
            "TANDEM__venues__0__instruments__0__currency": "USD",
            "TANDEM__strategy__name": "s", "TANDEM__strategy__account": "a", "TANDEM__strategy__venue": "V",
        ])
        #expect(bare.cluster == "c" && bare.nodeID == "n" && bare.venues[0].instruments[0].symbol == "S")
    }

    @Test func anUnknownOverrideIsNamed() throws {
        let error = failure(minimalYAML, environment: ["TANDEM__timing__heartbeatMS": "300"])
        let found = try #require(issue(at: "timing.heartbeatMS", in: error))
        #expect(found.variable == "TANDEM__timing__heartbeatMS")
        #expect(found.line == nil)
        #expect(found.message.hasPrefix("unknown key; did you mean heartbeatMs?"))
        #expect(error.source == "<env>")
        #expect(error.description.contains("environment TANDEM__timing__heartbeatMS: timing.heartbeatMS: unknown key"))
    }

    @Test func aBadOverrideValueIsNamed() throws {
        let error = failure(minimalYAML, environment: ["TANDEM__venues__0__sessions__0__port": "abc"])
        let found = try #require(issue(at: "venues[0].sessions[0].port", in: error))
        #expect(found.variable == "TANDEM__venues__0__sessions__0__port")
        #expect(found.message == #"expected an integer 1–65535, got "abc""#)
    }

    @Test func overridesThatCannotApplyAreNamed() throws {
        let error = failure(minimalYAML, environment: [
            "TANDEM__venues__3__name": "X",
            "TANDEM__node__id__x": "1",
            "TANDEM__venues__first__name": "X",
            "TANDEM__node____id": "x",
        ])
        #expect(issue(at: "venues[3]", in: error)?.variable == "TANDEM__venues__3__name")
        #expect(issue(at: "node.id", in: error)?.variable == "TANDEM__node__id__x")
        #expect(issue(at: "venues", in: error)?.variable == "TANDEM__venues__first__name")
        #expect(error.issues.contains { $0.variable == "TANDEM__node____id" })
        #expect(error.issues.count == 4)
    }
}
