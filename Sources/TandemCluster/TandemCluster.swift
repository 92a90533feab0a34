// TandemCluster: the lease row's election logic and the node role state machine (see docs/cluster.md).
