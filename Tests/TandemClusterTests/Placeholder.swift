import Testing
@testable import TandemCluster
