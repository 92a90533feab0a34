/// Placeholder until the core lands.
public enum TandemCoreVersion { public static let encoding: UInt16 = 1 }
