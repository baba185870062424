/**
 * The one definition of a VPN client certificate. The VPN stack issues certificates from it
 * with the tls provider, and lab/vpn issues its test certificates from it with openssl, so the
 * end-to-end test proves the profile the stack really uses.
 */
export const VPN_CLIENT_CERT_PROFILE = {
  /** ECDSA P-256: supported by Cisco Secure Client, openconnect and GnuTLS. */
  keyAlgorithm: "ECDSA",
  ecdsaCurve: "P256",
  /** Short-lived: 30 days, renewed on any apply in the last 7. */
  validityHours: 30 * 24,
  earlyRenewalHours: 7 * 24,
  organization: "streamstats VPN",
  keyUsage: ["digital_signature", "key_encipherment"],
  extendedKeyUsage: "client_auth",
} as const;

export interface VpnUser {
  readonly name: string;
  readonly group: string;
}

/** Subject: CN is the user (ocserv cert-user-oid 2.5.4.3), OU the group (cert-group-oid 2.5.4.11). */
export function vpnClientSubject(user: VpnUser): { commonName: string; organizationalUnit: string; organization: string } {
  return { commonName: user.name, organizationalUnit: user.group, organization: VPN_CLIENT_CERT_PROFILE.organization };
}
