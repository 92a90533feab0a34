import TandemCore

// Prices, quantities and amounts travel as decimal strings ("1000", "0.5"), parsed exactly; every
// field is optional and defaults to `RiskLimits()`'s value. A bad value is a `DecodingError` whose
// context names the field and carries the `ArithmeticError`'s message.

private func decimal<K: CodingKey, T>(
    _ c: KeyedDecodingContainer<K>, _ key: K, _ parse: (String) throws(ArithmeticError) -> T
) throws -> T? {
    guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
    do {
        return try parse(text)
    } catch {
        throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(key.stringValue): \(error.message)")
    }
}

private func quantity<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> Quantity? {
    try decimal(c, key) { (t: String) throws(ArithmeticError) in try Quantity(t) }
}

private func amount<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> Amount? {
    try decimal(c, key) { (t: String) throws(ArithmeticError) in try Amount(t) }
}

extension InstrumentLimits: Codable {
    private enum CodingKeys: String, CodingKey {
        case instrument, maxOrderQuantity, maxOrderNotional, maxPosition, priceCollarBasisPoints, perTradeLossLimit
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(instrument: InstrumentID(try c.decode(UInt32.self, forKey: .instrument)))
        maxOrderQuantity = try quantity(c, .maxOrderQuantity)
        maxOrderNotional = try amount(c, .maxOrderNotional)
        maxPosition = try quantity(c, .maxPosition)
        priceCollarBasisPoints = try c.decodeIfPresent(Int64.self, forKey: .priceCollarBasisPoints)
        perTradeLossLimit = try amount(c, .perTradeLossLimit)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(instrument.rawValue, forKey: .instrument)
        try c.encodeIfPresent(maxOrderQuantity?.description, forKey: .maxOrderQuantity)
        try c.encodeIfPresent(maxOrderNotional?.description, forKey: .maxOrderNotional)
        try c.encodeIfPresent(maxPosition?.description, forKey: .maxPosition)
        try c.encodeIfPresent(priceCollarBasisPoints, forKey: .priceCollarBasisPoints)
        try c.encodeIfPresent(perTradeLossLimit?.description, forKey: .perTradeLossLimit)
    }
}

extension RiskLimits: Codable {
    private enum CodingKeys: String, CodingKey {
        case maxOrderQuantity, maxOrderNotional, priceCollarBasisPoints, requireReferencePrice
        case maxPosition, maxGrossExposure, maxNetExposure, maxOpenOrders
        case maxOrdersPerWindow, orderRateWindowMs, maxMessagesPerWindow, messageRateWindowMs
        case perTradeLossLimit, perTradeLossAction, maxDailyLoss, maxDrawdown
        case maxRejectsPerWindow, rejectWindowMs, staleMarkAfterMs, maxDisconnectsPerWindow, disconnectWindowMs
        case pnlSigmaLimit, pnlSampleIntervalMs, pnlSigmaWindow, pnlSigmaMinimumSamples
        case instruments
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func int(_ k: CodingKeys, _ v: inout Int) throws { if let x = try c.decodeIfPresent(Int.self, forKey: k) { v = x } }
        func int64(_ k: CodingKeys, _ v: inout Int64) throws { if let x = try c.decodeIfPresent(Int64.self, forKey: k) { v = x } }
        func qty(_ k: CodingKeys, _ v: inout Quantity) throws { if let x = try quantity(c, k) { v = x } }
        func amt(_ k: CodingKeys, _ v: inout Amount) throws { if let x = try amount(c, k) { v = x } }

        try qty(.maxOrderQuantity, &maxOrderQuantity)
        try amt(.maxOrderNotional, &maxOrderNotional)
        try int64(.priceCollarBasisPoints, &priceCollarBasisPoints)
        if let b = try c.decodeIfPresent(Bool.self, forKey: .requireReferencePrice) { requireReferencePrice = b }
        try qty(.maxPosition, &maxPosition)
        try amt(.maxGrossExposure, &maxGrossExposure)
        try amt(.maxNetExposure, &maxNetExposure)
        try int(.maxOpenOrders, &maxOpenOrders)
        try int(.maxOrdersPerWindow, &maxOrdersPerWindow)
        try int64(.orderRateWindowMs, &orderRateWindowMs)
        try int(.maxMessagesPerWindow, &maxMessagesPerWindow)
        try int64(.messageRateWindowMs, &messageRateWindowMs)
        try amt(.perTradeLossLimit, &perTradeLossLimit)
        if let a = try c.decodeIfPresent(PerTradeLossAction.self, forKey: .perTradeLossAction) { perTradeLossAction = a }
        try amt(.maxDailyLoss, &maxDailyLoss)
        try amt(.maxDrawdown, &maxDrawdown)
        try int(.maxRejectsPerWindow, &maxRejectsPerWindow)
        try int64(.rejectWindowMs, &rejectWindowMs)
        try int64(.staleMarkAfterMs, &staleMarkAfterMs)
        try int(.maxDisconnectsPerWindow, &maxDisconnectsPerWindow)
        try int64(.disconnectWindowMs, &disconnectWindowMs)
        try int64(.pnlSigmaLimit, &pnlSigmaLimit)
        try int64(.pnlSampleIntervalMs, &pnlSampleIntervalMs)
        try int(.pnlSigmaWindow, &pnlSigmaWindow)
        try int(.pnlSigmaMinimumSamples, &pnlSigmaMinimumSamples)
        if let i = try c.decodeIfPresent([InstrumentLimits].self, forKey: .instruments) { instruments = i }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(maxOrderQuantity.description, forKey: .maxOrderQuantity)
        try c.encode(maxOrderNotional.description, forKey: .maxOrderNotional)
        try c.encode(priceCollarBasisPoints, forKey: .priceCollarBasisPoints)
        try c.encode(requireReferencePrice, forKey: .requireReferencePrice)
        try c.encode(maxPosition.description, forKey: .maxPosition)
        try c.encode(maxGrossExposure.description, forKey: .maxGrossExposure)
        try c.encode(maxNetExposure.description, forKey: .maxNetExposure)
        try c.encode(maxOpenOrders, forKey: .maxOpenOrders)
        try c.encode(maxOrdersPerWindow, forKey: .maxOrdersPerWindow)
        try c.encode(orderRateWindowMs, forKey: .orderRateWindowMs)
        try c.encode(maxMessagesPerWindow, forKey: .maxMessagesPerWindow)
        try c.encode(messageRateWindowMs, forKey: .messageRateWindowMs)
        try c.encode(perTradeLossLimit.description, forKey: .perTradeLossLimit)
        try c.encode(perTradeLossAction, forKey: .perTradeLossAction)
        try c.encode(maxDailyLoss.description, forKey: .maxDailyLoss)
        try c.encode(maxDrawdown.description, forKey: .maxDrawdown)
        try c.encode(maxRejectsPerWindow, forKey: .maxRejectsPerWindow)
        try c.encode(rejectWindowMs, forKey: .rejectWindowMs)
        try c.encode(staleMarkAfterMs, forKey: .staleMarkAfterMs)
        try c.encode(maxDisconnectsPerWindow, forKey: .maxDisconnectsPerWindow)
        try c.encode(disconnectWindowMs, forKey: .disconnectWindowMs)
        try c.encode(pnlSigmaLimit, forKey: .pnlSigmaLimit)
        try c.encode(pnlSampleIntervalMs, forKey: .pnlSampleIntervalMs)
        try c.encode(pnlSigmaWindow, forKey: .pnlSigmaWindow)
        try c.encode(pnlSigmaMinimumSamples, forKey: .pnlSigmaMinimumSamples)
        try c.encode(instruments, forKey: .instruments)
    }
}
