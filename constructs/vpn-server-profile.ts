/** The gateway's own TLS certificate when the operator does not supply one. */
export const VPN_SERVER_CERT_PROFILE = {
  keyAlgorithm: "ECDSA",
  ecdsaCurve: "P256",
  /** One year, renewed on any apply in the last 30 days; clients pin its public key. */
  validityHours: 365 * 24,
  earlyRenewalHours: 30 * 24,
} as const;
