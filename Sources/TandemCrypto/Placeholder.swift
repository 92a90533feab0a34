// Placeholder: replaced by the SHA-256/HMAC face.
enum TandemCryptoPlaceholder {}
