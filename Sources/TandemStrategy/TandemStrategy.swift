// TandemStrategy: the strategy API and the example strategies (see docs/strategy.md).
