// TandemNode: one engine node's configuration and services (see docs/node.md).
