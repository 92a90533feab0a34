import TandemCore

enum SyntheticJournalFixture {
    /// A valid, seeded event stream (instruments first, then orders and fills).
    static func events(_ count: Int, seed: UInt64 = 42) -> [JournalEvent] {
        SyntheticJournal.events(count: count, seed: seed, instrumentCount: 10)
    }
}
