import Testing

@testable import TandemCluster
@testable import TandemJournal

private func ms(_ value: Int) -> Duration { .milliseconds(value) }

/// Defaults: heartbeat 200 ms, lease 1 s, margin 200 ms, so a leader may act until sentAt + 800 ms.
private func machine() throws -> LeaseMachine {
    LeaseMachine(configuration: try LeaseMachine.Configuration(nodeID: "node-a"))
}

private func changes(_ actions: [LeaseMachine.Action]) -> [RoleChange] {
    actions.compactMap { if case .roleChanged(let change) = $0 { change } else { nil } }
}

private let heldByB = LeaseState(holder: "node-b", epoch: 8, halted: false, millisecondsToExpiry: 600)

/// A machine that won epoch 7 with an acquire sent at `sentAt`, answered at `sentAt + 5 ms`.
private func leader(sentAt: Duration = .zero) throws -> LeaseMachine {
    var m = try machine()
    _ = m.handle(.start(now: sentAt))
    _ = m.handle(.acquireSucceeded(epoch: 7, requestSentAt: sentAt, now: sentAt + ms(5)))
    try #require(m.role == .leader)
    return m
}

@Suite("lease machine")
struct LeaseMachineTests {
    @Test("leader session ended: a standby takes over from that epoch at once; a leader or a fenced node does nothing")
    func leaderSessionEnded() throws {
        var standby = try machine()
        _ = standby.handle(.start(now: .zero))
        _ = standby.handle(.acquireRefused(heldByB, now: ms(5)))
        let actions = standby.handle(.leaderSessionEnded(epoch: 8, now: ms(50)))
        #expect(actions.contains { if case .takeOver(fromEpoch: 8) = $0 { true } else { false } })
        #expect(changes(actions).isEmpty)
        _ = standby.handle(.acquireSucceeded(epoch: 9, requestSentAt: ms(50), now: ms(53)))
        #expect(standby.role == .leader && standby.leadership?.epoch == 9)

        var lead = try leader()
        #expect(lead.handle(.leaderSessionEnded(epoch: 6, now: ms(50))).isEmpty)
        #expect(lead.role == .leader)
    }

    @Test("a lease about to expire (the leader stopped renewing): the standby asks again at the expiry, not up to a heartbeat later")
    func acquireAtExpiry() throws {
        var m = try machine()
        _ = m.handle(.start(now: .zero))  // acquire sent, next tick at 200 ms
        // A live leader renews: the lease is ~600–1000 ms from expiry, past the next tick: nothing extra.
        #expect(m.handle(.acquireRefused(heldByB, now: ms(5))).isEmpty)
        #expect(m.handle(.tick(now: ms(200))) == [.tryAcquire, .scheduleTick(at: ms(400))])
        // 120 ms to go as of the refusal at 210 ms: ask at 331 ms (1 ms late on purpose), before the 400 ms tick.
        let expiring = LeaseState(holder: "node-b", epoch: 8, halted: false, millisecondsToExpiry: 120)
        #expect(m.handle(.acquireRefused(expiring, now: ms(210))) == [.scheduleAcquire(at: ms(331))])
        #expect(m.handle(.acquireDue(now: ms(331))) == [.tryAcquire])
        // Refused again (the leader renewed after all): the regular tick goes on; one extra acquire at a time.
        #expect(m.handle(.acquireRefused(expiring, now: ms(335))).isEmpty, "456 ms is past the 400 ms tick")
        _ = m.handle(.acquireSucceeded(epoch: 9, requestSentAt: ms(400), now: ms(405)))
        #expect(m.role == .leader)
        // A halted lease, or no holder, schedules nothing; nor does a leader.
        var other = try machine()
        _ = other.handle(.start(now: .zero))
        let halted = LeaseState(holder: "watchdog", epoch: 9, halted: true, millisecondsToExpiry: 50)
        #expect(other.handle(.acquireRefused(halted, now: ms(5))).isEmpty)
        var lead = try leader()
        #expect(lead.handle(.acquireDue(now: ms(100))).isEmpty)
    }

    @Test("configuration: defaults are valid; the margin must leave a heartbeat of slack; nothing may be zero")
    func configuration() throws {
        let c = try LeaseMachine.Configuration(nodeID: "a")
        #expect(c.heartbeat == ms(200) && c.leaseDuration == .seconds(1) && c.safetyMargin == ms(200))
        #expect(throws: ClusterError.self) { try LeaseMachine.Configuration(nodeID: "a", safetyMargin: ms(800)) }
        #expect(throws: ClusterError.self) { try LeaseMachine.Configuration(nodeID: "a", safetyMargin: ms(900)) }
        #expect(throws: ClusterError.self) { try LeaseMachine.Configuration(nodeID: "a", heartbeat: .zero) }
        #expect(throws: ClusterError.self) { try LeaseMachine.Configuration(nodeID: "a", safetyMargin: .zero) }
        #expect(throws: ClusterError.self) { try LeaseMachine.Configuration(nodeID: "") }
        _ = try LeaseMachine.Configuration(nodeID: "a", safetyMargin: ms(799))
    }

    @Test("start: starting → standby, one acquire attempt, the first tick a heartbeat later; inputs before start do nothing")
    func start() throws {
        var m = try machine()
        #expect(m.handle(.tick(now: ms(10))).isEmpty)
        #expect(m.role == .starting)
        let actions = m.handle(.start(now: ms(100)))
        #expect(actions == [
            .roleChanged(RoleChange(from: .starting, to: .standby, epoch: nil, reason: "started", at: ms(100))),
            .tryAcquire, .scheduleTick(at: ms(300)),
        ])
        #expect(m.handle(.start(now: ms(150))).isEmpty)
        #expect(m.leadership == nil)
    }

    @Test("standby: retries acquire every heartbeat, never two at once; a refusal (held or halted) changes nothing")
    func standbyRetries() throws {
        var m = try machine()
        _ = m.handle(.start(now: .zero))
        #expect(m.handle(.tick(now: ms(200))) == [.scheduleTick(at: ms(400))], "the first acquire is still pending")
        #expect(m.handle(.acquireRefused(heldByB, now: ms(210))).isEmpty)
        #expect(m.handle(.tick(now: ms(400))) == [.tryAcquire, .scheduleTick(at: ms(600))])
        let halted = LeaseState(holder: "watchdog", epoch: 9, halted: true, millisecondsToExpiry: nil)
        #expect(m.handle(.acquireRefused(halted, now: ms(405))).isEmpty)
        #expect(m.handle(.tick(now: ms(600))) == [.tryAcquire, .scheduleTick(at: ms(800))])
        #expect(m.handle(.databaseFailed("connection refused", now: ms(610))).isEmpty)
        #expect(m.handle(.tick(now: ms(800))) == [.tryAcquire, .scheduleTick(at: ms(1000))])
        #expect(m.role == .standby)
    }

    @Test("acquire won: standby → leader with the epoch; deadline = request sent + lease − margin")
    func acquireWon() throws {
        var m = try machine()
        _ = m.handle(.start(now: .zero))
        _ = m.handle(.tick(now: ms(200)))
        let actions = m.handle(.acquireSucceeded(epoch: 7, requestSentAt: ms(50), now: ms(300)))
        #expect(changes(actions).map { [$0.from, $0.to] } == [[.standby, .leader]])
        #expect(changes(actions).first?.epoch == 7)
        #expect(m.leadership == LeaseMachine.Leadership(epoch: 7, deadline: ms(850)))
    }

    @Test("acquire answered after its own deadline: not leader; the lease is released at once")
    func acquireTooLate() throws {
        var m = try machine()
        _ = m.handle(.start(now: .zero))
        #expect(m.handle(.acquireSucceeded(epoch: 7, requestSentAt: .zero, now: ms(800))) == [.release(epoch: 7)])
        #expect(m.role == .standby)
        #expect(m.leadership == nil)
    }

    @Test("leader: renews every heartbeat, one renew at a time; the next tick never later than the deadline")
    func leaderRenews() throws {
        var m = try leader()
        #expect(m.handle(.tick(now: ms(200))) == [.renew(epoch: 7), .scheduleTick(at: ms(400))])
        #expect(m.handle(.tick(now: ms(400))) == [.scheduleTick(at: ms(600))], "renew still pending")
        #expect(m.handle(.renewSucceeded(epoch: 7, requestSentAt: ms(200), now: ms(410))).isEmpty)
        #expect(m.leadership?.deadline == ms(1000))
        #expect(m.handle(.tick(now: ms(600))) == [.renew(epoch: 7), .scheduleTick(at: ms(800))])
        #expect(m.handle(.databaseFailed("timeout", now: ms(650))).isEmpty)
        #expect(m.handle(.tick(now: ms(900))) == [.renew(epoch: 7), .scheduleTick(at: ms(1000))], "capped at the deadline")
    }

    @Test("a late renew reply extends the deadline only to its send time + lease − margin, not its arrival + lease")
    func lateRenewReply() throws {
        var m = try leader()
        _ = m.handle(.tick(now: ms(200)))
        #expect(m.handle(.renewSucceeded(epoch: 7, requestSentAt: ms(200), now: ms(950))).isEmpty)
        #expect(m.leadership?.deadline == ms(1000))
        let actions = m.handle(.tick(now: ms(1000)))
        #expect(changes(actions).map(\.to) == [.fenced])
        #expect(actions.contains(.release(epoch: 7)))
    }

    @Test("a renew reply whose send time is already past the deadline arrives to a fenced node and is handed back")
    func renewReplyAfterDeadline() throws {
        var m = try leader()
        _ = m.handle(.tick(now: ms(200)))
        // The process stalled with the renew in flight; the reply and the stall end together.
        let actions = m.handle(.renewSucceeded(epoch: 7, requestSentAt: ms(200), now: ms(1500)))
        #expect(changes(actions).map(\.to) == [.fenced])
        #expect(m.leadership == nil)
        #expect(m.handle(.renewSucceeded(epoch: 7, requestSentAt: ms(1400), now: ms(1510))) == [.release(epoch: 7)])
        #expect(m.role == .fenced)
    }

    @Test("a hung renew that succeeds after the fence and the rejoin is handed back, so the lease frees at once")
    func renewReplyAfterRejoin() throws {
        var m = try leader()
        _ = m.handle(.tick(now: ms(200)))
        _ = m.handle(.tick(now: ms(800)))
        #expect(m.role == .fenced)
        _ = m.handle(.rejoin(now: ms(810)))
        #expect(m.role == .standby)
        #expect(m.handle(.renewSucceeded(epoch: 7, requestSentAt: ms(200), now: ms(900))) == [.release(epoch: 7)])
        #expect(m.role == .standby)
    }

    @Test("an older renew reply never shortens the deadline; a reply for another epoch is ignored")
    func staleRenewReplies() throws {
        var m = try leader()
        _ = m.handle(.renewSucceeded(epoch: 7, requestSentAt: ms(400), now: ms(420)))
        #expect(m.leadership?.deadline == ms(1200))
        _ = m.handle(.renewSucceeded(epoch: 7, requestSentAt: ms(200), now: ms(430)))
        #expect(m.leadership?.deadline == ms(1200))
        _ = m.handle(.renewSucceeded(epoch: 6, requestSentAt: ms(420), now: ms(440)))
        #expect(m.leadership?.deadline == ms(1200))
    }

    @Test("renew lost: leader → fenced at once, naming the new holder; nothing to release")
    func renewLost() throws {
        var m = try leader()
        _ = m.handle(.tick(now: ms(200)))
        let actions = m.handle(.renewLost(heldByB, now: ms(210)))
        let change = try #require(changes(actions).first)
        #expect(change.from == .leader && change.to == .fenced && change.epoch == 7)
        #expect(change.reason.contains("node-b") && change.reason.contains("8"))
        #expect(!actions.contains(.release(epoch: 7)))
        #expect(m.leadership == nil)
    }

    @Test("renew lost to a halt: fenced, and the reason says halted")
    func renewLostHalted() throws {
        var m = try leader()
        _ = m.handle(.tick(now: ms(200)))
        let halted = LeaseState(holder: "watchdog", epoch: 8, halted: true, millisecondsToExpiry: nil)
        let change = try #require(changes(m.handle(.renewLost(halted, now: ms(210)))).first)
        #expect(change.to == .fenced && change.reason.contains("halted"))
    }

    @Test("database blip shorter than the slack: renews fail, are retried every heartbeat, no role change")
    func shortBlip() throws {
        var m = try leader()
        var all: [LeaseMachine.Action] = []
        all += m.handle(.tick(now: ms(200)))
        all += m.handle(.databaseFailed("connection lost", now: ms(201)))
        all += m.handle(.tick(now: ms(400)))
        all += m.handle(.databaseFailed("connection refused", now: ms(402)))
        all += m.handle(.tick(now: ms(600)))
        all += m.handle(.renewSucceeded(epoch: 7, requestSentAt: ms(600), now: ms(640)))
        all += m.handle(.tick(now: ms(800)))
        all += m.handle(.renewSucceeded(epoch: 7, requestSentAt: ms(800), now: ms(805)))
        #expect(changes(all).isEmpty)
        #expect(all.filter { $0 == .renew(epoch: 7) }.count == 4)
        #expect(m.leadership == LeaseMachine.Leadership(epoch: 7, deadline: ms(1600)))
    }

    @Test("database blip longer than the slack: self-fence at sent + lease − margin, before the database expiry")
    func longBlip() throws {
        // The acquire was sent at 0, so the database expiry is no earlier than 0 + 1 s.
        var m = try leader()
        var now = ms(200)
        var fencedAt: Duration?
        var released = false
        while now <= ms(1000), fencedAt == nil {
            let actions = m.handle(.tick(now: now))
            if let change = changes(actions).first {
                #expect(change.to == .fenced && change.reason.contains("self-fenced"))
                fencedAt = now
                released = actions.contains(.release(epoch: 7))
            } else {
                _ = m.handle(.databaseFailed("connection refused", now: now + ms(1)))
            }
            guard case .scheduleTick(let next)? = actions.last else { Issue.record("no tick scheduled"); return }
            now = next
        }
        #expect(fencedAt == ms(800))
        #expect(released, "best-effort release so the standby need not wait out the lease")
    }

    @Test("a hung renew (never answered) sends no second renew and still self-fences on time")
    func hungRenew() throws {
        var m = try leader()
        #expect(m.handle(.tick(now: ms(200))).contains(.renew(epoch: 7)))
        #expect(m.handle(.tick(now: ms(400))) == [.scheduleTick(at: ms(600))])
        #expect(m.handle(.tick(now: ms(600))) == [.scheduleTick(at: ms(800))])
        #expect(changes(m.handle(.tick(now: ms(800)))).map(\.to) == [.fenced])
    }

    @Test("any input past the deadline fences first, e.g. a reply handled after a stall")
    func fenceOnAnyInput() throws {
        var m = try leader()
        #expect(changes(m.handle(.releaseFinished(now: ms(900)))).map(\.to) == [.fenced])
    }

    @Test("fenced: stays fenced (ticks only reschedule) until rejoin; rejoin → standby and acquires again")
    func fencedAndRejoin() throws {
        var m = try leader()
        _ = m.handle(.tick(now: ms(200)))
        _ = m.handle(.renewLost(heldByB, now: ms(210)))
        #expect(m.handle(.tick(now: ms(400))) == [.scheduleTick(at: ms(600))])
        #expect(m.handle(.tick(now: ms(600))) == [.scheduleTick(at: ms(800))])
        #expect(m.role == .fenced)
        let actions = m.handle(.rejoin(now: ms(650)))
        #expect(changes(actions).map { [$0.from, $0.to] } == [[.fenced, .standby]])
        #expect(actions.contains(.tryAcquire))
        #expect(m.handle(.rejoin(now: ms(660))).isEmpty, "rejoin only leaves fenced")
        _ = m.handle(.acquireSucceeded(epoch: 9, requestSentAt: ms(650), now: ms(660)))
        #expect(m.leadership == LeaseMachine.Leadership(epoch: 9, deadline: ms(1450)))
    }

    @Test("stop as leader: → stopping and release the epoch; the gate closes at once; stopping is final")
    func stopLeader() throws {
        var m = try leader()
        let actions = m.handle(.stop(now: ms(100)))
        #expect(changes(actions).map { [$0.from, $0.to] } == [[.leader, .stopping]])
        #expect(actions.contains(.release(epoch: 7)))
        #expect(m.leadership == nil)
        #expect(m.handle(.tick(now: ms(200))).isEmpty)
        #expect(m.handle(.stop(now: ms(300))).isEmpty)
        #expect(m.handle(.rejoin(now: ms(300))).isEmpty)
    }

    @Test("stop as standby: → stopping, nothing to release; an acquire won meanwhile is released")
    func stopStandby() throws {
        var m = try machine()
        _ = m.handle(.start(now: .zero))
        let actions = m.handle(.stop(now: ms(10)))
        #expect(changes(actions).map { [$0.from, $0.to] } == [[.standby, .stopping]])
        #expect(!actions.contains { if case .release = $0 { true } else { false } })
        #expect(m.handle(.acquireSucceeded(epoch: 3, requestSentAt: .zero, now: ms(20))) == [.release(epoch: 3)])
        #expect(m.role == .stopping)
    }
}
