/// The group-commit batching decision, as a plain value (sans-I/O): given the sizes of the appends
/// waiting, in arrival order, how many of them go into the next commit.
///
/// Appends are never split (a caller's events commit together or not at all) and never reordered.
/// The first waiting append always goes, even if it alone exceeds the limit; after it, appends are
/// added while the batch stays within `maxEvents`.
public struct GroupCommitPlanner: Sendable, Hashable {
    public var maxEvents: Int

    public init(maxEvents: Int = 4096) {
        self.maxEvents = max(1, maxEvents)
    }

    /// How many of the waiting appends (front of the queue first) the next batch takes.
    public func take<Sizes: Sequence>(waiting sizes: Sizes) -> Int where Sizes.Element == Int {
        var count = 0
        var events = 0
        for size in sizes {
            if count > 0 && events + size > maxEvents { break }
            count += 1
            events += size
        }
        return count
    }
}
