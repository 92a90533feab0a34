// TandemExecution: the write-ahead order manager and the journal-backed FIX session store (see docs/node.md).
