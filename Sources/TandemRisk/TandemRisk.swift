// TandemRisk: pre-trade checks, position sizing and circuit breakers (see docs/risk.md).
